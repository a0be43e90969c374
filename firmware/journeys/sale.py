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

What must follow a commit (the reversal or refund of an unclaimed sale, the
settlement of an authorization a restart interrupted) is a pending action
(sync_client.pending_actions) added in that same transaction and carried out
by the follow-up runner: at once while the journey runs, at boot after a
power cut, retried with backoff until it is done or flagged for a refund.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from firmware.catalog import Catalog, Product
from firmware.clock import Clock, LoopClock, TimerHandle
from firmware.config import LockSection
from firmware.door_cycle import DoorCycle, Opening
from firmware.journeys.machine import later, transition
from hal.errors import DeviceFault
from hal.lock import Lock
from hal.payment import PaymentOutcome, PaymentResult, PaymentTerminal
from sync_client.outbox import STORAGE_ERRORS, Outbox, Transaction
from sync_client.pending_actions import DONE, FLAGGED, REVERSE, SETTLE, PendingAction, PendingActions
from sync_client.schema import utc_now_iso
from sync_client.store.sales import SaleRecord, SalesRepo

log = logging.getLogger(__name__)


class S(enum.StrEnum):
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
    S.IDLE: {"start": S.BROWSE, "resume": S.DOOR_UNLOCKED},  # resume: a paid sale a power cut interrupted
    S.BROWSE: {"select": S.PRODUCT, "back": S.IDLE, "idle": S.IDLE},
    S.PRODUCT: {"buy": S.PAY, "back": S.BROWSE, "idle": S.IDLE},
    S.PAY: {
        "approved": S.APPROVED,
        "declined": S.PRODUCT,
        "timed_out": S.PRODUCT,
        "cancelled": S.PRODUCT,
        "fault": S.PRODUCT,
        "back": S.PRODUCT,
        "idle": S.IDLE,
    },
    S.APPROVED: {"unlocked": S.DOOR_UNLOCKED},
    S.DOOR_UNLOCKED: {"door_opened": S.DOOR_OPENED, "unclaimed": S.DONE},
    S.DOOR_OPENED: {"door_closed": S.DOOR_CLOSED},
    S.DOOR_CLOSED: {"completed": S.DONE},
    S.DONE: {"finish": S.IDLE},
}

