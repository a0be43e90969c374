"""BTCPay Server (Greenfield): the provider against the BTCPay emulator over real HTTP on loopback."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest

from cloud_stub.payments.btcpay import BTCPay, BTCPayError, Merchant
from cloud_stub.payments.emulators.btcpay import BTCPayEmulator, Store
from cloud_stub.payments.provider import ForgedNotification, PaymentRequest, PaymentStatus, ProviderUnreachable
from tests.cloud.provider_rig import Clock, Receiver
from tests.polling import until

STORE_ID = "9CiNzKoANXxmk5ayZngSXrHTiVvvgCrwrpFQd4m2K776"
API_KEY = "1e4e0f2f7c2b4b3f9a1d8c6e5b4a39281706f5e4"
SECRET = "whsec-3hT9kQ"
RETRIES_S = (0.01, 0.01, 0.02, 0.05)


def merchant(url: str, **changes: str) -> Merchant:
    settings = {"server_url": url, "store_id": changes.get("store_id", STORE_ID)}
    secrets_ = {"api_key": changes.get("api_key", API_KEY), "webhook_secret": changes.get("secret", SECRET)}
    return Merchant.parse(settings, secrets_)


@dataclass
class Rig:
    btcpay: BTCPayEmulator
    provider: BTCPay
    receiver: Receiver
    clock: Clock
    session: aiohttp.ClientSession

    def request(self, order_id: str = "pay-0001", minor: int = 1250, currency: str = "EUR") -> PaymentRequest:
        return PaymentRequest(order_id, minor, currency, "Cabinet 7: e-scooter", self.clock() + 600)

    async def phone_pays(self, link: str) -> dict[str, str]:
        async with self.session.post(self.btcpay.url + "/emulator/pay", json={"link": link}) as reply:
            answer: dict[str, str] = await reply.json()
            return answer


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    clock = Clock()
    btcpay = BTCPayEmulator(now=clock, retries_s=RETRIES_S)
    await btcpay.start()
    receiver = Receiver(lambda h, b: provider.verify_notification(h, b), lambda ok: provider.answer(ok))
    await receiver.start()
    btcpay.add_store(Store(STORE_ID, API_KEY, receiver.url, SECRET))
    btcpay.add_store(Store("OtherStore1", "other-key", "", "other-secret"))
    provider = BTCPay(merchant(btcpay.url), receiver.url, now=clock, timeout_s=2)
    async with aiohttp.ClientSession() as session:
        yield Rig(btcpay, provider, receiver, clock, session)
    await receiver.stop()
    await btcpay.stop()


def states(rig: Rig) -> list[tuple[PaymentStatus, str | None]]:
    return [(n.state.status, n.state.method_detail) for n in rig.receiver.verified]


async def test_paid_by_lightning_is_notified_verified_and_queried(rig: Rig) -> None:
    made = await rig.provider.create(rig.request(minor=1250, currency="EUR"))
    invoice = rig.btcpay.invoices[str(made.provider_ref)]
    assert made.qr_text == f"lightning:{invoice.bolt11}"  # the wallet pays the BOLT11 invoice it scans
    assert (invoice.amount_minor, invoice.currency, invoice.metadata["orderId"]) == (1250, "EUR", "pay-0001")
    assert (await rig.provider.query("pay-0001")).status is PaymentStatus.PENDING
    await rig.phone_pays(made.qr_text)
    await until(lambda: PaymentStatus.PAID in [s for s, _ in states(rig)], what="InvoiceSettled")
    paid = next(n.state for n in rig.receiver.verified if n.state.status is PaymentStatus.PAID)
    assert (paid.order_id, paid.provider_ref) == ("pay-0001", invoice.id)
    queried = await rig.provider.query("pay-0001")
    assert (queried.status, queried.provider_ref, queried.amount_minor) == (PaymentStatus.PAID, invoice.id, 1250)
    assert queried.method_detail == "btc:lightning"
    assert (PaymentStatus.PENDING, "btc:lightning") in states(rig)  # InvoiceReceivedPayment names the method


async def test_on_chain_waits_for_confirmations(rig: Rig) -> None:
    made = await rig.provider.create(rig.request())
    invoice = rig.btcpay.invoices[str(made.provider_ref)]
    url = f"{rig.btcpay.url}/api/v1/stores/{STORE_ID}/invoices/{invoice.id}/payment-methods"
    async with rig.session.get(url, headers={"Authorization": f"token {API_KEY}"}) as reply:
        links = {m["paymentMethodId"]: m["paymentLink"] for m in await reply.json()}
    assert links["BTC-CHAIN"] == f"bitcoin:{invoice.address}?amount=0.00025000"  # 12.50 EUR at 50,000.00 a BTC
    rig.btcpay.pay(invoice, "BTC-CHAIN")
    assert (await rig.provider.query("pay-0001")).status is PaymentStatus.PENDING  # Processing
    rig.btcpay.confirm(invoice)
    queried = await rig.provider.query("pay-0001")
    assert (queried.status, queried.method_detail) == (PaymentStatus.PAID, "btc:onchain")


async def test_the_same_order_again_reuses_its_invoice_unless_it_ended(rig: Rig) -> None:
    first = await rig.provider.create(rig.request())
    again = await rig.provider.create(rig.request())
    assert (again.provider_ref, again.qr_text) == (first.provider_ref, first.qr_text)
    await rig.phone_pays(first.qr_text)
    assert (await rig.provider.create(rig.request())).provider_ref == first.provider_ref  # paid: never a second
    assert len(rig.btcpay.invoices) == 1
    await rig.provider.create(rig.request("pay-0002"))
    await rig.provider.close("pay-0002")
    replaced = await rig.provider.create(rig.request("pay-0002"))  # cancelled there: a new invoice
    assert rig.btcpay.invoices[str(replaced.provider_ref)].status == "New" and len(rig.btcpay.invoices) == 3


async def test_expired_invoice_is_closed(rig: Rig) -> None:
    await rig.provider.create(PaymentRequest("pay-0001", 500, "EUR", "x", rig.clock() + 120))
    invoice = next(iter(rig.btcpay.invoices.values()))
    assert invoice.expires == pytest.approx(invoice.created + 120)  # expirationMinutes 2
    rig.clock.offset = 121
    rig.btcpay.tick()
    await until(lambda: (PaymentStatus.CLOSED, "btc") in states(rig), what="InvoiceExpired")
    assert (await rig.provider.query("pay-0001")).status is PaymentStatus.CLOSED


async def test_cancelled_invoice_is_marked_invalid_idempotently(rig: Rig) -> None:
    made = await rig.provider.create(rig.request())
    await rig.provider.close("pay-0001")
    await rig.provider.close("pay-0001")
    invoice = rig.btcpay.invoices[str(made.provider_ref)]
    assert (invoice.status, invoice.additional_status) == ("Invalid", "Marked")
    assert (await rig.provider.query("pay-0001")).status is PaymentStatus.CLOSED
    await until(lambda: (PaymentStatus.CLOSED, "btc") in states(rig), what="InvoiceInvalid")
    await rig.provider.close("never-created")  # nothing to cancel


async def test_settled_invoice_cannot_be_cancelled_so_the_payment_wins(rig: Rig) -> None:
    made = await rig.provider.create(rig.request())
    await rig.phone_pays(made.qr_text)
    with pytest.raises(BTCPayError) as refused:
        await rig.provider.close("pay-0001")
    assert (refused.value.status, refused.value.code) == (422, "status")
    assert (await rig.provider.query("pay-0001")).status is PaymentStatus.PAID


async def test_paid_after_cancel_is_paid_late_and_refunded_once(rig: Rig) -> None:
    made = await rig.provider.create(rig.request(minor=1250))
    await rig.provider.close("pay-0001")
    await rig.phone_pays(made.qr_text)  # the shopper's wallet paid the invoice it had scanned
    await until(lambda: (PaymentStatus.PAID, "btc:lightning") in states(rig), what="the late payment")
    late = await rig.provider.query("pay-0001")
    assert (late.status, late.method_detail) == (PaymentStatus.PAID, "btc:lightning")
    await rig.provider.refund("pay-0001", "pay-0001-refund", 1250, 1250)
    await rig.provider.refund("pay-0001", "pay-0001-refund", 1250, 1250)  # a retry refunds nothing more
    refunds = rig.btcpay.stores[STORE_ID].pull_payments
    assert [(p["name"], p["amount"], p["currency"]) for p in refunds] == [("pay-0001-refund", "12.50", "EUR")]
    assert refunds[0]["invoiceId"] == made.provider_ref


async def test_refund_of_an_unpaid_invoice_is_refused(rig: Rig) -> None:
    await rig.provider.create(rig.request())
    with pytest.raises(BTCPayError) as refused:
        await rig.provider.refund("pay-0001", "r1", 1250, 1250)
    assert (refused.value.status, refused.value.code) == (400, "non-refundable")


async def test_a_webhook_not_taken_is_redelivered_with_its_original_delivery_id(rig: Rig) -> None:
    rig.receiver.refuse_first = 1
    await rig.provider.create(rig.request())  # InvoiceCreated, refused once, then taken
    await until(lambda: len(rig.receiver.verified) == 2, what="the redelivery")
    first, second = rig.receiver.verified
    assert first.notification_id == second.notification_id and first.state == second.state
    assert [(d.attempt, d.accepted) for d in rig.btcpay.notifier.deliveries] == [(1, False), (2, True)]


async def test_forged_webhooks_are_refused(rig: Rig) -> None:
    made = await rig.provider.create(rig.request())
    invoice = rig.btcpay.invoices[str(made.provider_ref)]
    event = {
        "deliveryId": "d1",
        "originalDeliveryId": "d1",
        "type": "InvoiceSettled",
        "storeId": STORE_ID,
        "invoiceId": invoice.id,
        "metadata": {"orderId": "pay-0001"},
    }
    store = rig.btcpay.stores[STORE_ID]
    body, headers = rig.btcpay.signed_webhook(store, event)
    assert rig.provider.verify_notification(headers, body).state.status is PaymentStatus.PAID
    stranger = Store(STORE_ID, API_KEY, "", "another-secret")
    forgeries = {
        "signed with another secret": rig.btcpay.signed_webhook(stranger, event),
        "body altered after signing": (body.replace(b"InvoiceSettled", b"InvoiceExpired"), headers),
        "another store, signed with this secret": rig.btcpay.signed_webhook(store, {**event, "storeId": "Other"}),
        "no signature": (body, {"Content-Type": "application/json"}),
        "sha1 instead of sha256": (body, {"BTCPay-Sig": "sha1=" + hmac.new(b"x", body, hashlib.sha1).hexdigest()}),
    }
    for what, (forged_body, forged_headers) in forgeries.items():
        with pytest.raises(ForgedNotification):
            rig.provider.verify_notification(forged_headers, forged_body)
        async with rig.session.post(rig.receiver.url, data=forged_body, headers=forged_headers) as reply:
            assert reply.status == 400, what  # BTCPay redelivers; nothing changed
    assert len(rig.receiver.forged) == len(forgeries)


async def test_unreachable_server(rig: Rig) -> None:
    rig.btcpay.down = True
    with pytest.raises(ProviderUnreachable):
        await rig.provider.create(rig.request())
    await rig.btcpay.stop()
    with pytest.raises(ProviderUnreachable):
        await rig.provider.query("pay-0001")


async def test_api_key_and_store_are_checked(rig: Rig) -> None:
    wrong_key = BTCPay(merchant(rig.btcpay.url, api_key="not-a-key"), rig.receiver.url, now=rig.clock)
    with pytest.raises(BTCPayError) as refused:
        await wrong_key.create(rig.request())
    assert (refused.value.status, refused.value.code) == (401, "unauthenticated")
    other_store = BTCPay(merchant(rig.btcpay.url, store_id="OtherStore1"), rig.receiver.url, now=rig.clock)
    with pytest.raises(BTCPayError) as refused:
        await other_store.create(rig.request())
    assert (refused.value.status, refused.value.code) == (403, "missing-permission")
    assert rig.btcpay.invoices == {}


async def test_amounts_in_the_currency_exponent(rig: Rig) -> None:
    await rig.provider.create(rig.request("pay-jpy", 500, "JPY"))
    await rig.provider.create(rig.request("pay-kwd", 1234, "KWD"))
    sent = {i.metadata["orderId"]: rig.btcpay.invoice_data(i)["amount"] for i in rig.btcpay.invoices.values()}
    assert sent == {"pay-jpy": "500", "pay-kwd": "1.234"}
    assert (await rig.provider.query("pay-kwd")).amount_minor == 1234
