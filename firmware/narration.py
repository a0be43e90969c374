"""Voice that explains the product: a narration per product and language, played with subtitles.

Where a narration comes from: the retailer's recording (``audio_url``: a WAV, or compressed audio; or
``video_url``: a video, shown on the product page while its sound track speaks), given as a media path in
the cloud's configuration or an upload named ``sha256:<hex>`` that the media fetcher downloads, its text
the subtitles; or, when there is none, speech synthesized offline with espeak-ng
from the product's text when the configuration arrives. Synthesis runs in a subprocess awaited on the
event loop (never blocking the screen) and is cached on disk under a hash of voice and text: a text that
did not change is never spoken again, a changed one is. Subtitles are the text cut into sentences, timed
over the audio's length in proportion to their characters. A recording other than a WAV is probed and
its sound transcoded to a cached WAV on a worker thread (firmware/narration_media.py, PyAV); one that will
not decode is logged with its product, language and the decoder's reason, and the text is spoken instead.

Playing: the "listen" control on the product page starts it at the volume the schedule gives for the
local time (``[audio]`` of the cabinet's TOML: quiet hours); leaving the product page stops it; the attract
loop may play the narrations muted, subtitles only (a video too, silent). With no audio device the
subtitles still run. The touchscreen decodes a video's pictures itself, on its own thread, while it shows it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import os
import re
import wave
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from firmware.clock import Clock, TimerHandle
from firmware.config import AudioSection
from firmware.narration_media import DecodeError, decode_recording, is_wav
from kiosk_ui.view import AttractScreen, NarrationView, ProductScreen, VideoClip, View
from sync_client.cabinet_config import NARRATION_LANGUAGES, ConfigProduct, NarrationSource, media_hash
from sync_client.media_fetch import MediaCache

log = logging.getLogger(__name__)

VOICES = {"en": "en", "zh": "cmn"}  # espeak-ng voices: English, Mandarin
SYNTH_TIMEOUT_S = 60.0  # a text of MAX_NARRATION_CHARS takes a few seconds on a Pi
# A sentence ends at . ! ? (followed by a space or the end) or at a Chinese full stop, !, ? or ;
SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|(?<=[。！？；])\s*")
Key = tuple[str, str]  # (sku, language)


class NarrationError(Exception):
    """A narration that cannot be made or read; the message names the file or the text's product."""


@dataclass(frozen=True)
class Segment:
    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class Narration:
    path: Path | None  # a WAV on the cabinet (None: a video without sound)
    duration_s: float
    segments: tuple[Segment, ...]
    video: Path | None = None  # the retailer's video, shown while it plays

    def subtitle_at(self, elapsed_s: float) -> str:
        """The sentence being spoken elapsed_s after the start ("" before the start and after the end)."""
        return next((s.text for s in self.segments if s.start_s <= elapsed_s < s.end_s), "")


def sentences(text: str) -> list[str]:
    return [part.strip() for part in SENTENCE_END.split(text) if part.strip()]


def timed_segments(text: str, duration_s: float) -> tuple[Segment, ...]:
    """The text's sentences, each given a share of duration_s in proportion to its characters."""
    parts = sentences(text)
    total = sum(len(p) for p in parts)
    segments, start = [], 0.0
    for part in parts:
        end = start + duration_s * len(part) / total
        segments.append(Segment(start, end, part))
        start = end
    return tuple(segments)


def wav_duration(path: Path) -> float:
    try:
        with wave.open(str(path), "rb") as wav:
            rate = wav.getframerate()
            if rate <= 0:
                raise NarrationError(f"{path}: a WAV with a frame rate of {rate}")
            return wav.getnframes() / rate
    except (OSError, EOFError, wave.Error) as exc:
        raise NarrationError(f"{path}: not a readable WAV file: {exc}") from None


def volume_at(audio: AudioSection, now: dt.datetime) -> float:
    """The narration's volume at local time now: the first schedule window that holds, else the default."""
    hhmm = now.strftime("%H:%M")
    for window in audio.schedule:
        inside = (
            window.start <= hhmm < window.end
            if window.start <= window.end
            else hhmm >= window.start or hhmm < window.end  # spans midnight
        )
        if inside:
            return window.volume
    return audio.volume


