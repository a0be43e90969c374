"""The cabinet's side of scan-to-pay: ask the cloud for a payment QR, then follow its status.

The cloud (or the payment provider behind it) is the authority: the cabinet shows
``qr_text`` as a QR code, polls ``status`` until it is no longer ``pending``, and cancels
a payment the shopper walked away from. Creating is idempotent per ``sale_id``: asking
again for the same sale (e.g. after a lost answer) returns the same payment. A paid
payment whose product was not taken is refunded (idempotent too); after a restart the
cabinet finds the payment of an interrupted sale by its ``sale_id``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sync_client.cloud_client import CloudClient, CloudRefused, CloudUnavailable

PAYMENTS_PATH = "v1/payments"
PAYMENT_STATES = ("pending", "paid", "expired", "cancelled", "refunded")


@dataclass(frozen=True)
class RemotePayment:
    payment_id: str
    sale_id: str
    amount_cents: int
    currency: str
    status: str  # one of PAYMENT_STATES
    qr_text: str  # the URL the shopper's phone opens
    expires_at: str  # ISO 8601 UTC


def _payment(body: object) -> RemotePayment:
    if not isinstance(body, dict):
        raise CloudUnavailable("payment answer: expected an object")
    try:
        payment = RemotePayment(**{k: body[k] for k in RemotePayment.__dataclass_fields__})
    except KeyError as exc:
        raise CloudUnavailable(f"payment answer: {exc.args[0]} missing") from None
    if payment.status not in PAYMENT_STATES:
        raise CloudUnavailable(f"payment answer: unknown status {payment.status!r}")
    return payment


class ScanToPayClient:
    def __init__(self, client: CloudClient) -> None:
        self.client = client

    async def create(self, sale_id: str, amount_cents: int, currency: str) -> RemotePayment:
        reply = await self.client.request(
            "POST",
            PAYMENTS_PATH,
            {"sale_id": sale_id, "amount_cents": amount_cents, "currency": currency},
            ok=(200, 201),
        )
        return _payment(reply.body)

    async def status(self, payment_id: str) -> RemotePayment:
        return _payment((await self.client.request("GET", f"{PAYMENTS_PATH}/{payment_id}")).body)

    async def cancel(self, payment_id: str) -> RemotePayment:
        """Cancel a pending payment; a payment already paid stays paid (check the returned status)."""
        return _payment((await self.client.request("POST", f"{PAYMENTS_PATH}/{payment_id}/cancel")).body)

    async def refund(self, payment_id: str) -> RemotePayment:
        """Refund a paid payment (status ``refunded``, also when asked again); CloudRefused (409) if it
        was never paid."""
        return _payment((await self.client.request("POST", f"{PAYMENTS_PATH}/{payment_id}/refund")).body)

    async def find(self, sale_id: str) -> RemotePayment | None:
        """The payment created for ``sale_id``, or None if the cloud has none."""
        try:
            reply = await self.client.request("GET", f"{PAYMENTS_PATH}/by-sale/{sale_id}")
        except CloudRefused as exc:
            if exc.status == 404:
                return None
            raise
        return _payment(reply.body)
