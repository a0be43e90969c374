"""The retailer's restock journey: an explicit state machine.

    idle ─pin_pad→ pin_entry ─pin_ok→ unlocked          (a staff card skips the PIN pad)
    idle ─staff_card→ unlocked                           (also: a remote unlock the cloud sent)
    pin_entry ─pin_wrong→ pin_entry | ─cancel→ idle      (5 wrong PINs lock the pad, growing delays)
    unlocked ─door_opened→ counting ─door_closed→ recorded ─finish→ idle
    unlocked ─not_opened→ idle                           (the window passed; nothing changed)

While the door is open the retailer sets the count of each product on screen;
closing the door records the counts (one event per product that changed) in
the same transaction as the new stock. Every PIN attempt is an audit event; the
PIN itself never leaves pin_hash.verify_secret.
"""
from __future__ import annotations

import asyncio
import enum
import logging
import time
from dataclasses import dataclass, field
from typing import Callable

from firmware.attempt_guard import AttemptGuard
from firmware.catalog import Catalog
from firmware.config import LockSection
from firmware.journeys.machine import transition
from hal.lock import Lock
from sync_client.cabinet_config import verify_secret
from sync_client.outbox import Outbox

log = logging.getLogger(__name__)


class R(str, enum.Enum):
    IDLE = "idle"
    PIN_ENTRY = "pin_entry"
    UNLOCKED = "unlocked"
    COUNTING = "counting"
    RECORDED = "recorded"


TRANSITIONS: dict[R, dict[str, R]] = {
    R.IDLE: {"pin_pad": R.PIN_ENTRY, "staff_card": R.UNLOCKED, "remote": R.UNLOCKED},
    R.PIN_ENTRY: {"pin_ok": R.UNLOCKED, "pin_wrong": R.PIN_ENTRY, "cancel": R.IDLE},
    R.UNLOCKED: {"door_opened": R.COUNTING, "not_opened": R.IDLE},
    R.COUNTING: {"door_closed": R.RECORDED},
    R.RECORDED: {"finish": R.IDLE},
}


class RestockRefused(Exception):
    pass


