"""The idle timeout (journeys back to where they wait), and twice a second the online indicator and the
heartbeat when it is due. All of it on the cabinet's clock.

A heartbeat is a commit (a write to the card) and an upload: it is stored only when it has news (the fault
list changed, or the ad plays are due to ride in it) or ``heartbeat_store_s`` went by since the last one
stored; otherwise the beat is skipped. The cloud still hears from an idle cabinet every ``heartbeat_store_s``.

Before the idle timeout leaves a journey the shopper put work into (``should_ask``: a checkout, a payment
that just ended, a form being typed) it asks "still there?" for ``ask_s`` (``asking_until``, on screen with
a countdown); any touch answers it. While a payment waits (``holding``) nobody needs to touch the screen:
the idle timeout counts from the payment's end, at least ``ENDING_S``, so its ending can be read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from firmware.clock import Clock, TimerHandle
from firmware.optional_events import append_optional
from sync_client.outbox import Outbox

TICK_S = 0.5
ASK_S = 20.0  # how long "still there?" waits for a touch
ENDING_S = 8.0  # a payment's ending (declined, timed out...) stays at least this long before the idle timeout


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
    should_ask: Callable[[], bool] = lambda: False  # ask "still there?" before on_idle
    holding: Callable[[], bool] = lambda: False  # a payment waits: the idle timeout does not run
    on_ask: Callable[[], None] = lambda: None  # the question appeared or went: the screen changes
    ask_s: float = ASK_S
    heartbeat_store_s: float = 0.0  # a heartbeat with nothing new is stored at most this often (0: every beat)
    next_heartbeat: float | None = None  # None: at the first tick
    stored_heartbeat: tuple[float, list[str]] | None = None  # when the last one was stored (clock), its faults
    # Optional events that ride in the heartbeat's commit when it has some (ad plays, sessions), and what to tell
    # once it is committed: an idle cabinet commits once a heartbeat, whatever else it has to say.
    rider: Callable[[], list[tuple[str, dict[str, Any]]]] = lambda: []
    rider_committed: Callable[[], None] = lambda: None
    # What else every heartbeat reports for the retailer's fleet view (the software version, the unsent backlog).
    status: Callable[[], dict[str, Any]] = lambda: {}
    shown_online: bool | None = None  # what the screen shows; None: read at the first tick
    idle_at: float | None = None  # when the idle timeout fires (on the clock), unless someone touches first
    asking_until: float | None = None  # "still there?" is on screen until then
    held: bool = False  # a payment was waiting at the last tick
    _idle_timer: TimerHandle | None = None

    def activity(self) -> None:
        """Someone touched the screen: the idle timeout starts again from now (and any question is answered)."""
        self._arm(self.idle_timeout_s)
        if self.asking_until is not None:
            self.asking_until = None
            self.on_ask()

    def _arm(self, delay_s: float) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self.idle_at = self.clock.monotonic() + delay_s
        self._idle_timer = self.clock.call_later(delay_s, self._idle)

    def _idle(self) -> None:
        if self.asking_until is None and self.should_ask():
            self.asking_until = self.clock.monotonic() + self.ask_s
            self._arm(self.ask_s)
            self.on_ask()
            return
        asked, self.asking_until = self.asking_until is not None, None
        self._arm(self.idle_timeout_s)  # no touch for another idle_timeout_s: once more
        self.on_idle()
        if asked:
            self.on_ask()

    def tick(self) -> None:
        now = self.clock.monotonic()
        holding = self.holding()
        if holding or self.held:  # the count starts after the payment's end, whose message gets time to be read
            self._arm(max(self.idle_timeout_s, ENDING_S))
        self.held = holding
        if self.shown_online is None:
            self.shown_online = self.is_online()
        if self.next_heartbeat is None or now >= self.next_heartbeat:
            self._beat(now)
            self.next_heartbeat = now + self.heartbeat_s
        if self.is_online() != self.shown_online:
            self.shown_online = self.is_online()
            self.on_online_changed()

    def _beat(self, now: float) -> None:
        rider = self.rider()
        faults = sorted(self.faults())
        last = self.stored_heartbeat
        if last is not None and not rider and faults == last[1] and now - last[0] < self.heartbeat_store_s:
            return  # nothing new: no commit, no upload
        heartbeat = {**self.status(), "faults": faults}  # the software and backlog ride along; no news of their own
        if append_optional(self.outbox, "heartbeat", heartbeat, *rider):
            self.stored_heartbeat = (now, faults)
            if rider:
                self.rider_committed()

    def stop(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self._idle_timer = self.idle_at = self.asking_until = None

    async def run(self) -> None:
        self.activity()  # the idle timeout counts from the start (on the loop: its timer needs one)
        try:
            while True:
                self.tick()
                await self.clock.sleep(TICK_S)
        finally:
            self.stop()
