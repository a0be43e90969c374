"""BTCPay Server's Greenfield API for the cryptocurrency POS: the merchant's side, written by hand on aiohttp.

Why no SDK: ``btcpay-python`` (1.3, 2020) speaks the legacy BitPay-compatible API with key pairing, not
Greenfield; ``btcpay-python-sdk`` (0.1.0, 2022) and ``btcpay-rest-client`` (0.0.10, 2023) are one-release
wrappers without maintenance; none is asynchronous. The calls we need are plain JSON over HTTP, written from the
Greenfield OpenAPI documents (``swagger.template.invoices.json``, ``swagger.template.webhooks.json``):

- ``Authorization: token <API key>`` on every call (a key with the store's invoice permissions).
- ``POST /api/v1/stores/{storeId}/invoices`` with ``amount`` (a decimal string in the invoice's currency),
  ``currency``, ``metadata.orderId`` (the cloud's payment id) and ``checkout.expirationMinutes``; BTCPay has no
  idempotent create, so the order's invoice (``GET ...invoices?orderId=``) is reused unless expired or invalid.
- The QR code is the invoice's Lightning payment link (BOLT11, ``lightning:...``) when it has one, else its
  on-chain BIP21 link (``bitcoin:...?amount=``), else its checkout page (``GET .../payment-methods``).
- Status New/Processing -> pending, Settled -> paid, Expired/Invalid -> closed; an expired or invalid invoice
  that received a payment (additionalStatus PaidLate) counts as paid, so the cloud refunds it.
- Cancel: ``POST .../status`` ``{"status": "Invalid"}`` (a settled invoice cannot be marked: the payment wins).
- Refund: ``POST .../refund`` creates a pull payment the shopper claims at its link (BTCPay cannot push coins
  back by itself); its ``name`` is the refund id, so a retry finds it (``GET .../pull-payments``) instead of
  refunding twice.
- Webhooks: ``BTCPay-Sig: sha256=<hex HMAC-SHA256 of the raw body with the webhook's secret>``; events
  InvoiceSettled, InvoiceExpired, InvoiceInvalid, InvoiceProcessing, InvoiceReceivedPayment (and the others
  of an invoice); a redelivery keeps ``originalDeliveryId``, the notification's id here.
- Amounts: the invoice currency's decimal string, exact from minor units by the currency's exponent
  (``amounts.py``: JPY 0, most 2, KWD 3).

Credentials (``FIELDS``; ``Merchant.parse(settings, secrets)`` raises CredentialsError naming the field):
settings ``server_url`` (the retailer's BTCPay Server, https) and ``store_id``; secrets ``api_key`` and
``webhook_secret``. ``BTCPay(merchant, notify_url, now=, timeout_s=)`` is the provider.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from cloud_stub.payments.amounts import AmountError, from_decimal_text, to_decimal_text
from cloud_stub.payments.credentials import CredentialsError, Field
from cloud_stub.payments.http import HttpProvider
from cloud_stub.payments.provider import (
    CreatedPayment,
    ForgedNotification,
    Notification,
    NotificationAnswer,
    PaymentRequest,
    PaymentState,
    PaymentStatus,
    ProviderError,
    ProviderUnreachable,
)

NAME = "btcpay"
# What the retailer enters: the public settings and the secrets (sealed at rest, never answered in clear).
FIELDS = (
    Field("server_url", secret=False),
    Field("store_id", secret=False),
    Field("api_key", secret=True),
    Field("webhook_secret", secret=True),
)
SIGNATURE_HEADER = "btcpay-sig"
STATUSES = {
    "New": PaymentStatus.PENDING,
    "Processing": PaymentStatus.PENDING,  # paid, waiting for confirmations
    "Settled": PaymentStatus.PAID,
    "Expired": PaymentStatus.CLOSED,
    "Invalid": PaymentStatus.CLOSED,
}
EVENTS = {
    "InvoiceCreated": PaymentStatus.PENDING,
    "InvoiceProcessing": PaymentStatus.PENDING,
    "InvoicePaymentSettled": PaymentStatus.PENDING,  # one payment confirmed; the invoice settles on its own
    "InvoiceSettled": PaymentStatus.PAID,
    "InvoiceExpired": PaymentStatus.CLOSED,
    "InvoiceInvalid": PaymentStatus.CLOSED,
}
# Payment method ids (Greenfield 2.x, and the 1.x names) -> the method detail.
METHODS = {
    "BTC-LN": "btc:lightning",
    "BTC-LightningNetwork": "btc:lightning",
    "BTC-LNURL": "btc:lnurl",
    "BTC-LNURLPAY": "btc:lnurl",
    "BTC-CHAIN": "btc:onchain",
    "BTC": "btc:onchain",
}
QR_PREFERENCE = ("BTC-LN", "BTC-LightningNetwork", "BTC-CHAIN", "BTC")


class BTCPayError(ProviderError):
    """BTCPay answered an error: its HTTP status and ``code`` (invoice-not-found, non-refundable, ...) or, for a
    422, the first validation error's path."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"BTCPay {status} {code}: {message}")
        self.status, self.code = status, code


