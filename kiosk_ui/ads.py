"""The attract loop: ads from the configuration taking turns with product showcases.

Images are loaded and scaled once on the asset worker. Videos are decoded by a
``VideoDecoder`` thread (OpenCV, imported only when a video ad exists) into
surfaces already scaled and in the display's pixel layout, handed over through
a small queue; the frame loop only blits them. An ad counts as shown (proof of
play, ``AdShown(id)``) when its first frame is drawn, and its
duration runs from then.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

import pygame

from kiosk_ui.assets import AssetLoader, fit, load_image, note_load
from kiosk_ui.intents import AdShown, Intent
from kiosk_ui.view import AdView

if TYPE_CHECKING:
    import cv2 as cv2_types
    import numpy as np

log = logging.getLogger(__name__)

SHOWCASE_S = 6.0  # a product showcase between two ads
LOAD_GRACE_S = 3.0  # an ad whose media is not ready by then is skipped (and not counted as shown)
DEFAULT_FPS = 25.0


_BGRX_MASKS = (0xFF0000, 0x00FF00, 0x0000FF, 0)  # 32-bit pixels laid out B, G, R, X in memory


def _frame_surface(frame: np.ndarray, cv2: ModuleType) -> pygame.Surface:  # cv2 is imported lazily
    """A decoded BGR frame as an opaque 32-bit surface, converted by OpenCV straight into the
    surface's memory (no GIL held, no extra copy). That layout is the usual display format, so
    the frame loop's blit is a plain copy."""
    import numpy as np  # with OpenCV, only when a video ad plays

    h, w = frame.shape[:2]
    surface = pygame.Surface((w, h), 0, 32, _BGRX_MASKS)
    buffer = surface.get_buffer()
    # pygame-ce's stubs give BufferProxy the buffer protocol (__buffer__) only from Python 3.12; it has it in C.
    memory = np.frombuffer(buffer, np.uint8)  # type: ignore[call-overload]
    pixels = memory.reshape(h, surface.get_pitch() // 4, 4)[:, :w]
    cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA, dst=pixels)
    del pixels, memory, buffer  # unlocks the surface: it can be blitted
    return surface


class VideoDecoder:
    """Decodes a video file on its own thread, looping, into surfaces that fit box."""

    def __init__(self, path: str, box: tuple[int, int], queue_size: int = 3) -> None:
        self.path, self.box = path, box
        self.fps = DEFAULT_FPS
        self.error: str | None = None
        self._frames: queue.Queue[pygame.Surface] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kiosk-video", daemon=True)
        self._thread.start()

    def next_frame(self) -> pygame.Surface | None:
        """The next decoded frame, or None if none is ready. The decoder never touches it again."""
        try:
            return self._frames.get_nowait()
        except queue.Empty:
            return None

    def close(self) -> None:
        self._stop.set()

    def _open(self, cv2: ModuleType) -> cv2_types.VideoCapture:
        note_load(self.path)
        capture: cv2_types.VideoCapture = cv2.VideoCapture(self.path)
        if not capture.isOpened():
            raise ValueError(f"cannot open video {self.path}")
        return capture

    def _run(self) -> None:
        try:
            import cv2  # only a cabinet with video ads pays for OpenCV

            capture = self._open(cv2)
            fps = capture.get(cv2.CAP_PROP_FPS)
            self.fps = fps if 1 <= fps <= 120 else DEFAULT_FPS
            decoded = 0
            while not self._stop.is_set():
                ok, frame = capture.read()
                if not ok:
                    capture.release()
                    if decoded == 0:
                        raise ValueError(f"video {self.path} has no frames")
                    capture = self._open(cv2)  # loop: reopening is more robust than seeking
                    continue
                decoded += 1
                h, w = frame.shape[:2]
                k = min(self.box[0] / w, self.box[1] / h)
                size = (max(1, round(w * k)), max(1, round(h * k)))
                frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
                surface = _frame_surface(frame, cv2)
                while not self._stop.is_set():
                    try:
                        self._frames.put(surface, timeout=0.1)
                        break
                    except queue.Full:
                        continue
            capture.release()
        except Exception as exc:  # a broken file must cost its ad, not the screen
            self.error = str(exc)
            log.error("video ad %s: %s", self.path, exc)


@dataclass
class Slot:
    """One turn of the attract loop: an ad, or a showcase of products[product]."""

    number: int
    ad: AdView | None = None
    product: int = 0
    started: float | None = None
    shown_at: float | None = None  # ads: when the first frame was drawn


class VideoPlayback:
    """A decoder and the video clock of the ad being shown."""

    def __init__(self, decoder: VideoDecoder) -> None:
        self.decoder = decoder
        self.frame: pygame.Surface | None = None
        self._index = -1
        self._t0: float | None = None

    def advance(self, now: float) -> bool:
        """Take the frames due by now from the decoder; True when the picture changed."""
        if self._t0 is None:
            frame = self.decoder.next_frame()
            if frame is None:
                return False
            self._t0, self._index, self.frame = now, 0, frame
            return True
        due = int((now - self._t0) * self.decoder.fps)
        latest = None
        while self._index < due:
            frame = self.decoder.next_frame()
            if frame is None:
                break  # the decoder is behind: keep the last frame rather than stall the loop
            latest = frame
            self._index += 1
        if latest is None:
            return False
        self.frame = latest
        return True

    def next_due(self) -> float | None:
        return None if self._t0 is None else self._t0 + (self._index + 1) / self.decoder.fps


