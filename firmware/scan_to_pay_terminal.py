"""Scan-to-pay as a payment terminal: the cloud issues a payment QR, the shopper
pays on the phone, the cabinet follows the payment's status until it is final.

It lives in firmware because it joins a device interface (hal.payment) to the
cloud client (sync_client); neither of those knows the other.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from hal.errors import DeviceFault
from hal.payment import PaymentOutcome, PaymentResult, PaymentTerminal, StatusCallback
from sync_client.cloud_client import CloudRefused, CloudUnavailable
from sync_client.scan_to_pay import RemotePayment, ScanToPayClient

log = logging.getLogger(__name__)
STATUS_SCAN_TO_PAY = "scan_to_pay"
# The cloud's 503 when the retailer's payment provider does not answer (cloud_stub.device_api.PROVIDER_UNREACHABLE):
# scan-to-pay is withdrawn for its Retry-After, or this long without one.
PROVIDER_UNREACHABLE = "payment provider unreachable"
PROVIDER_RETRY_S = 60.0


class ScanToPayTerminal(PaymentTerminal):
    method = "qr"
    name = "scan_to_pay"

    def __init__(
        self,
        client: ScanToPayClient,
        *,
        poll_s: float = 1.0,
        timeout_s: float = 180.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self.monotonic = monotonic
        self._payment: RemotePayment | None = None
        self._cancel = asyncio.Event()
        # The cloud said its payment provider cannot be reached: withdrawn until then (monotonic), and why.
        self._withdrawn: tuple[float, str] | None = None

    @property
    def where(self) -> str:
        return "cloud"

    @property
    def state(self) -> str:
        return f"waiting for payment {self._payment.payment_id}" if self._payment else "idle"

    @property
    def qr_text(self) -> str | None:
        """What the checkout screen shows while a payment waits."""
        return self._payment.qr_text if self._payment else None

    @property
    def pending_payment_id(self) -> str | None:
        """The payment the shopper is being asked to pay now, if any."""
        return self._payment.payment_id if self._payment else None

    async def check(self) -> None:
        """Between sales: a fault while the cloud's payment provider is known to be unreachable (until the
        cloud's Retry-After has passed), so scan-to-pay stays off the screen that long; otherwise nothing to
        ask (the cabinet offers scan-to-pay only while it is online)."""
        if self._withdrawn is not None:
            until, why = self._withdrawn
            if self.monotonic() < until:
                raise DeviceFault(self.name, why)
            self._withdrawn = None

    async def authorize(
        self, amount_cents: int, currency: str, on_status: StatusCallback | None = None, reference: str | None = None
    ) -> PaymentResult:
        def result(outcome: PaymentOutcome, message: str = "") -> PaymentResult:
            self._payment = None
            return PaymentResult(outcome, amount_cents, currency, self.method, receipt_no=payment_id, message=message)

        payment_id = None
        self._cancel.clear()
        try:
            payment = await self.client.create(reference or f"qr-{time.time_ns()}", amount_cents, currency)
        except (CloudUnavailable, CloudRefused) as exc:
            if isinstance(exc, CloudUnavailable) and exc.status == 503 and PROVIDER_UNREACHABLE in str(exc):
                wait_s = exc.retry_after if exc.retry_after is not None else PROVIDER_RETRY_S
                why = f"payment provider unreachable (cloud: {exc})"  # the same detail: one fault, one alarm
                self._withdrawn = (self.monotonic() + wait_s, why)
                raise DeviceFault(self.name, why) from exc
            raise DeviceFault(self.name, f"cannot create the payment: {exc}") from exc
        payment_id, self._payment = payment.payment_id, payment
        if on_status:
            on_status(STATUS_SCAN_TO_PAY)
        deadline = time.monotonic() + self.timeout_s
        while payment.status == "pending":
            if self._cancel.is_set() or time.monotonic() > deadline:
                try:
                    payment = await self.client.cancel(payment.payment_id)
                except (CloudUnavailable, CloudRefused) as exc:
                    log.warning("scan-to-pay cancel not confirmed", extra={"payment_id": payment_id, "error": str(exc)})
                if payment.status == "pending":  # not confirmed: the cloud expires it on its own
                    return result(
                        PaymentOutcome.CANCELLED if self._cancel.is_set() else PaymentOutcome.TIMED_OUT,
                        "cancel not confirmed by the cloud",
                    )
                break
            try:
                await asyncio.wait_for(self._cancel.wait(), self.poll_s)
            except TimeoutError:
                pass
            if self._cancel.is_set():
                continue
            try:
                payment = await self.client.status(payment.payment_id)
            except CloudUnavailable as exc:
                log.info("scan-to-pay status unavailable, retrying", extra={"error": str(exc)})
        # A payment the shopper completed stays paid even if we asked to cancel: money wins.
        outcome = {
            "paid": PaymentOutcome.APPROVED,
            "expired": PaymentOutcome.TIMED_OUT,
            "cancelled": PaymentOutcome.CANCELLED,
        }.get(payment.status, PaymentOutcome.FAULT)
        return result(outcome, payment.status)

    async def cancel(self) -> None:
        self._cancel.set()

    async def reverse(self, receipt_no: str, amount_cents: int, currency: str) -> PaymentResult:
        """Refund through the cloud; ``receipt_no`` is the payment id. A refusal (the payment was never
        paid) is definite; a cloud that cannot be reached is asked again later."""

        def result(outcome: PaymentOutcome, message: str) -> PaymentResult:
            return PaymentResult(outcome, amount_cents, currency, self.method, receipt_no=receipt_no, message=message)

        try:
            payment = await self.client.refund(receipt_no)
        except CloudRefused as exc:
            return result(PaymentOutcome.DECLINED, f"refund refused by the cloud: {exc}")
        except CloudUnavailable as exc:
            return result(PaymentOutcome.FAULT, f"refund not confirmed: {exc}")
        if payment.status != "refunded":
            return result(PaymentOutcome.DECLINED, f"refund answered with status {payment.status}")
        return result(PaymentOutcome.APPROVED, "refunded")

    async def query(self, reference: str, amount_cents: int, currency: str, mark: str | None) -> PaymentResult | None:
        """The payment created for the sale ``reference``: still pending, it is cancelled first (a
        payment the shopper completes meanwhile stays paid). Paid or already refunded is APPROVED, with
        the payment id as the receipt number to refund by."""
        try:
            payment = await self.client.find(reference)
            if payment is not None and payment.status == "pending":
                payment = await self.client.cancel(payment.payment_id)
        except (CloudUnavailable, CloudRefused) as exc:
            raise DeviceFault(self.name, f"cannot ask the cloud about sale {reference}: {exc}") from exc
        if payment is None:
            return None
        if payment.status == "pending":
            raise DeviceFault(self.name, f"payment {payment.payment_id} still pending: cancel not confirmed")
        outcome = {
            "paid": PaymentOutcome.APPROVED,
            "refunded": PaymentOutcome.APPROVED,
            "expired": PaymentOutcome.TIMED_OUT,
        }.get(payment.status, PaymentOutcome.CANCELLED)
        return PaymentResult(
            outcome,
            payment.amount_cents,
            payment.currency,
            self.method,
            receipt_no=payment.payment_id,
            message=payment.status,
        )
