"""Scan-to-pay in the cloud: each payment at its retailer's provider, moved by what the provider says.

The store keeps the payment (its id is the merchant order number at the provider); the provider is asked for
the QR code, told to close an order the cabinet cancelled, asked to refund, and queried when its notification
is late. A payment moves once: a duplicate notification changes nothing, a forged one is refused and logged, and
a payment paid after it was cancelled or expired here is refunded through the provider automatically (retried by
the catch-up loop until the provider takes it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from aiohttp import web

from cloud_stub.core import Core
from cloud_stub.payments import alipay, btcpay, simulator, wechatpay
from cloud_stub.payments.credentials import CredentialsError, Field, Sealer, masked, split_fields
from cloud_stub.payments.provider import (
    ForgedNotification,
    NotificationAnswer,
    PaymentProvider,
    PaymentRequest,
    PaymentState,
    PaymentStatus,
    ProviderError,
    ProviderUnreachable,
)
from cloud_stub.store import NotFound
from sync_client.schema import utc_iso

QUERY_EVERY_S = 5.0  # a pending payment is asked about at most this often (the cabinet polls every second)
CATCH_UP_EVERY_S = 30.0  # the loop that asks about payments nobody polls and retries refunds owed


@dataclass(frozen=True)
class Registered:
    """A provider a retailer may configure: what it asks for, how its credentials parse (CredentialsError naming
    the field), and its class, built as ``make(merchant, notify_url, now=, timeout_s=)``."""

    fields: tuple[Field, ...]
    parse: Callable[[Mapping[str, str], Mapping[str, str]], Any]
    make: Callable[..., PaymentProvider]


# The providers a retailer may configure (the simulator needs nothing, and is the default).
PROVIDERS: dict[str, Registered] = {
    wechatpay.NAME: Registered(wechatpay.FIELDS, wechatpay.Merchant.parse, wechatpay.WeChatPay),
    alipay.NAME: Registered(alipay.FIELDS, alipay.Merchant.parse, alipay.Alipay),
    btcpay.NAME: Registered(btcpay.FIELDS, btcpay.Merchant.parse, btcpay.BTCPay),
}
PROVIDER_FIELDS: dict[str, tuple[Field, ...]] = {name: kind.fields for name, kind in PROVIDERS.items()}

log = logging.getLogger("cloud_stub.payments")


def payment_summary(payment: dict[str, Any]) -> dict[str, Any]:
    """What a retailer sees of a payment (API and console)."""
    keys = ("id", "cabinet_id", "sale_id", "amount_cents", "currency", "status", "provider", "provider_ref")
    more = ("method_detail", "created_at", "paid_late_at", "refunded_at", "refunded_by")
    return {k: payment[k] for k in (*keys, *more)}


async def own_payment(core: Core, retailer: str, payment_id: str) -> dict[str, Any]:
    """The retailer's payment; another retailer's answers NotFound like one that does not exist."""
    payment = await core.db(core.store.payment, payment_id, now=core.now())
    cabinet = await core.db(core.store.cabinet, payment["cabinet_id"]) if payment else None
    if payment is None or cabinet is None or cabinet["retailer"] != retailer:
        raise NotFound(f"no payment {payment_id[:64]!r}")
    return payment


class NotConfigured(Exception):
    """A notification for a retailer that has not configured that provider."""


@dataclass(frozen=True)
class ProviderView:
    """What the console and the API show of a retailer's provider: settings, and each secret masked."""

    provider: str
    settings: dict[str, str]
    secrets: dict[str, str]  # name -> masked
    updated_at: str | None
    updated_by: str | None


