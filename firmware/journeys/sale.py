"""The sale journey: an explicit state machine.

    idle ─start→ browse ─select→ product ─buy→ pay ─approved→ approved ─unlocked→ door_unlocked
    door_unlocked ─door_opened→ door_opened ─door_closed→ door_closed ─completed→ done ─finish→ idle
    pay ─declined | timed_out | cancelled | fault | back→ product
                          (fault also when the approval could not be committed: the door stays shut, the
                           payment is reversed at once, the cabinet is out of service until its store works)
    product ─back→ browse;  browse, product, pay (not paying) ─idle→ idle
    door_unlocked ─unclaimed→ done   (paid, never opened: reversed or flagged for refund, never dropped)
    idle ─resume→ door_unlocked      (after a power cut: the paid sale is offered again for a while)

The money rule: the approval is committed (synchronous=FULL) with the sale's
new state before the relay is energized. Every state change that matters is
written with its event in one transaction.
"""
from __future__ import annotations

import asyncio
import enum
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

from firmware.catalog import Catalog, Product
from firmware.config import LockSection
from firmware.journeys.machine import transition
from hal.errors import DeviceFault
from hal.lock import Lock
from hal.payment import PaymentOutcome, PaymentResult, PaymentTerminal
from sync_client.outbox import STORAGE_ERRORS, Outbox, Transaction
from sync_client.schema import utc_now_iso

log = logging.getLogger(__name__)

SALES_DDL = """
CREATE TABLE IF NOT EXISTS sales (
    sale_id TEXT PRIMARY KEY,
    sku TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    method TEXT NOT NULL,
    state TEXT NOT NULL,
    receipt_no TEXT,
    trace_no TEXT,
    unlocks INTEGER NOT NULL DEFAULT 0,
    door_opened_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
"""


class S(str, enum.Enum):
    IDLE = "idle"
    BROWSE = "browse"
    PRODUCT = "product"
    PAY = "pay"
    APPROVED = "approved"
    DOOR_UNLOCKED = "door_unlocked"
    DOOR_OPENED = "door_opened"
    DOOR_CLOSED = "door_closed"
    DONE = "done"


TRANSITIONS: dict[S, dict[str, S]] = {
    S.IDLE: {"start": S.BROWSE, "resume": S.DOOR_UNLOCKED},   # resume: a paid sale a power cut interrupted
    S.BROWSE: {"select": S.PRODUCT, "back": S.IDLE, "idle": S.IDLE},
    S.PRODUCT: {"buy": S.PAY, "back": S.BROWSE, "idle": S.IDLE},
    S.PAY: {"approved": S.APPROVED, "declined": S.PRODUCT, "timed_out": S.PRODUCT, "cancelled": S.PRODUCT,
            "fault": S.PRODUCT, "back": S.PRODUCT, "idle": S.IDLE},
    S.APPROVED: {"unlocked": S.DOOR_UNLOCKED},
    S.DOOR_UNLOCKED: {"door_opened": S.DOOR_OPENED, "unclaimed": S.DONE},
    S.DOOR_OPENED: {"door_closed": S.DOOR_CLOSED},
    S.DOOR_CLOSED: {"completed": S.DONE},
    S.DONE: {"finish": S.IDLE},
}

# Where the shopper may walk away: the idle timeout applies only here.
IDLE_STATES = frozenset({S.BROWSE, S.PRODUCT, S.PAY})
OUTCOME_TRIGGER = {PaymentOutcome.DECLINED: "declined", PaymentOutcome.TIMED_OUT: "timed_out",
                   PaymentOutcome.CANCELLED: "cancelled", PaymentOutcome.FAULT: "fault"}


class IllegalTransition(Exception):
    pass


@dataclass
class Sale:
    sale_id: str
    product: Product
    amount_cents: int
    currency: str
    method: str
    receipt_no: str | None = None
    trace_no: str | None = None
    unlocks: int = 0
    door_opened_at: str | None = None
    door_opened_mono: float | None = None


