"""Footfall on the cabinet: the camera's frames counted off the event loop, the counts sent as events.

``FootfallWatch`` takes a frame from the shared camera ``fps`` times a second (the camera's own grab thread
serves it between the door snapshots' and the QR reader's frames) and gives it to the counter
(``hal/footfall.py``) on a worker thread of its own, so neither the screen's event loop nor the default thread
pool waits on it. The frame is dropped as soon as it is counted: only two integers come back.

``FootfallTally`` keeps the counts in memory and, like the ad plays, lets them ride as ``footfall.counted``
events (per UTC day: the first and the last count's time, passers-by and stoppers) in the first heartbeat
commit ``commit_s`` after the last one, and in their own commit at a stop; nothing while nobody was counted.
They are optional events: a full outbox refuses them and they wait in memory for the next try.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from firmware.clock import Clock
from firmware.optional_events import Events, append_optional
from hal.errors import DeviceFault
from sync_client.outbox import Outbox
from sync_client.schema import utc_iso

if TYPE_CHECKING:  # numpy and OpenCV: only when footfall is on
    import numpy as np

    from hal.footfall import FootfallCounter, FootfallSettings

log = logging.getLogger(__name__)
RETRY_S = 5.0  # a camera that failed is asked again this much later


@dataclass
class DayCount:
    first_at: float  # wall time of the first count
    last_at: float
    passers: int = 0
    stoppers: int = 0


@dataclass
class FootfallTally:
    outbox: Outbox
    clock: Clock
    commit_s: float
    days: dict[str, DayCount] = field(default_factory=dict)  # UTC day -> counts not yet committed
    committed_at: float = field(init=False)  # on the clock

    def __post_init__(self) -> None:
        self.committed_at = self.clock.monotonic()

    def add(self, passers: int, stoppers: int) -> None:
        if not passers and not stoppers:
            return
        now = self.clock.time()
        day = utc_iso(now)[:10]
        count = self.days.setdefault(day, DayCount(now, now))
        count.last_at = max(count.last_at, now)
        count.passers += passers
        count.stoppers += stoppers

    def due(self) -> Events:
        """The events to ride with the heartbeat's commit now: ``commit_s`` after the last commit, if anyone
        was counted."""
        if self.clock.monotonic() - self.committed_at < self.commit_s:
            return []
        return self.events()

    def events(self) -> Events:
        return [
            (
                "footfall.counted",
                {
                    "started_at": utc_iso(c.first_at),
                    "ended_at": utc_iso(c.last_at),
                    "passers": c.passers,
                    "stoppers": c.stoppers,
                },
            )
            for _, c in sorted(self.days.items())
        ]

    def committed(self) -> None:
        self.days.clear()
        self.committed_at = self.clock.monotonic()

    def commit(self) -> None:
        """At a stop: the counts since the last commit, in their own commit."""
        events = self.events()
        if events and append_optional(self.outbox, *events[0], *events[1:]):
            self.committed()


@dataclass
class FootfallWatch:
    frame: Callable[[], Awaitable[np.ndarray]]  # the next frame of the shared camera
    settings: FootfallSettings
    fps: float
    clock: Clock
    tally: FootfallTally
    on_fault: Callable[[DeviceFault], None] = lambda fault: None
    frames_counted: int = 0  # for the service screen and the tests: frames seen, none kept

    async def run(self) -> None:
        """Count until cancelled."""
        loop = asyncio.get_running_loop()
        worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="footfall")
        try:
            counter = await loop.run_in_executor(worker, self._counter)  # OpenCV loads off the loop
            while True:
                started = self.clock.monotonic()
                try:
                    frame = await self.frame()
                except DeviceFault as exc:
                    self.on_fault(exc)
                    await self.clock.sleep(RETRY_S)
                    continue
                counts = await loop.run_in_executor(worker, counter.feed, frame, started)
                del frame  # counted: nothing of it stays
                self.frames_counted += 1
                self.tally.add(counts.passers, counts.stoppers)
                await self.clock.sleep(max(0.0, 1.0 / self.fps - (self.clock.monotonic() - started)))
        finally:
            worker.shutdown(wait=False)

    def _counter(self) -> FootfallCounter:
        from hal.footfall import FootfallCounter

        return FootfallCounter(self.settings, fps=self.fps)
