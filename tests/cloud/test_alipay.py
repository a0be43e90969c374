"""Alipay face-to-face payment: the provider against the Alipay emulator over real HTTP on loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp
import pytest

from cloud_stub.payments.alipay import Alipay, AlipayError, Merchant, sign_content
from cloud_stub.payments.emulators.alipay import AlipayEmulator, AppAccount
from cloud_stub.payments.provider import (
    ForgedNotification,
    PaymentRequest,
    PaymentStatus,
    ProviderError,
    ProviderUnreachable,
)
from cloud_stub.payments.rsa import sign
from tests.cloud.provider_rig import Clock, Receiver, private_pem, public_pem, rsa_keys
from tests.polling import until

APP_ID = "2021000000000001"
RETRIES_S = (0.01, 0.01, 0.02, 0.05)


def merchant(gateway: str, *, app_key_of: int = 0, alipay_key_of: int = 1, app_id: str = APP_ID) -> Merchant:
    keys = rsa_keys()
    settings = {"app_id": app_id, "alipay_public_key": public_pem(keys[alipay_key_of]), "gateway": gateway}
    return Merchant.parse(settings, {"app_private_key": private_pem(keys[app_key_of])})


@dataclass
class Rig:
    alipay: AlipayEmulator
    provider: Alipay
    receiver: Receiver
    clock: Clock
    session: aiohttp.ClientSession

    def request(self, order_id: str = "pay_0001", fen: int = 1234, ttl_s: float = 120) -> PaymentRequest:
        return PaymentRequest(order_id, fen, "CNY", "Cabinet 7: e-scooter", self.clock() + ttl_s)

    async def phone_pays(self, qr_code: str, fund_channel: str = "ALIPAYACCOUNT") -> int:
        """The shopper scans the code with Alipay and pays; the emulator's HTTP status (409: order closed)."""
        body = {"qr_code": qr_code, "fund_channel": fund_channel}
        async with self.session.post(self.alipay.url + "/emulator/pay", json=body) as reply:
            return reply.status


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    keys = rsa_keys()
    clock = Clock()
    alipay = AlipayEmulator(keys[1], now=clock, retries_s=RETRIES_S)
    alipay.add_app(AppAccount(APP_ID, keys[0].public_key()))
    await alipay.start()
    receiver = Receiver(lambda h, b: provider.verify_notification(h, b), lambda ok: provider.answer(ok))
    await receiver.start()
    provider = Alipay(merchant(alipay.gateway), receiver.url, now=clock, timeout_s=2)
    async with aiohttp.ClientSession() as session:
        yield Rig(alipay, provider, receiver, clock, session)
    await receiver.stop()
    await alipay.stop()


async def test_paid_by_scan_is_notified_verified_and_queried(rig: Rig) -> None:
    made = await rig.provider.create(rig.request(fen=1234))
    assert made.qr_text.startswith("https://qr.alipay.com/")
    assert (await rig.provider.query("pay_0001")).status is PaymentStatus.PENDING  # not scanned: no trade yet
    assert await rig.phone_pays(made.qr_text, "PCREDIT") == 200
    await until(lambda: bool(rig.receiver.verified), what="the payment's notification")
    state = rig.receiver.verified[0].state
    order = rig.alipay.find(made.qr_text)
    assert (state.order_id, state.status, state.amount_minor) == ("pay_0001", PaymentStatus.PAID, 1234)
    assert state.provider_ref == order.trade_no and state.method_detail == "alipay:huabei"
    assert rig.alipay.orders[(APP_ID, "pay_0001")].total == 1234  # 12.34 yuan on the wire
    queried = await rig.provider.query("pay_0001")
    assert (queried.status, queried.provider_ref, queried.amount_minor) == (PaymentStatus.PAID, order.trade_no, 1234)
    assert queried.method_detail == "alipay:huabei"
    assert [d.attempt for d in rig.alipay.notifier.deliveries] == [1]  # "success" stops the retries


async def test_the_same_order_number_again_gives_the_same_code(rig: Rig) -> None:
    first = await rig.provider.create(rig.request())
    assert (await rig.provider.create(rig.request())).qr_text == first.qr_text
    assert await rig.phone_pays(first.qr_text) == 200
    with pytest.raises(AlipayError) as refused:
        await rig.provider.create(rig.request())
    assert refused.value.sub_code == "ACQ.TRADE_HAS_SUCCESS"