@dataclass
class RestockJourney:
    outbox: Outbox
    catalog: Catalog
    lock: Lock
    lock_config: LockSection
    pin_hashes: Callable[[], list[str]]              # from the configuration, current at each attempt
    staff_cards: Callable[[], dict[str, str]]        # uid hex -> role ("retailer", "technician")
    on_change: Callable[[], None] = lambda: None
    window_s: float = 120.0                          # the retailer's time to open the door after unlocking
    state: R = R.IDLE
    who: str | None = None                           # "pin", "card:<uid>", "remote:<command id>"
    counts: dict[str, int] = field(default_factory=dict)
    changes: dict[str, int] = field(default_factory=dict)   # what the last restock changed (sku -> added)
    message: str | None = None
    deadline: float | None = None                     # time.monotonic(): the end of the window to open the door
    _timer: asyncio.TimerHandle | None = None
    _opened_at: float = 0.0

    def __post_init__(self) -> None:
        self.guard = AttemptGuard(self.outbox, "pin_pad")

    def _go(self, trigger: str) -> R:
        return transition(self, TRANSITIONS, trigger, RestockRefused, "restock")

    @property
    def active(self) -> bool:
        return self.state is not R.IDLE

    # --- getting in ---------------------------------------------------------------
    def open_pin_pad(self) -> None:
        self.message = None
        self._go("pin_pad")
        self._show_lock()

    def _show_lock(self) -> None:
        """While the pad is locked it says so, and the keys come back by themselves when the lock ends."""
        locked = self.guard.locked_for()
        if locked > 0:
            self.message = "pin_locked"
            self._timer = asyncio.get_running_loop().call_later(locked, self._lock_over)
            self.on_change()

    def _lock_over(self) -> None:
        if self.state is R.PIN_ENTRY and self.message == "pin_locked":
            self.message = None
            self.on_change()

    def enter_pin(self, pin: str, now: float | None = None) -> bool:
        if self.state is not R.PIN_ENTRY:
            raise RestockRefused("the PIN pad is not open")
        if self.guard.locked_for(now) > 0:
            self._show_lock()
            return False
        ok = any(verify_secret(pin, stored) for stored in self.pin_hashes())
        with self.outbox.transaction() as tx:
            delay = self.guard.record(tx, ok, now)
            tx.append("auth.attempt", {"method": "pin", "purpose": "restock", "ok": ok,
                                       "failures": self.guard.failures, "locked_s": delay})
        if not ok:
            self.message = "pin_wrong"
            self._go("pin_wrong")
            if delay:
                self._show_lock()
            return False
        self.who = "pin"
        self._go("pin_ok")
        self._unlock("restock_pin")
        return True

    def staff_card(self, uid_hex: str) -> bool:
        """A card tapped on the reader: opens for staff, ignored (but audited) for anyone else."""
        role = self.staff_cards().get(uid_hex.upper())
        with self.outbox.transaction() as tx:
            tx.append("auth.attempt", {"method": "card", "purpose": "restock", "ok": role is not None,
                                       "uid": uid_hex.upper(), "role": role})
        if role is None or self.state is not R.IDLE:
            return False
        self.who = f"card:{uid_hex.upper()}"
        self._go("staff_card")
        self._unlock("restock_card")
        return True

    def remote_unlock(self, command_id: str, seconds: float) -> None:
        """The retailer asked the cloud to open the door; the caller applies each command once."""
        if self.state is not R.IDLE:
            raise RestockRefused(f"the cabinet is busy ({self.state.value})")
        self.who = f"remote:{command_id}"
        self._go("remote")
        self._unlock("remote", seconds)

    def cancel(self) -> None:
        if self.state is R.PIN_ENTRY:
            self.message = None
            self._go("cancel")

    # --- the door -------------------------------------------------------------------
    def _unlock(self, reason: str, seconds: float | None = None) -> None:
        # Staff get the longest pulse the lock allows (a shopper gets unlock_s): the lock still bounds it.
        pulse = self.lock.unlock(self.lock_config.max_unlock_s if seconds is None else seconds)
        with self.outbox.transaction() as tx:
            tx.append("door.unlocked", {"reason": reason, "seconds": pulse, "who": self.who})
        self.counts = {sku: self.catalog.stock(sku) for sku in self.catalog.products
                       if not self.catalog.products[sku].online_only}
        self.deadline = time.monotonic() + self.window_s
        self._timer = asyncio.get_running_loop().call_later(self.window_s, self._not_opened)

    def _not_opened(self) -> None:
        if self.state is R.UNLOCKED:
            self.lock.lock()
            self.who, self.deadline = None, None
            self._go("not_opened")

    def door_changed(self, is_open: bool) -> bool:
        """True when this journey expected the change."""
        if is_open and self.state is R.UNLOCKED:
            self.lock.lock()
            with self.outbox.transaction() as tx:
                tx.append("door.opened", {"authorized": True, "reason": "restock", "who": self.who})
            self._opened_at, self.deadline = time.monotonic(), None
            self._go("door_opened")
            return True
        if not is_open and self.state is R.COUNTING:
            self._record()
            return True
        return False

    def set_count(self, sku: str, count: int) -> None:
        if self.state is not R.COUNTING:
            raise RestockRefused("counts are set while the door is open")
        if sku not in self.counts or not 0 <= count <= 999:
            raise RestockRefused(f"no product {sku!r} or count {count} out of range")
        self.counts[sku] = count
        self.on_change()

    def _record(self) -> None:
        self.changes = {}
        with self.outbox.transaction() as tx:
            tx.append("door.closed", {"open_s": round(time.monotonic() - self._opened_at, 3), "reason": "restock"})
            for sku, count in self.counts.items():
                before = self.catalog.stock(sku)
                if count != before:
                    self.changes[sku] = count - before
                    self.catalog.set_count(tx, sku, count, "restock")
                    tx.append("restock.recorded", {"sku": sku, "added": count - before, "count": count,
                                                   "staff_uid": self.who.split(":", 1)[1]
                                                   if self.who and self.who.startswith("card:") else None,
                                                   "who": self.who})
        self._go("door_closed")
        self._timer = asyncio.get_running_loop().call_later(3.0, self.finish)

    def finish(self) -> None:
        if self.state is R.RECORDED:
            self.who, self.message = None, None
            self._go("finish")

    def pin_lock_remaining(self) -> float:
        return self.guard.locked_for(time.time())
