"""The lock board runs the firmware the running program ships (its `firmware/lockboard/`, which came with the
release, verified through TUF): at start, before the board is opened, a board reporting another version is
flashed with it. So an update carries the board forward, and a rollback carries it back; the health check of
a version on trial then finds the board on the version the release ships (firmware/updater/wiring.py)."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable
from typing import TextIO

from firmware.technician import lockboard_flash
from hal.errors import DeviceFault

log = logging.getLogger(__name__)

Flasher = Callable[[str, TextIO], int]  # (port, where its lines go) -> exit status, as `kiosk lockboard flash`


def _dotted(version: tuple[int, int, int]) -> str:
    return ".".join(map(str, version))


async def board_follows_program(port: str, flash: Flasher = lockboard_flash.flash, timeout_s: float = 10.0) -> str:
    """Check the board's version against the shipped one and flash it when they differ; what happened."""
    want = lockboard_flash.shipped_version()
    try:
        got = await lockboard_flash.board_version(port, timeout_s)
    except DeviceFault as exc:
        return f"lock board on {port} not answering ({exc.detail}): its firmware not checked"
    if got == want:
        return f"lock board runs {_dotted(want)}, as this program ships"
    log.warning("lock board runs %s, this program ships %s: flashing it", _dotted(got), _dotted(want))
    if await asyncio.to_thread(flash, port, io.StringIO()) != 0:  # its reason went to stderr: the journal
        return f"lock board runs {_dotted(got)}, this program ships {_dotted(want)}: flashing it failed"
    return f"lock board flashed from {_dotted(got)} to {_dotted(want)}"
