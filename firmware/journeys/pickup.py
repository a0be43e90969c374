"""Picking up an online order: an explicit state machine.

    idle ─open→ code_entry ─code_ok→ door_unlocked ─door_opened→ door_opened ─door_closed→ done ─finish→ idle
    code_entry ─code_wrong→ code_entry | ─back→ idle
    door_unlocked ─not_opened→ idle     (the window passed: the code stays valid for another try)

Codes come down with the configuration as salted hashes with an expiry, so a code
works offline if the cabinet synced after the order was made. Each code opens
the door once: the order is marked collected with ``pickup.completed`` when the
door closes. Wrong codes are rate-limited like PINs, and the limit survives a reboot.
"""
from __future__ import annotations

import asyncio
import enum
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from firmware.attempt_guard import AttemptGuard
from firmware.catalog import Catalog
from firmware.config import LockSection
from firmware.journeys.machine import transition
from hal.lock import Lock
from sync_client.cabinet_config import PickupOrder
from sync_client.outbox import Outbox
from sync_client.schema import utc_now_iso

log = logging.getLogger(__name__)

PICKUPS_DDL = """
CREATE TABLE IF NOT EXISTS pickups (
    order_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,             -- unlocked | collected
    updated_at TEXT NOT NULL
)
"""


class P(str, enum.Enum):
    IDLE = "idle"
    CODE_ENTRY = "code_entry"
    DOOR_UNLOCKED = "door_unlocked"
    DOOR_OPENED = "door_opened"
    DONE = "done"


TRANSITIONS: dict[P, dict[str, P]] = {
    P.IDLE: {"open": P.CODE_ENTRY},
    P.CODE_ENTRY: {"code_ok": P.DOOR_UNLOCKED, "code_wrong": P.CODE_ENTRY, "back": P.IDLE, "idle": P.IDLE},
    P.DOOR_UNLOCKED: {"door_opened": P.DOOR_OPENED, "not_opened": P.IDLE},
    P.DOOR_OPENED: {"door_closed": P.DONE},
    P.DONE: {"finish": P.IDLE},
}


class PickupRefused(Exception):
    pass


@dataclass
class PickupJourney:
    outbox: Outbox
    catalog: Catalog
    lock: Lock
    lock_config: LockSection
    orders: Callable[[], tuple[PickupOrder, ...]]       # from the configuration in force
    on_change: Callable[[], None] = lambda: None
    thanks_s: float = 8.0
    state: P = P.IDLE
    order: PickupOrder | None = None
    message: str | None = None
    deadline: float | None = None
    _timer: asyncio.TimerHandle | None = None
    _opened_at: float = 0.0

    def __post_init__(self) -> None:
        self.guard = AttemptGuard(self.outbox, "pickup_code")
        with self.outbox.transaction() as tx:
            tx.execute(PICKUPS_DDL)

    @property
    def active(self) -> bool:
        return self.state is not P.IDLE

    def _go(self, trigger: str) -> P:
        return transition(self, TRANSITIONS, trigger, PickupRefused, "pickup")

    def open(self) -> None:
        self.order, self.message, self.deadline = None, None, None
        self._go("open")
        if self._show_lock():       # after the transition, which cancels timers
            self.on_change()

    def back(self) -> None:
        self.message, self.deadline = None, None
        self._go("back")

    def idle_timeout(self) -> None:
        if self.state is P.CODE_ENTRY:
            self.back()

    def _show_lock(self) -> bool:
        locked = self.guard.locked_for()
        if locked > 0:
            self.message, self.deadline = "pickup_locked", time.monotonic() + locked
            self._timer_later(locked, self._lock_over)
        return locked > 0

    def _lock_over(self) -> None:
        if self.state is P.CODE_ENTRY and self.message == "pickup_locked":
            self.message, self.deadline = None, None
            self.on_change()

    def submit(self, code: str, source: str = "keypad") -> bool:
        if self.state is not P.CODE_ENTRY:
            raise PickupRefused("the pickup keypad is not open")
        if self._show_lock():
            self.on_change()
            return False
        order = self._match(code)
        with self.outbox.transaction() as tx:
            delay = self.guard.record(tx, order is not None)
            if order is None:
                tx.append("pickup.refused", {"reason": "wrong_code", "source": source,
                                             "failures": self.guard.failures, "locked_s": delay})
            else:
                tx.execute("INSERT OR REPLACE INTO pickups (order_id, state, updated_at) VALUES (?, 'unlocked', ?)",
                           (order.order_id, utc_now_iso()))
        if order is None:
            self.message, self.deadline = "pickup_wrong_code", None
            self._go("code_wrong")
            if delay and self._show_lock():
                self.on_change()
            return False
        self.order, self.message, self.deadline = order, None, None
        self._go("code_ok")
        self._unlock()
        return True

    def _match(self, code: str) -> PickupOrder | None:
        if not (code.isdigit() and 4 <= len(code) <= 12):
            return None
        now = datetime.now(timezone.utc)
        collected = {row[0] for row in self.outbox.db.conn.execute(
            "SELECT order_id FROM pickups WHERE state = 'collected'")}
        for order in self.orders():
            if order.order_id in collected or _expired(order, now):
                continue
            if order.code_ok(code):
                return order
        return None

    def _unlock(self) -> None:
        assert self.order is not None
        pulse = self.lock.unlock(self.lock_config.unlock_s)
        with self.outbox.transaction() as tx:
            tx.append("door.unlocked", {"reason": "pickup", "seconds": pulse, "order_id": self.order.order_id})
        self.deadline = time.monotonic() + self.lock_config.door_open_timeout_s
        self._timer_later(self.lock_config.door_open_timeout_s, self._not_opened)

    def _not_opened(self) -> None:
        if self.state is P.DOOR_UNLOCKED and self.order is not None:
            self.lock.lock()
            with self.outbox.transaction() as tx:   # the code stays good for another try
                tx.execute("DELETE FROM pickups WHERE order_id = ? AND state = 'unlocked'", (self.order.order_id,))
            self.order, self.deadline = None, None
            self._go("not_opened")

    def door_changed(self, is_open: bool) -> bool:
        if is_open and self.state is P.DOOR_UNLOCKED and self.order is not None:
            self.lock.lock()
            with self.outbox.transaction() as tx:
                tx.append("door.opened", {"authorized": True, "reason": "pickup", "order_id": self.order.order_id})
            self._opened_at, self.deadline = time.monotonic(), None
            self._go("door_opened")
            return True
        if not is_open and self.state is P.DOOR_OPENED and self.order is not None:
            order = self.order
            with self.outbox.transaction(durable=True) as tx:
                tx.append("door.closed", {"open_s": round(time.monotonic() - self._opened_at, 3), "reason": "pickup"})
                tx.append("pickup.completed", {"order_id": order.order_id, "sku": order.sku})
                tx.execute("UPDATE pickups SET state = 'collected', updated_at = ? WHERE order_id = ?",
                           (utc_now_iso(), order.order_id))
                if order.sku in self.catalog.products and not self.catalog.products[order.sku].online_only:
                    self.catalog.adjust(tx, order.sku, -1, "pickup")
            self._go("door_closed")
            self._timer_later(self.thanks_s, self.finish)
            return True
        return False

    def finish(self) -> None:
        if self.state is P.DONE:
            self.order, self.message = None, None
            self._go("finish")

    def _timer_later(self, delay: float, callback: Callable[[], None]) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(delay, callback)


def _expired(order: PickupOrder, now: datetime) -> bool:
    try:
        expires = datetime.fromisoformat(order.expires_at.replace("Z", "+00:00"))
    except ValueError:
        return True
    return expires <= now