# Where the shopper may walk away: the idle timeout applies only here.
IDLE_STATES = frozenset({S.BROWSE, S.PRODUCT, S.PAY})
OUTCOME_TRIGGER = {
    PaymentOutcome.DECLINED: "declined",
    PaymentOutcome.TIMED_OUT: "timed_out",
    PaymentOutcome.CANCELLED: "cancelled",
    PaymentOutcome.FAULT: "fault",
}
# A reversal that ended so is undecided: the device may answer later. DECLINED is a definite refusal.
STORE_RETRY_S = 2.0  # how often an approval the store refused is tried again
UNDECIDED = frozenset({PaymentOutcome.FAULT, PaymentOutcome.TIMED_OUT, PaymentOutcome.CANCELLED})


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
    terminals: dict[str, PaymentTerminal]  # by method: "terminal", "qr"
    lock_config: LockSection
    currency: str
    thanks_s: float = 8.0
    on_change: Callable[[], None] = lambda: None
    on_fault: Callable[[DeviceFault], None] = lambda fault: None
    available_methods: Callable[[], tuple[str, ...]] = lambda: ("terminal",)
    can_record: Callable[[], bool] = lambda: True  # the store can record a sale now
    on_storage_failed: Callable[[str, str], None] = lambda detail, kind: None  # a commit failed: stop selling
    state: S = S.IDLE
    product: Product | None = None
    sale: Sale | None = None
    payment_status: str | None = None
    message: str | None = None
    last_approval_to_relay_s: float | None = None
    retry_first_s: float = 2.0  # follow-up actions: the first wait after a failed round, doubled ...
    retry_max_s: float = 300.0  # ... up to this (a terminal unplugged or a cloud down for hours)
    clock: Clock = field(default_factory=LoopClock)
    door: DoorCycle = None  # type: ignore[assignment]  # the cabinet's one door; None: one of its own
    _relay_at: float = 0.0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _timer: TimerHandle | None = None
    _opening: Opening | None = None  # the sale's opening of the door, while the door cycle serves it
    _runner: asyncio.Task[None] | None = None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        if self.door is None:
            self.door = DoorCycle(self.lock, self.clock, on_change=lambda: self.on_change())
        self.sales = SalesRepo(self.outbox)
        self.pending = PendingActions(self.outbox)
        offered = self.available_methods
        # Until an interrupted authorization is settled, its terminal's last transaction is the evidence:
        # a new payment there would overwrite it, so that way to pay is not offered meanwhile.
        self.available_methods = lambda: tuple(m for m in offered() if m not in self.pending.unsettled_methods())

    def unsettled_methods(self) -> frozenset[str]:
        """Ways to pay held back until an authorization a restart interrupted is settled."""
        return self.pending.unsettled_methods()

    # --- transitions -------------------------------------------------------
    def _go(self, trigger: str) -> S:
        return transition(self, TRANSITIONS, trigger, IllegalTransition, "sale")

    def can(self, trigger: str) -> bool:
        return trigger in TRANSITIONS[self.state]

    def view(self) -> SaleView:
        sale = self.sale
        return SaleView(
            state=self.state,
            product=sale.product if sale else self.product,
            payment_status=self.payment_status,
            message=self.message,
            deadline=self.deadline,
            can_unlock_again=self.state is S.DOOR_UNLOCKED and self._serving and self.door.can_unlock_again,
            sale_id=sale.sale_id if sale else None,
        )

    @property
    def _serving(self) -> bool:
        return self.door.serves(self._opening)

    @property
    def deadline(self) -> float | None:
        """clock.monotonic(): the end of the time to open the door (or of a resumed sale's window)."""
        return self.door.open_by if self.state is S.DOOR_UNLOCKED and self._serving else None

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
            self.message = "fault"  # no way to pay right now: say so rather than offer nothing
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
        if not self.can_record():  # checked again at the tap: the disk may have filled since "buy"
            self.message = "out_of_service"
            self._go("back")
            return
        self.sale = Sale(
            sale_id=str(uuid.uuid4()),
            product=self.product,
            amount_cents=self.product.price_cents,
            currency=self.currency,
            method=method,
        )
        self.payment_status = "processing"  # until the terminal itself asks for the card
        self.on_change()
        self._spawn(self._take_payment(terminal, self.sale))

    async def cancel(self) -> None:
        if self.paying and self.sale is not None:
            await self.terminals[self.sale.method].cancel()
        elif self.state is S.PAY:
            self.message = None
            self._go("back")

    def unlock_again(self) -> None:
        if not self.view().can_unlock_again or self.sale is None or self._opening is None:
            raise IllegalTransition("unlock again is not offered now")
        self._record_unlock(self.sale, self.door.unlock_again(self._opening))

    def finish(self) -> None:
        if self.state is S.DONE:
            self.sale, self.product, self.message, self._opening = None, None, None, None
            self._go("finish")

    # --- payment -----------------------------------------------------------------
    async def _take_payment(self, terminal: PaymentTerminal, sale: Sale) -> None:
        try:
            if not await self._begin_payment(terminal, sale):
                return
            result = await terminal.authorize(
                sale.amount_cents, sale.currency, on_status=self._on_status, reference=sale.sale_id
            )
        except DeviceFault as exc:
            self.on_fault(exc)
            result = PaymentResult(
                PaymentOutcome.FAULT, sale.amount_cents, sale.currency, sale.method, message=str(exc)
            )
        else:
            if result.outcome is PaymentOutcome.FAULT:
                self.on_fault(DeviceFault(terminal.name, result.message or "payment failed on the device"))
        if result.approved:
            approved_at = self.clock.monotonic()
            try:
                self._record_approval(sale, result)
            except STORAGE_ERRORS as exc:
                await self._approval_not_recorded(terminal, sale, result, exc)
                return
            self._unlock()
            # The money rule's cost: durable commit plus relay, measured on every sale.
            self.last_approval_to_relay_s = self._relay_at - approved_at
            log.info(
                "approval to relay",
                extra={"sale_id": sale.sale_id, "ms": round(self.last_approval_to_relay_s * 1000, 3)},
            )
        else:
            with self.outbox.transaction() as tx:
                tx.append(
                    "payment.failed",
                    {
                        "sale_id": sale.sale_id,
                        "sku": sale.product.sku,
                        "amount_cents": sale.amount_cents,
                        "currency": sale.currency,
                        "method": sale.method,
                        "outcome": result.outcome.value,
                        "result_code": result.result_code,
                    },
                )
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
            tx.append(
                "payment.approved",
                {
                    "sale_id": sale.sale_id,
                    "sku": sale.product.sku,
                    "amount_cents": result.amount_cents,
                    "currency": result.currency,
                    "method": sale.method,
                    "receipt_no": result.receipt_no,
                    "trace_no": result.trace_no,
                },
            )
            self._update_sale(tx, sale, "approved")
            self.catalog.adjust(tx, sale.product.sku, -1, "sale")
        self.payment_status = None
        self._go("approved")

    async def _approval_not_recorded(
        self, terminal: PaymentTerminal, sale: Sale, result: PaymentResult, exc: BaseException
    ) -> None:
        """No door without a record: the relay stays off and the money goes back at once. This log line
        may be the only record of the payment when the disk is dead."""
        facts = {
            "sale_id": sale.sale_id,
            "sku": sale.product.sku,
            "amount_cents": result.amount_cents,
            "currency": result.currency,
            "method": sale.method,
            "receipt_no": result.receipt_no,
            "trace_no": result.trace_no,
            "error": f"{type(exc).__name__}: {exc}",
        }
        log.critical("approval could not be recorded: door stays shut, reversing the payment", extra=facts)
        reversed_ = await self._reverse_at_once(terminal, result)
        outcome = "reversed on the terminal" if reversed_ else "NOT reversed: refund needed"
        log.critical(f"unrecorded approval {outcome}", extra={**facts, "reversed": reversed_})
        self.on_storage_failed(
            f"sale {sale.sale_id} ({result.amount_cents} {result.currency}, {sale.method}, receipt "
            f"{result.receipt_no}) was approved but could not be recorded ({exc}); {outcome}",
            "storage_unavailable",  # a failed reversal is retried, then flagged, once the store can record it
        )
        self.sale, self.payment_status = None, None
        self.message = "not_charged" if reversed_ else "refund_pending"
        self._go("fault")
        self._spawn(self._record_when_the_store_is_back(sale, result, reversed_))

    async def _record_when_the_store_is_back(self, sale: Sale, result: PaymentResult, reversed_: bool) -> None:
        """The approval the failing store kept out, written late but whole once it takes writes again: left
        as 'paying', the sale would be settled at the next boot against a terminal whose last transaction
        is now the reversal. A reversal that failed becomes a pending one, retried like any other."""
        payment = {
            "sale_id": sale.sale_id,
            "sku": sale.product.sku,
            "amount_cents": result.amount_cents,
            "currency": result.currency,
            "method": sale.method,
            "receipt_no": result.receipt_no,
        }
        while True:
            await self.clock.sleep(STORE_RETRY_S)
            try:
                with self.outbox.transaction(durable=True) as tx:
                    tx.append("payment.approved", {**payment, "trace_no": result.trace_no, "recorded_late": True})
                    unclaimed = {k: v for k, v in payment.items() if k != "method"}
                    tx.append("sale.unclaimed", {**unclaimed, "action": _give_back(sale.method)})
                    if reversed_:
                        tx.append("payment.reversed", {k: v for k, v in payment.items() if k != "sku"})
                    else:
                        self.pending.add(
                            tx,
                            REVERSE,
                            sale.sale_id,
                            sale.method,
                            result.amount_cents,
                            result.currency,
                            receipt_no=result.receipt_no,
                        )
                    sale.receipt_no, sale.trace_no = result.receipt_no, result.trace_no
                    self._update_sale(tx, sale, "reversed" if reversed_ else "unclaimed")
            except STORAGE_ERRORS:
                continue
            log.warning("unrecorded approval recorded late", extra={"sale_id": sale.sale_id, "reversed": reversed_})
            if not reversed_:
                self._kick()
            return

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

    # --- the door (the door cycle's: these are the sale's records at each step) --------------
    def _door_opening(self, sale: Sale) -> Opening:
        self._opening = Opening(
            "sale",
            pulse_s=self.lock_config.unlock_s,
            open_within_s=self.lock_config.door_open_timeout_s,
            on_opened=self._door_opened,
            on_closed=self._complete,
            on_not_opened=self._unclaimed,
            unlocks=self.lock_config.max_unlocks_per_sale,
            ref=sale.sale_id,
        )
        return self._opening

    def _unlock(self) -> None:
        """The approval is committed: now the relay, then the record of what it did."""
        sale = self.sale
        assert sale is not None
        pulse = self.door.unlock(self._door_opening(sale))
        self._relay_at = self.clock.monotonic()
        self._record_unlock(sale, pulse)
        self._go("unlocked")

    def _record_unlock(self, sale: Sale, pulse: float) -> None:
        sale.unlocks += 1
        with self.outbox.transaction() as tx:
            tx.append(
                "door.unlocked", {"reason": "sale", "seconds": pulse, "sale_id": sale.sale_id, "attempt": sale.unlocks}
            )
            self._update_sale(tx, sale, "door_unlocked")

    def _door_opened(self) -> None:
        sale = self.sale
        assert sale is not None
        sale.door_opened_at = utc_now_iso()
        with self.outbox.transaction() as tx:
            tx.append("door.opened", {"authorized": True, "sale_id": sale.sale_id})
            self.sales.door_opened(tx, sale.sale_id, sale.door_opened_at)
        self._go("door_opened")

    def _complete(self, open_s: float) -> None:
        sale = self.sale
        assert sale is not None
        closed_at = utc_now_iso()
        with self.outbox.transaction(durable=True) as tx:
            tx.append("door.closed", {"open_s": open_s, "sale_id": sale.sale_id})
            tx.append(
                "sale.completed",
                {
                    "sale_id": sale.sale_id,
                    "sku": sale.product.sku,
                    "amount_cents": sale.amount_cents,
                    "currency": sale.currency,
                    "method": sale.method,
                    "receipt_no": sale.receipt_no,
                    "door_opened_at": sale.door_opened_at or closed_at,
                    "door_closed_at": closed_at,
                },
            )
            self._update_sale(tx, sale, "completed")
        self._go("door_closed")
        self._go("completed")
        later(self, self.thanks_s, self.finish)

    def _unclaimed(self) -> None:
        """Paid, door never opened: never forgotten. The reversal (or refund) is a pending action committed
        with ``sale.unclaimed``, so a power cut right after this commit cannot lose it."""
        sale = self.sale
        if self.state is not S.DOOR_UNLOCKED or sale is None:
            return
        with self.outbox.transaction(durable=True) as tx:
            tx.append(
                "sale.unclaimed",
                {
                    "sale_id": sale.sale_id,
                    "sku": sale.product.sku,
                    "amount_cents": sale.amount_cents,
                    "currency": sale.currency,
                    "action": _give_back(sale.method),
                    "receipt_no": sale.receipt_no,
                },
            )
            tx.append(
                "alarm",
                {
                    "kind": "door_not_opened",
                    "detail": f"paid sale {sale.sale_id}: the door was not opened after "
                    f"{sale.unlocks} unlock(s); stuck latch or a shopper who left",
                },
            )
            self._update_sale(tx, sale, "unclaimed")
            self.catalog.adjust(tx, sale.product.sku, +1, "unclaimed")
            self.pending.add(
                tx, REVERSE, sale.sale_id, sale.method, sale.amount_cents, sale.currency, receipt_no=sale.receipt_no
            )
        self.message = None
        self._go("unclaimed")
        self._kick()
        later(self, self.thanks_s, self.finish)

    # --- persistence ------------------------------------------------------------------
    async def _begin_payment(self, terminal: PaymentTerminal, sale: Sale) -> bool:
        """Before the terminal is asked for money: the terminal's mark, and the sale row on disk with it,
        so that after a power cut the recovery knows a payment may have moved and how to ask about it.
        False when the row cannot be written: then nothing is asked of the terminal."""
        mark = await terminal.mark()
        try:
            self._write_sale(sale, "paying", mark)
        except STORAGE_ERRORS as exc:
            self.on_storage_failed(
                f"sale {sale.sale_id} could not be recorded before payment: {exc}", "storage_unavailable"
            )
            self.sale, self.payment_status, self.message = None, None, "out_of_service"
            self._go("fault")
            return False
        return True

    def _write_sale(self, sale: Sale, state: str, mark: str | None = None) -> None:
        with self.outbox.transaction(durable=True) as tx:
            self.sales.insert(
                tx, sale.sale_id, sale.product.sku, sale.amount_cents, sale.currency, sale.method, state, mark
            )

    def _update_sale(self, tx: Transaction, sale: Sale, state: str) -> None:
        self.sales.update(tx, sale.sale_id, state, sale.receipt_no, sale.trace_no, sale.unlocks)

    def recover_after_restart(self, resume_window_s: float = 0.0) -> list[str]:
        """Sales that a crash or power cut interrupted. Nothing is dropped: the newest paid sale whose door
        never opened is offered to the shopper again for ``resume_window_s`` (then reversed or flagged for
        refund, as any unclaimed sale); older ones are reversed at once; an interrupted authorization is
        settled by asking its terminal (``_settle``); a door that was open completes its sale. Then every
        follow-up action still open, from this boot or an earlier one, is carried out."""
        rows = self.sales.interrupted()
        resumable = [r for r in rows if r.state in ("approved", "door_unlocked") and r.sku in self.catalog.products]
        resume = resumable[-1] if resumable and resume_window_s > 0 else None
        recovered = []
        for row in rows:
            sale_id, sku, method, state = row.sale_id, row.sku, row.method, row.state
            amount, currency, receipt_no = row.amount_cents, row.currency, row.receipt_no
            opened_at, mark = row.door_opened_at, row.terminal_mark
            recovered.append(sale_id)
            if resume is not None and sale_id == resume.sale_id:
                continue
            with self.outbox.transaction(durable=True) as tx:
                if state == "paying":  # the terminal knows how it ended: ask it, never assume
                    self.pending.add(tx, SETTLE, sale_id, method, amount, currency, mark=mark)
                    new_state = "settling"
                elif state == "door_opened":  # the shopper had the door open: the product is gone
                    now = utc_now_iso()
                    tx.append(
                        "sale.completed",
                        {
                            "sale_id": sale_id,
                            "sku": sku,
                            "amount_cents": amount,
                            "currency": currency,
                            "method": method,
                            "receipt_no": receipt_no,
                            "door_opened_at": opened_at or now,
                            "door_closed_at": now,
                            "recovered": True,
                        },
                    )
                    new_state = "completed"
                else:
                    tx.append(
                        "sale.unclaimed",
                        {
                            "sale_id": sale_id,
                            "sku": sku,
                            "amount_cents": amount,
                            "currency": currency,
                            "receipt_no": receipt_no,
                            "recovered": True,
                            "action": _give_back(method),
                        },
                    )
                    self.catalog.adjust(tx, sku, +1, "unclaimed")
                    self.pending.add(tx, REVERSE, sale_id, method, amount, currency, receipt_no=receipt_no)
                    new_state = "unclaimed"
                self.sales.set_state(tx, sale_id, new_state)
            log.warning("recovered interrupted sale", extra={"sale_id": sale_id, "was": state, "now": new_state})
        if resume is not None:
            self._resume(resume, resume_window_s)
        self._kick()
        return recovered

    def _resume(self, row: SaleRecord, window_s: float) -> None:
        sale_id = row.sale_id
        self.sale = Sale(
            sale_id=sale_id,
            product=self.catalog.products[row.sku],
            amount_cents=row.amount_cents,
            currency=row.currency,
            method=row.method,
            receipt_no=row.receipt_no,
            trace_no=row.trace_no,
            unlocks=min(row.unlocks, self.lock_config.max_unlocks_per_sale - 1),
        )
        self.door.resume(self._door_opening(self.sale), self.sale.unlocks, window_s)
        self._go("resume")
        log.warning("resuming a paid sale after a restart", extra={"sale_id": sale_id, "window_s": window_s})

    # --- follow-up actions ----------------------------------------------------------------
    def _kick(self) -> None:
        """Carry out the open follow-up actions now; a runner waiting between retries starts over."""
        self._wake.set()
        if self._runner is None or self._runner.done():
            self._runner = self._spawn(self._follow_up())

    async def _follow_up(self) -> None:
        """Rounds over the open actions until none is left to retry, waiting longer after each round
        that left some (a terminal unplugged now may be back later, a cloud down now may be up later)."""
        delay = self.retry_first_s
        while True:
            self._wake.clear()
            left = await self._follow_up_round()
            if self._wake.is_set():  # a new action came during the round (e.g. a settled approval)
                delay = self.retry_first_s
                continue
            if not left:
                return
            if await self.clock.wait(self._wake, delay):
                delay = self.retry_first_s
            else:
                delay = min(delay * 2, self.retry_max_s)

    async def _follow_up_round(self) -> bool:
        """One attempt at each open action; True if some are left to retry. An action whose way to pay
        is not configured in this run waits for a boot that has it."""
        left, blocked = False, set()
        for action in self.pending.open():
            terminal = self.terminals.get(action.method)
            if terminal is None:
                continue
            # Not while a shopper pays (the terminal is theirs), and after one failure on a terminal not
            # its later actions: a reversal must not overwrite the last transaction a settlement needs.
            if self.paying or action.method in blocked:
                left = True
                continue
            try:
                done = await (
                    self._settle(action, terminal) if action.kind == SETTLE else self._reverse_or_flag(action, terminal)
                )
            except DeviceFault as exc:
                self.pending.failed_attempt(action, str(exc))
                done = False
            if not done:
                log.warning("follow-up action left for a retry", extra={"sale_id": action.sale_id, "kind": action.kind})
                left = True
                blocked.add(action.method)
        return left

    async def _reverse_or_flag(self, action: PendingAction, terminal: PaymentTerminal) -> bool:
        """Give an unclaimed payment back: a ZVT reversal or a scan-to-pay refund through the cloud.
        Done when the money is back; after a definite refusal a ``refund_needed`` alarm is raised and the
        action closed as flagged (the retailer refunds); anything undecided is retried."""
        if action.receipt_no:
            result = await terminal.reverse(action.receipt_no, action.amount_cents, action.currency)
        else:
            result = PaymentResult(
                PaymentOutcome.DECLINED,
                action.amount_cents,
                action.currency,
                action.method,
                message="the approval carried no receipt number to reverse by",
            )
        if result.outcome in UNDECIDED:
            self.pending.failed_attempt(action, result.message or result.outcome.value)
            return False
        with self.outbox.transaction(durable=True) as tx:
            if result.approved:
                tx.append(
                    "payment.reversed",
                    {
                        "sale_id": action.sale_id,
                        "receipt_no": action.receipt_no,
                        "amount_cents": action.amount_cents,
                        "currency": action.currency,
                        "method": action.method,
                    },
                )
                self.sales.set_state(tx, action.sale_id, "reversed")
            else:
                tx.append(
                    "alarm",
                    {
                        "kind": "refund_needed",
                        "sale_id": action.sale_id,  # the retailer's refund list is keyed by it
                        "detail": f"sale {action.sale_id} (receipt {action.receipt_no}) could not be "
                        f"given back: {result.message or result.outcome.value}",
                    },
                )
            self.pending.close(tx, action, DONE if result.approved else FLAGGED)
        log.warning(
            "unclaimed sale " + ("reversed" if result.approved else "left for a refund"),
            extra={"sale_id": action.sale_id},
        )
        return True

    async def _settle(self, action: PendingAction, terminal: PaymentTerminal) -> bool:
        """An authorization a restart interrupted, settled by what its terminal says. Approved: the approval
        is recorded and, in the same transaction, the sale is unclaimed with a reversal pending. The sale
        is not offered again as a resumed one: the shopper never saw it approved (the screen said
        "processing" when the power went), has most likely left, and the door would open for whoever
        stands there; the settlement may also come hours later, when the terminal is back. Anything
        else (or no transaction at all): ``payment.failed`` with outcome ``interrupted``."""
        result = await terminal.query(action.sale_id, action.amount_cents, action.currency, action.mark)
        record = self.sales.get(action.sale_id)
        assert record is not None, f"a settlement for sale {action.sale_id}, which has no row"
        sku = record.sku
        sale = {"sale_id": action.sale_id, "sku": sku, "amount_cents": action.amount_cents, "currency": action.currency}
        with self.outbox.transaction(durable=True) as tx:
            if result is not None and result.approved:
                tx.append(
                    "payment.approved",
                    {
                        **sale,
                        "method": action.method,
                        "receipt_no": result.receipt_no,
                        "trace_no": result.trace_no,
                        "recovered": True,
                    },
                )
                tx.append(
                    "sale.unclaimed",
                    {**sale, "receipt_no": result.receipt_no, "recovered": True, "action": _give_back(action.method)},
                )
                self.sales.settled(tx, action.sale_id, "unclaimed", result.receipt_no, result.trace_no)
                self.pending.add(
                    tx,
                    REVERSE,
                    action.sale_id,
                    action.method,
                    action.amount_cents,
                    action.currency,
                    receipt_no=result.receipt_no,
                )
            else:
                tx.append(
                    "payment.failed",
                    {
                        **sale,
                        "method": action.method,
                        "outcome": "interrupted",
                        "terminal_outcome": result.outcome.value if result else None,
                    },
                )
                self.sales.set_state(tx, action.sale_id, "interrupted")
            self.pending.close(tx, action, DONE)
        log.warning(
            "interrupted authorization settled",
            extra={"sale_id": action.sale_id, "approved": bool(result and result.approved)},
        )
        if result is not None and result.approved:
            self._kick()
        return True

    # --- plumbing -------------------------------------------------------------------
    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("sale task failed", exc_info=task.exception())


def _give_back(method: str) -> str:
    """How an unclaimed payment goes back to the shopper, as ``sale.unclaimed`` records it."""
    return "reversal" if method == "terminal" else "refund"
