"""Scan-to-pay through WeChat Pay (API v3, Native): the cloud, the cabinet's client and the WeChat Pay emulator,
each a real aiohttp server or client on 127.0.0.1. What a shopper, a cabinet and a retailer would see."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from cloud_stub.payments.emulators.wechatpay import Refusal
from cloud_stub.payments.provider import PaymentRequest, ProviderUnreachable
from cloud_stub.payments.rsa import sign
from cloud_stub.payments.wechatpay import Merchant, WeChatPay
from sync_client.cloud_client import CloudRefused, CloudUnavailable
from tests.cloud.provider_rig import private_pem, public_pem, rsa_keys
from tests.cloud.wechatpay_rig import (
    APIV3_KEY,
    MCHID,
    PLATFORM_SERIAL,
    Rig,
    merchant_settings,
    rig,
)
from tests.polling import until

PRICE_FEN = 49900
__all__ = ["rig"]  # the fixture


def delivered(rig: Rig, out_trade_no: str) -> bool:
    return any(d.accepted and d.order == out_trade_no for d in rig.wechat.notifier.deliveries)


async def test_a_shopper_pays_the_wechat_qr_and_the_cabinet_sees_it_paid_with_its_method(rig: Rig) -> None:
    created = await rig.pay.create("sale-1", PRICE_FEN, "CNY")
    assert created.status == "pending" and created.qr_text.startswith("weixin://wxpay/bizpayurl?pr=")
    order = rig.wechat.orders[(MCHID, created.payment_id)]
    assert order.total == PRICE_FEN and order.notify_url.endswith("/v1/payments/notify/wechatpay/shop-a")
    assert await rig.pay.create("sale-1", PRICE_FEN, "CNY") == created  # asked again: the same QR code

    status, paid = await rig.phone_pays(created.qr_text)
    assert status == 200 and paid["trade_state"] == "SUCCESS"
    await until(lambda: delivered(rig, created.payment_id), what="the notification accepted by the cloud")
    assert (await rig.pay.status(created.payment_id)).status == "paid"
    record = rig.store.payment(created.payment_id)
    assert record is not None
    assert (record["provider"], record["provider_ref"], record["method_detail"]) == (
        "wechatpay",
        order.transaction_id,
        "wechatpay:OTHERS",
    )
    assert (await rig.pay.cancel(created.payment_id)).status == "paid"  # too late to cancel: money wins


async def test_an_unpaid_order_expires_at_both_ends_and_can_no_longer_be_paid(rig: Rig) -> None:
    rig.clock.offset = -299  # created 299 s ago (within the cabinet's signature window): 1 s left
    created = await rig.pay.create("sale-2", 1000, "CNY")
    rig.clock.offset = 2  # past the payment's 300 s
    assert (await rig.pay.status(created.payment_id)).status == "expired"
    status, refusal = await rig.phone_pays(created.qr_text)
    assert (status, refusal["code"]) == (400, "ORDER_CLOSED")


async def test_a_shopper_who_walks_away_cancels_the_order_at_wechat_pay_too(rig: Rig) -> None:
    created = await rig.pay.create("sale-3", 1000, "CNY")
    assert (await rig.pay.cancel(created.payment_id)).status == "cancelled"
    assert rig.wechat.orders[(MCHID, created.payment_id)].trade_state == "CLOSED"  # closed at the provider
    status, refusal = await rig.phone_pays(created.qr_text)
    assert (status, refusal["code"]) == (400, "ORDER_CLOSED")


async def test_a_payment_made_after_the_cancel_is_refunded_automatically(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    created = await rig.pay.create("sale-4", PRICE_FEN, "CNY")
    rig.wechat.down = True  # the close cannot reach WeChat Pay: the order stays payable there
    with caplog.at_level(logging.WARNING, logger="cloud_stub.payments"):
        assert (await rig.pay.cancel(created.payment_id)).status == "cancelled"
    assert any(r.message == "order not closed at the provider" for r in caplog.records)
    rig.wechat.down = False
    await rig.phone_pays(created.qr_text)  # the shopper paid anyway, on a screen still open on the phone
    order = rig.wechat.orders[(MCHID, created.payment_id)]
    await until(lambda: order.trade_state == "REFUND", what="the late payment refunded at WeChat Pay")
    [refund] = order.refunds.values()
    assert refund.refund == PRICE_FEN and refund.out_refund_no == f"{created.payment_id}-refund"
    await until(lambda: delivered(rig, created.payment_id), what="the notification acknowledged")
    record = rig.store.payment(created.payment_id)
    assert record is not None and record["status"] == "refunded"
    assert record["refunded_by"] == "auto" and record["paid_late_at"] is not None
    assert (await rig.pay.status(created.payment_id)).status == "refunded"


async def test_an_automatic_refund_the_provider_could_not_take_is_retried_by_the_catch_up(rig: Rig) -> None:
    created = await rig.pay.create("sale-5", 1000, "CNY")
    rig.wechat.down = True
    await rig.pay.cancel(created.payment_id)
    rig.wechat.down = False
    rig.wechat.notifying = False
    rig.wechat.pay(created.payment_id)
    headers, body = rig.wechat.notification(rig.wechat.orders[(MCHID, created.payment_id)])
    rig.wechat.down = True  # the notification arrives, but the refund cannot be made now
    assert await rig.notify(headers, body) == 204
    record = rig.store.payment(created.payment_id)
    assert record is not None and record["status"] == "cancelled" and record["paid_late_at"] is not None
    rig.wechat.down = False
    assert await rig.payments.catch_up_once("") == 1
    record = rig.store.payment(created.payment_id)
    assert record is not None and record["status"] == "refunded"
    assert rig.wechat.orders[(MCHID, created.payment_id)].trade_state == "REFUND"


async def test_a_duplicate_notification_is_acknowledged_and_changes_nothing(rig: Rig) -> None:
    created = await rig.pay.create("sale-6", 1000, "CNY")
    await rig.phone_pays(created.qr_text)
    await until(lambda: delivered(rig, created.payment_id), what="the first notification acknowledged")
    before = rig.store.payment(created.payment_id)
    order = rig.wechat.orders[(MCHID, created.payment_id)]
    first_id = rig.wechat.notifier.deliveries[-1].notification_id
    for notification_id in (first_id, "another-notification-of-the-same-payment"):
        headers, body = rig.wechat.notification(order, notification_id)
        assert await rig.notify(headers, body) == 204  # acknowledged, so WeChat Pay stops sending it
    assert rig.store.payment(created.payment_id) == before
    with closing(sqlite3.connect(rig.store.path)) as db:
        rows = db.execute("SELECT notification_id FROM payment_notifications").fetchall()
    assert sorted(r[0] for r in rows) == sorted([first_id, "another-notification-of-the-same-payment"])


async def test_forged_notifications_are_refused_logged_and_move_nothing(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    created = await rig.pay.create("sale-7", PRICE_FEN, "CNY")
    rig.wechat.notifying = False
    order = rig.wechat.pay(created.payment_id)
    headers, body = rig.wechat.notification(order)
    stranger = rsa_keys()[2]
    forged_signature = {**headers, "Wechatpay-Signature": _sign(stranger, headers, body)}
    stale = dict(headers, **{"Wechatpay-Timestamp": str(int(time.time()) - 600)})
    forgeries = {
        "signed by another key": (forged_signature, body),
        "body changed after signing": (headers, body.replace(b"TRANSACTION.SUCCESS", b"TRANSACTION.SUCCESs")),
        "another platform serial": ({**headers, "Wechatpay-Serial": "PUB_KEY_ID_0000"}, body),
        "outside 5 minutes": (stale, body),
        "no signature": ({k: v for k, v in headers.items() if k != "Wechatpay-Signature"}, body),
    }
    with caplog.at_level(logging.WARNING, logger="cloud_stub.payments"):
        for what, (h, b) in forgeries.items():
            assert await rig.notify(h, b) == 400, what
    refusals = [r for r in caplog.records if r.message == "forged payment notification refused"]
    assert len(refusals) == len(forgeries)
    # A genuine notification sent to another retailer's address is refused too (that retailer has no WeChat Pay).
    async with rig.session.post(f"{rig.url}/v1/payments/notify/wechatpay/shop-b", data=body, headers=headers) as r:
        assert r.status == 404
    record = rig.store.payment(created.payment_id)
    assert record is not None and record["status"] == "pending"
    assert await rig.notify(headers, body) == 204  # the real one still moves it
    assert (await rig.pay.status(created.payment_id)).status == "paid"


async def test_a_notification_with_another_amount_is_refused(rig: Rig) -> None:
    created = await rig.pay.create("sale-8", PRICE_FEN, "CNY")
    rig.wechat.notifying = False
    order = rig.wechat.pay(created.payment_id)
    order.total = 1  # as if WeChat Pay said one fen was paid
    headers, body = rig.wechat.notification(order)
    assert await rig.notify(headers, body) == 400
    record = rig.store.payment(created.payment_id)
    assert record is not None and record["status"] == "pending"


async def test_wechat_pay_sends_a_refused_notification_again_until_the_cloud_takes_it(rig: Rig) -> None:
    created = await rig.pay.create("sale-18", 1000, "CNY")
    rig.wechat.notifier.retries_s = (0.01, 0.3, 0.3, 0.3, 5.0)  # room for the test to act between two attempts
    order = rig.wechat.pay(created.payment_id)
    order.total = 1  # what it says does not match the payment: the cloud refuses it ...
    await until(lambda: len(rig.wechat.notifier.deliveries) >= 2, what="two refused deliveries")
    order.total = 1000  # ... until it does (as a fixed notification would)
    await until(lambda: delivered(rig, created.payment_id), what="a later delivery accepted")
    attempts = [d for d in rig.wechat.notifier.deliveries if d.order == created.payment_id]
    assert [d.status for d in attempts[:2]] == [400, 400] and attempts[-1].status == 204
    assert len({d.notification_id for d in attempts}) == 1  # the same notification each time
    assert (await rig.pay.status(created.payment_id)).status == "paid"


async def test_a_late_notification_is_caught_up_by_the_cabinets_poll_and_by_the_catch_up(rig: Rig) -> None:
    rig.wechat.notifying = False  # WeChat Pay's notifications are late
    polled = await rig.pay.create("sale-9", 1000, "CNY")
    unpolled = await rig.pay.create("sale-10", 1000, "CNY")
    await rig.phone_pays(polled.qr_text)
    await rig.phone_pays(unpolled.qr_text)
    assert (await rig.pay.status(polled.payment_id)).status == "paid"  # the poll asked WeChat Pay
    assert rig.store.payment(unpolled.payment_id)["status"] == "pending"  # type: ignore[index]
    rig.clock.offset = 10  # past the query interval
    await rig.payments.catch_up_once("")
    record = rig.store.payment(unpolled.payment_id)
    assert record is not None and record["status"] == "paid" and record["method_detail"] == "wechatpay:OTHERS"


@pytest.mark.parametrize("rig", [0.02], indirect=True)
async def test_the_clouds_catch_up_loop_finds_a_payment_nobody_polls_and_whose_notification_is_lost(rig: Rig) -> None:
    rig.wechat.notifying = False
    created = await rig.pay.create("sale-17", 1000, "CNY")
    await rig.phone_pays(created.qr_text)
    rig.clock.offset = 10  # past the query interval, should the loop have asked before the shopper paid

    def paid() -> bool:
        record = rig.store.payment(created.payment_id)
        return record is not None and record["status"] == "paid"

    await until(paid, what="the loop asked WeChat Pay and found it paid")


async def test_an_unreachable_provider_answers_503_and_the_payment_can_never_be_paid(rig: Rig) -> None:
    rig.wechat.down = True
    with pytest.raises(CloudUnavailable) as unavailable:
        await rig.pay.create("sale-11", 1000, "CNY")
    assert unavailable.value.status == 503 and "payment provider unreachable" in str(unavailable.value)
    assert unavailable.value.retry_after == 60
    found = await rig.pay.find("sale-11")
    assert found is not None and found.status == "cancelled"


async def test_wechat_pay_refuses_what_it_cannot_take_and_the_cabinet_hears_why(rig: Rig) -> None:
    with pytest.raises(CloudRefused) as refused:
        await rig.pay.create("sale-12", 1000, "EUR")
    assert refused.value.status == 422 and "CNY only" in refused.value.reason
    # A merchant key that is not the registered one: WeChat Pay's SIGN_ERROR, passed on.
    stranger = rsa_keys()[2]
    changed = merchant_settings(rig.wechat.url, private_key=private_pem(stranger))
    assert (await rig.retailer("PUT", "/v1/retailer/payment-provider", changed))[0] == 200
    with pytest.raises(CloudRefused) as refused:
        await rig.pay.create("sale-13", 1000, "CNY")
    assert "SIGN_ERROR" in refused.value.reason
    assert rig.wechat.refused[-1][:2] == (401, "SIGN_ERROR")


async def test_a_request_signed_ten_minutes_off_is_refused_by_wechat_pay(rig: Rig) -> None:
    settings = merchant_settings(rig.wechat.url)
    secrets_ = {k: settings.pop(k) for k in ("private_key", "apiv3_key")}
    settings.pop("provider")
    skewed = WeChatPay(Merchant.parse(settings, secrets_), rig.url + "/notify", now=lambda: time.time() - 600)
    with pytest.raises(ProviderUnreachable):  # nor is WeChat Pay's answer believed by a clock that far off
        await skewed.create(PaymentRequest("order-skewed-1", 1000, "CNY", "test", time.time() + 300))
    status, code, message = rig.wechat.refused[-1]
    assert (status, code) == (401, "SIGN_ERROR") and "timestamp" in message


async def test_answers_not_signed_by_the_configured_platform_key_are_not_believed(rig: Rig) -> None:
    stranger = rsa_keys()[2]
    changed = merchant_settings(rig.wechat.url, platform_public_key=public_pem(stranger))
    assert (await rig.retailer("PUT", "/v1/retailer/payment-provider", changed))[0] == 200
    with pytest.raises(CloudUnavailable) as unavailable:
        await rig.pay.create("sale-14", 1000, "CNY")
    assert "does not verify" in str(unavailable.value)


async def test_the_retailer_refunds_a_paid_payment_through_wechat_pay_once(rig: Rig) -> None:
    created = await rig.pay.create("sale-15", PRICE_FEN, "CNY")
    await rig.phone_pays(created.qr_text)
    await until(lambda: delivered(rig, created.payment_id), what="paid")
    path = f"/v1/retailer/payments/{created.payment_id}/refund"
    assert (await rig.retailer("POST", path, token=rig.other_token))[0] == 404  # not shop-b's
    status, refunded = await rig.retailer("POST", path)
    assert status == 200 and refunded["status"] == "refunded" and refunded["refunded_by"] == "api"
    assert (await rig.retailer("POST", path)) == (200, refunded)  # asked again: the same answer, no second refund
    order = rig.wechat.orders[(MCHID, created.payment_id)]
    assert [r.refund for r in order.refunds.values()] == [PRICE_FEN]
    status, listed = await rig.retailer("GET", "/v1/retailer/payments")
    assert [p["status"] for p in listed["payments"]] == ["refunded"]


async def test_credentials_are_shown_masked_and_never_stored_in_clear(rig: Rig, tmp_path: Path) -> None:
    status, shown = await rig.retailer("GET", "/v1/retailer/payment-provider")
    assert status == 200 and shown["provider"] == "wechatpay" and shown["settings"]["mchid"] == MCHID
    assert set(shown["secrets"]) == {"private_key", "apiv3_key"}
    assert APIV3_KEY not in json.dumps(shown) and "PRIVATE KEY" not in json.dumps(shown)
    assert shown["secrets"]["apiv3_key"] == f"set (32 characters, ending {APIV3_KEY[-4:]})"
    # A secret left out keeps the stored one; a bad one is refused naming the field.
    kept = {k: v for k, v in merchant_settings(rig.wechat.url).items() if k not in ("private_key", "apiv3_key")}
    assert (await rig.retailer("PUT", "/v1/retailer/payment-provider", kept))[0] == 200
    status, refusal = await rig.retailer("PUT", "/v1/retailer/payment-provider", {**kept, "apiv3_key": "too short"})
    assert status == 422 and refusal["error"].startswith("apiv3_key:")
    status, refusal = await rig.retailer("PUT", "/v1/retailer/payment-provider", {**kept, "provider": "paypal"})
    assert status == 422 and "provider" in refusal["error"]
    created = await rig.pay.create("sale-16", 1000, "CNY")  # the kept secrets still sign
    assert created.qr_text.startswith("weixin://")
    with closing(sqlite3.connect(rig.store.path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("cloud.db*"))
    merchant_key = private_pem(rsa_keys()[0])
    for secret in (APIV3_KEY, merchant_key.splitlines()[1], merchant_key.splitlines()[5]):
        assert secret.encode() not in on_disk
    assert MCHID.encode() in on_disk and PLATFORM_SERIAL.encode() in on_disk  # the public settings are there


def _sign(key: RSAPrivateKey, headers: dict[str, str], body: bytes) -> str:
    return sign(key, f"{headers['Wechatpay-Timestamp']}\n{headers['Wechatpay-Nonce']}\n{body.decode()}\n")


async def test_the_emulator_refuses_requests_without_a_valid_signature(rig: Rig) -> None:
    async with rig.session.post(rig.wechat.url + "/v3/pay/transactions/native", json={}) as resp:
        assert resp.status == 401 and (await resp.json())["code"] == "SIGN_ERROR"
    headers = {
        "Authorization": 'WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="a",signature="b",timestamp="1",serial_no="c"'
    }
    async with rig.session.post(rig.wechat.url + "/v3/pay/transactions/native", json={}, headers=headers) as resp:
        assert resp.status == 400 and (await resp.json())["code"] == "MCH_NOT_EXISTS"
    with pytest.raises(Refusal):
        rig.wechat.pay("no-such-order")
