"""`kiosk lockboard flash`: mpremote copies the firmware, then the board must report our version
over the real serial protocol (here: the lock board emulator, which runs the same firmware)."""

import asyncio
import io
import os
import stat
import subprocess
import sys
import threading

from firmware.lockboard.controller import LockController
from firmware.technician.lockboard_flash import FILES, flash, shipped_version
from hal.sim.lockboard_emulator import LockBoardEmulator
from sync_client.progress import Progress


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
    *copies, reset = calls.strip().splitlines()
    assert [copy.split()[-1] for copy in copies] == [f":{name}" for name in FILES]  # one file per copy
    assert reset.endswith("reset")
    # a progress line per step, as it starts: each file, the restart, the version check
    steps = [line.split("] ", 1)[1].rsplit(" (", 1)[0] for line in result.stdout.splitlines() if "] " in line]
    total = len(FILES) + 2
    assert steps == [f"copying {name}" for name in FILES] + [
        "restarting the board",
        "waiting for the board to report its version",
    ]
    assert [line.split()[1] for line in result.stdout.splitlines() if "] " in line] == [
        f"[{n}/{total}]" for n in range(1, total + 1)
    ]


def test_a_failed_flash_stops_its_progress_at_the_failing_step(tmp_path, monkeypatch):
    """What a screen showing the flashing is given (the CLI draws the same records as a bar)."""
    _, env = stub_mpremote(tmp_path, exit_code=1)
    monkeypatch.setenv("PATH", env["PATH"])
    seen = []
    assert flash("/dev/null", out=io.StringIO(), progress=seen.append) == 1  # mpremote fails at the first copy
    assert seen == [Progress(f"copying {FILES[0]}", 0, len(FILES) + 2)]


def test_a_failing_mpremote_says_what_to_do(tmp_path):
    result, _ = run_flash_against_emulator(tmp_path, exit_code=1)
    assert result.returncode == 1
    assert "is the Pico plugged in and running MicroPython" in result.stderr
