"""Payment terminal interface.

Card data never reaches the cabinet: a terminal reports only the amount, the
outcome and the receipt and trace numbers it printed.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable
from dataclasses import dataclass

from hal.device import AsyncDevice
from hal.errors import DeviceFault


class PaymentOutcome(enum.StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    FAULT = "fault"


@dataclass(frozen=True)
class PaymentResult:
    outcome: PaymentOutcome
    amount_cents: int
    currency: str
    method: str  # "terminal" or "qr"
    result_code: int | None = None  # the terminal's own result code (ZVT BMP 27)
    receipt_no: str | None = None
    trace_no: str | None = None
    message: str = ""  # for logs and the technician, never shown raw to shoppers
    # How the shopper paid, where the terminal says: stripe, chip, contactless, wallet (hal.zvt.card_info)
    method_detail: str | None = None
    card: str | None = None  # the card's brand or name as the terminal names it ("Mastercard")

    @property
    def approved(self) -> bool:
        return self.outcome is PaymentOutcome.APPROVED


# Live status while the terminal works, for the checkout screen.
StatusCallback = Callable[[str], None]
STATUS_PRESENT_CARD = "present_card"
STATUS_ENTER_PIN = "enter_pin"
STATUS_PROCESSING = "processing"


class PaymentTerminal(AsyncDevice, abc.ABC):
    """A way to take money: a card terminal, or scan-to-pay through the cloud."""

    method: str = "terminal"
    name: str = "payment"

    @abc.abstractmethod
    async def check(self) -> None:
        """Health check between payments: raise DeviceFault if the device cannot take one now."""

    @abc.abstractmethod
    async def authorize(
        self, amount_cents: int, currency: str, on_status: StatusCallback | None = None, reference: str | None = None
    ) -> PaymentResult:
        """Take a payment; returns when the terminal has a final answer. ``reference`` (the sale id)
        lets a backend that can repeat a request (scan-to-pay) make it idempotent.

        Never raises for a declined, timed-out or cancelled payment: those are
        outcomes. Raises DeviceFault only when the device is unreachable before
        any money could have moved.
        """

    def link_fault(self) -> DeviceFault | None:
        """The link to the device known lost without asking it (a serial port that closed), else None.
        Cheap: looked at several times a second."""
        return None

    @abc.abstractmethod
    async def cancel(self) -> None:
        """Ask the terminal to abort the authorization in progress, if any."""

    @abc.abstractmethod
    async def reverse(self, receipt_no: str, amount_cents: int, currency: str) -> PaymentResult:
        """Give an approved payment back (product not taken): APPROVED when the money is back with the
        shopper, now or by an earlier attempt whose answer was lost; DECLINED when the device refuses
        for good; FAULT or TIMED_OUT when it could not say (try again later)."""

    async def mark(self) -> str | None:
        """Asked just before an authorization and recorded with the sale, so that ``query`` can tell
        after a restart whether the device did anything since. ZVT: the trace number of the terminal's
        last transaction. None when there is nothing to mark (no transaction yet, or a backend that
        finds a payment by its reference). Raises DeviceFault when the device cannot be asked."""
        return None

    @abc.abstractmethod
    async def query(self, reference: str, amount_cents: int, currency: str, mark: str | None) -> PaymentResult | None:
        """After a restart: how the authorization for ``reference`` (the sale id), started after
        ``mark``, ended. An APPROVED result carries the receipt and trace numbers to reverse it by;
        another outcome, or None (the device has no such transaction), means no money moved. A
        payment still waiting for the shopper is cancelled first. Raises DeviceFault when the
        device cannot be asked or cannot say yet: the caller asks again later, never assumes."""
