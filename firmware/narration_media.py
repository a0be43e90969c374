"""The retailer's narration recordings beyond WAV: compressed audio (OGG with Opus or Vorbis, MP3, M4A) and
videos (MP4, WebM, MKV: H.264, VP8, VP9, with AAC, Opus or Vorbis sound, or none).

PyAV (FFmpeg's libraries) reads them; it is imported here, and only when a configuration names such a file,
so a cabinet with spoken or WAV narrations never loads it. Everything here blocks: the caller runs it on a
worker thread. A file is probed each time the configuration arrives (its streams, its length, a first
picture decoded: a video that will not decode is found out then, not in front of a shopper); its sound
track is transcoded once to a 16-bit WAV beside the synthesized voices, so pygame.mixer plays it as it
plays them and the subtitles are timed over its real length.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import av.container

MAX_NARRATION_S = 600.0  # ten minutes: a longer file is refused rather than filling the disk with its WAV


class DecodeError(Exception):
    """A recording that cannot be read; the message is the decoder's reason."""


@dataclass(frozen=True)
class Decoded:
    wav: Path | None  # the sound track as a WAV (None: a video without sound)
    duration_s: float  # of the sound track, else of the picture
    video: bool  # it has a picture that decodes


def is_wav(path: Path) -> bool:
    """The file starts as a RIFF WAVE does (read by the wave module, no decoder needed)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return head[:4] == b"RIFF" and head[8:12] == b"WAVE"


def decode_recording(source: Path, wav_dir: Path, *, want_video: bool) -> Decoded:
    """Probe source and make (or find) its sound track's WAV in wav_dir. want_video: its picture is shown,
    so it must decode. DecodeError with the decoder's reason for a file that will not do."""
    import av  # FFmpeg: only for a configuration that names such a recording

    try:
        with av.open(str(source)) as container:
            return _decode(container, source, wav_dir, want_video)
    except (av.FFmpegError, OSError, ValueError, EOFError, wave.Error) as exc:
        raise DecodeError(f"{source.name}: {exc}") from None


def _decode(container: av.container.InputContainer, source: Path, wav_dir: Path, want_video: bool) -> Decoded:
    video = container.streams.video[0] if want_video and container.streams.video else None
    audio = container.streams.audio[0] if container.streams.audio else None
    if video is None and audio is None:
        raise DecodeError("no sound or picture in the file" if want_video else "no sound track in the file")
    length = _length(container, video or audio)
    if length > MAX_NARRATION_S:
        raise DecodeError(f"{length:.0f} s long, above {MAX_NARRATION_S:.0f} s")
    if video is not None:
        if next(iter(container.decode(video)), None) is None:
            raise DecodeError("the video has no picture that decodes")
        container.seek(0)
    if audio is None:
        if length <= 0:
            raise DecodeError("the video's length is unknown")
        return Decoded(None, length, True)
    wav = wav_dir / f"{_wav_name(source)}.wav"
    if not wav.is_file():
        _transcode(container, audio, wav)
    with wave.open(str(wav), "rb") as out:
        duration = out.getnframes() / out.getframerate()
    return Decoded(wav, duration, video is not None)


def _length(container: av.container.InputContainer, stream: Any) -> float:
    """The stream's length in seconds as the file declares it (0 when it does not)."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return container.duration / 1_000_000 if container.duration else 0.0  # in AV_TIME_BASE units


def _wav_name(source: Path) -> str:
    """The WAV's name: the file's path, size and modification time hashed (a replaced file is decoded anew)."""
    stat = source.stat()
    return hashlib.sha256(f"{source.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()[:32]


def _transcode(container: av.container.InputContainer, stream: Any, wav: Path) -> None:
    """The sound track as 16-bit PCM at its own rate, mono or stereo, written whole or not at all."""
    import av

    channels = 1 if stream.codec_context.channels == 1 else 2
    rate = stream.codec_context.sample_rate
    resampler = av.AudioResampler(format="s16", layout="mono" if channels == 1 else "stereo", rate=rate)
    wav.parent.mkdir(parents=True, exist_ok=True)
    partial = wav.with_suffix(f".{os.getpid()}.part")
    written = 0
    try:
        with wave.open(str(partial), "wb") as out:
            out.setnchannels(channels)
            out.setsampwidth(2)
            out.setframerate(rate)
            for frame in itertools.chain(container.decode(stream), [None]):  # None: what the resampler holds
                for pcm in resampler.resample(frame):
                    out.writeframes(bytes(pcm.planes[0])[: pcm.samples * 2 * channels])
                    written += pcm.samples
                if written > MAX_NARRATION_S * rate:
                    raise DecodeError(f"the sound runs past {MAX_NARRATION_S:.0f} s")
        if written == 0:
            raise DecodeError("the sound track decodes to nothing")
        os.replace(partial, wav)
    finally:
        partial.unlink(missing_ok=True)