async def test_expired_code_cannot_be_paid_and_a_scanned_trade_closes(rig: Rig) -> None:
    never = await rig.provider.create(rig.request("pay_never", ttl_s=60))
    scanned = await rig.provider.create(rig.request("pay_scanned", ttl_s=60))
    assert rig.alipay.scan(rig.alipay.find(scanned.qr_text))
    rig.clock.offset = 61
    assert await rig.phone_pays(never.qr_text) == 409
    assert await rig.phone_pays(scanned.qr_text) == 409
    assert (await rig.provider.query("pay_scanned")).status is PaymentStatus.CLOSED
    await until(lambda: bool(rig.receiver.verified), what="the closed trade's notification")
    assert rig.receiver.verified[0].state.status is PaymentStatus.CLOSED


async def test_cancelled_before_the_scan_can_no_longer_be_paid(rig: Rig) -> None:
    made = await rig.provider.create(rig.request())
    await rig.provider.close("pay_0001")
    assert ("40004", "ACQ.TRADE_NOT_EXIST") in rig.alipay.refused  # close first: no trade yet, so cancel
    await rig.provider.close("pay_0001")  # again: idempotent
    assert await rig.phone_pays(made.qr_text) == 409
    assert rig.alipay.find(made.qr_text).paid_at is None


async def test_cancelled_after_the_scan_is_closed(rig: Rig) -> None:
    made = await rig.provider.create(rig.request())
    assert rig.alipay.scan(rig.alipay.find(made.qr_text))
    await rig.provider.close("pay_0001")
    await rig.provider.close("pay_0001")  # idempotent: a closed trade stays closed
    assert (await rig.provider.query("pay_0001")).status is PaymentStatus.CLOSED
    assert await rig.phone_pays(made.qr_text) == 409


async def test_close_of_a_paid_trade_is_refused_so_the_payment_wins(rig: Rig) -> None:
    made = await rig.provider.create(rig.request())
    assert await rig.phone_pays(made.qr_text) == 200
    with pytest.raises(AlipayError) as refused:
        await rig.provider.close("pay_0001")
    assert refused.value.sub_code == "ACQ.TRADE_STATUS_ERROR"
    assert (await rig.provider.query("pay_0001")).status is PaymentStatus.PAID


async def test_paid_after_a_cancel_that_did_not_arrive_is_refunded(rig: Rig) -> None:
    made = await rig.provider.create(rig.request(fen=990))
    rig.alipay.down = True
    with pytest.raises(ProviderUnreachable):
        await rig.provider.close("pay_0001")
    rig.alipay.down = False
    assert await rig.phone_pays(made.qr_text) == 200
    await until(lambda: len(rig.receiver.verified) == 1, what="the payment's notification")
    assert rig.receiver.verified[0].state.status is PaymentStatus.PAID
    await rig.provider.refund("pay_0001", "pay_0001-refund", 990, 990)
    await rig.provider.refund("pay_0001", "pay_0001-refund", 990, 990)  # a retry refunds nothing more
    order = rig.alipay.find(made.qr_text)
    assert order.refunds == {"pay_0001-refund": 990} and order.trade_status == "TRADE_CLOSED"
    await until(lambda: len(rig.receiver.verified) == 2, what="the refund's notification")
    refunded = rig.receiver.verified[1].state
    assert (refunded.status, refunded.provider_ref) == (PaymentStatus.REFUNDED, order.trade_no)


async def test_partial_refund_then_too_much_is_refused(rig: Rig) -> None:
    made = await rig.provider.create(rig.request(fen=1000))
    assert await rig.phone_pays(made.qr_text) == 200
    await rig.provider.refund("pay_0001", "r1", 300, 1000)
    with pytest.raises(AlipayError) as refused:
        await rig.provider.refund("pay_0001", "r2", 800, 1000)
    assert refused.value.sub_code == "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"
    assert rig.alipay.find(made.qr_text).refunds == {"r1": 300}
    assert (await rig.provider.query("pay_0001")).status is PaymentStatus.PAID


async def test_refund_of_an_unpaid_order_is_refused(rig: Rig) -> None:
    await rig.provider.create(rig.request())
    with pytest.raises(AlipayError) as refused:
        await rig.provider.refund("pay_0001", "r1", 1234, 1234)
    assert refused.value.sub_code == "ACQ.TRADE_NOT_EXIST"


async def test_a_notification_not_taken_is_sent_again_with_the_same_notify_id(rig: Rig) -> None:
    rig.receiver.refuse_first = 1
    made = await rig.provider.create(rig.request())
    assert await rig.phone_pays(made.qr_text) == 200
    await until(lambda: len(rig.receiver.verified) == 2, what="the notification sent again")
    # the emulator records a delivery once the cloud's answer is back, a moment after the cloud verified it
    await until(lambda: len(rig.alipay.notifier.deliveries) == 2, what="the second delivery recorded")
    first, second = rig.receiver.verified
    assert first.notification_id == second.notification_id and first.state == second.state
    assert [(d.attempt, d.accepted) for d in rig.alipay.notifier.deliveries] == [(1, False), (2, True)]


