"""The retailer's restock journey: an explicit state machine.

    idle ─pin_pad→ pin_entry ─check→ pin_checking ─pin_ok→ unlocked   (a staff card skips the PIN pad)
    pin_checking ─pin_wrong→ pin_entry | ─technician→ idle   (a technician's PIN: the service menu takes over)
    idle ─staff_card→ unlocked                           (also: a remote unlock the cloud sent)
    idle ─staff_finger→ unlocked                         (a finger enrolled for a retailer; wrong fingers lock
                                                          the finger sensor only, not the PIN pad or cards)
    pin_entry ─cancel→ idle                              (5 wrong PINs lock the pad, growing delays)
    unlocked ─door_opened→ counting ─door_closed→ recorded ─finish→ idle
    unlocked ─not_opened→ idle                           (the window passed; nothing changed)
    unlocked ─unlock_again→ unlocked                     (the latch held again before the door opened)

The PIN is checked against the scrypt hashes on a worker thread; meanwhile the pad says
"checking" and takes no other PIN (pin_checking allows nothing else), so two quick submits
count once. While the door is open the retailer sets the count of each product on screen;
closing the door records the counts (one event per product that changed) in the same
transaction as the new stock. Every PIN attempt is an audit event; the PIN itself never
leaves secret_check.

Each restock opens the door once. Its row in ``restocks`` is written with ``door.unlocked``
in one durable transaction before the relay is energized (for a remote unlock, inside the
transaction that marks the cloud's command applied): ``unlocked → opened → recorded |
not_opened``. After a power cut (``recover_after_restart``) a restock left ``unlocked`` or
``opened`` becomes ``interrupted`` with a ``restock.interrupted`` event; it is never
unlocked again (the retailer starts a new one, the cloud's command stays applied).
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from firmware.attempt_guard import AttemptGuard
from firmware.catalog import Catalog
from firmware.clock import Clock, LoopClock, TimerHandle
from firmware.config import LockSection
from firmware.door_cycle import DoorCycle, Opening
from firmware.journeys.machine import later, transition
from firmware.secret_check import first_match
from hal.lock import Lock
from sync_client.cabinet_config import StaffFingerprint
from sync_client.outbox import Outbox, Transaction
from sync_client.store.restocks import RestocksRepo

log = logging.getLogger(__name__)


# The finger sensor's lock: after 5 wrong fingers in a row, 30 s, doubling with each further one, at most
# 15 minutes; a retailer's finger ends the streak.
FINGER_FREE_ATTEMPTS, FINGER_FIRST_LOCK_S, FINGER_MAX_LOCK_S = 5, 30.0, 900.0


class R(enum.StrEnum):
    IDLE = "idle"
    PIN_ENTRY = "pin_entry"
    PIN_CHECKING = "pin_checking"
    UNLOCKED = "unlocked"
    COUNTING = "counting"
    RECORDED = "recorded"


TRANSITIONS: dict[R, dict[str, R]] = {
    R.IDLE: {"pin_pad": R.PIN_ENTRY, "staff_card": R.UNLOCKED, "staff_finger": R.UNLOCKED, "remote": R.UNLOCKED},
    R.PIN_ENTRY: {"check": R.PIN_CHECKING, "cancel": R.IDLE},
    R.PIN_CHECKING: {"pin_ok": R.UNLOCKED, "pin_wrong": R.PIN_ENTRY, "technician": R.IDLE},
    R.UNLOCKED: {"door_opened": R.COUNTING, "not_opened": R.IDLE, "unlock_again": R.UNLOCKED},
    R.COUNTING: {"door_closed": R.RECORDED},
    R.RECORDED: {"finish": R.IDLE},
}


class RestockRefused(Exception):
    pass


@dataclass(frozen=True)
class RemoteUnlock:
    """A remote unlock recorded in its command's transaction, for the relay once that has committed."""

    command_id: str
    restock_id: str
    pulse: float


