"""The sale journey: an explicit state machine.

    idle ─start→ browse ─select→ product ─buy→ pay ─approved→ approved ─unlocked→ door_unlocked
    door_unlocked ─door_opened→ door_opened ─door_closed→ door_closed ─completed→ done ─finish→ idle
    pay ─declined | timed_out | cancelled | fault | back→ product
                          (fault also when the approval could not be committed: the door stays shut, the
                           payment is reversed at once, the cabinet is out of service until its store works)
    product ─back→ browse;  browse, product, pay (not paying) ─idle→ idle
    door_unlocked ─unclaimed→ done   (paid, never opened: reversed or flagged for refund, never dropped)
                                     (done shows how the money ended, ``Ending``: collected, being reversed,
                                      reversed, or flagged for a refund, with the sale's reference)
    idle ─resume→ door_unlocked      (after a power cut: the paid sale is offered again for a while)

The money rule: the approval is committed (synchronous=FULL) with the sale's
new state before the relay is energized. Every state change that matters is
written with its event in one transaction.

What must follow a commit (the reversal or refund of an unclaimed sale, the
settlement of an authorization a restart interrupted) is a pending action the
journey records in that same transaction (``follow_ups.reverse_later`` or
``settle_later``); the journey's ``SaleFollowUps`` (sale_follow_ups.py) carries
it out: at once while the journey runs, at boot after a power cut, retried with
backoff until it is done or flagged for a refund.

After a restart (``recover_after_restart``) the journey decides what each
interrupted sale row becomes (resumed, completed, unclaimed with a reversal
pending, or settling with a settlement pending); the follow-ups then carry out
the reversals and settlements, this boot's and any an earlier boot left open.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal

from firmware.catalog import Catalog, Product
from firmware.clock import Clock, LoopClock, TimerHandle
from firmware.config import LockSection
from firmware.door_cycle import DoorCycle, Opening
from firmware.journeys.machine import later, transition
from firmware.journeys.sale_follow_ups import (
    STORAGE,
    STORE_RETRY_S,
    Approval,
    SaleFollowUps,
    unclaimed_event,
    unrecorded_outcome,
)
from hal.errors import DeviceFault
from hal.lock import Lock
from hal.payment import PaymentOutcome, PaymentResult, PaymentTerminal
from sync_client.outbox import STORAGE_ERRORS, Outbox, Transaction
from sync_client.schema import new_receipt_token, sale_reference, utc_now_iso
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


# What became of the shopper's money, as the ending screen says it: paid and taken; being given back;
# given back (reversal or refund done); could not be given back (the retailer refunds: call support).
Money = Literal["collected", "reversing", "reversed", "refund_flagged"]
NOTICE_S = 30.0  # an ending about money going back stays at least this long: time to read and note the reference


class IllegalTransition(Exception):
    pass


@dataclass(frozen=True)
class Ending:
    """How a paid sale ended for the shopper's money (the ending screen's facts)."""

    sale_id: str
    method: str
    receipt_no: str | None  # the terminal's receipt number (scan-to-pay: its payment id)
    money: Money
    recorded: bool = True  # False: the store failed at the approval (the log line is the record for now)
    receipt_token: str | None = None  # the receipt's link (None: a sale from before tokens were kept)

    @property
    def reference(self) -> str:
        return sale_reference(self.sale_id)

    @classmethod
    def of(cls, sale: Sale, money: Money, recorded: bool = True) -> Ending:
        return cls(sale.sale_id, sale.method, sale.receipt_no, money, recorded, sale.receipt_token)


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
    variant_sku: str | None = None  # the variant paid for (None: the product has none)
    receipt_token: str | None = None  # in payment.approved: the receipt's unguessable link (schema.py)

    @property
    def sku(self) -> str:
        return self.product.sku

    @property
    def stock_sku(self) -> str:
        """Where the unit paid for is counted."""
        return self.variant_sku or self.product.sku

    @classmethod
    def resumed(cls, row: SaleRecord, product: Product, max_unlocks: int) -> Sale:
        """A paid sale a restart interrupted, from its row, with at least one unlock left."""
        return cls(
            sale_id=row.sale_id,
            product=product,
            amount_cents=row.amount_cents,
            currency=row.currency,
            method=row.method,
            receipt_no=row.receipt_no,
            trace_no=row.trace_no,
            unlocks=min(row.unlocks, max_unlocks - 1),
            variant_sku=row.variant_sku,
            receipt_token=row.receipt_token,
        )


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
    ending: Ending | None = None
    variant_sku: str | None = None  # the variant chosen (or paid for)


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
    variant_sku: str | None = None  # the shopper's choice on the product page, paid for at checkout
    sale: Sale | None = None
    payment_status: str | None = None
    message: str | None = None
    ending: Ending | None = None  # how the last paid sale ended for the money, until the next one starts
    last_approval_to_relay_s: float | None = None
    retry_first_s: float = 2.0  # follow-up actions: the first wait after a failed round, doubled ...
    retry_max_s: float = 300.0  # ... up to this (a terminal unplugged or a cloud down for hours)
    clock: Clock = field(default_factory=LoopClock)
    door: DoorCycle = field(kw_only=True)  # the cabinet's one door, shared by every journey that opens it
    _relay_at: float = 0.0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _timer: TimerHandle | None = None
    _opening: Opening | None = None  # the sale's opening of the door, while the door cycle serves it

    def __post_init__(self) -> None:
        self.sales = SalesRepo(self.outbox)
        self.follow_ups = SaleFollowUps(
            self.outbox,
            self.terminals,
            self.clock,
            spawn=self._spawn,
            busy=lambda: self.paying,
            retry_first_s=self.retry_first_s,
            retry_max_s=self.retry_max_s,
            on_given_back=self._given_back,
        )
        offered = self.available_methods
        # Until an interrupted authorization is settled, its terminal's last transaction is the evidence:
        # a new payment there would overwrite it, so that way to pay is not offered meanwhile.
        self.available_methods = lambda: tuple(m for m in offered() if m not in self.unsettled_methods())

    def unsettled_methods(self) -> frozenset[str]:
        """Ways to pay held back until an authorization a restart interrupted is settled."""
        return self.follow_ups.unsettled_methods()

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
            ending=self.ending,
            variant_sku=sale.variant_sku if sale else self.variant_sku,
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
        self.variant_sku = self._first_variant(self.product)
        self._go("select")

    def _first_variant(self, product: Product) -> str | None:
        """The variant a product's page shows first: the first in stock, else the first."""
        skus = [v.sku for v in product.variants]
        return next((sku for sku in skus if self.catalog.stock(sku) > 0), skus[0] if skus else None)

    def choose_variant(self, sku: str) -> None:
        """The shopper's choice of colour or option; one out of stock cannot be chosen."""
        if self.state is not S.PRODUCT or self.product is None or self.product.variant(sku) is None:
            raise IllegalTransition(f"no variant {sku!r} to choose here")
        if self.catalog.stock(sku) <= 0:
            raise IllegalTransition(f"variant {sku!r} is out of stock")
        self.variant_sku, self.message = sku, None
        self.on_change()

    def buy(self) -> None:
        assert self.product is not None
        if self.product.online_only:
            raise IllegalTransition(f"{self.product.sku} is sold online only")
        if self.catalog.stock(self.variant_sku or self.product.sku) <= 0:
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
            self.product, self.variant_sku, self.message, self.ending = None, None, None, None
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
        self.ending = None
        sale_id = str(uuid.uuid4())
        self.sale = Sale(
            sale_id=sale_id,
            product=self.product,
            amount_cents=self.product.price_cents,
            currency=self.currency,
            method=method,
            variant_sku=self.variant_sku,
            receipt_token=new_receipt_token(sale_id),
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
            self.sale, self.product, self.message, self._opening, self.ending = None, None, None, None, None
            self.variant_sku = None
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
            committed_at = self.clock.monotonic()
            self._unlock()
            # The money rule's cost: durable commit plus relay, measured on every sale (the commit's share apart).
            self.last_approval_to_relay_s = self._relay_at - approved_at
            log.info(
                "approval to relay",
                extra={
                    "sale_id": sale.sale_id,
                    "ms": round(self.last_approval_to_relay_s * 1000, 3),
                    "commit_ms": round((committed_at - approved_at) * 1000, 3),
                },
            )
        else:
            with self.outbox.transaction() as tx:
                failure = {"outcome": result.outcome.value, "result_code": result.result_code}
                tx.append("payment.failed", {**_facts(sale), **failure})
                self._update_sale(tx, sale, "failed")
            self.sale, self.payment_status = None, None
            # Scan-to-pay that could not start (the cloud or its payment provider unreachable) is withdrawn: say so.
            qr_gone = result.outcome is PaymentOutcome.FAULT and sale.method == "qr"
            self.message = "qr_unavailable" if qr_gone else result.outcome.value
            self._go(OUTCOME_TRIGGER[result.outcome])

    def _on_status(self, status: str) -> None:
        if self.paying:
            self.payment_status = status
            self.on_change()

    def _record_approval(self, sale: Sale, result: PaymentResult) -> None:
        """The money rule: durable commit of the approval before anything physical happens."""
        sale.receipt_no, sale.trace_no = result.receipt_no, result.trace_no
        with self.outbox.transaction(durable=True) as tx:
            token = {"receipt_token": sale.receipt_token} if sale.receipt_token else {}
            tx.append("payment.approved", self._approval(sale, result).event(**token))
            self._update_sale(tx, sale, "approved")
            self.catalog.adjust(tx, sale.stock_sku, -1, "sale")

    async def _approval_not_recorded(
        self, terminal: PaymentTerminal, sale: Sale, result: PaymentResult, exc: BaseException
    ) -> None:
        """No door without a record: the relay stays off, the money goes back at once (the follow-ups
        record it once the store takes writes again), and the cabinet stops selling."""
        approval = self._approval(sale, result)
        reversed_ = await self.follow_ups.give_back_unrecorded(terminal, approval, exc)
        self.on_storage_failed(
            f"sale {sale.sale_id} ({result.amount_cents} {result.currency}, {sale.method}, receipt "
            f"{result.receipt_no}) was approved but could not be recorded ({exc}); {unrecorded_outcome(reversed_)}",
            STORAGE,  # a failed reversal is retried, then flagged, once the store can record it
        )
        self.ending = Ending.of(sale, "reversed" if reversed_ else "refund_flagged", recorded=False)
        self.sale, self.payment_status = None, None
        self.message = "not_charged" if reversed_ else "refund_pending"
        self._go("fault")

    @staticmethod
    def _approval(sale: Sale, result: PaymentResult) -> Approval:
        return Approval(sale.sale_id, sale.sku, sale.method, result, sale.stock_sku)

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
        """The approval is committed: now the relay, then the screen, the log and the record of what it did
        (nothing but the approval's commit stands between the terminal's answer and the relay)."""
        sale = self.sale
        assert sale is not None
        pulse = self.door.unlock(self._door_opening(sale))
        # when the lock took the pulse: the door cycle's transition and redraw come after the relay
        self._relay_at = self.door.released_at or self.clock.monotonic()
        self.payment_status = None
        self._go("approved")
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
        try:
            with self.outbox.transaction() as tx:
                tx.append("door.opened", {"authorized": True, "sale_id": sale.sale_id})
                self.sales.door_opened(tx, sale.sale_id, sale.door_opened_at)
        except STORAGE_ERRORS as exc:  # the money facts come with the close, recorded come what may
            self.on_storage_failed(f"sale {sale.sale_id}: the door opening could not be recorded ({exc})", STORAGE)
        self._go("door_opened")

    def _complete(self, open_s: float) -> None:
        sale = self.sale
        assert sale is not None
        self._until_recorded(f"sale {sale.sale_id} completed", lambda: self._record_completed(sale, open_s))

    def _record_completed(self, sale: Sale, open_s: float) -> None:
        closed_at = utc_now_iso()
        with self.outbox.transaction(durable=True) as tx:
            tx.append("door.closed", {"open_s": open_s, "sale_id": sale.sale_id})
            opened_at = sale.door_opened_at or closed_at
            tx.append("sale.completed", _completed(sale, sale.receipt_no, opened_at, closed_at))
            self._update_sale(tx, sale, "completed")
        self.ending = Ending.of(sale, "collected")
        self._go("door_closed")
        self._go("completed")
        later(self, self.thanks_s, self.finish)

    def _unclaimed(self) -> None:
        sale = self.sale
        if self.state is S.DOOR_UNLOCKED and sale is not None:
            self._until_recorded(f"sale {sale.sale_id} unclaimed", lambda: self._record_unclaimed(sale))

    def _record_unclaimed(self, sale: Sale) -> None:
        """Paid, door never opened: never forgotten. The reversal (or refund) is a pending action committed
        with ``sale.unclaimed``, so a power cut right after this commit cannot lose it."""
        with self.outbox.transaction(durable=True) as tx:
            tx.append("sale.unclaimed", unclaimed_event(**_facts(sale), receipt_no=sale.receipt_no))
            detail = f"paid sale {sale.sale_id}: the door was not opened after {sale.unlocks} unlock(s); "
            tx.append("alarm", {"kind": "door_not_opened", "detail": detail + "stuck latch or a shopper who left"})
            self._update_sale(tx, sale, "unclaimed")
            self.catalog.adjust(tx, sale.stock_sku, +1, "unclaimed")
            self.follow_ups.reverse_later(
                tx, sale.sale_id, sale.method, sale.amount_cents, sale.currency, sale.receipt_no
            )
        self.message, self.ending = None, Ending.of(sale, "reversing")
        self._go("unclaimed")
        self.follow_ups.kick()
        later(self, max(self.thanks_s, NOTICE_S), self.finish)

    def _given_back(self, sale_id: str, given_back: bool) -> None:
        """The follow-ups gave an unclaimed payment back (or flagged it for a refund): the ending says so."""
        ending = self.ending
        if ending is not None and ending.sale_id == sale_id and ending.money == "reversing":
            self.ending = dataclasses.replace(ending, money="reversed" if given_back else "refund_flagged")
            self.on_change()

    def _until_recorded(self, what: str, record: Callable[[], None]) -> None:
        """How the sale ended at the door is recorded before the journey moves on. A failing store puts the
        cabinet out of service and the record is tried again until it holds: the journey waits on its
        door screen rather than wedging (a power cut meanwhile leaves the row for the boot to settle)."""
        try:
            record()
        except STORAGE_ERRORS as exc:
            self.on_storage_failed(f"{what}, but could not be recorded ({exc}); trying again", STORAGE)
            later(self, STORE_RETRY_S, lambda: self._until_recorded(what, record))

    # --- persistence ------------------------------------------------------------------
    async def _begin_payment(self, terminal: PaymentTerminal, sale: Sale) -> bool:
        """Before the terminal is asked for money: the terminal's mark, and the sale row on disk with it,
        so that after a power cut the recovery knows a payment may have moved and how to ask about it.
        False when the row cannot be written: then nothing is asked of the terminal."""
        mark = await terminal.mark()
        try:
            with self.outbox.transaction(durable=True) as tx:
                self.sales.insert(
                    tx,
                    sale.sale_id,
                    sale.sku,
                    sale.amount_cents,
                    sale.currency,
                    sale.method,
                    "paying",
                    mark,
                    sale.variant_sku,
                )
        except STORAGE_ERRORS as exc:
            self.on_storage_failed(f"sale {sale.sale_id} could not be recorded before payment: {exc}", STORAGE)
            self.sale, self.payment_status, self.message = None, None, "out_of_service"
            self._go("fault")
            return False
        return True

    def _update_sale(self, tx: Transaction, sale: Sale, state: str) -> None:
        self.sales.update(tx, sale.sale_id, state, sale.receipt_no, sale.trace_no, sale.unlocks, sale.receipt_token)

    # --- after a restart: what each interrupted sale becomes ------------------------------------------
    def recover_after_restart(self, resume_window_s: float = 0.0) -> list[str]:
        """Sales that a crash or power cut interrupted. Nothing is dropped: the newest paid sale whose door
        never opened is offered to the shopper again for ``resume_window_s`` (then reversed or flagged for
        refund, as any unclaimed sale); older ones are reversed; an interrupted authorization is settled by
        asking its terminal; a door that was open completes its sale. The journey decides this for each
        row; the follow-ups then carry out every action still open, from this boot or an earlier one."""
        rows = self.sales.interrupted()
        resumable = [r for r in rows if r.state in ("approved", "door_unlocked") and r.sku in self.catalog.products]
        resume = resumable[-1] if resumable and resume_window_s > 0 else None
        for row in rows:
            if resume is None or row.sale_id != resume.sale_id:
                self._close_interrupted(row)
        if resume is not None:
            self._resume(resume, resume_window_s)
        self.follow_ups.kick()
        return [row.sale_id for row in rows]

    def _close_interrupted(self, row: SaleRecord) -> None:
        """One interrupted sale not resumed: its new state with its record, and what must follow it."""
        with self.outbox.transaction(durable=True) as tx:
            if row.state == "paying":  # the terminal knows how it ended: ask it, never assume
                self.follow_ups.settle_later(
                    tx, row.sale_id, row.method, row.amount_cents, row.currency, row.terminal_mark
                )
                new_state = "settling"
            elif row.state == "door_opened":  # the shopper had the door open: the product is gone
                now = utc_now_iso()
                opened_at = row.door_opened_at or now
                tx.append("sale.completed", _completed(row, row.receipt_no, opened_at, now, recovered=True))
                new_state = "completed"
            else:
                tx.append("sale.unclaimed", unclaimed_event(**_facts(row), receipt_no=row.receipt_no, recovered=True))
                self.catalog.adjust(tx, row.stock_sku, +1, "unclaimed")
                self.follow_ups.reverse_later(
                    tx, row.sale_id, row.method, row.amount_cents, row.currency, row.receipt_no
                )
                new_state = "unclaimed"
            self.sales.set_state(tx, row.sale_id, new_state)
        log.warning("recovered interrupted sale", extra={"sale_id": row.sale_id, "was": row.state, "now": new_state})

    def _resume(self, row: SaleRecord, window_s: float) -> None:
        self.sale = Sale.resumed(row, self.catalog.products[row.sku], self.lock_config.max_unlocks_per_sale)
        self.door.resume(self._door_opening(self.sale), self.sale.unlocks, window_s)
        self._go("resume")
        log.warning("resuming a paid sale after a restart", extra={"sale_id": row.sale_id, "window_s": window_s})

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


def _facts(sale: Sale | SaleRecord) -> dict[str, Any]:
    """What every record of the sale's payment names."""
    return {
        "sale_id": sale.sale_id,
        "sku": sale.sku,
        "amount_cents": sale.amount_cents,
        "currency": sale.currency,
        "method": sale.method,
        "variant_sku": sale.stock_sku,  # the unit paid for: a variant's SKU (the product's when it has none)
    }


def _completed(
    sale: Sale | SaleRecord, receipt_no: str | None, opened_at: str, closed_at: str, **extra: Any
) -> dict[str, Any]:
    """The payload of ``sale.completed``: the door opened and closed, the product taken."""
    return {
        **_facts(sale),
        "receipt_no": receipt_no,
        "door_opened_at": opened_at,
        "door_closed_at": closed_at,
        **extra,
    }
