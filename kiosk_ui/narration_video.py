"""A product narration's video on the touchscreen.

PyAV (FFmpeg) decodes it on a thread of its own, imported there and only when such a video is shown. The
thread scales each picture to the area it is shown in and hands it over through a queue of a few pictures
(the memory a video costs is that queue); it waits while the queue is full, so it runs only as far ahead
of the screen as that. The frame loop only takes the picture due and blits it.

The sound is not played here: the firmware plays the narration's sound track through the mixer from the
moment it puts the video in the view. The pictures follow the clock from when the video came on screen, so
they keep to the voice: a picture the decoder brings late is skipped, never shown behind it. Closing (the
shopper left the product, the narration ended) stops the thread after the picture it is decoding.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pygame

from kiosk_ui.view import VideoClip
from kiosk_ui.widgets import Widget

if TYPE_CHECKING:
    from kiosk_ui.context import ScreenMemory

log = logging.getLogger(__name__)

QUEUE_PICTURES = 3  # decoded ahead of the screen, at most
THREAD_NAME = "narration-video"
POLL_S = 0.02  # while the decoder has not brought the next picture: look again this soon


@dataclass(frozen=True)
class Picture:
    at_s: float  # when it is due, from the video's start
    surface: pygame.Surface


def fit_size(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """size scaled to fit box, keeping its proportions (even sides: what the scaler handles best)."""
    k = min(box[0] / size[0], box[1] / size[1])
    return max(2, round(size[0] * k) // 2 * 2), max(2, round(size[1] * k) // 2 * 2)


def rgb_surface(frame: Any) -> pygame.Surface:
    """An rgb24 av.VideoFrame as a surface (one copy; the plane's rows may be padded: its pitch)."""
    plane = frame.planes[0]
    return pygame.image.frombytes(bytes(plane), (frame.width, frame.height), "RGB", pitch=plane.line_size)


class VideoFrames:
    """Decodes path on its own thread into pictures that fit box; ``error`` says why it could not."""

    def __init__(self, path: str, box: tuple[int, int]) -> None:
        self.path, self.box = path, box
        self.error: str | None = None
        self._pictures: queue.Queue[Picture] = queue.Queue(maxsize=QUEUE_PICTURES)
        self._stop = threading.Event()
        self._ended = threading.Event()
        self.thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self.thread.start()

    def take(self) -> Picture | None:
        try:
            return self._pictures.get_nowait()
        except queue.Empty:
            return None

    @property
    def ended(self) -> bool:
        """The decoder has given all it will (the end of the file, an error, or closed)."""
        return self._ended.is_set() and self._pictures.empty()

    def close(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        try:
            import av  # FFmpeg: only a cabinet showing a narration video pays for it

            with av.open(self.path) as container:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                size: tuple[int, int] | None = None
                for frame in container.decode(stream):
                    if self._stop.is_set():
                        return
                    size = size or fit_size((frame.width, frame.height), self.box)
                    rgb = frame.reformat(width=size[0], height=size[1], format="rgb24")
                    if not self._put(Picture(float(frame.time or 0.0), rgb_surface(rgb))):
                        return
        except Exception as exc:  # a broken file costs its picture, never the screen (the voice goes on)
            self.error = str(exc) or type(exc).__name__
            log.error("narration video not shown", extra={"path": self.path, "error": self.error})
        finally:
            self._ended.set()

    def _put(self, picture: Picture) -> bool:
        while not self._stop.is_set():
            try:
                self._pictures.put(picture, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False


class VideoPlayback:
    """One take of a narration video: its decoder, and which picture is due by the clock."""

    def __init__(
        self,
        clip: VideoClip,
        box: tuple[int, int],
        started: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clip, self.box = clip, box
        self.frames = VideoFrames(clip.path, box)
        self._clock = clock
        self.started = clock() if started is None else started  # its sound started as it came into the view
        self.shown: pygame.Surface | None = None
        self._next: Picture | None = None

    def close(self) -> None:
        self.frames.close()

    def current(self) -> pygame.Surface | None:
        """The picture due now (the first one as soon as there is one; later ones by the clock)."""
        elapsed = self._clock() - self.started
        while True:
            picture = self._next or self.frames.take()
            if picture is None:
                break
            if self.shown is not None and picture.at_s > elapsed:
                self._next = picture  # not due yet
                break
            self._next, self.shown = None, picture.surface
        return self.shown

    def next_due(self, now: float) -> float | None:
        """When the picture changes next (None: the video has ended or failed)."""
        if self._next is not None:
            return self.started + self._next.at_s
        return None if self.frames.ended else now + POLL_S


class NarrationVideo(Widget):
    """The video playing, centred in its rect on a backdrop; the subtitles are drawn over it."""

    kind = "video"

    def __init__(self, rect: pygame.Rect, playback: VideoPlayback, backdrop: tuple[int, int, int]) -> None:
        super().__init__("narration_video", rect)
        self.playback, self.backdrop = playback, backdrop

    def draw(self, surface: pygame.Surface, pressed_id: str | None = None) -> None:
        pygame.draw.rect(surface, self.backdrop, self.rect)
        picture = self.playback.current()
        if picture is not None:
            surface.blit(picture, picture.get_rect(center=self.rect.center))

    def next_redraw(self, now: float) -> float | None:
        return self.playback.next_due(now)

    def loading(self) -> bool:
        return self.playback.shown is None and not self.playback.frames.ended  # drawing takes the first one

    def info_extra(self) -> dict[str, Any]:
        return {"path": self.playback.clip.path, "error": self.playback.frames.error}


def narration_video(
    rect: pygame.Rect, clip: VideoClip | None, memory: ScreenMemory, backdrop: tuple[int, int, int]
) -> list[Widget]:
    """The video widget for clip in rect (nothing without one). The playback lives in the screen's memory
    across rebuilds (each new subtitle rebuilds the screen); a new take or none closes it, and another
    area (accessibility mode) decodes the same take anew at that size, keeping to its clock."""
    playback, started = memory.video, None
    if playback is not None and (playback.clip != clip or playback.box != rect.size):
        playback.close()
        started = playback.started if playback.clip == clip else None
        playback = memory.video = None
    if clip is None:
        return []
    if playback is None:
        playback = memory.video = VideoPlayback(clip, rect.size, started)
    return [NarrationVideo(rect, playback, backdrop)]