@dataclass
class SaleView:
    """What the screen needs to know about the journey right now."""
    state: S
    product: Product | None = None
    payment_status: str | None = None
    message: str | None = None
    deadline: float | None = None
    can_unlock_again: bool = False
    sale_id: str | None = None


@dataclass
class SaleJourney:
    outbox: Outbox
    catalog: Catalog
    lock: Lock
    terminals: dict[str, PaymentTerminal]          # by method: "terminal", "qr"
    lock_config: LockSection
    currency: str
    thanks_s: float = 8.0
    on_change: Callable[[], None] = lambda: None
    on_door_event: Callable[[str, str | None], None] = lambda kind, sale_id: None   # for snapshots
    on_fault: Callable[[DeviceFault], None] = lambda fault: None
    available_methods: Callable[[], tuple[str, ...]] = lambda: ("terminal",)
    can_record: Callable[[], bool] = lambda: True                 # the store can record a sale now
    on_storage_failed: Callable[[str, str], None] = lambda detail, kind: None   # a commit failed: stop selling
    state: S = S.IDLE
    product: Product | None = None
    sale: Sale | None = None
    payment_status: str | None = None
    message: str | None = None
    deadline: float | None = None
    last_approval_to_relay_s: float | None = None
    _relay_at: float = 0.0
    _tasks: set[asyncio.Task] = field(default_factory=set)
    _timer: asyncio.TimerHandle | None = None

    def __post_init__(self) -> None:
        with self.outbox.transaction() as tx:
            tx.execute(SALES_DDL)

    # --- transitions -------------------------------------------------------
    def _go(self, trigger: str) -> S:
        return transition(self, TRANSITIONS, trigger, IllegalTransition, "sale")

    def can(self, trigger: str) -> bool:
        return trigger in TRANSITIONS[self.state]

    def view(self) -> SaleView:
        sale = self.sale
        return SaleView(
            state=self.state, product=sale.product if sale else self.product,
            payment_status=self.payment_status, message=self.message, deadline=self.deadline,
            can_unlock_again=(self.state is S.DOOR_UNLOCKED and sale is not None and not self.lock.energized
                              and sale.unlocks < self.lock_config.max_unlocks_per_sale),
            sale_id=sale.sale_id if sale else None)

    @property
    def paying(self) -> bool:
        return self.state is S.PAY and self.payment_status is not None

    # --- shopper intents -------------------------------------------------------
    def start(self) -> None:
        self._go("start")

    def select(self, sku: str) -> None:
        if sku not in self.catalog.products:
            raise IllegalTransition(f"unknown product {sku!r}")
        self.product, self.message = self.catalog.products[sku], None
        self._go("select")

    def buy(self) -> None:
        assert self.product is not None
        if self.product.online_only:
            raise IllegalTransition(f"{self.product.sku} is sold online only")
        if self.catalog.stock(self.product.sku) <= 0:
            self.message = "sold_out"
            self.on_change()
            return
        if not self.available_methods():
            self.message = "fault"     # no way to pay right now: say so rather than offer nothing
            self.on_change()
            return
        if not self.can_record():
            self.message = "out_of_service"
            self.on_change()
            return
        self.message, self.payment_status = None, None
        self._go("buy")

    def back(self) -> None:
        if self.paying:
            raise IllegalTransition("a payment is in progress; cancel it instead")
        self.message = None
        self._go("back")

    def idle_timeout(self) -> None:
        if self.state in IDLE_STATES and not self.paying:
            self.product, self.message = None, None
            self._go("idle")

    def pay(self, method: str) -> None:
        if self.state is not S.PAY or self.paying:
            raise IllegalTransition(f"cannot start a payment in state {self.state.value}")
        terminal = self.terminals.get(method)
        if terminal is None or method not in self.available_methods():
            raise IllegalTransition(f"payment method {method!r} is not available")
        assert self.product is not None
        if not self.can_record():       # checked again at the tap: the disk may have filled since "buy"
            self.message = "out_of_service"
            self._go("back")
            return
        self.sale = Sale(sale_id=str(uuid.uuid4()), product=self.product, amount_cents=self.product.price_cents,
                         currency=self.currency, method=method)
        self.payment_status = "processing"     # until the terminal itself asks for the card
        self.on_change()
        self._spawn(self._take_payment(terminal, self.sale))

    async def cancel(self) -> None:
        if self.paying and self.sale is not None:
            await self.terminals[self.sale.method].cancel()
        elif self.state is S.PAY:
            self.message = None
            self._go("back")

    def unlock_again(self) -> None:
        view = self.view()
        if not view.can_unlock_again:
            raise IllegalTransition("unlock again is not offered now")
        self._unlock()

    def finish(self) -> None:
        if self.state is S.DONE:
            self.sale, self.product, self.message, self.deadline = None, None, None, None
            self._go("finish")

    # --- payment -----------------------------------------------------------------
    async def _take_payment(self, terminal: PaymentTerminal, sale: Sale) -> None:
        try:
            self._write_sale(sale, "paying")
        except STORAGE_ERRORS as exc:      # nothing asked of the terminal yet: just do not take the payment
            self.on_storage_failed(f"sale {sale.sale_id} could not be recorded before payment: {exc}",
                                   "storage_unavailable")
            self.sale, self.payment_status, self.message = None, None, "out_of_service"
            self._go("fault")
            return
        try:
            result = await terminal.authorize(sale.amount_cents, sale.currency, on_status=self._on_status,
                                              reference=sale.sale_id)
        except DeviceFault as exc:
            self.on_fault(exc)
            result = PaymentResult(PaymentOutcome.FAULT, sale.amount_cents, sale.currency, sale.method,
                                   message=str(exc))
        else:
            if result.outcome is PaymentOutcome.FAULT:
                self.on_fault(DeviceFault(terminal.name, result.message or "payment failed on the device"))
        if result.approved:
            approved_at = time.monotonic()
            try:
                self._record_approval(sale, result)
            except STORAGE_ERRORS as exc:
                await self._approval_not_recorded(terminal, sale, result, exc)
                return
            self._unlock()
            # The money rule's cost: durable commit plus relay, measured on every sale.
            self.last_approval_to_relay_s = self._relay_at - approved_at
            log.info("approval to relay", extra={"sale_id": sale.sale_id,
                                                 "ms": round(self.last_approval_to_relay_s * 1000, 3)})
        else:
            with self.outbox.transaction() as tx:
                tx.append("payment.failed", {"sale_id": sale.sale_id, "sku": sale.product.sku,
                                             "amount_cents": sale.amount_cents, "currency": sale.currency,
                                             "method": sale.method, "outcome": result.outcome.value,
                                             "result_code": result.result_code})
                self._update_sale(tx, sale, "failed")
            self.sale, self.payment_status = None, None
            self.message = result.outcome.value
            self._go(OUTCOME_TRIGGER[result.outcome])

    def _on_status(self, status: str) -> None:
        if self.paying:
            self.payment_status = status
            self.on_change()

    def _record_approval(self, sale: Sale, result: PaymentResult) -> None:
        """The money rule: durable commit of the approval before anything physical happens."""
        sale.receipt_no, sale.trace_no = result.receipt_no, result.trace_no
        with self.outbox.transaction(durable=True) as tx:
            tx.append("payment.approved", {
                "sale_id": sale.sale_id, "sku": sale.product.sku, "amount_cents": result.amount_cents,
                "currency": result.currency, "method": sale.method, "receipt_no": result.receipt_no,
                "trace_no": result.trace_no})
            self._update_sale(tx, sale, "approved")
            self.catalog.adjust(tx, sale.product.sku, -1, "sale")
        self.payment_status = None
        self._go("approved")

    async def _approval_not_recorded(self, terminal: PaymentTerminal, sale: Sale, result: PaymentResult,
                                     exc: BaseException) -> None:
        """No door without a record: the relay stays off and the money goes back at once. This log line
        may be the only record of the payment when the disk is dead."""
        facts = {"sale_id": sale.sale_id, "sku": sale.product.sku, "amount_cents": result.amount_cents,
                 "currency": result.currency, "method": sale.method, "receipt_no": result.receipt_no,
                 "trace_no": result.trace_no, "error": f"{type(exc).__name__}: {exc}"}
        log.critical("approval could not be recorded: door stays shut, reversing the payment", extra=facts)
        reversed_ = await self._reverse_at_once(terminal, result)
        outcome = "reversed on the terminal" if reversed_ else "NOT reversed: refund needed"
        log.critical(f"unrecorded approval {outcome}", extra={**facts, "reversed": reversed_})
        self.on_storage_failed(
            f"sale {sale.sale_id} ({result.amount_cents} {result.currency}, {sale.method}, receipt "
            f"{result.receipt_no}) was approved but could not be recorded ({exc}); {outcome}",
            "storage_unavailable" if reversed_ else "refund_needed")
        self.sale, self.payment_status = None, None
        self.message = "not_charged" if reversed_ else "refund_pending"
        self._go("fault")

    @staticmethod
    async def _reverse_at_once(terminal: PaymentTerminal, result: PaymentResult) -> bool:
        if not result.receipt_no:
            return False
        try:
            reversal = await terminal.reverse(result.receipt_no, result.amount_cents, result.currency)
        except (DeviceFault, ValueError) as exc:
            log.error("reversal failed", extra={"receipt_no": result.receipt_no, "error": str(exc)})
            return False
        return reversal.approved

    # --- the door ------------------------------------------------------------------
    def _unlock(self) -> None:
        sale = self.sale
        assert sale is not None
        pulse = self.lock.unlock(self.lock_config.unlock_s)
        self._relay_at = time.monotonic()
        sale.unlocks += 1
        with self.outbox.transaction() as tx:
            tx.append("door.unlocked", {"reason": "sale", "seconds": pulse, "sale_id": sale.sale_id,
                                        "attempt": sale.unlocks})
            self._update_sale(tx, sale, "door_unlocked")
        if self.state is S.APPROVED:
            self.deadline = time.monotonic() + self.lock_config.door_open_timeout_s
            self._go("unlocked")
            self._timer = asyncio.get_running_loop().call_later(self.lock_config.door_open_timeout_s,
                                                                self._unclaimed)
        # The relay drops by itself after the pulse; redraw then to offer "unlock again".
        asyncio.get_running_loop().call_later(pulse + 0.05, self.on_change)

    def door_changed(self, is_open: bool) -> bool:
        """A debounced door change. Returns False when nothing authorized it (the caller raises the alarm)."""
        sale = self.sale
        if is_open and self.state is S.DOOR_UNLOCKED and sale is not None:
            self.lock.lock()     # the latch has done its job; spare the solenoid
            sale.door_opened_at, sale.door_opened_mono = utc_now_iso(), time.monotonic()
            with self.outbox.transaction() as tx:
                tx.append("door.opened", {"authorized": True, "sale_id": sale.sale_id})
                tx.execute("UPDATE sales SET state = 'door_opened', door_opened_at = ?, updated_at = ? "
                           "WHERE sale_id = ?", (sale.door_opened_at, sale.door_opened_at, sale.sale_id))
            self.deadline = None
            self._go("door_opened")
            self.on_door_event("opened", sale.sale_id)
            return True
        if not is_open and self.state is S.DOOR_OPENED and sale is not None:
            self._complete(sale)
            return True
        return not is_open

    def _complete(self, sale: Sale) -> None:
        closed_at = utc_now_iso()
        open_s = round(time.monotonic() - (sale.door_opened_mono or time.monotonic()), 3)
        with self.outbox.transaction(durable=True) as tx:
            tx.append("door.closed", {"open_s": open_s, "sale_id": sale.sale_id})
            tx.append("sale.completed", {
                "sale_id": sale.sale_id, "sku": sale.product.sku, "amount_cents": sale.amount_cents,
                "currency": sale.currency, "method": sale.method, "receipt_no": sale.receipt_no,
                "door_opened_at": sale.door_opened_at or closed_at, "door_closed_at": closed_at})
            self._update_sale(tx, sale, "completed")
        self._go("door_closed")
        self.on_door_event("closed", sale.sale_id)
        self._go("completed")
        self._timer = asyncio.get_running_loop().call_later(self.thanks_s, self.finish)

    def _unclaimed(self) -> None:
        """Paid, door never opened: never forgotten; the refund is for the retailer or a reversal."""
        sale = self.sale
        if self.state is not S.DOOR_UNLOCKED or sale is None:
            return
        self.lock.lock()
        with self.outbox.transaction(durable=True) as tx:
            tx.append("sale.unclaimed", {"sale_id": sale.sale_id, "sku": sale.product.sku,
                                         "amount_cents": sale.amount_cents, "currency": sale.currency,
                                         "action": "reversal" if sale.method == "terminal" else "refund_pending",
                                         "receipt_no": sale.receipt_no})
            tx.append("alarm", {"kind": "door_not_opened",
                                "detail": f"paid sale {sale.sale_id}: the door was not opened after "
                                          f"{sale.unlocks} unlock(s); stuck latch or a shopper who left"})
            self._update_sale(tx, sale, "unclaimed")
            self.catalog.adjust(tx, sale.product.sku, +1, "unclaimed")
        self.message = None
        self._go("unclaimed")
        self._spawn(self._reverse_or_flag(sale))
        self._timer = asyncio.get_running_loop().call_later(self.thanks_s, self.finish)

    # --- persistence ------------------------------------------------------------------
    def _write_sale(self, sale: Sale, state: str) -> None:
        now = utc_now_iso()
        with self.outbox.transaction() as tx:
            tx.execute("INSERT INTO sales (sale_id, sku, amount_cents, currency, method, state, created_at, "
                       "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (sale.sale_id, sale.product.sku, sale.amount_cents, sale.currency, sale.method, state,
                        now, now))

    @staticmethod
    def _update_sale(tx: Transaction, sale: Sale, state: str) -> None:
        tx.execute("UPDATE sales SET state = ?, receipt_no = ?, trace_no = ?, unlocks = ?, updated_at = ? "
                   "WHERE sale_id = ?",
                   (state, sale.receipt_no, sale.trace_no, sale.unlocks, utc_now_iso(), sale.sale_id))

    def recover_after_restart(self, resume_window_s: float = 0.0) -> list[str]:
        """Sales that a crash or power cut interrupted. Nothing is dropped: the newest paid sale whose door
        never opened is offered to the shopper again for ``resume_window_s`` (then reversed or flagged for
        refund, as any unclaimed sale); older ones are flagged at once; an interrupted authorization is
        recorded for review; a door that was open completes its sale."""
        rows = self.outbox.db.conn.execute(
            "SELECT sale_id, sku, amount_cents, currency, method, state, receipt_no, trace_no, unlocks, "
            "door_opened_at FROM sales WHERE state IN ('paying', 'approved', 'door_unlocked', 'door_opened') "
            "ORDER BY created_at").fetchall()
        resumable = [r for r in rows if r[5] in ("approved", "door_unlocked") and r[1] in self.catalog.products]
        resume = resumable[-1] if resumable and resume_window_s > 0 else None
        recovered = []
        for sale_id, sku, amount, currency, method, state, receipt_no, trace_no, unlocks, opened_at in rows:
            recovered.append(sale_id)
            if resume is not None and sale_id == resume[0]:
                continue
            with self.outbox.transaction(durable=state != "paying") as tx:
                if state == "paying":
                    tx.append("payment.failed", {"sale_id": sale_id, "sku": sku, "amount_cents": amount,
                                                 "currency": currency, "method": method,
                                                 "outcome": "interrupted"})
                    new_state = "interrupted"
                elif state == "door_opened":    # the shopper had the door open: the product is gone
                    now = utc_now_iso()
                    tx.append("sale.completed", {"sale_id": sale_id, "sku": sku, "amount_cents": amount,
                                                 "currency": currency, "method": method,
                                                 "receipt_no": receipt_no, "door_opened_at": opened_at or now,
                                                 "door_closed_at": now, "recovered": True})
                    new_state = "completed"
                else:
                    reversible = method in self.terminals and method == "terminal" and bool(receipt_no)
                    tx.append("sale.unclaimed", {"sale_id": sale_id, "sku": sku, "amount_cents": amount,
                                                 "currency": currency, "receipt_no": receipt_no, "recovered": True,
                                                 "action": "reversal" if reversible else "refund_pending"})
                    self.catalog.adjust(tx, sku, +1, "unclaimed")
                    new_state = "unclaimed"
                    if reversible and sku in self.catalog.products:
                        self._spawn(self._reverse_or_flag(Sale(sale_id, self.catalog.products[sku], amount,
                                                               currency, method, receipt_no, trace_no)))
                tx.execute("UPDATE sales SET state = ?, updated_at = ? WHERE sale_id = ?",
                           (new_state, utc_now_iso(), sale_id))
            log.warning("recovered interrupted sale", extra={"sale_id": sale_id, "was": state, "now": new_state})
        if resume is not None:
            self._resume(resume, resume_window_s)
        return recovered

    def _resume(self, row: tuple, window_s: float) -> None:
        sale_id, sku, amount, currency, method, _, receipt_no, trace_no, unlocks, _ = row
        self.sale = Sale(sale_id=sale_id, product=self.catalog.products[sku], amount_cents=amount,
                         currency=currency, method=method, receipt_no=receipt_no, trace_no=trace_no,
                         unlocks=min(unlocks, self.lock_config.max_unlocks_per_sale - 1))
        self.deadline = time.monotonic() + window_s
        self._go("resume")
        self._timer = asyncio.get_running_loop().call_later(window_s, self._unclaimed)
        log.warning("resuming a paid sale after a restart", extra={"sale_id": sale_id, "window_s": window_s})

    async def _reverse_or_flag(self, sale: Sale) -> None:
        """An unclaimed card payment is reversed on the terminal; if that fails it stays flagged for a refund."""
        terminal = self.terminals.get(sale.method)
        if terminal is None or not sale.receipt_no:
            return
        try:
            result = await terminal.reverse(sale.receipt_no, sale.amount_cents, sale.currency)
        except DeviceFault as exc:
            result = PaymentResult(PaymentOutcome.FAULT, sale.amount_cents, sale.currency, sale.method,
                                   message=str(exc))
        with self.outbox.transaction(durable=True) as tx:
            if result.approved:
                tx.append("payment.reversed", {"sale_id": sale.sale_id, "receipt_no": sale.receipt_no,
                                               "amount_cents": sale.amount_cents, "currency": sale.currency})
                tx.execute("UPDATE sales SET state = 'reversed', updated_at = ? WHERE sale_id = ?",
                           (utc_now_iso(), sale.sale_id))
            else:
                tx.append("alarm", {"kind": "refund_needed",
                                    "detail": f"sale {sale.sale_id} (receipt {sale.receipt_no}) could not be "
                                              f"reversed: {result.message or result.outcome.value}"})
        log.warning("unclaimed sale " + ("reversed" if result.approved else "left for a refund"),
                    extra={"sale_id": sale.sale_id})

    # --- plumbing -------------------------------------------------------------------
    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("sale task failed", exc_info=task.exception())
