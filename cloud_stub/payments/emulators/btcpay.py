"""An emulator of BTCPay Server's Greenfield API (invoices, refunds, webhooks), written from its OpenAPI
documents and, where they are silent, from what its controllers do (GreenfieldInvoiceController, InvoiceEntity).

What it does as BTCPay Server does:
- ``Authorization: token <key>``: 401 ``unauthenticated`` without a known key, 403 ``missing-permission`` for a
  key of another store; errors are ``{"code", "message"}``, validation errors 422 ``[{"path", "message"}]``;
- ``POST /api/v1/stores/{storeId}/invoices`` (amount as a decimal string or number, currency, metadata,
  checkout.expirationMinutes, default 15), ``GET .../invoices?orderId=`` (newest first),
  ``GET .../invoices/{id}`` (404 ``invoice-not-found``), ``GET .../invoices/{id}/payment-methods`` (BTC-CHAIN
  with a BIP21 link, BTC-LN with a BOLT11 ``lightning:`` link, each with its payments), ``POST .../status``
  (Invalid or Settled within the documented conditions, else 422), ``POST .../refund`` (a pull payment; 400
  ``non-refundable`` unless Settled, Invalid, or Expired and paid late; 422 for a missing refundVariant or a bad
  custom amount), ``GET .../pull-payments``;
- the shopper pays (``pay``, or ``POST /emulator/pay`` with the scanned link): Lightning settles at once,
  on-chain is Processing until ``confirm``; a payment to an expired or invalid invoice marks it PaidLate;
  ``tick`` expires New invoices past their expiration time, as BTCPay's own watcher does;
- webhooks to the store's URL: InvoiceCreated, InvoiceReceivedPayment (with afterExpiration, paymentMethodId,
  payment), InvoiceProcessing, InvoiceSettled, InvoiceExpired, InvoiceInvalid (manuallyMarked), each with
  ``BTCPay-Sig: sha256=<HMAC>``; an answer other than 2xx is redelivered (10 s, 1 min, then every 10 min; the
  tests shorten it) with a new deliveryId and the first one's originalDeliveryId.

Not emulated: exchange rates (one fixed rate per emulator), top-up invoices, partial payments' PaidPartial,
overpayment, LNURL, payouts of the pull payments, invoice archiving and updates, store and user management.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from cloud_stub.payments.amounts import AmountError, from_decimal_text, to_decimal_text
from cloud_stub.payments.emulators.serving import ServedEmulator

DOCUMENTED_RETRIES_S = (10.0, 60.0, 600.0, 600.0, 600.0, 600.0, 600.0, 600.0)
DEFAULT_EXPIRATION_MIN = 15
MONITORING_MIN = 1440
SATS_PER_BTC = 100_000_000


class Refusal(Exception):
    def __init__(self, status: int, answer: Any) -> None:
        super().__init__(str(answer))
        self.status, self.answer = status, answer


def error(status: int, code: str, message: str) -> Refusal:
    return Refusal(status, {"code": code, "message": message})


def invalid(path: str, message: str) -> Refusal:
    return Refusal(422, [{"path": path, "message": message}])


@dataclass
class Store:
    store_id: str
    api_key: str
    webhook_url: str
    webhook_secret: str
    webhook_id: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    pull_payments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Payment:
    method: str  # BTC-LN or BTC-CHAIN
    sats: int
    received: float
    status: str  # Processing or Settled

    def answer(self, destination: str) -> dict[str, Any]:
        return {
            "id": secrets.token_hex(16),
            "receivedDate": int(self.received),
            "value": to_decimal_text(self.sats, "BTC"),
            "fee": "0.00000000",
            "status": self.status,
            "destination": destination,
        }


@dataclass
class Invoice:
    id: str
    store_id: str
    amount_minor: int
    currency: str
    metadata: dict[str, Any]
    created: float
    expires: float
    sats: int
    address: str
    bolt11: str
    status: str = "New"
    additional_status: str = "None"
    payments: list[Payment] = field(default_factory=list)


STORE = web.RequestKey("store", Store)


class BTCPayEmulator(ServedEmulator):
    def __init__(
        self,
        *,
        now: Callable[[], float] = time.time,
        retries_s: tuple[float, ...] = DOCUMENTED_RETRIES_S,
        rate_minor_per_btc: int = 5_000_000,  # 50,000.00 of the invoice's currency for one bitcoin
    ) -> None:
        super().__init__(retries_s)
        self.now = now
        self.rate_minor_per_btc = rate_minor_per_btc
        self.stores: dict[str, Store] = {}
        self.invoices: dict[str, Invoice] = {}
        self.refused: list[tuple[int, Any]] = []

    def add_store(self, store: Store) -> None:
        self.stores[store.store_id] = store

    # --- serving -----------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        base, w = "/api/v1/stores/{store_id}", self._answered
        app.add_routes(
            [
                web.post(f"{base}/invoices", w(self._create)),
                web.get(f"{base}/invoices", w(self._list)),
                web.get(f"{base}/invoices/{{invoice_id}}", w(self._get)),
                web.get(f"{base}/invoices/{{invoice_id}}/payment-methods", w(self._payment_methods)),
                web.post(f"{base}/invoices/{{invoice_id}}/status", w(self._mark)),
                web.post(f"{base}/invoices/{{invoice_id}}/refund", w(self._refund)),
                web.get(f"{base}/pull-payments", w(self._pull_payments)),
                web.post("/emulator/pay", self._phone_pays),
            ]
        )
        return app

    def _answered(self, handler: Callable[[web.Request], Awaitable[Any]]) -> Callable[..., Any]:
        async def route(request: web.Request) -> web.StreamResponse:
            self._drop_if_down(request)
            try:
                request[STORE] = self._authenticate(request)
                self.tick()
                status, answer = 200, await handler(request)
            except Refusal as refusal:
                self.refused.append((refusal.status, refusal.answer))
                status, answer = refusal.status, refusal.answer
            return web.json_response(answer, status=status)

        return route

    def _authenticate(self, request: web.Request) -> Store:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        keys = {s.api_key: s for s in self.stores.values()}
        if scheme != "token" or key not in keys:
            raise error(401, "unauthenticated", "Authentication is required for accessing this endpoint")
        store = keys[key]
        if request.match_info["store_id"] != store.store_id:
            raise error(403, "missing-permission", "Insufficient API Permissions. Please use an API key with "
                        "permission: btcpay.store.canmodifyinvoices")  # fmt: skip
        return store

    async def _body(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise invalid("", "Invalid JSON") from None
        if not isinstance(body, dict):
            raise invalid("", "Expected an object")
        return body

    def _invoice(self, request: web.Request) -> Invoice:
        invoice = self.invoices.get(request.match_info["invoice_id"])
        if invoice is None or invoice.store_id != request[STORE].store_id:
            raise error(404, "invoice-not-found", "The invoice was not found")
        return invoice

    # --- the API -----------------------------------------------------------------------------------------
    async def _create(self, request: web.Request) -> Any:
        store, body = request[STORE], await self._body(request)
        currency = body.get("currency") or "USD"
        amount = body.get("amount")
        try:
            text = amount if isinstance(amount, str) else json.dumps(amount)
            minor = from_decimal_text(text, str(currency))
        except AmountError as exc:
            raise invalid("amount" if "amount" in str(exc) else "currency", str(exc)) from None
        if minor <= 0:
            raise invalid("amount", "The amount should be more than 0.")
        metadata = body.get("metadata") or {}
        checkout = body.get("checkout") or {}
        minutes = checkout.get("expirationMinutes", DEFAULT_EXPIRATION_MIN) if isinstance(checkout, dict) else None
        if not isinstance(metadata, dict) or isinstance(minutes, bool) or not isinstance(minutes, int | float):
            raise invalid("checkout.expirationMinutes", "Expected metadata as an object and minutes as a number")
        if minutes <= 0:
            raise invalid("checkout.expirationMinutes", "Expiration time must be at least 1 minute")
        now = self.now()
        sats = -(-minor * SATS_PER_BTC // self.rate_minor_per_btc)  # rounded up, as a price is
        invoice = Invoice(
            id=secrets.token_urlsafe(16).replace("-", "a").replace("_", "b"),
            store_id=store.store_id,
            amount_minor=minor,
            currency=str(currency),
            metadata=metadata,
            created=now,
            expires=now + minutes * 60,
            sats=sats,
            address=f"bcrt1q{secrets.token_hex(19)}",
            bolt11=f"lnbcrt{sats * 10}n1p{secrets.token_hex(40)}",
        )
        self.invoices[invoice.id] = invoice
        self._webhook(invoice, "InvoiceCreated")
        return self.invoice_data(invoice)

    async def _list(self, request: web.Request) -> Any:
        order_ids = request.query.getall("orderId", [])
        mine = [i for i in self.invoices.values() if i.store_id == request[STORE].store_id]
        if order_ids:
            mine = [i for i in mine if i.metadata.get("orderId") in order_ids]
        return [self.invoice_data(i) for i in sorted(mine, key=lambda i: i.created, reverse=True)]

    async def _get(self, request: web.Request) -> Any:
        return self.invoice_data(self._invoice(request))

    async def _payment_methods(self, request: web.Request) -> Any:
        invoice = self._invoice(request)
        return [self._method(invoice, "BTC-CHAIN"), self._method(invoice, "BTC-LN")]

    async def _mark(self, request: web.Request) -> Any:
        invoice, body = self._invoice(request), await self._body(request)
        status = body.get("status")
        markable = {
            "Invalid": invoice.status in ("New", "Processing", "Expired"),
            "Settled": invoice.status in ("New", "Processing", "Expired", "Invalid"),
        }
        if not markable.get(str(status)):
            raise invalid("status", "Status can only be marked to invalid or settled within certain conditions.")
        invoice.status, invoice.additional_status = str(status), "Marked"
        self._webhook(invoice, f"Invoice{status}", manuallyMarked=True)
        return self.invoice_data(invoice)

    async def _refund(self, request: web.Request) -> Any:
        invoice, body = self._invoice(request), await self._body(request)
        refundable = invoice.status in ("Settled", "Invalid") or (
            invoice.status == "Expired" and invoice.additional_status == "PaidLate"
        )
        if not refundable:
            raise error(400, "non-refundable", "Cannot refund this invoice")
        variant = body.get("refundVariant")
        if variant not in ("RateThen", "CurrentRate", "OverpaidAmount", "Fiat", "Custom"):
            raise invalid("refundVariant", "`refundVariant` is mandatory")
        currency, amount = invoice.currency, to_decimal_text(invoice.amount_minor, invoice.currency)
        if variant == "Custom":
            currency = str(body.get("customCurrency") or "")
            try:
                minor = from_decimal_text(body.get("customAmount"), currency)
            except AmountError as exc:
                raise invalid("customAmount" if "amount" in str(exc) else "customCurrency", str(exc)) from None
            if minor <= 0:
                raise invalid("customAmount", "Amount must be greater than 0")
            amount = to_decimal_text(minor, currency)
        store = request[STORE]
        pull_payment = {
            "id": secrets.token_urlsafe(12),
            "name": body.get("name") or f"Refund {invoice.id}",
            "description": body.get("description", ""),
            "currency": currency,
            "amount": amount,
            "period": None,
            "autoApproveClaims": False,
            "archived": False,
            "viewLink": f"{self.url}/pull-payments/{secrets.token_urlsafe(12)}",
            "invoiceId": invoice.id,  # not in the answer's schema; kept so tests can find the refund's invoice
        }
        store.pull_payments.append(pull_payment)
        return {k: v for k, v in pull_payment.items() if k != "invoiceId"}

    async def _pull_payments(self, request: web.Request) -> Any:
        return [{k: v for k, v in p.items() if k != "invoiceId"} for p in request[STORE].pull_payments]

    def invoice_data(self, invoice: Invoice) -> dict[str, Any]:
        return {
            "id": invoice.id,
            "storeId": invoice.store_id,
            "amount": to_decimal_text(invoice.amount_minor, invoice.currency),
            "currency": invoice.currency,
            "type": "Standard",
            "checkoutLink": f"{self.url}/i/{invoice.id}",
            "createdTime": int(invoice.created),
            "expirationTime": int(invoice.expires),
            "monitoringExpiration": int(invoice.expires + MONITORING_MIN * 60),
            "status": invoice.status,
            "additionalStatus": invoice.additional_status,
            "metadata": invoice.metadata,
        }

    def _method(self, invoice: Invoice, method: str) -> dict[str, Any]:
        destination = invoice.bolt11 if method == "BTC-LN" else invoice.address
        btc = to_decimal_text(invoice.sats, "BTC")
        link = f"lightning:{invoice.bolt11}" if method == "BTC-LN" else f"bitcoin:{invoice.address}?amount={btc}"
        paid = sum(p.sats for p in invoice.payments if p.method == method)
        total = sum(p.sats for p in invoice.payments)
        return {
            "paymentMethodId": method,
            "currency": "BTC",
            "destination": destination,
            "paymentLink": link,
            "rate": to_decimal_text(self.rate_minor_per_btc, invoice.currency),
            "paymentMethodPaid": to_decimal_text(paid, "BTC"),
            "totalPaid": to_decimal_text(total, "BTC"),
            "due": to_decimal_text(max(0, invoice.sats - total), "BTC"),
            "amount": btc,
            "paymentMethodFee": "0.00000000",
            "payments": [p.answer(destination) for p in invoice.payments if p.method == method],
            "activated": True,
            "additionalData": {},
        }

    # --- the shopper and time ------------------------------------------------------------------------------
    def find(self, link: str) -> Invoice:
        for invoice in self.invoices.values():
            if link in (f"lightning:{invoice.bolt11}", f"{self.url}/i/{invoice.id}") or link.startswith(
                f"bitcoin:{invoice.address}?"
            ):
                return invoice
        raise KeyError(f"no invoice with the link {link[:64]!r}")

    def pay(self, invoice: Invoice, method: str = "BTC-LN") -> None:
        """The shopper's wallet pays the whole invoice with ``method`` (BTC-LN settles at once; BTC-CHAIN waits
        for ``confirm``). A payment to an expired or invalid invoice is received all the same (PaidLate)."""
        self.tick()
        late = invoice.status in ("Expired", "Invalid")
        settled = method == "BTC-LN"
        invoice.payments.append(Payment(method, invoice.sats, self.now(), "Settled" if settled else "Processing"))
        payment = invoice.payments[-1].answer(invoice.bolt11 if settled else invoice.address)
        self._webhook(invoice, "InvoiceReceivedPayment", afterExpiration=late, paymentMethodId=method, payment=payment)
        if late:
            invoice.additional_status = "PaidLate"
        elif settled:
            invoice.status = "Settled"
            self._webhook(invoice, "InvoiceSettled", manuallyMarked=False, overPaid=False)
        else:
            invoice.status = "Processing"
            self._webhook(invoice, "InvoiceProcessing", overPaid=False)

    def confirm(self, invoice: Invoice) -> None:
        """The on-chain payment got its confirmations."""
        for payment in invoice.payments:
            payment.status = "Settled"
        if invoice.status == "Processing":
            invoice.status = "Settled"
            self._webhook(invoice, "InvoiceSettled", manuallyMarked=False, overPaid=False)

    def tick(self) -> None:
        """Expire the New invoices past their expiration time."""
        for invoice in self.invoices.values():
            if invoice.status == "New" and self.now() >= invoice.expires:
                invoice.status = "Expired"
                self._webhook(invoice, "InvoiceExpired", partiallyPaid=False)

    async def _phone_pays(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            invoice = self.find(str(body.get("link", "")))
        except KeyError as exc:
            return web.json_response({"error": str(exc)}, status=404)
        link = str(body["link"])
        method = "BTC-LN" if link.startswith("lightning:") else str(body.get("method") or "BTC-CHAIN")
        self.pay(invoice, method)
        return web.json_response({"status": invoice.status, "additionalStatus": invoice.additional_status})

    # --- webhooks ------------------------------------------------------------------------------------------
    def _webhook(self, invoice: Invoice, kind: str, **extra: Any) -> None:
        store = self.stores[invoice.store_id]
        if not store.webhook_url:
            return
        first = secrets.token_urlsafe(16)
        event = {
            "webhookId": store.webhook_id,
            "type": kind,
            "timestamp": int(self.now()),
            "storeId": invoice.store_id,
            "invoiceId": invoice.id,
            "metadata": invoice.metadata,
            **extra,
        }

        def attempt_of(attempt: int) -> tuple[bytes, dict[str, str]]:
            delivery = first if attempt == 1 else secrets.token_urlsafe(16)
            redelivery = {"deliveryId": delivery, "originalDeliveryId": first, "isRedelivery": attempt > 1}
            return self.signed_webhook(store, {**redelivery, **event})

        self.notifier.send(store.webhook_url, invoice.id, first, attempt_of, lambda status, _: 200 <= status < 300)

    def signed_webhook(self, store: Store, event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(event).encode()
        signature = hmac.new(store.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        return body, {"Content-Type": "application/json", "BTCPay-Sig": f"sha256={signature}"}
