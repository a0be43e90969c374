"""Camera backends: the simulated camera, OpenCV capture from a file, the Pi
camera through a stand-in picamera2, and JPEG snapshots."""

from __future__ import annotations

import random
import sys
import time
import tracemalloc
import types
from pathlib import Path

import cv2
import numpy as np
import pytest

from hal.camera_backends import OpenCvCamera, PiCamera, encode_jpeg
from hal.errors import DeviceFault
from hal.qr_decode import default_decoder
from hal.sim import test_card
from hal.sim.camera_sim import SimCamera


def decode_jpeg(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image is not None, "not a decodable JPEG"
    return image


async def test_sim_camera_gives_stamped_rgb_frames_at_its_frame_rate() -> None:
    camera = SimCamera(fps=20)
    await camera.open()
    try:
        first = await camera.frame()
        start = time.monotonic()
        for _ in range(4):
            last = await camera.frame()
        elapsed = time.monotonic() - start
    finally:
        await camera.close()
    assert first.shape == (480, 640, 3) and first.dtype == np.uint8
    # Frame 5 is due 4 intervals after frame 1, which came at most one interval before start:
    # paced like a sensor, not as fast as the CPU goes.
    assert elapsed >= 3 / 20
    # The stamp (time and frame number) in the bottom-left corner changes from frame to frame.
    assert not np.array_equal(first[440:, :300], last[440:, :300])


async def test_sim_camera_snapshot_is_a_jpeg_of_the_frame_size() -> None:
    camera = SimCamera(size=(320, 240), fps=50)
    await camera.open()
    try:
        data = await camera.snapshot()
    finally:
        await camera.close()
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    assert decode_jpeg(data).shape == (240, 320, 3)


async def test_sim_camera_renders_the_shown_code_until_it_is_cleared() -> None:
    camera = SimCamera(fps=50, seed=5)
    decoder = default_decoder()
    await camera.open()
    try:
        assert decoder.decode(await camera.frame()) == []
        camera.show_code("PICKUP:7F3K-92QD")
        assert camera.shown_code == "PICKUP:7F3K-92QD"
        reads = [decoder.decode(await camera.frame()) for _ in range(5)]
        camera.clear_code()
        after = decoder.decode(await camera.frame())
    finally:
        await camera.close()
    # A hand shakes: most frames of a held code are readable, not necessarily all.
    assert sum(r == ["PICKUP:7F3K-92QD"] for r in reads) >= 4
    assert after == [] and camera.shown_code is None


async def test_sim_camera_cycles_through_image_files(tmp_path: Path) -> None:
    paths = []
    for i, bgr in enumerate([(0, 0, 255), (255, 0, 0)]):  # red, then blue
        paths.append(tmp_path / f"{i}.png")
        cv2.imwrite(str(paths[-1]), np.full((100, 200, 3), bgr, np.uint8))
    camera = SimCamera(paths, size=(160, 120), fps=100, noise=0)
    await camera.open()
    try:
        frames = [await camera.frame() for _ in range(3)]
    finally:
        await camera.close()
    assert [tuple(f[60, 80]) for f in frames] == [(255, 0, 0), (0, 0, 255), (255, 0, 0)]
    assert frames[0].shape == (120, 160, 3)


async def test_sim_camera_names_an_unreadable_image_file(tmp_path: Path) -> None:
    camera = SimCamera([tmp_path / "missing.png"])
    with pytest.raises(DeviceFault, match="missing.png"):
        await camera.open()
    assert not camera.is_open


async def test_frames_before_open_are_a_device_fault() -> None:
    with pytest.raises(DeviceFault, match="not open"):
        await SimCamera().frame()


async def test_opencv_camera_reads_a_video_file_as_rgb_and_loops_it(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 240))
    for bgr in [(0, 0, 255), (0, 255, 0)]:  # red, then green
        writer.write(np.full((240, 320, 3), bgr, np.uint8))
    writer.release()
    camera = OpenCvCamera(str(path))
    await camera.open()
    try:
        frames = [await camera.frame() for _ in range(3)]
        jpeg = await camera.snapshot()
    finally:
        await camera.close()
    # JPEG-compressed in the file: compare colours with a tolerance.
    dominant = [int(np.argmax(f[120, 160])) for f in frames]
    assert dominant == [0, 1, 0]  # R, G, then R again after the end
    assert decode_jpeg(jpeg).shape == (240, 320, 3)


async def test_opencv_camera_names_a_source_it_cannot_open(tmp_path: Path) -> None:
    camera = OpenCvCamera(str(tmp_path / "nothing.avi"))
    with pytest.raises(DeviceFault, match="nothing.avi"):
        await camera.open()
    with pytest.raises(TypeError, match="index_or_path"):
        OpenCvCamera(1.5)  # type: ignore[arg-type]


