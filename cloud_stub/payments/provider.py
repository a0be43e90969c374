"""The one interface every scan-to-pay provider implements.

The cloud creates a payment in its store first (its id is the merchant's order number at the provider), then asks
the retailer's provider for a QR code. The shopper pays on the phone; the provider tells the cloud by an
asynchronous notification (verified here, never trusted as sent) and answers queries when a notification is late.
The cabinet never talks to a provider: it polls its payment in the cloud as before.

Amounts cross this interface in integer minor units of ``currency`` (cents, fen); each provider converts to its own
format at its boundary (yuan with two decimals for Alipay, fen for WeChat Pay) and back, exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol


class ProviderError(Exception):
    """The provider refused the request (its error code and message are in the text)."""


class ProviderUnreachable(ProviderError):
    """No answer from the provider (connection refused, timeout, 5xx): the method is withdrawn, not the sale."""


class ForgedNotification(ProviderError):
    """A notification whose signature, certificate, timestamp or body does not verify; it changes nothing."""


class PaymentStatus(Enum):
    PENDING = "pending"  # created, not paid yet
    PAID = "paid"
    CLOSED = "closed"  # cancelled or expired at the provider: can no longer be paid
    REFUNDED = "refunded"  # paid, then given back in full


@dataclass(frozen=True)
class PaymentRequest:
    order_id: str  # the cloud's payment id: the merchant order number at the provider (idempotent)
    amount_minor: int
    currency: str  # ISO 4217
    description: str  # what the shopper sees on the phone (product and cabinet)
    expires_at: float  # epoch seconds; the provider closes the order by then


@dataclass(frozen=True)
class CreatedPayment:
    qr_text: str  # what the cabinet draws as the QR code (WeChat code_url, Alipay qr_code, BTCPay checkout link)
    provider_ref: str | None  # the provider's own id, when it gives one at creation


@dataclass(frozen=True)
class PaymentState:
    order_id: str
    status: PaymentStatus
    provider_ref: str | None = None  # the provider's transaction id once paid
    amount_minor: int | None = None  # what the provider says was paid, in minor units
    method_detail: str | None = None  # e.g. "wechat:balance", "alipay:huabei", "btc:lightning"


@dataclass(frozen=True)
class Notification:
    """A verified notification: what it says happened, and the provider's id for it (duplicates share it)."""

    notification_id: str
    state: PaymentState


@dataclass(frozen=True)
class NotificationAnswer:
    """What the notification endpoint must answer so the provider stops retrying."""

    status: int
    body: bytes
    content_type: str


class PaymentProvider(Protocol):
    name: str  # "simulator", "wechatpay", "alipay", "btcpay"

    async def create(self, request: PaymentRequest) -> CreatedPayment: ...

    async def query(self, order_id: str) -> PaymentState: ...

    async def close(self, order_id: str) -> None:
        """Cancel an unpaid order so it can no longer be paid (idempotent)."""
        ...

    async def refund(self, order_id: str, refund_id: str, amount_minor: int, total_minor: int) -> None:
        """Give back ``amount_minor`` of a paid order; ``refund_id`` makes a retry idempotent."""
        ...

    def verify_notification(self, headers: dict[str, str], body: bytes) -> Notification:
        """The notification's meaning, or ForgedNotification. Pure: no I/O, so it is fuzzed directly."""
        ...

    def answer(self, accepted: bool) -> NotificationAnswer:
        """The provider's documented acknowledgement (or refusal) of a notification."""
        ...
