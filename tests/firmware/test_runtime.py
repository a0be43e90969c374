"""The composition root stops what it started, in reverse order, also when start-up fails halfway: run on
the simulation's real parts (emulators over PTYs, a local cloud stub on a loopback port, gpiozero mock
pins), with one part made to fail."""

from __future__ import annotations

import contextlib
import os
import socket
import time
from pathlib import Path

import aiohttp
import pytest

from firmware.config import Config, load_config
from firmware.runtime import Parts, RunOptions, choose_video_driver, run, sim_parts
from hal.camera import Camera


class CameraGone(Camera):
    """A camera whose driver fails in a way nobody planned for: not a DeviceFault, which would be a fault
    the cabinet runs on with, but a bug that stops start-up."""

    async def open(self) -> None:
        raise RuntimeError("camera driver bug")

    async def snapshot(self) -> bytes:
        raise AssertionError("never opened")


class Recorder:
    """Builds the simulation's parts as `kiosk run --sim` does and keeps them to look at afterwards."""

    def __init__(self, broken_camera: bool) -> None:
        self.broken_camera = broken_camera
        self.parts: Parts | None = None

    async def __call__(
        self, stack: contextlib.AsyncExitStack, config: Config, options: RunOptions, key: bytes
    ) -> Parts:
        self.parts = await sim_parts(stack, config, options, key)
        if self.broken_camera:  # opened after the terminal and the card reader
            self.parts.devices.camera = CameraGone()
        return self.parts


@pytest.fixture
def options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunOptions:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    choose_video_driver(headless=True)
    return RunOptions(
        sim=True, headless=True, data_dir=tmp_path, cloud_url=None, control_port=None, started_at=time.monotonic()
    )


async def cloud_answers(url: str) -> bool:
    try:
        async with aiohttp.ClientSession() as session, session.get(f"{url}/healthz") as response:
            return response.status == 200
    except aiohttp.ClientConnectionError:
        return False


async def assert_everything_stopped(recorder: Recorder) -> None:
    assert recorder.parts is not None and recorder.parts.bench is not None
    devices, bench = recorder.parts.devices, recorder.parts.bench
    terminal, reader = devices.terminals["terminal"], devices.card_reader
    assert reader is not None
    assert repr(terminal).endswith(": closed>") and repr(reader).endswith(": closed>")  # they had opened
    assert repr(devices.lock).endswith(": released>") and repr(devices.door).endswith(": released>")
    assert not bench.door.latch_released
    for port in (bench.terminal.port, bench.nfc.port, bench.scanner.port):
        assert not os.path.exists(port), f"{port} still there: its emulator was not stopped"
    assert not await cloud_answers(bench.cloud_url), "the local cloud still serves"


async def test_a_device_failing_to_open_after_others_closes_them_all(options: RunOptions) -> None:
    recorder = Recorder(broken_camera=True)
    with pytest.raises(RuntimeError, match="camera driver bug"):
        await run(load_config(None), options, recorder)
    await assert_everything_stopped(recorder)


async def test_a_control_port_already_taken_stops_the_running_cabinet_cleanly(options: RunOptions) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        options.control_port = taken.getsockname()[1]
        recorder = Recorder(broken_camera=False)
        with pytest.raises(OSError):
            await run(load_config(None), options, recorder)
    await assert_everything_stopped(recorder)
    # The store was found to be the cabinet's own and closed cleanly: its marker was kept.
    assert (options.data_dir / "store-marker.json").exists()
