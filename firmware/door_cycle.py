"""One door cycle, shared by every journey that opens the door (sale, pickup, restock, remote unlock).

    idle ─unlock→ released ─pulse_over→ latched ─unlock (again)→ released
    released, latched ─opened→ opened ─closed→ idle
    released, latched ─not_opened→ idle        (the time to open passed: the journey hears so)
    idle ─resume→ latched                      (after a power cut: a paid sale offered again, no pulse)

``released``: the relay holds the latch open for the pulse the lock actually gave. ``latched``: the pulse
ended and the door was not opened; "unlock again" is offered while the journey allows more unlocks.
The door opening drops the relay at once (the latch has done its job; spare the solenoid), and a
photo is taken at every open and close.

Timers are entry and exit actions of the states they run in (``TIMERS``): started on entering one of
their states from outside them, cancelled on leaving them, and firing their trigger. A timer is never
overwritten or left behind by hand.

The journey keeps its business states and its records: it records the unlock where its rule says
(a sale's approval is committed before ``unlock``; a pickup code is used up in the durable transaction
that records the unlock, before ``unlock``) and hears ``on_opened``, ``on_closed(open_s)`` and
``on_not_opened`` from the cycle. After a power cut the lock is dropped (``recover``); what the journey
does about an interrupted opening is its own (a sale may ``resume`` it).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from firmware.clock import Clock, LoopClock, TimerHandle
from hal.lock import Lock

log = logging.getLogger(__name__)


class D(enum.StrEnum):
    IDLE = "idle"  # no opening authorized: a door that opens now is forced
    RELEASED = "released"  # the relay holds the latch open
    LATCHED = "latched"  # the pulse is over and the door still shut
    OPENED = "opened"  # the door is open; the relay is off


TRANSITIONS: dict[D, dict[str, D]] = {
    D.IDLE: {"unlock": D.RELEASED, "resume": D.LATCHED},
    D.RELEASED: {"pulse_over": D.LATCHED, "opened": D.OPENED, "not_opened": D.IDLE},
    D.LATCHED: {"unlock": D.RELEASED, "opened": D.OPENED, "not_opened": D.IDLE},
    D.OPENED: {"closed": D.IDLE},
}


@dataclass(frozen=True)
class Timer:
    """Runs while the cycle is in one of ``states``; when it expires the cycle takes ``trigger``."""

    states: frozenset[D]
    trigger: str
    seconds: Callable[[DoorCycle], float]


TIMERS: dict[str, Timer] = {
    # The relay pulse the lock gave: then the latch holds again (and "unlock again" may be offered).
    "pulse": Timer(frozenset({D.RELEASED}), "pulse_over", lambda cycle: cycle.pulse_s),
    # The time to open the door, from the first unlock (or the resume): not extended by unlocking again.
    "open_by": Timer(frozenset({D.RELEASED, D.LATCHED}), "not_opened", lambda cycle: cycle.opening_window_s()),
}


class DoorRefused(Exception):
    pass


@dataclass(frozen=True)
class Opening:
    """One authorized opening of the door, as its journey asks for it."""

    reason: str  # "sale", "pickup", "restock", "remote": for the log
    pulse_s: float  # how long the latch is asked to stay released (the lock bounds it)
    open_within_s: float  # the door must be opened within this, from the first unlock
    on_opened: Callable[[], None]
    on_closed: Callable[[float], None]  # how long the door was open (s)
    on_not_opened: Callable[[], None]
    unlocks: int = 1  # latch releases allowed in all; above 1 the journey offers "unlock again"
    ref: str | None = None  # named in the snapshots (a sale's id)


@dataclass(frozen=True)
class DoorView:
    """What the screen may say about the door, all of it from the cycle."""

    door: str  # "unlocked" (released or latched, waiting to be opened), "opened", "closed"
    released_until: float | None  # clock.monotonic() when the latch holds again; None: it holds now
    open_by: float | None  # clock.monotonic() when the time to open the door ends
    can_unlock_again: bool


@dataclass
class DoorCycle:
    lock: Lock
    clock: Clock = field(default_factory=LoopClock)
    on_change: Callable[[], None] = lambda: None
    snapshot: Callable[[str, str | None], None] = lambda kind, ref: None  # ("opened" | "closed", ref)
    state: D = D.IDLE
    opening: Opening | None = None
    unlocks: int = 0  # latch releases so far in this opening
    pulse_s: float = 0.0  # the last pulse the lock gave
    released_until: float | None = None
    released_at: float | None = None  # clock.monotonic() when the lock last took a pulse (before the redraw)
    open_by: float | None = None
    opened_at: float | None = None
    _window_s: float = 0.0
    _timers: dict[str, TimerHandle] = field(default_factory=dict)

    # --- the journey's side --------------------------------------------------------------
    def unlock(self, opening: Opening) -> float:
        """Release the latch for a new opening; returns the pulse the lock gave (s)."""
        if self.state is not D.IDLE:
            raise DoorRefused(f"the door is busy ({self.state.value}, {self.opening and self.opening.reason})")
        return self._release(opening)

    def unlock_again(self, opening: Opening) -> float:
        """Release the latch again for the same opening, when it allows another; returns the pulse (s)."""
        if self.opening is not opening or not self.can_unlock_again:
            raise DoorRefused("unlock again is not offered now")
        return self._release(opening)

    def resume(self, opening: Opening, unlocks_used: int, window_s: float) -> None:
        """After a power cut: the opening is offered again for ``window_s``, the latch shut until the
        person asks for it (``unlock_again``); ``unlocks_used`` releases already counted."""
        if self.state is not D.IDLE:
            raise DoorRefused(f"the door is busy ({self.state.value})")
        self._begin(opening, window_s, min(unlocks_used, opening.unlocks - 1))
        self._go("resume")

    def recover(self) -> None:
        """At boot: fail-secure, whatever state the last run died in; no opening survives a restart
        (each journey settles its own from the store)."""
        self.lock.lock()

    @property
    def can_unlock_again(self) -> bool:
        return self.state is D.LATCHED and self.opening is not None and self.unlocks < self.opening.unlocks

    def serves(self, opening: Opening | None) -> bool:
        return opening is not None and self.opening is opening

    def view(self) -> DoorView:
        door = {D.RELEASED: "unlocked", D.LATCHED: "unlocked", D.OPENED: "opened"}.get(self.state, "closed")
        return DoorView(door, self.released_until, self.open_by, self.can_unlock_again)

    # --- the door sensor -------------------------------------------------------------------
    def door_changed(self, is_open: bool) -> bool:
        """A debounced door change; False when no opening expected it (opened: the door was forced)."""
        opening = self.opening
        if opening is None:
            return False
        if is_open and self.state in (D.RELEASED, D.LATCHED):
            self.opened_at = self.clock.monotonic()
            self._go("opened")
            opening.on_opened()
            self.snapshot("opened", opening.ref)
            return True
        if not is_open and self.state is D.OPENED:
            open_s = round(self.clock.monotonic() - (self.opened_at or self.clock.monotonic()), 3)
            self._go("closed")
            opening.on_closed(open_s)
            self.snapshot("closed", opening.ref)
            return True
        return False

    # --- inside ------------------------------------------------------------------------------
    def _begin(self, opening: Opening, window_s: float, unlocks: int) -> None:
        self.opening, self.unlocks, self._window_s = opening, unlocks, window_s
        self.open_by = self.clock.monotonic() + window_s

    def opening_window_s(self) -> float:
        return self._window_s

    def _release(self, opening: Opening) -> float:
        pulse = self.lock.unlock(opening.pulse_s)  # when the relay fails (raises), nothing has changed
        self.released_at = self.clock.monotonic()
        if self.state is D.IDLE:
            self._begin(opening, opening.open_within_s, 0)
        self.pulse_s = pulse
        self.unlocks += 1
        self.released_until = self.clock.monotonic() + self.pulse_s
        self._go("unlock")
        return self.pulse_s

    def _go(self, trigger: str) -> D:
        """The one way the cycle changes state: the table's move, the exit actions of the state left,
        the entry actions of the state entered, then a redraw (which sees it all done)."""
        before = self.state
        target = TRANSITIONS[before].get(trigger)
        if target is None:
            raise DoorRefused(f"{trigger!r} is not allowed in door state {before.value}")
        log.info("door transition", extra={"from": before.value, "trigger": trigger, "to": target.value})
        for name, timer in TIMERS.items():  # exit: the timers of states left behind
            if before in timer.states and target not in timer.states:
                self._cancel(name)
        self.state = target
        for name, timer in TIMERS.items():  # entry: the timers of states come into
            if target in timer.states and before not in timer.states:
                self._start(name, timer)
        if target is not D.RELEASED:
            self.released_until = None
        if target in (D.OPENED, D.IDLE):
            self.lock.lock()  # the door is open (the latch did its job), or the opening is over
            self.open_by = None
        if target is D.IDLE:
            self.opening, self.opened_at = None, None
        self.on_change()
        return target

    def _start(self, name: str, timer: Timer) -> None:
        self._cancel(name)
        self._timers[name] = self.clock.call_later(timer.seconds(self), lambda: self._expired(name, timer))

    def _cancel(self, name: str) -> None:
        handle = self._timers.pop(name, None)
        if handle is not None:
            handle.cancel()

    def _expired(self, name: str, timer: Timer) -> None:
        self._timers.pop(name, None)
        if self.state not in timer.states:
            return
        opening = self.opening
        log.info("door timer", extra={"timer": name, "state": self.state.value})
        self._go(timer.trigger)
        if timer.trigger == "not_opened" and opening is not None:
            opening.on_not_opened()
