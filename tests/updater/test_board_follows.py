"""The lock board follows the running program: at start a board reporting another firmware version (over the
real serial protocol: the lock board emulator on a PTY, running the real firmware) is flashed with the files
this program ships, and then reports their version. mpremote is a stand-in that records its calls and, at its
reset, makes the emulated board run the version it was given (a Pico is not on this machine)."""

from __future__ import annotations

import asyncio
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import firmware.lockboard.controller as board_firmware
from firmware.lockboard.controller import LockController
from firmware.technician.lockboard_flash import FILES, shipped_version
from firmware.updater.board import board_follows_program
from hal.sim.lockboard_emulator import LockBoardEmulator


class Board:
    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = tmp_path / "calls.txt"
        self.flashed = tmp_path / "flashed"
        script = tmp_path / "bin" / "mpremote"
        script.parent.mkdir()
        # records each call; the reset (the last step) marks the board flashed and returns once the emulated
        # board runs the new version (as a real reset returns once the board is back)
        ack = f"{self.flashed}-ack"
        reset = f"touch {self.flashed}; n=0; while [ ! -e {ack} ] && [ $n -lt 500 ]; do sleep 0.01; n=$((n+1)); done"
        script.write_text(f'#!/bin/sh\necho "$@" >> {self.calls}\ncase "$*" in *reset) {reset};; esac\n')
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
        monkeypatch.setenv("PATH", f"{script.parent}:/usr/bin:/bin")
        self.monkeypatch = monkeypatch
        self.port = ""

    def run(self, version: tuple[int, int, int]) -> Iterator[None]:
        """The emulated board in its own thread, running ``version`` until the stand-in flashes it."""
        self.monkeypatch.setattr(board_firmware, "VERSION", version)
        ready, done = threading.Event(), threading.Event()

        def board() -> None:
            async def serve() -> None:
                async with LockBoardEmulator(LockController) as emulator:
                    self.port = emulator.port
                    ready.set()
                    while not done.is_set():
                        if self.flashed.exists():
                            board_firmware.VERSION = shipped_version()
                            Path(f"{self.flashed}-ack").touch()
                        await asyncio.sleep(0.01)

            asyncio.run(serve())

        thread = threading.Thread(target=board)
        thread.start()
        assert ready.wait(10)
        try:
            yield
        finally:
            done.set()
            thread.join(10)


@pytest.fixture
def board(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Board:
    return Board(tmp_path, monkeypatch)


async def test_a_board_on_another_version_is_flashed_with_the_programs_firmware(board: Board) -> None:
    for _ in board.run((0, 9, 0)):
        said = await board_follows_program(board.port)
    want = ".".join(map(str, shipped_version()))
    assert said == f"lock board flashed from 0.9.0 to {want}"
    *copies, reset = board.calls.read_text().strip().splitlines()
    assert [copy.split()[-1] for copy in copies] == [f":{name}" for name in FILES]
    assert reset.endswith("reset") and board.port in reset


async def test_a_board_on_the_shipped_version_is_left_alone(board: Board) -> None:
    for _ in board.run(shipped_version()):
        said = await board_follows_program(board.port)
    assert said.endswith("as this program ships")
    assert not board.calls.exists()


async def test_a_board_that_does_not_answer_is_not_flashed(board: Board, tmp_path: Path) -> None:
    said = await board_follows_program(str(tmp_path / "no-such-port"), timeout_s=0.2)
    assert "not answering" in said and "not checked" in said
    assert not board.calls.exists()
