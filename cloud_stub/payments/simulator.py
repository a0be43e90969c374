"""The payment simulator as a provider: the cloud's own pay page stands for the shopper's phone.

Its QR code opens ``/pay/<id>`` on the cloud; with ``simulate_payments`` the page has a pay button (the
``/sim/payments/<id>/pay`` route) that moves the payment as a provider's notification would. Nothing leaves the
cloud, so there is nothing to query, close or refund elsewhere: the store's status is the simulator's own.
"""

from __future__ import annotations

from cloud_stub.payments.provider import (
    CreatedPayment,
    Notification,
    NotificationAnswer,
    PaymentRequest,
    PaymentState,
    PaymentStatus,
    ProviderError,
)

NAME = "simulator"


class Simulator:
    name = NAME

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    async def create(self, request: PaymentRequest) -> CreatedPayment:
        return CreatedPayment(qr_text=self.pay_page(request.order_id), provider_ref=None)

    def pay_page(self, order_id: str) -> str:
        return f"{self.base_url}/pay/{order_id}"

    async def query(self, order_id: str) -> PaymentState:
        """Nothing happens outside the store: the payment is as the store has it (the caller's record)."""
        return PaymentState(order_id, PaymentStatus.PENDING)

    async def close(self, order_id: str) -> None:
        """The pay page refuses a payment that is no longer pending: nothing to close elsewhere."""

    async def refund(self, order_id: str, refund_id: str, amount_minor: int, total_minor: int) -> None:
        """No money moved anywhere: the store's status is the whole refund."""

    def verify_notification(self, headers: dict[str, str], body: bytes) -> Notification:
        raise ProviderError("the simulator sends no notifications: its pay button moves the payment")

    def answer(self, accepted: bool) -> NotificationAnswer:
        return NotificationAnswer(200 if accepted else 400, b"", "text/plain")
