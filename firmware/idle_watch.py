"""Twice a second: the idle timeout (journeys back to where they wait), the online indicator, and the
heartbeat when it is due."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from firmware.optional_events import append_optional
from sync_client.outbox import Outbox

TICK_S = 0.5


@dataclass
class IdleWatch:
    outbox: Outbox
    faults: Callable[[], Iterable[str]]  # the names of the faults, in every heartbeat
    heartbeat_s: float
    idle_timeout_s: float
    on_idle: Callable[[], None]  # no touch for idle_timeout_s
    is_online: Callable[[], bool]
    on_online_changed: Callable[[], None]
    monotonic: Callable[[], float] = time.monotonic  # the touchscreen's clock: activity is stamped on it
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    last_activity: float = field(default=0.0)
    next_heartbeat: float | None = None  # None: at the first tick
    shown_online: bool | None = None  # what the screen shows; None: read at the first tick

    def __post_init__(self) -> None:
        self.last_activity = self.monotonic()

    def activity(self) -> None:
        """Someone touched the screen."""
        self.last_activity = self.monotonic()

    def tick(self) -> None:
        now = self.monotonic()
        if self.shown_online is None:
            self.shown_online = self.is_online()
        if self.next_heartbeat is None or now >= self.next_heartbeat:
            append_optional(self.outbox, "heartbeat", {"faults": sorted(self.faults())})
            self.next_heartbeat = now + self.heartbeat_s
        if now - self.last_activity > self.idle_timeout_s:
            self.on_idle()
            self.last_activity = now
        if self.is_online() != self.shown_online:
            self.shown_online = self.is_online()
            self.on_online_changed()

    async def run(self) -> None:
        while True:
            self.tick()
            await self.sleep(TICK_S)
