"""Tiny media files made with PyAV in the test itself: a few frames of a solid colour, a sine tone."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import av
import numpy as np

from sync_client.cabinet_config import media_ref
from sync_client.media_fetch import MediaCache

RED, BLUE, GREEN = (230, 20, 20), (20, 20, 230), (20, 200, 20)


def write_media(
    path: Path,
    *,
    video: str | None = None,  # codec: libx264, libvpx, libvpx-vp9
    audio: str | None = None,  # codec: aac, libopus, libvorbis, libmp3lame
    seconds: float = 1.0,
    colour: tuple[int, int, int] = RED,
    size: tuple[int, int] = (64, 48),
    fps: int = 10,
    rate: int = 48000,
) -> Path:
    with av.open(str(path), "w") as out:
        picture = out.add_stream(video, rate=fps) if video else None
        sound = out.add_stream(audio, rate=rate) if audio else None
        if sound is not None:
            sound.layout = "mono"  # before the first encode opens every codec
        if picture is not None:
            picture.width, picture.height, picture.pix_fmt = *size, "yuv420p"
            pixels = np.full((size[1], size[0], 3), colour, np.uint8)
            for i in range(round(seconds * fps)):
                frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
                frame.pts = i
                out.mux(picture.encode(frame))
            out.mux(picture.encode(None))
        if sound is not None:
            chunk, total = 960, round(seconds * rate)
            for start in range(0, total, chunk):
                t = np.arange(start, min(start + chunk, total))
                samples = (np.sin(2 * math.pi * 440 * t / rate) * 8000).astype(np.int16).reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
                frame.sample_rate, frame.pts = rate, start
                out.mux(sound.encode(frame))
            out.mux(sound.encode(None))
    return path


def uploaded(media: MediaCache, path: Path) -> str:
    """The file as the media fetcher would have downloaded it: its ``sha256:`` reference."""
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    media.store(digest, data)
    return media_ref(digest)
