"""The cloud's providers beside WeChat Pay: Alipay and BTCPay Server configured by a retailer through the API and
used by the cloud for its cabinet's payments (the real cloud on loopback, the cabinet's scan-to-pay client, each
provider's emulator). Each provider is told its own notification address; a BTCPay invoice settled on-chain is
counted as on-chain although its InvoiceSettled webhook does not say how it was paid."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from cloud_stub.app import PAYMENTS
from cloud_stub.payments.credentials import Sealer
from cloud_stub.payments.emulators.alipay import AlipayEmulator, AppAccount
from cloud_stub.payments.emulators.btcpay import BTCPayEmulator, Store
from cloud_stub.payments.service import Payments
from cloud_stub.server import start_cloud
from cloud_stub.store import SqliteCloudStore
from sync_client.cloud_client import CloudClient
from sync_client.scan_to_pay import ScanToPayClient
from sync_client.schema import Event
from tests.cloud.provider_rig import private_pem, public_pem, rsa_keys
from tests.cloud.wechatpay_rig import RETRIES_S, SECRET_KEY_HEX
from tests.polling import until

CAB = "cab-pp"
APP_ID = "2021000000000042"
STORE_ID, API_KEY, WEBHOOK_SECRET = "StoreOfShopA1", "api-key-of-shop-a-0123456789", "whsec-shop-a"


def alipay_settings(gateway: str, **changes: str) -> dict[str, str]:
    keys = rsa_keys()
    return {
        "provider": "alipay",
        "app_id": APP_ID,
        "alipay_public_key": public_pem(keys[1]),
        "gateway": gateway,
        "app_private_key": private_pem(keys[0]),
        **changes,
    }


def btcpay_settings(server_url: str, **changes: str) -> dict[str, str]:
    return {
        "provider": "btcpay",
        "server_url": server_url,
        "store_id": STORE_ID,
        "api_key": API_KEY,
        "webhook_secret": WEBHOOK_SECRET,
        **changes,
    }


@dataclass
class Rig:
    url: str
    store: SqliteCloudStore
    alipay: AlipayEmulator
    btcpay: BTCPayEmulator
    pay: ScanToPayClient
    session: aiohttp.ClientSession
    token: str
    payments: Payments

    async def retailer(self, method: str, path: str, body: object = None) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with self.session.request(method, self.url + path, json=body, headers=headers) as resp:
            return resp.status, await resp.json()

    def paid(self, payment_id: str) -> bool:
        found = self.store.payment(payment_id)
        return found is not None and found["status"] == "paid"


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """The cloud with its secret key, retailer shop-a and its cabinet, and the Alipay and BTCPay emulators (the
    BTCPay store's webhook pointing at the cloud, as the retailer sets it up in BTCPay)."""
    keys = rsa_keys()
    alipay = AlipayEmulator(keys[1], retries_s=RETRIES_S)
    alipay.add_app(AppAccount(APP_ID, keys[0].public_key()))
    btcpay = BTCPayEmulator(retries_s=RETRIES_S)
    await alipay.start()
    await btcpay.start()
    store = SqliteCloudStore(tmp_path / "cloud.db")
    token = store.add_retailer("shop-a")
    key = store.add_cabinet(CAB, "shop-a")
    runner, url = await start_cloud(store, secret_key=Sealer.from_text(SECRET_KEY_HEX), payment_catch_up_s=3600)
    btcpay.add_store(Store(STORE_ID, API_KEY, f"{url}/v1/payments/notify/btcpay/shop-a", WEBHOOK_SECRET))
    client = CloudClient(url, CAB, key, request_timeout_s=5)
    async with aiohttp.ClientSession() as session:
        yield Rig(url, store, alipay, btcpay, ScanToPayClient(client), session, token, runner.app[PAYMENTS])
    await client.close()
    await runner.cleanup()
    await btcpay.stop()
    await alipay.stop()
    store.close()


async def test_alipay_configured_through_the_api_is_used_and_notifies_its_own_address(rig: Rig) -> None:
    status, shown = await rig.retailer("PUT", "/v1/retailer/payment-provider", alipay_settings(rig.alipay.gateway))
    assert status == 200 and shown["provider"] == "alipay" and shown["settings"]["app_id"] == APP_ID
    assert shown["secrets"]["app_private_key"].startswith("set (") and "PRIVATE KEY" not in str(shown)
    created = await rig.pay.create("sale-a1", 1234, "CNY")
    assert created.qr_text.startswith("https://qr.alipay.com/")
    order = rig.alipay.find(created.qr_text)
    assert order.notify_url == f"{rig.url}/v1/payments/notify/alipay/shop-a"
    assert order.total == 1234  # 12.34 yuan on the wire
    assert rig.alipay.pay(order, "PCREDIT")
    await until(lambda: rig.paid(created.payment_id), what="paid by Alipay's notification")
    payment = rig.store.payment(created.payment_id)
    assert payment is not None
    assert (payment["provider"], payment["provider_ref"], payment["method_detail"]) == (
        "alipay",
        order.trade_no,
        "alipay:huabei",
    )
    await until(lambda: bool(rig.alipay.notifier.deliveries), what="the notification's answer recorded")
    assert [d.accepted for d in rig.alipay.notifier.deliveries] == [True]  # "success": not sent again


@pytest.mark.parametrize(("method", "detail"), [("BTC-CHAIN", "btc:onchain"), ("BTC-LN", "btc:lightning")])
async def test_a_btcpay_invoice_settled_by_webhook_is_counted_by_how_it_was_paid(
    rig: Rig, method: str, detail: str
) -> None:
    status, shown = await rig.retailer("PUT", "/v1/retailer/payment-provider", btcpay_settings(rig.btcpay.url))
    assert status == 200 and shown["provider"] == "btcpay" and set(shown["secrets"]) == {"api_key", "webhook_secret"}
    created = await rig.pay.create("sale-b1", 49900, "CNY")
    invoice = rig.btcpay.find(created.qr_text)
    assert created.qr_text == f"lightning:{invoice.bolt11}"
    rig.btcpay.pay(invoice, method)
    if method == "BTC-CHAIN":
        assert not rig.paid(created.payment_id)  # received, waiting for confirmations
        rig.btcpay.confirm(invoice)
    await until(lambda: rig.paid(created.payment_id), what="paid by BTCPay's InvoiceSettled webhook")
    payment = rig.store.payment(created.payment_id)
    assert payment is not None and (payment["provider_ref"], payment["method_detail"]) == (invoice.id, detail)
    await until(lambda: bool(rig.btcpay.notifier.deliveries), what="the webhooks' answers recorded")
    assert all(d.accepted for d in rig.btcpay.notifier.deliveries)


async def test_the_retailers_sales_count_completed_sales_by_how_they_were_paid(rig: Rig) -> None:
    assert (await rig.retailer("PUT", "/v1/retailer/payment-provider", alipay_settings(rig.alipay.gateway)))[0] == 200
    created = await rig.pay.create("sale-q", 1234, "CNY")
    assert rig.alipay.pay(rig.alipay.find(created.qr_text), "ALIPAYACCOUNT")
    await until(lambda: rig.paid(created.payment_id), what="paid by Alipay's notification")
    facts = {"sku": "SCOOT-S1", "currency": "CNY"}
    sales = [  # (sale, method, amount, what became of it) as the cabinet reports them
        ("sale-q", "qr", 1234, "sale.completed"),
        ("sale-t1", "terminal", 500, "sale.completed"),
        ("sale-t2", "terminal", 700, "sale.completed"),
        ("sale-t3", "terminal", 900, "sale.unclaimed"),  # the money went back: not a sale
    ]
    events: list[Event] = []
    for sale_id, method, cents, ending in sales:
        for kind in ("payment.approved", ending):
            payload = {**facts, "sale_id": sale_id, "method": method, "amount_cents": cents}
            at = f"2026-11-30T10:00:{len(events):02d}.000Z"
            events.append(Event(str(uuid.uuid4()), CAB, len(events) + 1, kind, at, float(len(events)), payload))
    rig.store.store_events(CAB, events)
    status, answer = await rig.retailer("GET", f"/v1/retailer/cabinets/{CAB}/sales")
    assert status == 200
    assert answer["by_method"] == [
        {"method": "alipay:balance", "currency": "CNY", "count": 1, "amount_cents": 1234},
        {"method": "terminal", "currency": "CNY", "count": 2, "amount_cents": 1200},
    ]


async def test_credentials_are_checked_by_the_chosen_providers_own_rules(rig: Rig) -> None:
    put = "/v1/retailer/payment-provider"
    status, error = await rig.retailer("PUT", put, {"provider": "paypal"})
    assert status == 422 and "provider: expected one of alipay, btcpay, wechatpay" in error["error"]
    status, error = await rig.retailer("PUT", put, btcpay_settings("http://btcpay.example.com"))
    assert status == 422 and "server_url: expected an https:// URL" in error["error"]
    status, error = await rig.retailer("PUT", put, alipay_settings(rig.alipay.gateway, app_private_key="not a key"))
    assert status == 422 and "app_private_key" in error["error"]
    assert (await rig.retailer("PUT", put, alipay_settings(rig.alipay.gateway)))[0] == 200
    # Alipay's stored secret is not BTCPay's: switching provider asks for its own secrets.
    no_secrets = {k: v for k, v in btcpay_settings(rig.btcpay.url).items() if k not in ("api_key", "webhook_secret")}
    status, error = await rig.retailer("PUT", put, no_secrets)
    assert status == 422 and "api_key: required" in error["error"]
    status, shown = await rig.retailer("GET", put)
    assert status == 200 and shown["provider"] == "alipay"
