"""Camera backends: the Pi camera module, OpenCV capture devices; all deliver
raw frames for the QR decoder besides JPEG snapshots. The emulated camera is
``hal.sim.camera_sim.SimCamera``."""

from hal.camera_backends.frame_camera import FrameCamera, encode_jpeg
from hal.camera_backends.opencv_camera import OpenCvCamera
from hal.camera_backends.picamera import PiCamera

__all__ = ["FrameCamera", "OpenCvCamera", "PiCamera", "encode_jpeg"]
