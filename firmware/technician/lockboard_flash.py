"""`kiosk lockboard flash PORT`: copy the lock board's MicroPython firmware to a Pico with
mpremote, restart it, and check that it reports the version this release carries."""

from __future__ import annotations

import ast
import asyncio
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TextIO

import firmware.lockboard
from hal.errors import DeviceFault
from hal.lockboard import BAUDRATE, LockBoardLink
from hal.serial_link import SerialLink
from sync_client.progress import Progress, ProgressSink

FIRMWARE_DIR = Path(firmware.lockboard.__file__).parent
FILES = ("protocol.py", "controller.py", "main.py")


def shipped_version(directory: Path = FIRMWARE_DIR) -> tuple[int, int, int]:
    """VERSION as written in ``directory``'s controller.py (read, not imported: it is MicroPython code)."""
    tree = ast.parse((directory / "controller.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "VERSION" for t in node.targets):
            major, minor, patch = (int(part) for part in ast.literal_eval(node.value))
            return major, minor, patch
    raise RuntimeError(f"{directory / 'controller.py'} has no VERSION")


def mpremote_commands(port: str) -> list[tuple[str, list[str]]]:
    """(step, argv): one copy per file, so that the progress moves with each, then the restart."""
    mpremote = shutil.which("mpremote") or str(Path(sys.executable).with_name("mpremote"))
    copies = [
        (f"copying {name}", [mpremote, "connect", port, "fs", "cp", str(FIRMWARE_DIR / name), f":{name}"])
        for name in FILES
    ]
    return [*copies, ("restarting the board", [mpremote, "connect", port, "reset"])]


async def board_version(port: str, timeout: float = 10.0) -> tuple[int, int, int]:
    link = LockBoardLink(SerialLink("lockboard", port, BAUDRATE))
    deadline = asyncio.get_running_loop().time() + timeout
    while True:  # the board restarts after the copy: try until it answers
        try:
            await link.open()
            try:
                return (await link.read_status()).version
            finally:
                await link.close()
        except DeviceFault:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


def flash(port: str, out: TextIO = sys.stdout, progress: ProgressSink | None = None) -> int:
    """Copy, restart, check the version; a line on ``out`` for each step, and ``progress`` told of each."""
    commands = mpremote_commands(port)
    total = len(commands) + 1  # and the version check

    def step(done: int, label: str) -> None:
        print(f"lockboard: [{done + 1}/{total}] {label} ({port})", file=out, flush=True)
        if progress is not None:
            progress(Progress(label, done, total))

    for done, (label, argv) in enumerate(commands):
        step(done, label)
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        except FileNotFoundError:
            print("lockboard: mpremote is not installed; pip install mpremote", file=sys.stderr)
            return 1
        if result.returncode != 0:
            print(
                f"lockboard: mpremote failed: {(result.stderr or result.stdout).strip()[-400:]}\n"
                "  -> is the Pico plugged in and running MicroPython? (hold BOOTSEL while plugging in to "
                "install MicroPython first)",
                file=sys.stderr,
            )
            return 1
    want = shipped_version()
    step(len(commands), "waiting for the board to report its version")
    try:
        got = asyncio.run(board_version(port))
    except DeviceFault as exc:
        print(
            f"lockboard: the board does not answer after flashing: {exc.detail}\n"
            "  -> unplug and plug it back in, then: kiosk lockboard flash again",
            file=sys.stderr,
        )
        return 1
    if got != want:
        print(
            f"lockboard: the board reports version {'.'.join(map(str, got))}, expected {'.'.join(map(str, want))}",
            file=sys.stderr,
        )
        return 1
    if progress is not None:
        progress(Progress("done", total, total))
    print(f"lockboard: ok, firmware {'.'.join(map(str, got))} running on {port}", file=out)
    return 0
