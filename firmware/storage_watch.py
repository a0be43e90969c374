"""Watching the store: re-checked on a timer (often while out of service), its marker kept up to date,
and its problem kept as the "storage" fault."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from firmware.device_watch import RECONNECT_S
from firmware.faults import Faults
from firmware.storage import StorageGuard


@dataclass
class StorageWatch:
    guard: StorageGuard
    faults: Faults
    check_s: float  # between checks while the store works
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def __post_init__(self) -> None:
        self.guard.on_change = self.changed

    def changed(self) -> None:
        """The guard's problem, as the "storage" fault (a store found replaced at start-up: from the first frame)."""
        self.faults.storage(self.guard.problem)

    async def run(self) -> None:
        while True:
            self.guard.check()
            self.guard.save_marker()
            await self.sleep(RECONNECT_S if self.guard.problem else self.check_s)
