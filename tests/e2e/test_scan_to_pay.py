"""Scan-to-pay through each real provider end to end: the cabinet (`kiosk run --sim`) and the cloud
(`kiosk-cloud serve`, with its secret key) as real processes, the provider's emulator (WeChat Pay, Alipay, BTCPay
Server) as a real server on a loopback port. The retailer configures its merchant through the API; the shopper
pays the code the cabinet shows with the provider's app or wallet; the sale reaches the retailer's sales with how
it was paid, counted by method. With the provider unreachable the cabinet says so and withdraws scan-to-pay."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from cloud_stub.payments.emulators.alipay import AlipayEmulator, AppAccount
from cloud_stub.payments.emulators.btcpay import BTCPayEmulator, Store
from cloud_stub.payments.emulators.wechatpay import WeChatPayEmulator
from firmware.control_client import ControlClient, add_cabinet, add_retailer, start_cloud, start_sim_cabinet
from tests.cloud import wechatpay_rig
from tests.cloud.provider_rig import private_pem, public_pem, rsa_keys
from tests.e2e.conftest import CABINET_ID, FAST_SYNC, RETAILER, RetailerApi, retailer_document
from tests.e2e.test_retail_journeys import door_open_and_close, to_checkout
from tests.polling import eventually

PRICE_FEN = 49900  # SCOOT-S1 at 499.00 CNY
ALIPAY_APP_ID = "2021000000000001"
BTCPAY_STORE, BTCPAY_API_KEY, BTCPAY_WEBHOOK_SECRET = (
    "7rVQzDhhR5bqUgrKsYfMfNbhBnMzR1VHW3AUVgwVpKey",
    "a1b2c3d4e5",
    "whsec-e2e",
)
T = TypeVar("T")
Emulator = WeChatPayEmulator | AlipayEmulator | BTCPayEmulator


@dataclass(frozen=True)
class Provider:
    """What differs between the providers in this journey; everything else is the same test."""

    name: str
    make: Callable[[], Emulator]  # the emulator, made on its own loop, knowing the merchant
    settings: Callable[[Emulator], dict[str, str]]  # what the retailer PUTs
    code_starts: str  # what the QR code the cabinet shows starts with
    phone_pays: Callable[[Emulator, str], tuple[str, dict[str, Any]]]  # the QR code -> (path, body) at the emulator
    method_detail: str  # how the shopper paid, as the retailer's sales say
    provider_ref: Callable[[Emulator, str], str]  # the provider's own id for the cloud's payment id


def _wechat_ref(e: Emulator, payment_id: str) -> str:
    assert isinstance(e, WeChatPayEmulator)
    return str(e.orders[(wechatpay_rig.MCHID, payment_id)].transaction_id)


def _alipay() -> Emulator:
    keys = rsa_keys()
    made = AlipayEmulator(keys[1], retries_s=wechatpay_rig.RETRIES_S)
    made.add_app(AppAccount(ALIPAY_APP_ID, keys[0].public_key()))
    return made


def _alipay_settings(e: Emulator) -> dict[str, str]:
    assert isinstance(e, AlipayEmulator)
    keys = rsa_keys()
    return {
        "provider": "alipay",
        "app_id": ALIPAY_APP_ID,
        "alipay_public_key": public_pem(keys[1]),
        "gateway": e.gateway,
        "app_private_key": private_pem(keys[0]),
    }


def _alipay_ref(e: Emulator, payment_id: str) -> str:
    assert isinstance(e, AlipayEmulator)
    return e.orders[(ALIPAY_APP_ID, payment_id)].trade_no


def _btcpay_ref(e: Emulator, payment_id: str) -> str:
    assert isinstance(e, BTCPayEmulator)
    return next(i.id for i in e.invoices.values() if i.metadata.get("orderId") == payment_id)


PROVIDERS = [
    Provider(
        "wechatpay",
        wechatpay_rig.emulator,
        lambda e: wechatpay_rig.merchant_settings(e.url),
        "weixin://wxpay/bizpayurl?pr=",
        lambda e, code: ("/emulator/pay", {"code_url": code}),
        "wechatpay:OTHERS",
        _wechat_ref,
    ),
    Provider(
        "alipay",
        _alipay,
        _alipay_settings,
        "https://qr.alipay.com/",
        lambda e, code: ("/emulator/pay", {"qr_code": code, "fund_channel": "PCREDIT"}),  # with Huabei
        "alipay:huabei",
        _alipay_ref,
    ),
    Provider(
        "btcpay",
        lambda: BTCPayEmulator(retries_s=wechatpay_rig.RETRIES_S),
        lambda e: {
            "provider": "btcpay",
            "server_url": e.url,
            "store_id": BTCPAY_STORE,
            "api_key": BTCPAY_API_KEY,
            "webhook_secret": BTCPAY_WEBHOOK_SECRET,
        },
        "lightning:",
        lambda e, code: ("/emulator/pay", {"link": code}),  # the wallet pays the BOLT11 invoice
        "btc:lightning",  # InvoiceSettled does not say how: the cloud asks once
        _btcpay_ref,
    ),
]


class EmulatorThread:
    """A provider's emulator on an event loop of its own (the test itself is synchronous, as the shopper)."""

    def __init__(self, provider: Provider) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.emulator: Emulator = self.call(self._make(provider))
        self.url: str = self.call(self.emulator.start())

    @staticmethod
    async def _make(provider: Provider) -> Emulator:
        return provider.make()

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    def stop(self) -> None:
        self.call(self.emulator.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@pytest.fixture(params=PROVIDERS, ids=[p.name for p in PROVIDERS])
def provider(request: pytest.FixtureRequest) -> Provider:
    chosen: Provider = request.param
    return chosen


@pytest.fixture
def emulator(provider: Provider) -> Iterator[EmulatorThread]:
    running = EmulatorThread(provider)
    yield running
    running.stop()


@pytest.fixture
def shop(tmp_path: Path, provider: Provider, emulator: EmulatorThread) -> Iterator[tuple[RetailerApi, ControlClient]]:
    """The cloud with its secret key, a retailer selling in CNY with the provider configured, and its cabinet."""
    secret = tmp_path / "secret.key"
    secret.write_text(wechatpay_rig.SECRET_KEY_HEX + "\n")
    secret.chmod(0o600)
    cloud, url = start_cloud(tmp_path, simulate_payments=False, args=("--secret-key-file", str(secret)))
    api = RetailerApi(url, add_retailer(tmp_path, RETAILER))
    key_file = tmp_path / "cabinet.key"
    key_file.write_text(add_cabinet(tmp_path, CABINET_ID, RETAILER) + "\n")
    key_file.chmod(0o600)
    settings = provider.settings(emulator.emulator)
    shown = api.call("PUT", "/v1/retailer/payment-provider", settings)
    assert shown["provider"] == provider.name
    answered = json.dumps(shown)
    assert "PRIVATE KEY" not in answered and not any(settings[k] in answered for k in shown["secrets"])
    if isinstance(emulator.emulator, BTCPayEmulator):  # the retailer adds the webhook in its BTCPay store
        hook = f"{url}/v1/payments/notify/btcpay/{RETAILER}"
        emulator.emulator.add_store(Store(BTCPAY_STORE, BTCPAY_API_KEY, hook, BTCPAY_WEBHOOK_SECRET))
    api.call("PUT", f"/v1/retailer/cabinets/{CABINET_ID}/config", {**retailer_document(), "currency": "CNY"})
    config = f"""
[cabinet]
id = "{CABINET_ID}"
key_file = "{key_file}"
currency = "CNY"
[sync]
backoff_initial_s = 0.1
backoff_max_s = 1.0
{FAST_SYNC}"""
    proc, client = start_sim_cabinet(tmp_path, config_text=config, cloud_url=url)
    try:
        client.wait_for(lambda s: "qr" in s["payment_methods"], what="scan-to-pay offered")
        yield api, client
    finally:
        code = proc.stop()
        cloud.stop()
    assert code == 0, proc.log_tail()


def payment_qr(state: dict[str, Any]) -> str:
    """What the payment QR on the screen encodes: what the shopper's phone reads."""
    return str(next(w["qr"] for w in state["widgets"] if w["id"] == "payment_qr"))


def test_a_sale_paid_with_the_providers_qr_code_reaches_the_retailers_sales_with_its_method(
    shop: tuple[RetailerApi, ControlClient], provider: Provider, emulator: EmulatorThread
) -> None:
    api, client = shop
    to_checkout(client)  # type: ignore[no-untyped-call]
    client.tap("pay:qr")
    state = client.wait_for(lambda s: s["payment_status"] == "scan_to_pay", what="the provider's QR code shown")
    code = payment_qr(state)
    assert code.startswith(provider.code_starts)
    path, body = provider.phone_pays(emulator.emulator, code)  # the shopper scans it and pays
    request = urllib.request.Request(emulator.url + path, data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
    sales = take_it_and_find_the_sale(client, api, ("qr", provider.method_detail))
    assert sales["by_method"] == [
        {"method": provider.method_detail, "currency": "CNY", "count": 1, "amount_cents": PRICE_FEN}
    ]
    [payment] = api.call("GET", "/v1/retailer/payments")["payments"]
    assert (payment["provider"], payment["status"]) == (provider.name, "paid")
    assert payment["provider_ref"] == provider.provider_ref(emulator.emulator, payment["id"])
    assert any(d.accepted for d in emulator.emulator.notifier.deliveries), "the provider's notification acknowledged"


def test_provider_unreachable_the_cabinet_says_so_and_withdraws_scan_to_pay(
    shop: tuple[RetailerApi, ControlClient], emulator: EmulatorThread
) -> None:
    _, client = shop
    emulator.emulator.down = True
    to_checkout(client)  # type: ignore[no-untyped-call]
    client.tap("pay:qr")
    state = client.wait_for(lambda s: s["message"] == "qr_unavailable", what="the shopper told")
    assert state["screen"] == "product"
    client.wait_for(lambda s: "qr" not in s["payment_methods"], what="scan-to-pay withdrawn")
    assert "scan_to_pay" in client.state()["faults"]  # named in /state and `kiosk status` for the technician


@pytest.mark.parametrize("provider", PROVIDERS[:1], ids=[PROVIDERS[0].name], indirect=True)
def test_a_card_sale_in_cny_is_paid_on_the_terminal_beside_scan_to_pay(
    shop: tuple[RetailerApi, ControlClient], provider: Provider
) -> None:
    api, client = shop
    # the simulated terminal is set up for the cabinet's currency: it registers in CNY, so cards are offered
    state = client.wait_for(lambda s: "terminal" in s["payment_methods"], what="card payment offered in CNY")
    assert "qr" in state["payment_methods"] and "terminal" not in state["faults"]
    to_checkout(client)  # type: ignore[no-untyped-call]
    client.tap("pay:terminal")
    client.wait_for(lambda s: s["payment_status"] == "present_card", what="the terminal asks for a card")
    client.sim("pos/approve", {"card": "chip"})
    take_it_and_find_the_sale(client, api, ("terminal", "chip"))


def take_it_and_find_the_sale(client: ControlClient, api: RetailerApi, paid_by: tuple[str, str]) -> dict[str, Any]:
    """The shopper takes the product; the retailer's sales then hold it, completed, paid ``paid_by`` (method,
    detail) in CNY: the sales answer."""
    door_open_and_close(client, "sale", "door_opened")  # type: ignore[no-untyped-call]
    client.wait_screen("thanks")
    client.wait_for(lambda s: s["outbox"]["pending"] == 0, what="the sale uploaded")
    sales: dict[str, Any] = eventually(
        lambda: api.call("GET", f"/v1/retailer/cabinets/{CABINET_ID}/sales"),
        lambda found: any(s["status"] == "completed" for s in found["sales"]),
        10,
        "the sale completed in the retailer's sales",
    )
    [sale] = sales["sales"]
    assert (sale["method"], sale["method_detail"], sale["amount_cents"], sale["currency"]) == (
        *paid_by,
        PRICE_FEN,
        "CNY",
    )
    return sales