@dataclass
class RestockJourney:
    outbox: Outbox
    catalog: Catalog
    lock: Lock
    lock_config: LockSection
    pin_hashes: Callable[[], list[str]]  # from the configuration, current at each attempt
    staff_cards: Callable[[], dict[str, str]]  # uid hex -> role ("retailer", "technician")
    # fingerprint module slot -> whose finger (from the configuration)
    staff_fingerprints: Callable[[], Mapping[int, StaffFingerprint]] = dict
    on_change: Callable[[], None] = lambda: None
    # The same pad takes a technician's PIN, which hands over to the service menu (not counted here).
    technician_pin_hashes: Callable[[], list[str]] = lambda: []
    window_s: float = 120.0  # the retailer's time to open the door after unlocking
    state: R = R.IDLE
    who: str | None = None  # "pin", "card:<uid>", "finger:<slot>", "remote:<command id>"
    restock_id: str | None = None  # the row in restocks of the restock under way
    counts: dict[str, int] = field(default_factory=dict)
    changes: dict[str, int] = field(default_factory=dict)  # what the last restock changed (sku -> added)
    message: str | None = None
    clock: Clock = field(default_factory=LoopClock)
    door: DoorCycle = field(kw_only=True)  # the cabinet's one door, shared by every journey that opens it
    _timer: TimerHandle | None = None
    _remote: RemoteUnlock | None = None
    _opening: Opening | None = None

    def __post_init__(self) -> None:
        self.guard = AttemptGuard(self.outbox, "pin_pad", clock=self.clock)
        # Unknown fingers are mostly shoppers touching the sensor: they lock the sensor alone (their own count,
        # growing delays, kept across reboots), so staff still get in by PIN or card meanwhile.
        self.finger_guard = AttemptGuard(
            self.outbox, "fingerprint", FINGER_FREE_ATTEMPTS, FINGER_FIRST_LOCK_S, FINGER_MAX_LOCK_S, self.clock
        )
        self.restocks = RestocksRepo(self.outbox)

    def _go(self, trigger: str) -> R:
        return transition(self, TRANSITIONS, trigger, RestockRefused, "restock")

    @property
    def active(self) -> bool:
        return self.state is not R.IDLE

    @property
    def deadline(self) -> float | None:
        """clock.monotonic(): the end of the window to open the door."""
        return self.door.open_by if self.state is R.UNLOCKED and self.door.serves(self._opening) else None

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
            later(self, locked, self._lock_over)
            self.on_change()

    def _lock_over(self) -> None:
        if self.state is R.PIN_ENTRY and self.message == "pin_locked":
            self.message = None
            self.on_change()

    async def enter_pin(self, pin: str) -> str:
        """A PIN from the pad: "unlocked", "wrong", "locked" (the pad waits out a lock) or "technician"
        (a technician's PIN: the caller opens the service menu). A PIN submitted while the previous one
        is being checked is refused (RestockRefused), never counted."""
        if self.state is not R.PIN_ENTRY:
            raise RestockRefused(f"the PIN pad is not taking a PIN ({self.state.value})")
        if self.guard.locked_for() > 0:
            self._show_lock()
            return "locked"
        self.message = "checking"
        self._go("check")
        candidates = [("technician", h) for h in self.technician_pin_hashes()] + [
            ("retailer", h) for h in self.pin_hashes()
        ]
        match = await first_match(pin, candidates, lambda candidate: candidate[1])
        if match is not None and match[0] == "technician":
            self.message = None
            self._go("technician")
            return "technician"
        ok = match is not None
        with self.outbox.transaction() as tx:
            delay = self.guard.record(tx, ok)
            tx.append(
                "auth.attempt",
                {"method": "pin", "purpose": "restock", "ok": ok, "failures": self.guard.failures, "locked_s": delay},
            )
        if not ok:
            self.message = "pin_wrong"
            self._go("pin_wrong")
            if delay:
                self._show_lock()
            return "wrong"
        self.who, self.message = "pin", None
        self._go("pin_ok")
        self._unlock("restock_pin")
        return "unlocked"

    def staff_card(self, uid_hex: str) -> bool:
        """A card tapped on the reader: opens for staff, ignored (but audited) for anyone else."""
        role = self.staff_cards().get(uid_hex.upper())
        with self.outbox.transaction() as tx:
            tx.append(
                "auth.attempt",
                {"method": "card", "purpose": "restock", "ok": role is not None, "uid": uid_hex.upper(), "role": role},
            )
        if role is None or self.state is not R.IDLE:
            return False
        self.who = f"card:{uid_hex.upper()}"
        self._go("staff_card")
        self._unlock("restock_card")
        return True

    def staff_finger(self, slot: int | None) -> str:
        """A finger on the sensor (``slot``: the module's match; None: a finger it does not know): "unlocked"
        for a retailer's, "wrong" for any other (counted by the finger sensor's own guard), "locked" while
        wrong fingers lock the sensor (not even the right finger is checked then; PINs and cards still work),
        "busy" while a restock is under way. Every attempt is audited."""
        if self.state is not R.IDLE:
            return "busy"
        locked = self.finger_guard.locked_for()
        staff = self.staff_fingerprints().get(slot) if slot is not None and not locked else None
        ok = staff is not None and staff.role == "retailer"
        with self.outbox.transaction() as tx:
            delay = 0.0 if locked else self.finger_guard.record(tx, ok)
            tx.append(
                "auth.attempt",
                {
                    "method": "fingerprint",
                    "purpose": "restock",
                    "ok": ok,
                    "slot": slot,
                    "staff": staff.staff if staff else None,
                    "role": staff.role if staff else None,
                    "failures": self.finger_guard.failures,
                    "locked_s": locked or delay,
                },
            )
        if locked:
            return "locked"
        if not ok:
            return "wrong"
        self.who = f"finger:{slot}"
        self._go("staff_finger")
        self._unlock("restock_fingerprint")
        return "unlocked"

    def record_remote_unlock(self, tx: Transaction, command_id: str, seconds: float) -> None:
        """The retailer asked the cloud to open the door: record the unlock in the transaction that marks the
        command applied (``tx``); ``remote_unlock`` pulses the relay once that has committed."""
        if self.state is not R.IDLE:
            raise RestockRefused(f"the cabinet is busy ({self.state.value})")
        pulse = min(seconds, self.lock_config.max_unlock_s)
        restock_id = self._record_unlock(tx, "remote", pulse, f"remote:{command_id}")
        self._remote = RemoteUnlock(command_id, restock_id, pulse)

    def remote_unlock(self, command_id: str) -> None:
        """Pulse the relay for a remote unlock ``record_remote_unlock`` recorded (and only for that one)."""
        remote, self._remote = self._remote, None
        if remote is None or remote.command_id != command_id:
            raise RestockRefused(f"no recorded remote unlock for command {command_id}")
        if self.state is not R.IDLE:
            raise RestockRefused(f"the cabinet is busy ({self.state.value})")
        self.who, self.restock_id = f"remote:{command_id}", remote.restock_id
        self._go("remote")
        self._energize("remote", remote.pulse)

    def cancel(self) -> None:
        if self.state is R.PIN_ENTRY:
            self.message = None
            self._go("cancel")

    # --- the door -------------------------------------------------------------------
    def _unlock(self, reason: str) -> None:
        # Staff get the longest pulse the lock allows (a shopper gets unlock_s): the lock still bounds it.
        pulse = self.lock_config.max_unlock_s
        with self.outbox.transaction(durable=True) as tx:  # on disk before the relay
            self.restock_id = self._record_unlock(tx, reason, pulse, self.who)
        self._energize("restock", pulse)

    def _record_unlock(self, tx: Transaction, reason: str, pulse: float, who: str | None) -> str:
        restock_id = str(uuid.uuid4())
        self.restocks.insert(tx, restock_id, who)
        tx.append("door.unlocked", {"reason": reason, "seconds": pulse, "who": who, "restock_id": restock_id})
        return restock_id

    def _set_row(self, tx: Transaction, state: str) -> None:
        self.restocks.set_state(tx, self.restock_id, state)

    def _energize(self, reason: str, pulse: float) -> None:
        """The unlock is on disk: the counts to start from, then the relay."""
        self.counts = {  # one count per variant (a product without variants: its own)
            sku: self.catalog.stock(sku)
            for product in self.catalog.products.values()
            if not product.online_only
            for sku in product.stock_skus()
        }
        self._opening = Opening(
            reason,
            pulse_s=pulse,
            open_within_s=self.window_s,
            on_opened=self._door_opened,
            on_closed=self._record,
            on_not_opened=self._not_opened,
            unlocks=self.lock_config.max_unlocks_per_sale,
            ref=self.restock_id,
        )
        self.door.unlock(self._opening)

    @property
    def can_unlock_again(self) -> bool:
        return self.state is R.UNLOCKED and self.door.serves(self._opening) and self.door.can_unlock_again

    def unlock_again(self) -> None:
        """The latch held again before the door was opened: release it once more, within the same window."""
        if not self.can_unlock_again or self._opening is None:
            raise RestockRefused("unlock again is not offered now")
        pulse = self.door.unlock_again(self._opening)
        with self.outbox.transaction() as tx:
            tx.append(
                "door.unlocked",
                {
                    "reason": self._opening.reason,
                    "seconds": pulse,
                    "who": self.who,
                    "restock_id": self.restock_id,
                    "attempt": self.door.unlocks,
                },
            )
        self._go("unlock_again")

    def _not_opened(self) -> None:
        if self.state is R.UNLOCKED:
            with self.outbox.transaction() as tx:
                self._set_row(tx, "not_opened")
            self.who, self.restock_id, self._opening = None, None, None
            self._go("not_opened")

    def _door_opened(self) -> None:
        with self.outbox.transaction() as tx:
            tx.append("door.opened", {"authorized": True, "reason": "restock", "who": self.who})
            self._set_row(tx, "opened")
        self._go("door_opened")

    def set_count(self, sku: str, count: int) -> None:
        if self.state is not R.COUNTING:
            raise RestockRefused("counts are set while the door is open")
        if sku not in self.counts or not 0 <= count <= 999:
            raise RestockRefused(f"no product {sku!r} or count {count} out of range")
        self.counts[sku] = count
        self.on_change()

    def _record(self, open_s: float) -> None:
        self.changes = {}
        with self.outbox.transaction() as tx:
            tx.append("door.closed", {"open_s": open_s, "reason": "restock"})
            self._set_row(tx, "recorded")
            for sku, count in self.counts.items():
                before = self.catalog.stock(sku)
                if count != before:
                    self.changes[sku] = count - before
                    self.catalog.set_count(tx, sku, count, "restock")
                    tx.append(
                        "restock.recorded",
                        {
                            "sku": sku,
                            "added": count - before,
                            "count": count,
                            "staff_uid": self.who.split(":", 1)[1]
                            if self.who and self.who.startswith("card:")
                            else None,
                            "who": self.who,
                            "product_sku": self._product_of(sku),
                        },
                    )
        self._opening = None
        self._go("door_closed")
        later(self, 3.0, self.finish)

    def _product_of(self, stock_sku: str) -> str:
        return next((p.sku for p in self.catalog.products.values() if stock_sku in p.stock_skus()), stock_sku)

    def finish(self) -> None:
        if self.state is R.RECORDED:
            self.who, self.message, self.restock_id = None, None, None
            self._go("finish")

    def recover_after_restart(self) -> list[str]:
        """Restocks a power cut interrupted (their ids): recorded as interrupted, never unlocked again."""
        rows = self.restocks.interrupted()
        for row in rows:
            restock_id, who, state = row.restock_id, row.who, row.state
            with self.outbox.transaction() as tx:
                self.restocks.set_state(tx, restock_id, "interrupted")
                tx.append(
                    "restock.interrupted", {"restock_id": restock_id, "who": who, "door_opened": state == "opened"}
                )
            log.warning("recorded an interrupted restock", extra={"restock_id": restock_id, "was": state})
        return [row.restock_id for row in rows]

    def pin_lock_remaining(self) -> float:
        return self.guard.locked_for()

    def finger_lock_remaining(self) -> float:
        return self.finger_guard.locked_for()
