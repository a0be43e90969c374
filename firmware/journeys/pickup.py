"""Picking up an online order: an explicit state machine.

    idle ─open→ code_entry ─check→ code_checking ─code_ok→ door_unlocked
    door_unlocked ─door_opened→ door_opened ─door_closed→ done ─finish→ idle
    code_checking ─code_wrong | code_used→ code_entry;  code_entry ─back | idle→ idle
    door_unlocked ─not_opened→ idle     (the window passed: the code stays valid for another try)
    door_unlocked ─unlock_again→ door_unlocked   (the latch held again before the door opened: the same
                                                  opening, up to lock.max_unlocks_per_sale releases)

Codes come down with the configuration as salted hashes with an expiry, so a code
works offline if the cabinet synced after the order was made. The hashes are checked
on a worker thread; meanwhile (code_checking) the keypad says "checking" and takes no
other code, and neither back nor the idle timeout interrupts the check.

Each code opens the door once. The code is used up in the same durable transaction
that records the unlock, before the relay is energized; the door opening is committed
durably too, and closing it records ``pickup.completed``. The order's row in ``pickups``:

    unlocked   the code was accepted and the relay pulsed (or was about to): the code is used
    opened     the door opened: the goods are gone, whatever happens next
    collected  the door closed again: ``pickup.completed`` recorded

After a power cut (``recover_after_restart``): an order left ``opened`` is collected
(the shopper had the door open), one left ``unlocked`` never saw its door open, so it is
released for another try with ``pickup.interrupted`` recorded, just as when the window to
open passes. A used code says "already collected". Wrong codes are rate-limited like PINs,
and the limit survives a reboot.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from firmware.attempt_guard import AttemptGuard
from firmware.catalog import Catalog
from firmware.clock import Clock, LoopClock, TimerHandle
from firmware.config import LockSection
from firmware.door_cycle import DoorCycle, Opening
from firmware.journeys.machine import later, transition
from firmware.secret_check import first_match
from hal.lock import Lock
from sync_client.cabinet_config import PickupOrder
from sync_client.outbox import Outbox, Transaction
from sync_client.store.pickups import PickupsRepo

log = logging.getLogger(__name__)

RECENT_USED = 20  # used codes still recognised as such: each costs one scrypt per try


class P(enum.StrEnum):
    IDLE = "idle"
    CODE_ENTRY = "code_entry"
    CODE_CHECKING = "code_checking"
    DOOR_UNLOCKED = "door_unlocked"
    DOOR_OPENED = "door_opened"
    DONE = "done"


TRANSITIONS: dict[P, dict[str, P]] = {
    P.IDLE: {"open": P.CODE_ENTRY},
    P.CODE_ENTRY: {"check": P.CODE_CHECKING, "back": P.IDLE, "idle": P.IDLE},
    P.CODE_CHECKING: {"code_ok": P.DOOR_UNLOCKED, "code_wrong": P.CODE_ENTRY, "code_used": P.CODE_ENTRY},
    P.DOOR_UNLOCKED: {"door_opened": P.DOOR_OPENED, "not_opened": P.IDLE, "unlock_again": P.DOOR_UNLOCKED},
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
    orders: Callable[[], tuple[PickupOrder, ...]]  # from the configuration in force
    on_change: Callable[[], None] = lambda: None
    thanks_s: float = 8.0
    state: P = P.IDLE
    order: PickupOrder | None = None
    message: str | None = None
    clock: Clock = field(default_factory=LoopClock)
    door: DoorCycle = field(kw_only=True)  # the cabinet's one door, shared by every journey that opens it
    _timer: TimerHandle | None = None
    _locked_until: float | None = None  # clock.monotonic(): the end of a "pickup_locked"
    _opening: Opening | None = None

    def __post_init__(self) -> None:
        self.guard = AttemptGuard(self.outbox, "pickup_code", clock=self.clock)
        self.pickups = PickupsRepo(self.outbox)

    @property
    def active(self) -> bool:
        return self.state is not P.IDLE

    @property
    def deadline(self) -> float | None:
        """clock.monotonic(): the end of the keypad's lock, or of the time to open the door."""
        if self.state is P.DOOR_UNLOCKED and self.door.serves(self._opening):
            return self.door.open_by
        return self._locked_until if self.message == "pickup_locked" else None

    def _go(self, trigger: str) -> P:
        return transition(self, TRANSITIONS, trigger, PickupRefused, "pickup")

    def open(self) -> None:
        self.order, self.message, self._locked_until = None, None, None
        self._go("open")
        if self._show_lock():  # after the transition, which cancels timers
            self.on_change()

    def back(self) -> None:
        self.message, self._locked_until = None, None
        self._go("back")

    def idle_timeout(self) -> None:
        if self.state is P.CODE_ENTRY:
            self.back()

    def _show_lock(self) -> bool:
        locked = self.guard.locked_for()
        if locked > 0:
            self.message, self._locked_until = "pickup_locked", self.clock.monotonic() + locked
            later(self, locked, self._lock_over)
        return locked > 0

    def _lock_over(self) -> None:
        if self.state is P.CODE_ENTRY and self.message == "pickup_locked":
            self.message, self._locked_until = None, None
            self.on_change()

    async def submit(self, code: str, source: str = "keypad") -> bool:
        """A code typed or scanned. One submitted while another is being checked is refused (PickupRefused)
        and counted nowhere."""
        if self.state is not P.CODE_ENTRY:
            raise PickupRefused(f"the pickup keypad is not taking a code ({self.state.value})")
        if self._show_lock():
            self.on_change()
            return False
        self.message, self._locked_until = "checking", None
        self._go("check")
        order = await self._match(code)
        with self.outbox.transaction(durable=order is not None) as tx:
            outcome = self._record(tx, order, source)
        if outcome == "ok":
            assert order is not None
            self.order, self.message = order, None
            self._go("code_ok")
            self._unlock()
            return True
        self.message = "pickup_already_collected" if outcome == "used" else "pickup_wrong_code"
        self._go("code_used" if outcome == "used" else "code_wrong")
        if self._show_lock():
            self.on_change()
        return False

    def _record(self, tx: Transaction, order: PickupOrder | None, source: str) -> str:
        """The attempt's outcome, "ok", "used" or "wrong", recorded in ``tx``; "ok" used the code up and
        recorded the unlock (before the relay is energized)."""
        if order is None:
            delay = self.guard.record(tx, False)
            tx.append(
                "pickup.refused",
                {"reason": "wrong_code", "source": source, "failures": self.guard.failures, "locked_s": delay},
            )
            return "wrong"
        if self._use_code(tx, order):
            self.guard.record(tx, True)
            tx.append("door.unlocked", {"reason": "pickup", "seconds": self._pulse(), "order_id": order.order_id})
            return "ok"
        # A used code is a real code, not a guess: it neither counts as a wrong attempt (the shopper who
        # comes back with it is not locked out) nor resets the count (else one known used code would buy
        # a guesser fresh tries at will).
        tx.append("pickup.refused", {"reason": "already_collected", "source": source, "order_id": order.order_id})
        return "used"

    def _pulse(self) -> float:
        return min(self.lock_config.unlock_s, self.lock_config.max_unlock_s)

    async def _match(self, code: str) -> PickupOrder | None:
        """The order whose code this is, checked off the event loop: an unexpired one from the configuration,
        or one of the last codes used here (the cloud drops an order from the configuration once it
        learns it was collected; its code should still say so)."""
        if not (code.isdigit() and 4 <= len(code) <= 12):
            return None
        now = datetime.fromtimestamp(self.clock.time(), UTC)
        orders = [order for order in self.orders() if not _expired(order, now)]
        known = {order.order_id for order in orders}
        used = [
            PickupOrder(row.order_id, row.sku or "", row.code_hash or "", "")
            for row in self.pickups.recently_used(RECENT_USED)
            if row.order_id not in known
        ]
        return await first_match(code, orders + used, lambda order: order.code_hash)

    def _use_code(self, tx: Transaction, order: PickupOrder) -> bool:
        """Use the order's code up in ``tx``; False when it was used already."""
        return self.pickups.use_code(tx, order.order_id, order.sku, order.code_hash)

    def _unlock(self) -> None:
        """The code is used up and the unlock recorded, on disk: now the relay."""
        self._opening = Opening(
            "pickup",
            pulse_s=self._pulse(),
            open_within_s=self.lock_config.door_open_timeout_s,
            on_opened=self._door_opened,
            on_closed=self._door_closed,
            on_not_opened=self._not_opened,
            unlocks=self.lock_config.max_unlocks_per_sale,
            ref=self.order.order_id if self.order else None,
        )
        self.door.unlock(self._opening)

    @property
    def can_unlock_again(self) -> bool:
        return self.state is P.DOOR_UNLOCKED and self.door.serves(self._opening) and self.door.can_unlock_again

    def unlock_again(self) -> None:
        """The latch held again before the door was opened: release it once more (the code is used already;
        this is the same opening, recorded as another attempt)."""
        if not self.can_unlock_again or self._opening is None or self.order is None:
            raise PickupRefused("unlock again is not offered now")
        pulse = self.door.unlock_again(self._opening)
        with self.outbox.transaction() as tx:
            tx.append(
                "door.unlocked",
                {"reason": "pickup", "seconds": pulse, "order_id": self.order.order_id, "attempt": self.door.unlocks},
            )
        self._go("unlock_again")

    def _not_opened(self) -> None:
        if self.state is P.DOOR_UNLOCKED and self.order is not None:
            with self.outbox.transaction() as tx:  # the code stays good for another try
                self._release(tx, self.order.order_id)
            self.order, self._opening = None, None
            self._go("not_opened")

    def _release(self, tx: Transaction, order_id: str) -> None:
        self.pickups.release(tx, order_id)

    def _door_opened(self) -> None:
        assert self.order is not None
        # Durable: once the door has opened, no power cut may hand the code back.
        with self.outbox.transaction(durable=True) as tx:
            tx.append("door.opened", {"authorized": True, "reason": "pickup", "order_id": self.order.order_id})
            self.pickups.set_state(tx, self.order.order_id, "opened")
        self._go("door_opened")

    def _door_closed(self, open_s: float) -> None:
        order = self.order
        assert order is not None
        with self.outbox.transaction(durable=True) as tx:
            tx.append("door.closed", {"open_s": open_s, "reason": "pickup"})
            self._collect(tx, order.order_id, order.sku)
        self._opening = None
        self._go("door_closed")
        later(self, self.thanks_s, self.finish)

    def _collect(self, tx: Transaction, order_id: str, sku: str, **extra: object) -> None:
        tx.append("pickup.completed", {"order_id": order_id, "sku": sku, **extra})
        self.pickups.set_state(tx, order_id, "collected")
        if (counted := self.catalog.stock_sku(sku)) is not None:  # a product, or one of its variants
            self.catalog.adjust(tx, counted, -1, "pickup")

    def recover_after_restart(self) -> list[str]:
        """Pickups a power cut interrupted (the order ids). The door had opened: the order is collected. It
        had not: nothing was taken, so the code is released for another try (as when the window to open
        passes) and ``pickup.interrupted`` says so. Never a second opening for one code."""
        rows = self.pickups.interrupted()
        known = {order.order_id: order.sku for order in self.orders()}
        for row in rows:
            order_id, state, sku = row.order_id, row.state, row.sku
            with self.outbox.transaction(durable=True) as tx:
                if state == "opened":
                    self._collect(tx, order_id, sku or known.get(order_id, ""), recovered=True)
                else:
                    self._release(tx, order_id)
                    tx.append("pickup.interrupted", {"order_id": order_id, "action": "released"})
            log.warning("recovered interrupted pickup", extra={"order_id": order_id, "was": state})
        return [row.order_id for row in rows]

    def finish(self) -> None:
        if self.state is P.DONE:
            self.order, self.message = None, None
            self._go("finish")


def _expired(order: PickupOrder, now: datetime) -> bool:
    try:
        expires = datetime.fromisoformat(order.expires_at.replace("Z", "+00:00"))
    except ValueError:
        return True
    return expires <= now
