"""Watching the store: re-checked on a timer (often while out of service; with a real commit only now and
then while it works), its marker kept up to date, and its problem kept as the "storage" fault."""

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
    probe_s: float = 0.0  # between checks with a real commit while it works (0: every check)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def __post_init__(self) -> None:
        self.guard.on_change = self.changed

    def changed(self) -> None:
        """The guard's problem, as the "storage" fault (a store found replaced at start-up: from the first frame)."""
        self.faults.storage(self.guard.problem)

    async def run(self) -> None:
        """Every check reads; one in ``probe_s / check_s`` also commits (a write to the card), and so does
        every check while out of service, so a store that works again is noticed at once."""
        since_probe = float("inf")
        while True:
            probe = self.guard.problem is not None or since_probe >= self.probe_s
            self.guard.check(probe=probe)
            since_probe = 0.0 if probe else since_probe + self.check_s
            if probe:  # the marker may lag the store (it is a lower bound): written (with an fsync) as seldom
                self.guard.save_marker()
            await self.sleep(RECONNECT_S if self.guard.problem else self.check_s)
