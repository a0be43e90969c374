"""The sale's money follow-ups: what must still happen to a payment after the commit that requires it.

An unclaimed sale is reversed (ZVT) or refunded (scan-to-pay); an authorization a restart interrupted is
settled by asking its terminal; an approval the failing store kept out is reversed at once and written
late. ``SaleFollowUps`` owns the pending actions (sync_client.pending_actions), the terminals it asks,
the retry timing (on the injected clock) and the records those actions write.

Who decides, who carries out: the sale journey (firmware/journeys/sale.py) decides what must follow, both
while it runs and at boot for each interrupted sale row, and records the action with ``reverse_later`` or
``settle_later`` in its own durable transaction, the one that commits the state requiring it (so a power
cut right after that commit cannot lose it). This module carries the open actions out: at once when
``kick`` is called, again after a failed round with a backoff doubling from ``retry_first_s`` up to
``retry_max_s``, until each is done or, after a definite refusal, flagged for a refund.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from firmware.clock import Clock
from hal.errors import DeviceFault
from hal.payment import PaymentOutcome, PaymentResult, PaymentTerminal
from sync_client.outbox import STORAGE_ERRORS, Outbox, Transaction
from sync_client.pending_actions import DONE, FLAGGED, REVERSE, SETTLE, PendingAction, PendingActions
from sync_client.schema import SchemaError
from sync_client.store.sales import SalesRepo

log = logging.getLogger(__name__)

STORE_RETRY_S = 2.0  # how often a record the store refused is tried again
STORAGE = "storage_unavailable"  # the alarm of a store that failed at a commit
# A reversal that ended so is undecided: the device may answer later. DECLINED is a definite refusal.
UNDECIDED = frozenset({PaymentOutcome.FAULT, PaymentOutcome.TIMED_OUT, PaymentOutcome.CANCELLED})


def give_back(method: str) -> str:
    """How an unclaimed payment goes back to the shopper, as ``sale.unclaimed`` records it."""
    return "reversal" if method == "terminal" else "refund"


def unclaimed_event(
    sale_id: str, sku: str, amount_cents: int, currency: str, method: str, receipt_no: str | None, **extra: Any
) -> dict[str, Any]:
    """The payload of ``sale.unclaimed``: paid, the product still in the cabinet, the money going back."""
    return {
        "sale_id": sale_id,
        "sku": sku,
        "amount_cents": amount_cents,
        "currency": currency,
        "receipt_no": receipt_no,
        "action": give_back(method),
        **extra,
    }


def unrecorded_outcome(reversed_: bool) -> str:
    """What became of an approval the store could not record, for the logs and the storage alarm."""
    return "reversed on the terminal" if reversed_ else "NOT reversed: refund needed"


@dataclass(frozen=True)
class Approval:
    """A payment the terminal approved for a sale."""

    sale_id: str
    sku: str
    method: str
    result: PaymentResult
    variant_sku: str  # the unit paid for: a variant's SKU (the product's when it has none)

    def event(self, **extra: Any) -> dict[str, Any]:
        """The payload of ``payment.approved``."""
        result = self.result
        return {
            "sale_id": self.sale_id,
            "sku": self.sku,
            "variant_sku": self.variant_sku,
            "amount_cents": result.amount_cents,
            "currency": result.currency,
            "method": self.method,
            "receipt_no": result.receipt_no,
            "trace_no": result.trace_no,
            # how the shopper paid, where the terminal said (chip, contactless, wallet) and the card's name
            **{k: v for k, v in (("method_detail", result.method_detail), ("card", result.card)) if v},
            **extra,
        }


@dataclass
class SaleFollowUps:
    outbox: Outbox
    terminals: dict[str, PaymentTerminal]  # by method: "terminal", "qr"
    clock: Clock
    spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]]  # the journey's: a power cut cancels them all
    busy: Callable[[], bool] = lambda: False  # a shopper is paying: the terminals are theirs
    retry_first_s: float = 2.0  # the first wait after a failed round, doubled ...
    retry_max_s: float = 300.0  # ... up to this (a terminal unplugged or a cloud down for hours)
    on_given_back: Callable[[str, bool], None] = lambda sale_id, given_back: None  # reversed, or flagged
    _runner: asyncio.Task[None] | None = None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.pending = PendingActions(self.outbox)
        self.sales = SalesRepo(self.outbox)

    def unsettled_methods(self) -> frozenset[str]:
        """Ways to pay held back until an authorization a restart interrupted is settled: until then its
        terminal's last transaction is the evidence, and a new payment there would overwrite it."""
        return self.pending.unsettled_methods()

    # --- recorded by the journey, in the transaction that requires them ------------------------------
    def reverse_later(
        self, tx: Transaction, sale_id: str, method: str, amount_cents: int, currency: str, receipt_no: str | None
    ) -> None:
        self.pending.add(tx, REVERSE, sale_id, method, amount_cents, currency, receipt_no=receipt_no)

    def settle_later(
        self, tx: Transaction, sale_id: str, method: str, amount_cents: int, currency: str, mark: str | None
    ) -> None:
        self.pending.add(tx, SETTLE, sale_id, method, amount_cents, currency, mark=mark)

    def give_back_again(self, tx: Transaction, sale_id: str) -> str:
        """The owner's refund from the console (a ``refund`` command, applied in ``tx``): a reversal or refund
        that was flagged ``refund_needed`` is opened again, and ``kick`` after the commit carries it out (its
        ``payment.reversed``, or another flag, follows); one still under way is left to run, one done is not
        repeated. SchemaError for a sale this cabinet has nothing to give back for."""
        state = self.pending.reopen(tx, REVERSE, sale_id)
        if state is None:
            raise SchemaError(f"args.sale_id: no unclaimed sale {sale_id!r} on this cabinet")
        return {FLAGGED: "giving it back again", DONE: "already given back"}.get(state, "already under way")

    # --- the runner -------------------------------------------------------------------------------
    def kick(self) -> None:
        """Carry out the open follow-up actions now; a runner waiting between retries starts over."""
        self._wake.set()
        if self._runner is None or self._runner.done():
            self._runner = self.spawn(self._rounds())

    async def _rounds(self) -> None:
        """Rounds over the open actions until none is left to retry, waiting longer after each round
        that left some (a terminal unplugged now may be back later, a cloud down now may be up later)."""
        delay = self.retry_first_s
        while True:
            self._wake.clear()
            left = await self._round()
            if self._wake.is_set():  # a new action came during the round (e.g. a settled approval)
                delay = self.retry_first_s
                continue
            if not left:
                return
            if await self.clock.wait(self._wake, delay):
                delay = self.retry_first_s
            else:
                delay = min(delay * 2, self.retry_max_s)

    async def _round(self) -> bool:
        """One attempt at each open action; True if some are left to retry. An action whose way to pay
        is not configured in this run waits for a boot that has it."""
        left, blocked = False, set()
        for action in self.pending.open():
            terminal = self.terminals.get(action.method)
            if terminal is None:
                continue
            # Not while a shopper pays (the terminal is theirs), and after one failure on a terminal not
            # its later actions: a reversal must not overwrite the last transaction a settlement needs.
            if self.busy() or action.method in blocked:
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

    # --- reversals and refunds --------------------------------------------------------------------
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
        self.on_given_back(action.sale_id, result.approved)
        return True

    # --- settlements --------------------------------------------------------------------------------
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
        approved = result is not None and result.approved
        with self.outbox.transaction(durable=True) as tx:
            if result is not None and result.approved:
                self._record_settled_approval(tx, action, record.sku, record.stock_sku, result)
            else:
                tx.append(
                    "payment.failed",
                    {
                        "sale_id": action.sale_id,
                        "sku": record.sku,
                        "variant_sku": record.stock_sku,
                        "amount_cents": action.amount_cents,
                        "currency": action.currency,
                        "method": action.method,
                        "outcome": "interrupted",
                        "terminal_outcome": result.outcome.value if result else None,
                    },
                )
                self.sales.set_state(tx, action.sale_id, "interrupted")
            self.pending.close(tx, action, DONE)
        log.warning("interrupted authorization settled", extra={"sale_id": action.sale_id, "approved": approved})
        if approved:
            self.kick()
        return True

    def _record_settled_approval(
        self, tx: Transaction, action: PendingAction, sku: str, variant_sku: str, result: PaymentResult
    ) -> None:
        """The approval the terminal reports, and in the same transaction the sale unclaimed with its reversal."""
        sale_id, method, amount, currency = action.sale_id, action.method, action.amount_cents, action.currency
        tx.append(
            "payment.approved",
            {
                "sale_id": sale_id,
                "sku": sku,
                "variant_sku": variant_sku,
                "amount_cents": amount,
                "currency": currency,
                "method": method,
                "receipt_no": result.receipt_no,
                "trace_no": result.trace_no,
                "recovered": True,
            },
        )
        unclaimed = unclaimed_event(sale_id, sku, amount, currency, method, result.receipt_no, variant_sku=variant_sku)
        tx.append("sale.unclaimed", {**unclaimed, "recovered": True})
        self.sales.settled(tx, sale_id, "unclaimed", result.receipt_no, result.trace_no)
        self.reverse_later(tx, sale_id, method, amount, currency, result.receipt_no)

    # --- the approval the failing store kept out ----------------------------------------------------
    async def give_back_unrecorded(self, terminal: PaymentTerminal, approval: Approval, exc: BaseException) -> bool:
        """No door without a record: the money goes back now, not through a pending action the store
        cannot hold, and the approval is written once the store takes writes again. True when the terminal
        reversed it. These log lines may be the only record of the payment when the disk is dead."""
        facts = approval.event(error=f"{type(exc).__name__}: {exc}")
        log.critical("approval could not be recorded: door stays shut, reversing the payment", extra=facts)
        reversed_ = await self._reverse_at_once(terminal, approval.result)
        log.critical(f"unrecorded approval {unrecorded_outcome(reversed_)}", extra={**facts, "reversed": reversed_})
        self.spawn(self._record_late(approval, reversed_))
        return reversed_

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

    async def _record_late(self, approval: Approval, reversed_: bool) -> None:
        """The approval the failing store kept out, written late but whole once it takes writes again: left
        as 'paying', the sale would be settled at the next boot against a terminal whose last transaction
        is now the reversal. A reversal that failed becomes a pending one, retried like any other."""
        sale_id, method, result = approval.sale_id, approval.method, approval.result
        amount, currency, receipt_no = result.amount_cents, result.currency, result.receipt_no
        unclaimed = unclaimed_event(
            sale_id, approval.sku, amount, currency, method, receipt_no, variant_sku=approval.variant_sku
        )
        reversal = {"sale_id": sale_id, "amount_cents": amount, "currency": currency, "method": method}
        while True:
            await self.clock.sleep(STORE_RETRY_S)
            try:
                with self.outbox.transaction(durable=True) as tx:
                    tx.append("payment.approved", approval.event(recorded_late=True))
                    tx.append("sale.unclaimed", unclaimed)
                    if reversed_:
                        tx.append("payment.reversed", {**reversal, "receipt_no": receipt_no})
                    else:
                        self.reverse_later(tx, sale_id, method, amount, currency, receipt_no)
                    state = "reversed" if reversed_ else "unclaimed"
                    self.sales.settled(tx, sale_id, state, receipt_no, result.trace_no)
            except STORAGE_ERRORS:
                continue
            log.warning("unrecorded approval recorded late", extra={"sale_id": sale_id, "reversed": reversed_})
            if not reversed_:
                self.kick()
            return