# --- making narrations ------------------------------------------------------------------------------
@dataclass
class SpeechCache:
    """espeak-ng's WAVs under a hash of voice and text; ``runs`` counts the syntheses actually run."""

    directory: Path
    espeak: str = "espeak-ng"
    timeout_s: float = SYNTH_TIMEOUT_S
    runs: int = 0

    def path_for(self, text: str, language: str) -> Path:
        digest = hashlib.sha256(f"{VOICES[language]}\0{text}".encode()).hexdigest()[:32]
        return self.directory / f"{digest}.wav"

    async def speak(self, text: str, language: str) -> Narration:
        path = self.path_for(text, language)
        if not path.is_file():
            await self._synthesize(text, language, path)
        duration = await asyncio.to_thread(wav_duration, path)
        return Narration(path, duration, timed_segments(text, duration))

    async def _synthesize(self, text: str, language: str, path: Path) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.part")
        self.runs += 1
        try:
            proc = await asyncio.create_subprocess_exec(
                self.espeak, "-v", VOICES[language], "-w", str(partial), "--", text,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
        except OSError as exc:  # not installed: hardware/system-packages.txt
            raise NarrationError(f"audio.espeak {self.espeak!r} cannot run: {exc}") from None
        try:
            _, err = await asyncio.wait_for(proc.communicate(), self.timeout_s)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            partial.unlink(missing_ok=True)
            raise NarrationError(f"{self.espeak} did not finish within {self.timeout_s:g} s") from None
        if proc.returncode != 0:
            partial.unlink(missing_ok=True)
            raise NarrationError(f"{self.espeak} exited with {proc.returncode}: {err.decode(errors='replace')[:200]}")
        os.replace(partial, path)  # whole or not at all: a power cut leaves no half WAV under the name

    def prune(self, keep: Iterable[Path]) -> None:
        """Remove the WAVs of texts no longer in the configuration."""
        kept = set(keep)
        for path in self.directory.glob("*.wav"):
            if path not in kept:
                path.unlink(missing_ok=True)


def narration_text(product: ConfigProduct, source: NarrationSource | None, language: str) -> str:
    """What is said (and subtitled) in language: the narration's own text, else the product's summary
    when the retailer wrote it in that language (never another language's text read in the wrong voice)."""
    if source is not None and source.text:
        return source.text
    return product.summary.in_(language).strip() if product.summary.has(language) else ""


@dataclass
class NarrationLibrary:
    """The narrations of the configuration in force, by (sku, language); made when it arrives."""

    cache: SpeechCache
    media_dir: Path  # where relative media paths point
    on_ready: Callable[[], None] = lambda: None
    ready: dict[Key, Narration] = field(default_factory=dict)
    media: MediaCache | None = None  # uploaded recordings (``sha256:`` audio_url) downloaded so far
    _generation: int = 0

    def get(self, sku: str, language: str) -> Narration | None:
        return self.ready.get((sku, language))

    async def prepare(self, products: Iterable[ConfigProduct]) -> None:
        """Make every product's narrations (a newer configuration arriving meanwhile wins)."""
        self._generation += 1
        generation, made = self._generation, {}
        for product in products:
            sources = {source.language: source for source in product.narration}
            for language in NARRATION_LANGUAGES:
                try:
                    narration = await self._make(product, sources.get(language), language)
                except NarrationError as exc:  # the product is still sold, without its voice
                    log.error("narration not made", extra={"sku": product.sku, "language": language, "error": str(exc)})
                    continue
                if narration is not None:
                    made[(product.sku, language)] = narration
        if generation != self._generation:
            return
        self.ready = made
        self.cache.prune(n.path for n in made.values() if n.path is not None)
        self.on_ready()

    def _recording(self, audio_url: str) -> Path | None:
        """Where the retailer's recording is: an upload (``sha256:``) once downloaded, a media path."""
        if media_hash(audio_url):
            return self.media.resolve(audio_url) if self.media else None
        if "://" in audio_url:  # the cabinet fetches uploads only: a URL elsewhere is not downloaded
            raise NarrationError(f"{audio_url}: remote recordings are not fetched (upload it to the cloud)")
        return Path(audio_url) if audio_url.startswith("/") else self.media_dir / audio_url

    async def _make(self, product: ConfigProduct, source: NarrationSource | None, language: str) -> Narration | None:
        text = narration_text(product, source, language)
        video = source is not None and bool(source.video_url)
        url = (source.video_url or source.audio_url) if source is not None else ""
        if url:
            path = self._recording(url)
            if path is None and text:  # an uploaded recording not downloaded yet: the text spoken meanwhile
                return await self.cache.speak(text, language)
            if path is None:
                raise NarrationError(f"{url[:20]}…: the recording is not downloaded yet")
            try:
                return await asyncio.to_thread(self._played, path, text, video)
            except NarrationError as exc:
                if not text:
                    raise
                log.error(
                    "narration recording not played: its text is spoken instead",
                    extra={"sku": product.sku, "language": language, "error": str(exc)},
                )
        if not text:
            return None
        return await self.cache.speak(text, language)

    def _played(self, path: Path, text: str, video: bool) -> Narration:
        """A recording as played: a WAV as it is, anything else probed and its sound transcoded. Blocking."""
        if not video and is_wav(path):
            try:
                duration = wav_duration(path)
            except NarrationError:
                pass  # a WAV the wave module does not read (32-bit float, ADPCM): FFmpeg does
            else:
                return Narration(path, duration, timed_segments(text, duration) if text else ())
        try:
            decoded = decode_recording(path, self.cache.directory, want_video=video)
        except DecodeError as exc:
            raise NarrationError(str(exc)) from None
        segments = timed_segments(text, decoded.duration_s) if text else ()
        return Narration(decoded.wav, decoded.duration_s, segments, path if decoded.video else None)


# --- playing ----------------------------------------------------------------------------------------
class AudioOut(Protocol):
    """The sound device (kiosk_ui.audio.MixerAudio): play returns False when there is none."""

    def play(self, path: str, volume: float) -> bool: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Playing:
    key: Key
    narration: Narration
    started_at: float  # the clock's monotonic time
    muted: bool  # the attract loop's: subtitles only
    sound: bool  # the device is playing it (False: muted, a volume of 0, or no device)
    take: int = 0  # which start this is: a video shown again starts again from its first picture

    def video(self) -> VideoClip | None:
        video = self.narration.video
        return VideoClip(str(video), self.take) if video is not None else None


@dataclass
class NarrationPlayer:
    audio: AudioOut
    clock: Clock
    settings: AudioSection
    on_change: Callable[[], None] = lambda: None  # a new subtitle is due, or the narration ended
    playing: Playing | None = None
    _timers: list[TimerHandle] = field(default_factory=list)
    _takes: int = 0

    def start(self, key: Key, narration: Narration, *, muted: bool) -> None:
        self.stop()
        now = dt.datetime.fromtimestamp(self.clock.time())  # local time: quiet hours are the site's
        volume = 0.0 if muted else volume_at(self.settings, now)
        sound = volume > 0 and narration.path is not None and self.audio.play(str(narration.path), volume)
        self._takes += 1
        self.playing = Playing(key, narration, self.clock.monotonic(), muted, sound, self._takes)
        self._timers = [self.clock.call_later(s.start_s, self.on_change) for s in narration.segments[1:]]
        self._timers.append(self.clock.call_later(narration.duration_s, self._ended))

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers = []
        if self.playing is not None and self.playing.sound:
            self.audio.stop()
        self.playing = None

    def subtitle(self) -> str:
        playing = self.playing
        if playing is None:
            return ""
        return playing.narration.subtitle_at(self.clock.monotonic() - playing.started_at)

    def _ended(self) -> None:
        self._timers = []
        self.playing = None
        self.on_change()


@dataclass
class Narrator:
    """The narrations on the screens: the product page's "listen", the attract loop's muted subtitles."""

    library: NarrationLibrary
    player: NarrationPlayer
    attract: bool  # the attract loop plays them muted
    _attract_turn: int = 0

    def listen(self, view: View) -> None:
        """The listen control: start the product's narration, or stop it if it is playing."""
        if not isinstance(view, ProductScreen):
            return
        key = (view.product.sku, view.chrome.language)
        playing = self.player.playing
        if playing is not None and playing.key == key and not playing.muted:
            self.player.stop()
            return
        narration = self.library.get(*key)
        if narration is not None:
            self.player.start(key, narration, muted=False)

    def present(self, view: View) -> View:
        """The view with its narration: sound only where it belongs (stopped when the shopper left the
        product, started on the attract loop), the subtitle due now. Idempotent: any view may be asked."""
        self._follow(view)
        playing = self.player.playing
        if isinstance(view, ProductScreen):
            key = (view.product.sku, view.chrome.language)
            if self.library.get(*key) is None:
                return view
            if playing is None or playing.key != key:
                return replace(view, narration=NarrationView())
            return replace(view, narration=NarrationView(True, self.player.subtitle(), playing.sound, playing.video()))
        if isinstance(view, AttractScreen) and playing is not None:
            return replace(view, subtitle=self.player.subtitle(), video=playing.video())
        return view

    def _follow(self, view: View) -> None:
        playing = self.player.playing
        if playing is not None:
            if isinstance(view, ProductScreen):
                belongs = not playing.muted and playing.key == (view.product.sku, view.chrome.language)
            else:
                belongs = playing.muted and isinstance(view, AttractScreen)
            if not belongs:
                self.player.stop()
        if self.attract and isinstance(view, AttractScreen) and self.player.playing is None:
            language = view.chrome.language
            keys = [(p.sku, language) for p in view.products if self.library.get(p.sku, language)]
            if keys:
                key = keys[self._attract_turn % len(keys)]
                self._attract_turn += 1
                narration = self.library.get(*key)
                assert narration is not None
                self.player.start(key, narration, muted=True)
