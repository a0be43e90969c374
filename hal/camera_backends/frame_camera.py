"""Base for cameras that deliver raw frames: one grab thread per camera.

Grabbing blocks (a real camera waits for its next exposure), so every device
call runs on the camera's own single worker thread: the event loop never
waits on it, and calls never overlap on a capture object that is not
thread-safe.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

from hal.camera import Camera
from hal.errors import DeviceFault

if TYPE_CHECKING:  # loaded with the first frame: a simulated camera that only takes snapshots never does
    import numpy as np

T = TypeVar("T")


def encode_jpeg(frame: np.ndarray, quality: int = 85) -> bytes:
    """Encode an RGB (H, W, 3) or grey (H, W) uint8 frame as JPEG bytes."""
    import numpy as np

    if frame.dtype != np.uint8 or frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] != 3):
        raise ValueError(f"frame must be uint8 (H, W) or (H, W, 3), got {frame.dtype} {frame.shape}")
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be 1..100, got {quality}")
    # simplejpeg (libjpeg-turbo, as picamera2 uses) rather than OpenCV: a snapshot must not
    # cost a process OpenCV's 30 MB when nothing else there needs it.
    import simplejpeg

    if frame.ndim == 2:
        return simplejpeg.encode_jpeg(np.ascontiguousarray(frame[..., None]), quality=quality, colorspace="GRAY")
    return simplejpeg.encode_jpeg(np.ascontiguousarray(frame), quality=quality, colorspace="RGB")


class FrameCamera(Camera):
    """A Camera that also hands out raw frames for the QR decoder.

    Subclasses implement the three blocking hooks; this class runs them on the
    camera's grab thread.
    """

    jpeg_quality: int = 85

    def __init__(self) -> None:
        self._grabber: ThreadPoolExecutor | None = None

    @abc.abstractmethod
    def _open_device(self) -> None:
        """Blocking: start the device; raise DeviceFault if it is not there."""

    @abc.abstractmethod
    def _close_device(self) -> None:
        """Blocking: release the device."""

    @abc.abstractmethod
    def _grab(self) -> np.ndarray:
        """Blocking: the next frame, (H, W, 3) RGB or (H, W) grey uint8."""

    @property
    def is_open(self) -> bool:
        return self._grabber is not None

    @property
    def state(self) -> str:
        return "open" if self.is_open else "closed"

    async def _on_grabber(self, fn: Callable[[], T]) -> T:
        if self._grabber is None:
            raise DeviceFault(self.name, "camera is not open; call open() first")
        return await asyncio.get_running_loop().run_in_executor(self._grabber, fn)

    async def open(self) -> None:
        if self._grabber is not None:
            return
        self._grabber = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self.name}-grab")
        try:
            await self._on_grabber(self._open_device)
        except BaseException:
            self._grabber.shutdown(wait=False)
            self._grabber = None
            raise

    async def close(self) -> None:
        if self._grabber is None:
            return
        try:
            await self._on_grabber(self._close_device)
        finally:
            self._grabber.shutdown(wait=False)
            self._grabber = None

    async def frame(self) -> np.ndarray:
        """The next frame from the device, grabbed off the event loop."""
        return await self._on_grabber(self._grab)

    async def snapshot(self) -> bytes:
        frame = await self.frame()
        return await asyncio.to_thread(encode_jpeg, frame, self.jpeg_quality)