def method_detail(payment_method_id: object) -> str:
    if not isinstance(payment_method_id, str) or not payment_method_id:
        return "btc"
    return METHODS.get(payment_method_id, payment_method_id.lower()[:24])


@dataclass(frozen=True)
class Merchant:
    """A retailer's BTCPay store, parsed (check it with ``Merchant.parse`` before storing)."""

    server_url: str
    store_id: str
    api_key: str
    webhook_secret: bytes

    @classmethod
    def parse(cls, settings: Mapping[str, str], secrets_: Mapping[str, str]) -> Merchant:
        for f in FIELDS:
            if f.required and not (secrets_ if f.secret else settings).get(f.name):
                raise CredentialsError(f"{f.name}: required")
        server_url = settings["server_url"].rstrip("/")
        if not server_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise CredentialsError("server_url: expected an https:// URL")
        store_id = settings["store_id"]
        if not store_id.isalnum() or len(store_id) > 64:
            raise CredentialsError(f"store_id: expected the store's id (letters and digits), got {store_id[:40]!r}")
        return cls(server_url, store_id, secrets_["api_key"], secrets_["webhook_secret"].encode())


class BTCPay(HttpProvider[Merchant]):
    """The PaymentProvider for one BTCPay store. Webhooks are configured in the store (its URL and secret), so
    ``notify_url`` is only what the retailer is told to enter there."""

    name = NAME

    @property
    def _store(self) -> str:
        return f"/api/v1/stores/{quote(self.merchant.store_id, safe='')}"

    # --- the calls --------------------------------------------------------------------------------
    async def create(self, request: PaymentRequest) -> CreatedPayment:
        try:
            amount = to_decimal_text(request.amount_minor, request.currency)
        except AmountError as exc:
            raise ProviderError(str(exc)) from None
        invoice = await self._invoice(request.order_id)
        if invoice is None or invoice.get("status") in ("Expired", "Invalid"):  # else it may be paid: never twice
            body = {
                "amount": amount,
                "currency": request.currency,
                "metadata": {"orderId": request.order_id, "itemDesc": request.description[:200]},
                "checkout": {"expirationMinutes": max(1, int(request.expires_at - self.now()) // 60)},
            }
            invoice = _object(await self._call("POST", f"{self._store}/invoices", body), "invoice")
        invoice_id = _text(invoice.get("id"), "invoice id")
        methods = await self._call("GET", f"{self._store}/invoices/{quote(invoice_id, safe='')}/payment-methods")
        links = {m.get("paymentMethodId"): m.get("paymentLink") for m in _list(methods) if isinstance(m, dict)}
        qr = next((links[m] for m in QR_PREFERENCE if isinstance(links.get(m), str) and links[m]), None)
        qr = qr or invoice.get("checkoutLink")
        if not isinstance(qr, str) or not qr:
            raise ProviderError(f"BTCPay invoice {invoice_id[:40]}: no payment link and no checkoutLink")
        return CreatedPayment(qr_text=qr, provider_ref=invoice_id)

    async def query(self, order_id: str) -> PaymentState:
        invoice = await self._invoice(order_id)
        if invoice is None:
            raise BTCPayError(404, "invoice-not-found", f"no invoice with orderId {order_id[:64]!r}")
        status = STATUSES.get(str(invoice.get("status")))
        if status is None:
            raise ProviderError(f"BTCPay invoice status {str(invoice.get('status'))[:32]!r}: unknown")
        if status is PaymentStatus.CLOSED and invoice.get("additionalStatus") == "PaidLate":
            status = PaymentStatus.PAID  # paid after it expired or was cancelled: the cloud refunds it
        invoice_id = _text(invoice.get("id"), "invoice id")
        detail = "btc"
        if status is PaymentStatus.PAID:
            path = f"{self._store}/invoices/{quote(invoice_id, safe='')}/payment-methods"
            paid_by = [m for m in _list(await self._call("GET", path)) if isinstance(m, dict) and m.get("payments")]
            detail = method_detail(paid_by[0].get("paymentMethodId")) if paid_by else detail
        try:
            amount = from_decimal_text(invoice.get("amount"), str(invoice.get("currency")))
        except AmountError as exc:
            raise ProviderError(f"BTCPay invoice {invoice_id[:40]}: {exc}") from None
        return PaymentState(order_id, status, invoice_id, amount, detail)

    async def close(self, order_id: str) -> None:
        invoice = await self._invoice(order_id)
        if invoice is None or invoice.get("status") == "Invalid":
            return  # never created there, or cancelled already
        path = f"{self._store}/invoices/{quote(_text(invoice.get('id'), 'invoice id'), safe='')}/status"
        try:
            await self._call("POST", path, {"status": "Invalid"})
        except BTCPayError as exc:
            if exc.status != 422 or (await self.query(order_id)).status is not PaymentStatus.CLOSED:
                raise  # settled meanwhile: the caller asks what happened (the payment wins)

    async def refund(self, order_id: str, refund_id: str, amount_minor: int, total_minor: int) -> None:
        if amount_minor > total_minor:
            raise ProviderError(f"refund: {amount_minor} is more than the payment's {total_minor}")
        pull_payments = await self._call("GET", f"{self._store}/pull-payments?includeArchived=true")
        if any(isinstance(p, dict) and p.get("name") == refund_id for p in _list(pull_payments)):
            return  # refunded by an earlier try
        invoice = await self._invoice(order_id)
        if invoice is None:
            raise BTCPayError(404, "invoice-not-found", f"no invoice with orderId {order_id[:64]!r}")
        currency = _text(invoice.get("currency"), "invoice currency")
        try:
            amount = to_decimal_text(amount_minor, currency)
        except AmountError as exc:
            raise ProviderError(str(exc)) from None
        body = {
            "name": refund_id,
            "description": "not collected" if amount_minor == total_minor else "partial",
            "refundVariant": "Custom",
            "customAmount": amount,
            "customCurrency": currency,
        }
        invoice_id = quote(_text(invoice.get("id"), "invoice id"), safe="")
        _object(await self._call("POST", f"{self._store}/invoices/{invoice_id}/refund", body), "pull payment")

    # --- notifications -----------------------------------------------------------------------------
    def verify_notification(self, headers: dict[str, str], body: bytes) -> Notification:
        given = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), "")
        expected = "sha256=" + hmac.new(self.merchant.webhook_secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(given.strip().lower().encode(errors="replace"), expected.encode()):
            raise ForgedNotification("BTCPay-Sig does not match the body's HMAC with the webhook secret")
        try:
            event = json.loads(body)
        except ValueError:
            raise ForgedNotification("body: not JSON") from None
        if not isinstance(event, dict):
            raise ForgedNotification("body: expected an object")
        if event.get("storeId") != self.merchant.store_id:
            raise ForgedNotification(f"storeId {str(event.get('storeId'))[:40]!r} is not this store")
        delivery = event.get("originalDeliveryId") or event.get("deliveryId")
        kind, invoice_id, metadata = event.get("type"), event.get("invoiceId"), event.get("metadata")
        order_id = metadata.get("orderId") if isinstance(metadata, dict) else None
        if not all(isinstance(v, str) and v for v in (delivery, kind, invoice_id, order_id)):
            raise ForgedNotification("deliveryId, type, invoiceId and metadata.orderId are required")
        if kind == "InvoiceReceivedPayment":
            # A payment to an invoice that expired or was cancelled is money to give back: paid (late).
            late = event.get("afterExpiration") is True
            status = PaymentStatus.PAID if late else PaymentStatus.PENDING
            detail = method_detail(event.get("paymentMethodId"))
        elif kind in EVENTS:
            status, detail = EVENTS[str(kind)], "btc"
        else:
            raise ForgedNotification(f"type {str(kind)[:40]!r}: not an invoice event")
        return Notification(str(delivery), PaymentState(str(order_id), status, str(invoice_id), None, detail))

    def answer(self, accepted: bool) -> NotificationAnswer:
        """BTCPay takes any 2xx as delivered and redelivers otherwise (10 s, 1 min, then every 10 min)."""
        if accepted:
            return NotificationAnswer(200, b"{}", "application/json")
        return NotificationAnswer(400, b'{"code":"refused","message":"not verified"}', "application/json")

    # --- inside ----------------------------------------------------------------------------------------
    async def _invoice(self, order_id: str) -> dict[str, Any] | None:
        """The newest invoice whose metadata.orderId is ``order_id`` (Greenfield lists newest first)."""
        found = await self._call("GET", f"{self._store}/invoices?orderId={quote(order_id, safe='')}")
        mine = [i for i in _list(found) if isinstance(i, dict) and _order_id(i) == order_id]
        return mine[0] if mine else None

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"token {self.merchant.api_key}", "Accept": "application/json"}
        what = f"BTCPay {method} {path.split('?')[0]}"
        reply = await self._send(what, method, self.merchant.server_url + path, json=body, headers=headers)
        status = reply.status
        try:
            data = json.loads(reply.body) if reply.body else None
        except ValueError:
            raise ProviderUnreachable(f"{what}: HTTP {status} without JSON") from None
        if status >= 400:
            if isinstance(data, list) and data and isinstance(data[0], dict):  # 422: [{"path", "message"}]
                raise BTCPayError(status, str(data[0].get("path", "")), str(data[0].get("message", "")))
            error = data if isinstance(data, dict) else {}
            raise BTCPayError(status, str(error.get("code", "")), str(error.get("message", "")))
        return data


def _object(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ProviderError(f"BTCPay answered no {what}")
    return data


def _list(data: Any) -> list[Any]:
    return data if isinstance(data, list) else []


def _order_id(invoice: dict[str, Any]) -> object:
    metadata = invoice.get("metadata")
    return metadata.get("orderId") if isinstance(metadata, dict) else None


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ProviderError(f"BTCPay answered no {what}")
    return value