class Payments:
    def __init__(
        self,
        core: Core,
        sealer: Sealer | None,
        public_url: str | None = None,
        *,
        provider_timeout_s: float = 10.0,
    ) -> None:
        self.core = core
        self.store = core.store
        self.sealer = sealer
        self.public_url = public_url.rstrip("/") if public_url else None
        self.provider_timeout_s = provider_timeout_s
        # The retailers' providers as built from their stored configuration, by retailer: (version, provider).
        self._built: dict[str, tuple[tuple[bytes, str, str], PaymentProvider]] = {}

    # --- the retailer's provider ----------------------------------------------------------------
    async def configure(self, retailer: str, provider: str, given: dict[str, Any], by: str) -> ProviderView:
        """Check and store a retailer's credentials (the secrets sealed). CredentialsError names what is wrong.
        A secret left empty keeps the stored one, so a form never needs it typed again."""
        if provider not in PROVIDER_FIELDS:
            raise CredentialsError(f"provider: expected one of {', '.join(sorted(PROVIDER_FIELDS))}, got {provider!r}")
        if self.sealer is None:
            raise CredentialsError(
                "this server has no secret key (KIOSK_CLOUD_SECRET_KEY or --secret-key-file): credentials cannot "
                "be stored encrypted, so they are not stored"
            )
        kind = PROVIDERS[provider]
        kept = await self._stored_secrets(retailer, provider)
        given = {**{k: v for k, v in kept.items() if not given.get(k)}, **{k: v for k, v in given.items() if v}}
        public, hidden = split_fields(kind.fields, given)
        kind.parse(public, hidden)  # every key parses before anything is stored
        sealed = self.sealer.seal(retailer, provider, hidden)
        await self.core.db(self.store.set_payment_provider, retailer, provider, public, sealed, by, now=self.core.now())
        log.info("payment provider configured", extra={"retailer": retailer, "provider": provider, "by": by})
        view = await self.view(retailer)
        assert view is not None  # just stored
        return view

    async def view(self, retailer: str) -> ProviderView | None:
        record = await self.core.db(self.store.payment_provider, retailer)
        if record is None:
            return None
        shown: dict[str, str] = {}
        if self.sealer is not None:
            try:
                opened = self.sealer.open(retailer, record["provider"], record["sealed_secrets"])
                shown = {k: masked(v) for k, v in opened.items()}
            except CredentialsError as exc:
                shown = {"error": str(exc)}
        return ProviderView(record["provider"], record["settings"], shown, record["updated_at"], record["updated_by"])

    async def _stored_secrets(self, retailer: str, provider: str) -> dict[str, str]:
        record = await self.core.db(self.store.payment_provider, retailer)
        if record is None or record["provider"] != provider or self.sealer is None:
            return {}
        return self.sealer.open(retailer, provider, record["sealed_secrets"])

    async def provider(self, retailer: str | None, name: str | None, origin: str) -> PaymentProvider:
        """The retailer's provider (``name``: the one a payment was made with; None: the configured one)."""
        record = await self.core.db(self.store.payment_provider, retailer) if retailer else None
        if name == simulator.NAME or (name is None and (record is None or self.sealer is None)):
            return simulator.Simulator(origin)
        if record is None or self.sealer is None or (name is not None and record["provider"] != name):
            raise NotConfigured(f"retailer {retailer!r} has no {name or 'payment'} provider configured")
        kind = PROVIDERS.get(record["provider"])
        if kind is None:  # a provider this server no longer offers
            raise NotConfigured(f"retailer {retailer!r} has provider {record['provider']!r}, which is not offered")
        notify = self.notify_url(str(retailer), record["provider"], origin)
        version = (record["sealed_secrets"], repr(sorted(record["settings"].items())), notify)  # nonce: always new
        built = self._built.get(str(retailer))
        if built is None or built[0] != version:  # parsing the keys takes milliseconds: once per configuration
            secrets_ = self.sealer.open(str(retailer), record["provider"], record["sealed_secrets"])
            merchant = kind.parse(record["settings"], secrets_)
            built = version, kind.make(merchant, notify, now=self.core.now, timeout_s=self.provider_timeout_s)
            self._built[str(retailer)] = built
        return built[1]

    def notify_url(self, retailer: str, provider: str, origin: str) -> str:
        """Where ``provider`` posts its notifications for ``retailer`` (BTCPay's webhook is entered in the store)."""
        return f"{self.public_url or origin}/v1/payments/notify/{provider}/{quote(retailer, safe='')}"

    # --- what the cabinet asks ------------------------------------------------------------------------
    async def create(
        self, cabinet_id: str, sale_id: str, amount: int, currency: str, ttl_s: float, origin: str
    ) -> tuple[dict[str, Any], bool]:
        """The sale's payment with its QR code from the provider. ProviderUnreachable / ProviderError when the
        provider cannot give one: the payment is cancelled here, so it can never be paid."""
        now = self.core.now()
        retailer = await self._retailer(cabinet_id)
        provider = await self.provider(retailer, None, origin)
        payment, created = await self.core.db(
            self.store.create_payment,
            cabinet_id,
            sale_id,
            amount,
            currency,
            now + ttl_s,
            provider=provider.name,
            now=now,
        )
        if payment["qr_text"] or payment["status"] != "pending":
            return payment, created
        if payment["provider"] != provider.name:  # the retailer changed provider since: ask the payment's own
            provider = await self.provider(retailer, payment["provider"], origin)
        request = PaymentRequest(payment["id"], amount, currency, f"Cabinet {cabinet_id}", payment["expires_at"])
        try:
            made = await provider.create(request)
        except ProviderError as exc:
            log.warning(
                "payment provider gave no QR code",
                extra={"payment_id": payment["id"], "provider": provider.name, "error": str(exc)},
            )
            await self.core.db(self.store.move_payment, payment["id"], "pending", "cancelled", now=self.core.now())
            raise
        details = {"qr_text": made.qr_text, "provider_ref": made.provider_ref}
        return await self.core.db(self.store.note_payment, payment["id"], details), created

    async def refresh(self, payment: dict[str, Any], origin: str) -> dict[str, Any]:
        """A pending payment at a real provider, asked about if its notification is late (at most every
        QUERY_EVERY_S); the record as it is then."""
        now = self.core.now()
        if payment["provider"] == simulator.NAME or payment["status"] != "pending":
            return payment
        if payment["queried_at"] is not None and now - payment["queried_at"] < QUERY_EVERY_S:
            return payment
        try:
            provider = await self.provider(await self._retailer(payment["cabinet_id"]), payment["provider"], origin)
            state = await provider.query(payment["id"])
        except (ProviderError, NotConfigured) as exc:
            log.info("payment query failed", extra={"payment_id": payment["id"], "error": str(exc)})
            return await self.core.db(self.store.note_payment, payment["id"], {"queried_at": now})
        await self.core.db(self.store.note_payment, payment["id"], {"queried_at": now})
        return await self.apply(payment["id"], state, origin)

    async def cancel(self, payment: dict[str, Any], origin: str) -> dict[str, Any]:
        """Close the order at the provider, then here. A provider that says it was paid first wins (money wins);
        one that cannot be reached is closed here all the same (a payment made later is refunded)."""
        if payment["status"] != "pending":
            return payment
        provider = await self.provider(await self._retailer(payment["cabinet_id"]), payment["provider"], origin)
        try:
            await provider.close(payment["id"])
        except ProviderUnreachable as exc:
            log.warning("order not closed at the provider", extra={"payment_id": payment["id"], "error": str(exc)})
        except ProviderError as exc:  # e.g. paid a moment ago: ask what happened
            log.info("close refused; asking the provider", extra={"payment_id": payment["id"], "error": str(exc)})
            try:
                payment = await self.apply(payment["id"], await provider.query(payment["id"]), origin)
            except ProviderError as query_exc:
                log.warning("payment query failed", extra={"payment_id": payment["id"], "error": str(query_exc)})
        moved, _ = await self.core.db(
            self.store.move_payment, payment["id"], "pending", "cancelled", now=self.core.now()
        )
        return moved

    async def refund(self, payment: dict[str, Any], by: str, origin: str) -> tuple[dict[str, Any], bool]:
        """Give a paid payment back through its provider; (the record, whether this call refunded it). An
        unreachable provider raises ProviderUnreachable and nothing changes here."""
        if payment["status"] != "paid":
            return payment, False
        provider = await self.provider(await self._retailer(payment["cabinet_id"]), payment["provider"], origin)
        amount = payment["amount_cents"]
        await provider.refund(payment["id"], f"{payment['id']}-refund", amount, amount)
        details = {"refunded_at": utc_iso(self.core.now()), "refunded_by": by}
        moved, changed = await self.core.db(
            self.store.move_payment, payment["id"], "paid", "refunded", details=details, now=self.core.now()
        )
        if changed:
            log.info("payment refunded", extra={"payment_id": payment["id"], "by": by})
        return moved, changed

    # --- what the provider says --------------------------------------------------------------------------
    async def notify(
        self, provider_name: str, retailer: str, headers: dict[str, str], body: bytes, origin: str
    ) -> NotificationAnswer:
        """Verify a notification and move its payment once; the provider's documented answer."""
        provider = await self.provider(retailer, provider_name, origin)
        try:
            notification = provider.verify_notification(headers, body)
        except ForgedNotification as exc:
            log.warning(
                "forged payment notification refused",
                extra={"provider": provider_name, "retailer": retailer, "reason": str(exc)},
            )
            return provider.answer(False)
        except ProviderError as exc:
            log.info("payment notification ignored", extra={"provider": provider_name, "reason": str(exc)})
            return provider.answer(True)
        state = notification.state
        payment = await self.core.db(self.store.payment, state.order_id, now=self.core.now())
        if (
            payment is None
            or payment["provider"] != provider_name
            or await self._retailer(payment["cabinet_id"]) != retailer
        ):
            log.warning(
                "payment notification for no payment of this retailer refused",
                extra={"provider": provider_name, "retailer": retailer, "order_id": state.order_id[:64]},
            )
            return provider.answer(False)
        if state.amount_minor is not None and state.amount_minor != payment["amount_cents"]:
            log.error(
                "payment notification with another amount refused",
                extra={"payment_id": payment["id"], "amount": state.amount_minor, "expected": payment["amount_cents"]},
            )
            return provider.answer(False)
        first = await self.core.db(
            self.store.record_notification,
            provider_name,
            notification.notification_id,
            payment["id"],
            state.status.value,
            now=self.core.now(),
        )
        if not first:
            log.info("duplicate payment notification", extra={"notification_id": notification.notification_id})
            return provider.answer(True)
        await self.apply(payment["id"], await self._how_paid(provider, state), origin)
        return provider.answer(True)

    @staticmethod
    async def _how_paid(provider: PaymentProvider, state: PaymentState) -> PaymentState:
        """A paid notification that names only the provider's coin or wallet, not how it was paid (BTCPay's
        InvoiceSettled says "btc", not lightning or on-chain): one query for the method, so sales by method are
        right. A query that fails or says less leaves the notification's word."""
        if state.status is not PaymentStatus.PAID or ":" in (state.method_detail or ""):
            return state
        try:
            queried = await provider.query(state.order_id)
        except ProviderError as exc:
            log.info("payment method not learned", extra={"payment_id": state.order_id, "error": str(exc)})
            return state
        if queried.status is PaymentStatus.PAID and ":" in (queried.method_detail or ""):
            return replace(state, method_detail=queried.method_detail)
        return state

    async def apply(self, payment_id: str, state: PaymentState, origin: str) -> dict[str, Any]:
        """Move the payment by what the provider says; the record as it is then."""
        now = self.core.now()
        payment = await self.core.db(self.store.payment, payment_id, now=now)
        if payment is None:
            raise NotFound(f"no payment {payment_id!r}")
        details = {"provider_ref": state.provider_ref, "method_detail": state.method_detail}
        if state.status is PaymentStatus.PAID and payment["status"] == "pending":
            moved, _ = await self.core.db(
                self.store.move_payment, payment_id, "pending", "paid", details=details, now=now
            )
            if moved["status"] == "paid":
                log.info("payment paid", extra={"payment_id": payment_id, "method": state.method_detail})
                return moved
            payment = moved  # expired meanwhile: paid late
        if state.status is PaymentStatus.PAID and payment["status"] in ("cancelled", "expired"):
            if payment["paid_late_at"] is None:
                log.warning("payment paid after it ended here; refunding", extra={"payment_id": payment_id})
                payment = await self.core.db(
                    self.store.note_payment, payment_id, {**details, "paid_late_at": utc_iso(now)}
                )
            return await self.refund_late(payment, origin)
        if state.status is PaymentStatus.CLOSED and payment["status"] == "pending":
            ending = "expired" if now >= payment["expires_at"] else "cancelled"
            return (await self.core.db(self.store.move_payment, payment_id, "pending", ending, now=now))[0]
        if state.status is PaymentStatus.REFUNDED and payment["status"] == "paid":
            details = {"refunded_at": utc_iso(now), "refunded_by": "provider"}
            return (
                await self.core.db(self.store.move_payment, payment_id, "paid", "refunded", details=details, now=now)
            )[0]
        return payment

    async def refund_late(self, payment: dict[str, Any], origin: str) -> dict[str, Any]:
        """Refund a payment made after it was cancelled or expired here; left for the catch-up loop when the
        provider cannot take it now."""
        try:
            provider = await self.provider(await self._retailer(payment["cabinet_id"]), payment["provider"], origin)
            amount = payment["amount_cents"]
            await provider.refund(payment["id"], f"{payment['id']}-refund", amount, amount)
        except (ProviderError, NotConfigured) as exc:
            log.warning("automatic refund not done yet", extra={"payment_id": payment["id"], "error": str(exc)})
            return payment
        details = {"refunded_at": utc_iso(self.core.now()), "refunded_by": "auto"}
        moved, _ = await self.core.db(
            self.store.move_payment, payment["id"], payment["status"], "refunded", details=details, now=self.core.now()
        )
        log.info("payment paid late refunded", extra={"payment_id": payment["id"]})
        return moved

    async def catch_up_once(self, origin: str) -> int:
        """Ask about the payments whose notification is late and retry the refunds owed; how many were looked at."""
        now = self.core.now()
        due = await self.core.db(self.store.payments_to_catch_up, queried_before=now - QUERY_EVERY_S, now=now)
        for payment in due:
            if payment["paid_late_at"] is not None:
                await self.refund_late(payment, origin)
                continue
            try:
                provider = await self.provider(await self._retailer(payment["cabinet_id"]), payment["provider"], origin)
                state = await provider.query(payment["id"])
            except (ProviderError, NotConfigured) as exc:
                log.info("payment query failed", extra={"payment_id": payment["id"], "error": str(exc)})
                await self.core.db(self.store.note_payment, payment["id"], {"queried_at": now})
                continue
            await self.core.db(self.store.note_payment, payment["id"], {"queried_at": now})
            await self.apply(payment["id"], state, origin)
        return len(due)

    async def catch_up_forever(self, origin: str, every_s: float = CATCH_UP_EVERY_S) -> None:
        while True:
            try:
                await self.catch_up_once(origin)
            except Exception:  # one bad round must not end the loop: the next one tries again
                log.exception("payment catch-up round failed")
            await asyncio.sleep(every_s)

    async def _retailer(self, cabinet_id: str) -> str | None:
        cabinet = await self.core.db(self.store.cabinet, cabinet_id)
        return cabinet["retailer"] if cabinet else None


PAYMENTS = web.AppKey("payments", Payments)  # on the cloud's app; the console reads it through config_dict