class AttractShow:
    """Which ad or product the attract screen shows now; survives rebuilds of the screen."""

    def __init__(self, loader: AssetLoader, emit: Callable[[Intent], None]) -> None:
        self._loader, self._emit = loader, emit
        self._config: tuple[tuple[AdView, ...], int, tuple[int, int]] | None = None
        self.ads: tuple[AdView, ...] = ()
        self.product_count = 0
        self.box = (1, 1)
        self.slot = Slot(0)
        self._videos: dict[int, VideoPlayback] = {}  # slot number -> playback (current and next)

    def configure(self, ads: tuple[AdView, ...], product_count: int, box: tuple[int, int]) -> None:
        """Start over when the playlist or the ad area changes; otherwise keep playing.
        The ads are checked by validate_view (kinds, durations)."""
        config = (ads, product_count, box)
        if config == self._config:
            return
        self.close()
        self._config, self.ads, self.product_count, self.box = config, ads, product_count, box
        self.slot = self._slot(0)
        for ad in ads:  # images are small: load them all now, on the worker
            if ad.kind == "image":
                self._image(ad)

    def close(self) -> None:
        for playback in self._videos.values():
            playback.decoder.close()
        self._videos.clear()

    def _slot(self, number: int) -> Slot:
        ads, products = self.ads, self.product_count
        if ads and (not products or number % 2 == 0):
            return Slot(number, ad=ads[(number // 2 if products else number) % len(ads)])
        return Slot(number, product=(number // 2 if ads else number) % max(1, products))

    def _image(self, ad: AdView) -> pygame.Surface | None:
        return self._loader.get(("ad", ad.path, self.box), lambda: fit(load_image(ad.path), self.box))

    def _video(self, slot: Slot) -> VideoPlayback:
        playback = self._videos.get(slot.number)
        if playback is None:
            assert slot.ad is not None
            playback = self._videos[slot.number] = VideoPlayback(VideoDecoder(slot.ad.path, self.box))
        return playback

    def _next(self, now: float) -> None:
        old = self._videos.pop(self.slot.number, None)
        if old is not None:
            old.decoder.close()
        self.slot = self._slot(self.slot.number + 1)
        self.slot.started = now

    def media(self, now: float) -> pygame.Surface | None:
        """The ad picture to draw now (None on a showcase, or while the ad's media is not ready)."""
        slot = self.slot
        self._start(slot, now)
        if slot.ad is None:
            return None
        if slot.ad.kind == "image":
            picture = self._image(slot.ad)
            broken = self._loader.failed(("ad", slot.ad.path, self.box))
        else:
            playback = self._video(slot)
            playback.advance(now)
            picture, broken = playback.frame, playback.decoder.error is not None
        return None if broken else picture

    def _start(self, slot: Slot, now: float) -> float:
        """When the slot's turn started: now, if this is its first frame."""
        if slot.started is None:
            slot.started = now
            following = self._slot(slot.number + 1)  # decode the next video ahead: it starts at once
            if following.ad is not None and following.ad.kind == "video" and following.number != slot.number:
                self._video(following)
        return slot.started

    def advance(self, now: float) -> None:
        """Move on when the current turn is over (or its ad cannot be shown)."""
        for _ in range(4):  # a few broken ads in a row are skipped in one go
            slot = self.slot
            started = self._start(slot, now)
            if slot.ad is None:
                if now - started < SHOWCASE_S:
                    return
            elif slot.shown_at is not None:
                if now - slot.shown_at < slot.ad.duration_s:
                    return
            elif self.media(now) is not None or (now - started < LOAD_GRACE_S and not self._broken(slot)):
                return
            self._next(now)

    def _broken(self, slot: Slot) -> bool:
        assert slot.ad is not None
        if slot.ad.kind == "image":
            return self._loader.failed(("ad", slot.ad.path, self.box))
        return self._video(slot).decoder.error is not None

    def drawn(self, now: float) -> None:
        """The current ad's picture is on screen: the first time, that is an impression."""
        slot = self.slot
        if slot.ad is not None and slot.shown_at is None:
            slot.shown_at = now
            self._emit(AdShown(slot.ad.id))

    def next_change(self, now: float) -> float:
        """When the attract screen must be drawn again."""
        slot = self.slot
        if slot.started is None:
            return now
        if slot.ad is None:
            return slot.started + SHOWCASE_S
        if slot.shown_at is None:
            return now + 0.02  # waiting for the media: look again soon
        end = slot.shown_at + slot.ad.duration_s
        if slot.ad.kind == "video":
            due = self._video(slot).next_due()
            if due is not None:
                return min(due, end)
        return end
