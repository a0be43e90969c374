"""`kiosk lockboard flash`: mpremote copies the firmware, then the board must report our version
over the real serial protocol (here: the lock board emulator, which runs the same firmware)."""

import asyncio
import os
import stat
import subprocess
import sys
import threading

from firmware.lockboard.controller import LockController
from firmware.technician.lockboard_flash import FILES, shipped_version
from hal.sim.lockboard_emulator import LockBoardEmulator


def stub_mpremote(tmp_path, exit_code=0):
    """A stand-in for mpremote that records its arguments (a Pico is not on this machine)."""
    calls = tmp_path / "calls.txt"
    script = tmp_path / "bin" / "mpremote"
    script.parent.mkdir()
    script.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexit {exit_code}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return calls, {**os.environ, "PATH": f"{script.parent}:{os.environ['PATH']}"}


def run_flash_against_emulator(tmp_path, exit_code=0):
    calls, env = stub_mpremote(tmp_path, exit_code)
    ready, done = threading.Event(), threading.Event()
    port = {}

    def board():
        async def serve():
            async with LockBoardEmulator(LockController) as emulator:
                port["path"] = emulator.port
                ready.set()
                while not done.is_set():
                    await asyncio.sleep(0.05)

        asyncio.run(serve())

    thread = threading.Thread(target=board)
    thread.start()
    ready.wait(10)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "firmware.cli", "lockboard", "flash", port["path"]],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
    finally:
        done.set()
        thread.join(10)
    return result, calls.read_text() if calls.exists() else ""


def test_flash_copies_every_file_and_checks_the_reported_version(tmp_path):
    result, calls = run_flash_against_emulator(tmp_path)
    assert result.returncode == 0, result.stderr
    version = ".".join(map(str, shipped_version()))
    assert f"firmware {version} running" in result.stdout
    copy, reset = calls.strip().splitlines()
    assert all(f":{name}" in copy for name in FILES)
    assert reset.endswith("reset")


def test_a_failing_mpremote_says_what_to_do(tmp_path):
    result, _ = run_flash_against_emulator(tmp_path, exit_code=1)
    assert result.returncode == 1
    assert "is the Pico plugged in and running MicroPython" in result.stderr
