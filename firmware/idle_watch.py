"""The idle timeout (journeys back to where they wait), and twice a second the online indicator and the
heartbeat when it is due. All of it on the cabinet's clock."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from firmware.clock import Clock, TimerHandle
from firmware.optional_events import append_optional
from sync_client.outbox import Outbox

TICK_S = 0.5


@dataclass
class IdleWatch:
    outbox: Outbox
    faults: Callable[[], Iterable[str]]  # the names of the faults, in every heartbeat
    heartbeat_s: float
    idle_timeout_s: float
    on_idle: Callable[[], None]  # no touch for idle_timeout_s, and again every idle_timeout_s after
    is_online: Callable[[], bool]
    on_online_changed: Callable[[], None]
    clock: Clock  # touches are stamped on it, and the idle timeout is one of its timers
    next_heartbeat: float | None = None  # None: at the first tick
    # An optional event that rides in the heartbeat's commit when it has one (the ad plays), and what to tell
    # once it is committed: an idle cabinet commits once a heartbeat, whatever else it has to say.
    rider: Callable[[], tuple[str, dict[str, Any]] | None] = lambda: None
    rider_committed: Callable[[], None] = lambda: None
    shown_online: bool | None = None  # what the screen shows; None: read at the first tick
    idle_at: float | None = None  # when the idle timeout fires (on the clock), unless someone touches first
    _idle_timer: TimerHandle | None = None

    def activity(self) -> None:
        """Someone touched the screen: the idle timeout starts again from now."""
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self.idle_at = self.clock.monotonic() + self.idle_timeout_s
        self._idle_timer = self.clock.call_later(self.idle_timeout_s, self._idle)

    def _idle(self) -> None:
        self.activity()  # no touch for another idle_timeout_s: once more (a journey may have waited on money)
        self.on_idle()

    def tick(self) -> None:
        now = self.clock.monotonic()
        if self.shown_online is None:
            self.shown_online = self.is_online()
        if self.next_heartbeat is None or now >= self.next_heartbeat:
            rider = self.rider()
            heartbeat = {"faults": sorted(self.faults())}
            if append_optional(self.outbox, "heartbeat", heartbeat, *([rider] if rider else [])) and rider:
                self.rider_committed()
            self.next_heartbeat = now + self.heartbeat_s
        if self.is_online() != self.shown_online:
            self.shown_online = self.is_online()
            self.on_online_changed()

    def stop(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self._idle_timer = self.idle_at = None

    async def run(self) -> None:
        self.activity()  # the idle timeout counts from the start (on the loop: its timer needs one)
        try:
            while True:
                self.tick()
                await self.clock.sleep(TICK_S)
        finally:
            self.stop()