async def test_forged_notifications_are_refused(rig: Rig) -> None:
    made = await rig.provider.create(rig.request(fen=1234))
    assert await rig.phone_pays(made.qr_text) == 200
    await until(lambda: bool(rig.receiver.verified), what="the genuine notification")
    genuine = rig.alipay.notification(rig.alipay.find(made.qr_text))
    keys = rsa_keys()

    def body(params: dict[str, str]) -> bytes:
        return urlencode(params).encode()

    def resigned(params: dict[str, str], key_of: int = 1) -> dict[str, str]:
        unsigned = {k: v for k, v in params.items() if k != "sign"}
        return {**unsigned, "sign": sign(keys[key_of], sign_content(unsigned, drop=("sign", "sign_type")))}

    forgeries = {
        "signed by a stranger": resigned(genuine, key_of=2),
        "amount altered after signing": {**genuine, "total_amount": "0.01"},
        "another app, signed by Alipay": resigned({**genuine, "app_id": "2021000000000999"}),
        "sign_type RSA (SHA1)": {**genuine, "sign_type": "RSA"},
        "no sign": {k: v for k, v in genuine.items() if k != "sign"},
    }
    for what, params in forgeries.items():
        with pytest.raises(ForgedNotification):
            rig.provider.verify_notification({}, body(params))
        async with rig.session.post(rig.receiver.url, data=body(params)) as reply:
            assert await reply.read() == b"fail", what  # Alipay sends it again; nothing changed
    assert len(rig.receiver.forged) == len(forgeries)
    assert rig.provider.verify_notification({}, body(genuine)).state.status is PaymentStatus.PAID


async def test_unreachable_gateway(rig: Rig) -> None:
    rig.alipay.down = True
    with pytest.raises(ProviderUnreachable):
        await rig.provider.create(rig.request())
    await rig.alipay.stop()
    for call in (rig.provider.create(rig.request()), rig.provider.query("pay_0001")):
        with pytest.raises(ProviderUnreachable):
            await call


async def test_merchant_signature_and_app_id_are_checked(rig: Rig) -> None:
    stranger = Alipay(merchant(rig.alipay.gateway, app_key_of=2), rig.receiver.url, now=rig.clock)
    with pytest.raises(AlipayError) as refused:
        await stranger.create(rig.request())
    assert (refused.value.code, refused.value.sub_code) == ("40002", "isv.invalid-signature")
    unknown = Alipay(merchant(rig.alipay.gateway, app_id="2021000000000999"), rig.receiver.url, now=rig.clock)
    with pytest.raises(AlipayError) as refused:
        await unknown.create(rig.request())
    assert refused.value.sub_code == "isv.invalid-app-id"
    assert rig.alipay.orders == {}


async def test_an_answer_not_signed_by_alipay_is_no_answer(rig: Rig) -> None:
    wrong_key = Alipay(merchant(rig.alipay.gateway, alipay_key_of=2), rig.receiver.url, now=rig.clock)
    with pytest.raises(ProviderUnreachable, match="does not verify"):
        await wrong_key.create(rig.request())


async def test_amounts_and_currency_at_the_boundary(rig: Rig) -> None:
    with pytest.raises(ProviderError, match="CNY only"):
        await rig.provider.create(PaymentRequest("pay_usd", 100, "USD", "x", rig.clock() + 60))
    await rig.provider.create(rig.request("pay_min", fen=1))
    await rig.provider.create(rig.request("pay_big", fen=10_000_000_000))
    sent = {no: o.total for (_, no), o in rig.alipay.orders.items()}
    assert sent == {"pay_min": 1, "pay_big": 10_000_000_000}


async def test_the_gateway_refuses_with_the_documented_codes(rig: Rig) -> None:
    async with rig.session.post(rig.alipay.gateway, data={"app_id": APP_ID, "method": "alipay.trade.query"}) as reply:
        answer = json.loads(await reply.read())
    refusal = answer["alipay_trade_query_response"]
    assert (refusal["code"], refusal["msg"], refusal["sub_code"]) == (
        "40001",
        "Missing Required Arguments",
        "isv.missing-signature",
    )
    assert "sign" not in answer  # the gateway's own refusals come unsigned
    with pytest.raises(AlipayError) as refused:
        await rig.provider.create(rig.request("pay-0001"))  # out_trade_no: letters, digits and underscores only
    assert (refused.value.code, refused.value.sub_code) == ("40004", "ACQ.INVALID_PARAMETER")
