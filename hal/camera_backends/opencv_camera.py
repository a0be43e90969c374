"""Camera through OpenCV's VideoCapture: a USB webcam by index, a V4L2 device
path, or a video file (looped, handy on a bench)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hal.camera_backends.frame_camera import FrameCamera
from hal.errors import DeviceFault

if TYPE_CHECKING:  # the frames are numpy arrays; numpy comes with the camera's own library
    import numpy as np


class OpenCvCamera(FrameCamera):
    def __init__(self, index_or_path: int | str = 0, *, size: tuple[int, int] = (640, 480)) -> None:
        super().__init__()
        if isinstance(index_or_path, bool) or not isinstance(index_or_path, (int, str)):
            raise TypeError(f"index_or_path must be a device index or a path, got {index_or_path!r}")
        self.source = index_or_path
        self.size = size
        self._capture: Any = None
        self._cv2: Any = None

    @property
    def where(self) -> str:
        return f"opencv {self.source!r}"

    def _open_device(self) -> None:
        try:
            import cv2
        except ImportError as exc:
            raise DeviceFault(self.name, "OpenCV is not installed; install opencv-python-headless") from exc
        capture = cv2.VideoCapture(self.source)
        if not capture.isOpened():
            capture.release()
            raise DeviceFault(self.name, f"cannot open video source {self.source!r}")
        if isinstance(self.source, int):
            # A webcam picks its own default mode; ask for the decoder's frame size.
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
        self._cv2, self._capture = cv2, capture

    def _close_device(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def _grab(self) -> np.ndarray:
        ok, bgr = self._capture.read()
        if not ok and isinstance(self.source, str):
            # A file came to its end: start it again, as a camera never ends.
            self._capture.set(self._cv2.CAP_PROP_POS_FRAMES, 0)
            ok, bgr = self._capture.read()
        if not ok:
            raise DeviceFault(self.name, f"no frame from video source {self.source!r}")
        rgb: np.ndarray = self._cv2.cvtColor(bgr, self._cv2.COLOR_BGR2RGB)  # cv2 is imported lazily, untyped
        return rgb
