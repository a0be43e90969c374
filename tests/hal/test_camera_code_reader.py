"""CameraCodeReader with the simulated camera: a code held up is read once."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from hal.camera_code_reader import CameraCodeReader
from hal.code_reader import CodeRead
from hal.qr_decode import QrDecoder
from hal.sim.camera_sim import SimCamera


async def read_within(reader: CameraCodeReader, seconds: float) -> CodeRead | None:
    try:
        return await asyncio.wait_for(reader.read(), seconds)
    except TimeoutError:
        return None


@pytest.fixture
async def camera():
    cam = SimCamera(fps=30, seed=11)
    yield cam
    await cam.close()


async def test_a_held_code_is_read_once_and_again_after_it_left_the_view(camera: SimCamera) -> None:
    reader = CameraCodeReader(camera, gone_after=0.4)
    await reader.open()
    try:
        camera.show_code("PICKUP:7F3K-92QD")
        assert await read_within(reader, 5.0) == CodeRead("PICKUP:7F3K-92QD", symbology="qr", source="camera")
        # Still held up: many more frames show it, none is reported.
        assert await read_within(reader, 1.0) is None
        camera.clear_code()
        await asyncio.sleep(0.8)  # out of view for longer than gone_after
        assert await read_within(reader, 0.3) is None
        camera.show_code("PICKUP:7F3K-92QD")
        assert (await read_within(reader, 5.0)).text == "PICKUP:7F3K-92QD"
    finally:
        await reader.close()
    assert not camera.is_open  # the reader opened the camera, so it closed it


async def test_a_different_code_is_reported_at_once(camera: SimCamera) -> None:
    reader = CameraCodeReader(camera, gone_after=5.0)
    await reader.open()
    try:
        camera.show_code("https://shop.example/p/EB-2041")
        assert (await read_within(reader, 5.0)).text == "https://shop.example/p/EB-2041"
        camera.show_code("VIN:WB10A1234567")
        assert (await read_within(reader, 5.0)).text == "VIN:WB10A1234567"
    finally:
        await reader.close()


async def test_a_camera_opened_by_someone_else_stays_open(camera: SimCamera) -> None:
    await camera.open()
    reader = CameraCodeReader(camera)
    await reader.open()
    await reader.close()
    assert camera.is_open
    assert (await camera.snapshot())[:2] == b"\xff\xd8"


class SlowDecoder(QrDecoder):
    """Takes as long as a heavy decode on a slow Pi; finds one code."""

    name = "slow"

    def decode(self, frame: np.ndarray) -> list[str]:
        time.sleep(0.3)
        return ["SLOW"]


async def test_decoding_never_holds_up_the_event_loop(camera: SimCamera) -> None:
    reader = CameraCodeReader(camera, decoder=SlowDecoder())
    await reader.open()
    gaps: list[float] = []

    async def ui_frames() -> None:  # what the UI's 30 fps frame loop does
        last = time.monotonic()
        while True:
            await asyncio.sleep(1 / 30)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(ui_frames())
    try:
        assert (await read_within(reader, 5.0)).text == "SLOW"
    finally:
        ticker.cancel()
        await reader.close()
    assert len(gaps) >= 5
    assert max(gaps) < 0.2  # a blocked loop would stall for the 0.3 s decode


async def test_read_before_open_is_a_clear_error(camera: SimCamera) -> None:
    with pytest.raises(RuntimeError, match="not open"):
        await CameraCodeReader(camera).read()
    with pytest.raises(ValueError, match="gone_after"):
        CameraCodeReader(camera, gone_after=0)
