"""Freed heap handed back to the system each time the cabinet is idle again after someone used it.

A sale's screens, texts and requests free their memory when it ends, but glibc's malloc keeps the freed pages
between blocks still in use: only the top of the heap goes back by itself. ``malloc_trim(0)`` returns every
free page (measured with bench_footprint: about 1 MB after 200 sales). It runs once per use of the cabinet,
when it is idle again, on a worker thread, so the frame loop never waits on it.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import sys
from collections.abc import Callable
from dataclasses import dataclass

from firmware.clock import Clock

TICK_S = 1.0


def malloc_trim() -> bool:
    """Give the free pages of the heap back to the system; False where there is no glibc (nothing to do)."""
    name = ctypes.util.find_library("c")
    if not name or not sys.platform.startswith("linux"):
        return False
    try:
        return bool(ctypes.CDLL(name).malloc_trim(0))
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return False


@dataclass
class HeapTrim:
    idle: Callable[[], bool]  # no one is using the cabinet
    clock: Clock
    trim: Callable[[], object] = malloc_trim
    used: bool = False  # someone used the cabinet since the last trim
    tick_at: float | None = None  # the next look, on the clock (None: not running)

    async def run(self) -> None:
        while True:
            self.tick_at = self.clock.monotonic() + TICK_S
            await self.clock.sleep(TICK_S)
            await self.tick()

    async def tick(self) -> None:
        if not self.idle():
            self.used = True
        elif self.used:
            self.used = False
            await asyncio.to_thread(self.trim)
