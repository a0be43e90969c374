"""Raspberry Pi camera module through picamera2 (libcamera)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hal.camera_backends.frame_camera import FrameCamera
from hal.errors import DeviceFault

if TYPE_CHECKING:  # the frames are numpy arrays; numpy comes with the camera's own library
    import numpy as np


class PiCamera(FrameCamera):
    def __init__(self, *, size: tuple[int, int] = (640, 480), camera_num: int = 0) -> None:
        super().__init__()
        self.size = size
        self.camera_num = camera_num
        self._picam: Any = None

    @property
    def where(self) -> str:
        return f"picamera {self.camera_num}"

    def _open_device(self) -> None:
        try:
            from picamera2 import Picamera2
        except ImportError as exc:
            raise DeviceFault(self.name, "picamera2 is not installed; install the 'pi' extra") from exc
        try:
            picam = Picamera2(self.camera_num)
        except (IndexError, RuntimeError, OSError) as exc:
            # Picamera2 raises IndexError when libcamera lists no camera at that number.
            raise DeviceFault(self.name, f"no Pi camera {self.camera_num}: {exc}") from exc
        try:
            # libcamera names formats by their little-endian word: "BGR888"
            # lays bytes out as R, G, B, which is the RGB array we hand on.
            config = picam.create_video_configuration(main={"size": self.size, "format": "BGR888"})
            picam.configure(config)
            picam.start()
        except Exception as exc:
            picam.close()
            raise DeviceFault(self.name, f"Pi camera {self.camera_num} did not start: {exc}") from exc
        self._picam = picam

    def _close_device(self) -> None:
        if self._picam is not None:
            try:
                self._picam.stop()
            finally:
                self._picam.close()
                self._picam = None

    def _grab(self) -> np.ndarray:
        try:
            frame: np.ndarray = self._picam.capture_array("main")  # picamera2 is untyped
            return frame
        except Exception as exc:
            raise DeviceFault(self.name, f"Pi camera capture failed: {exc}") from exc