async def test_pi_camera_without_picamera2_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "picamera2", None)
    with pytest.raises(DeviceFault, match=r"picamera2 is not installed; install the 'pi' extra") as err:
        await PiCamera().open()
    assert err.value.device == "camera"


class FakePicamera2:
    """Stands in for picamera2.Picamera2: records calls, serves RGB arrays."""

    instances: list[FakePicamera2] = []

    def __init__(self, camera_num: int = 0) -> None:
        if camera_num > 0:
            raise IndexError("list index out of range")  # what picamera2 does for a missing camera
        self.calls: list[str] = []
        self.config: dict = {}
        FakePicamera2.instances.append(self)

    def create_video_configuration(self, main: dict) -> dict:
        return {"main": main}

    def configure(self, config: dict) -> None:
        self.config = config
        self.calls.append("configure")

    def start(self) -> None:
        self.calls.append("start")

    def capture_array(self, stream: str) -> np.ndarray:
        w, h = self.config["main"]["size"]
        return np.full((h, w, 3), (200, 10, 10), np.uint8)

    def stop(self) -> None:
        self.calls.append("stop")

    def close(self) -> None:
        self.calls.append("close")


@pytest.fixture
def fake_picamera2(monkeypatch: pytest.MonkeyPatch) -> type[FakePicamera2]:
    FakePicamera2.instances = []
    monkeypatch.setitem(sys.modules, "picamera2", types.SimpleNamespace(Picamera2=FakePicamera2))
    return FakePicamera2


async def test_pi_camera_asks_for_rgb_frames_and_releases_the_camera(fake_picamera2: type[FakePicamera2]) -> None:
    camera = PiCamera(size=(320, 240))
    await camera.open()
    frame = await camera.frame()
    jpeg = await camera.snapshot()
    await camera.close()
    (picam,) = fake_picamera2.instances
    # libcamera's "BGR888" is R, G, B in memory: the RGB order the decoder and JPEG encoder expect.
    assert picam.config["main"] == {"size": (320, 240), "format": "BGR888"}
    assert picam.calls == ["configure", "start", "stop", "close"]
    assert frame.shape == (240, 320, 3)
    assert tuple(decode_jpeg(jpeg)[120, 160]) == pytest.approx((10, 10, 200), abs=6)  # BGR after decode


async def test_pi_camera_that_is_not_there_is_a_device_fault(fake_picamera2: type[FakePicamera2]) -> None:
    with pytest.raises(DeviceFault, match="no Pi camera 1"):
        await PiCamera(camera_num=1).open()


def test_encode_jpeg_takes_grey_frames_and_rejects_others() -> None:
    grey = np.tile(np.arange(256, dtype=np.uint8), (64, 1))
    assert decode_jpeg(encode_jpeg(grey)).shape == (64, 256)
    with pytest.raises(ValueError, match=r"\(64, 256, 2\)"):
        encode_jpeg(np.zeros((64, 256, 2), np.uint8))
    with pytest.raises(ValueError, match="quality"):
        encode_jpeg(grey, quality=0)


async def test_the_sim_cameras_door_snapshot_is_its_stamped_test_card_at_full_size_without_numpy() -> None:
    """The door's photo of the test card: 640x480, drawn and encoded with pygame; raw frames stay numpy's."""
    camera = SimCamera(clock=lambda: 1_790_000_000.0)
    await camera.open()
    try:
        data = await camera.snapshot()
        frame = await camera.frame()
    finally:
        await camera.close()
    photo = decode_jpeg(data)[..., ::-1]  # OpenCV decodes to BGR
    assert photo.shape == frame.shape == (480, 640, 3)
    # The same picture as the frames: colour bars, grey ramp, the time stamp; within JPEG's and the noise's error.
    assert np.abs(photo[:300].astype(int) - frame[:300].astype(int)).mean() < 6
    assert np.abs(photo[340:420].astype(int) - frame[340:420].astype(int)).mean() < 6
    assert (photo[455:470, 10:300] > 200).any() and (photo[455:470, 10:300] < 50).any()  # white glyphs on black


def test_snapshots_encoded_one_after_another_do_not_keep_their_bytes() -> None:
    card = test_card.card((640, 480))
    test_card.add_noise(card, 3.0, random.Random(0))
    size = len(test_card.encode_jpeg(card))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(100):
            test_card.encode_jpeg(card)
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # pygame-ce kept each file object it saved to: about 500 bytes each once closed, the whole JPEG if not
    assert kept < 100 * 100, f"{kept} bytes kept after 100 snapshots of {size} bytes"
