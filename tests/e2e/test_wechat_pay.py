"""Scan-to-pay through WeChat Pay end to end: the cabinet (`kiosk run --sim`) and the cloud (`kiosk-cloud serve`,
with its secret key) as real processes, the WeChat Pay emulator as a real server on a loopback port. The retailer
configures its merchant through the API; the shopper pays the code_url the cabinet shows, with WeChat; the sale
reaches the retailer's sales with how it was paid. With WeChat Pay unreachable the cabinet says so and withdraws
scan-to-pay."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from cloud_stub.payments.emulators.wechatpay import WeChatPayEmulator
from firmware.control_client import ControlClient, add_cabinet, add_retailer, start_cloud, start_sim_cabinet
from tests.cloud.wechatpay_rig import MCHID, SECRET_KEY_HEX, emulator, merchant_settings
from tests.e2e.conftest import CABINET_ID, FAST_SYNC, RETAILER, RetailerApi, retailer_document
from tests.e2e.test_retail_journeys import door_open_and_close, to_checkout
from tests.polling import eventually

PRICE_FEN = 49900  # SCOOT-S1 at 499.00 CNY
T = TypeVar("T")


class EmulatorThread:
    """The WeChat Pay emulator on an event loop of its own (the test itself is synchronous, as the shopper)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.wechat: WeChatPayEmulator = self.call(self._make())
        self.url = self.call(self.wechat.start())

    @staticmethod
    async def _make() -> WeChatPayEmulator:
        return emulator()

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    def stop(self) -> None:
        self.call(self.wechat.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@pytest.fixture
def wechat() -> Iterator[EmulatorThread]:
    running = EmulatorThread()
    yield running
    running.stop()


@pytest.fixture
def shop(tmp_path: Path, wechat: EmulatorThread) -> Iterator[tuple[RetailerApi, ControlClient]]:
    """The cloud with its secret key, a retailer selling in CNY with WeChat Pay configured, and its cabinet."""
    secret = tmp_path / "secret.key"
    secret.write_text(SECRET_KEY_HEX + "\n")
    secret.chmod(0o600)
    cloud, url = start_cloud(tmp_path, simulate_payments=False, args=("--secret-key-file", str(secret)))
    api = RetailerApi(url, add_retailer(tmp_path, RETAILER))
    key_file = tmp_path / "cabinet.key"
    key_file.write_text(add_cabinet(tmp_path, CABINET_ID, RETAILER) + "\n")
    key_file.chmod(0o600)
    shown = api.call("PUT", "/v1/retailer/payment-provider", merchant_settings(wechat.url))
    assert shown["provider"] == "wechatpay" and "PRIVATE KEY" not in json.dumps(shown)
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


def test_a_sale_paid_with_a_wechat_pay_qr_code_reaches_the_retailers_sales_with_its_method(
    shop: tuple[RetailerApi, ControlClient], wechat: EmulatorThread
) -> None:
    api, client = shop
    to_checkout(client)  # type: ignore[no-untyped-call]
    client.tap("pay:qr")
    state = client.wait_for(lambda s: s["payment_status"] == "scan_to_pay", what="the WeChat Pay QR code shown")
    code_url = payment_qr(state)
    assert code_url.startswith("weixin://wxpay/bizpayurl?pr=")
    request = urllib.request.Request(  # the shopper scans it with WeChat and pays
        wechat.url + "/emulator/pay", data=json.dumps({"code_url": code_url}).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        paid = json.loads(answer.read())
    assert paid["trade_state"] == "SUCCESS" and paid["amount"]["total"] == PRICE_FEN
    door_open_and_close(client, "sale", "door_opened")  # type: ignore[no-untyped-call]
    client.wait_screen("thanks")
    client.wait_for(lambda s: s["outbox"]["pending"] == 0, what="the sale uploaded")
    sales = eventually(
        lambda: api.call("GET", f"/v1/retailer/cabinets/{CABINET_ID}/sales")["sales"],
        lambda found: any(s["status"] == "completed" for s in found),
        10,
        "the sale completed in the retailer's sales",
    )
    [sale] = sales
    assert (sale["method"], sale["method_detail"], sale["amount_cents"], sale["currency"]) == (
        "qr",
        "wechatpay:OTHERS",
        PRICE_FEN,
        "CNY",
    )
    [payment] = api.call("GET", "/v1/retailer/payments")["payments"]
    assert payment["provider_ref"] == wechat.wechat.orders[(MCHID, payment["id"])].transaction_id
    assert any(d.accepted for d in wechat.wechat.deliveries), "WeChat Pay's notification acknowledged"


def test_wechat_pay_unreachable_the_cabinet_says_so_and_withdraws_scan_to_pay(
    shop: tuple[RetailerApi, ControlClient], wechat: EmulatorThread
) -> None:
    _, client = shop
    wechat.wechat.down = True
    to_checkout(client)  # type: ignore[no-untyped-call]
    client.tap("pay:qr")
    state = client.wait_for(lambda s: s["message"] == "qr_unavailable", what="the shopper told")
    assert state["screen"] == "product"
    client.wait_for(lambda s: "qr" not in s["payment_methods"], what="scan-to-pay withdrawn")
    assert "scan_to_pay" in client.state()["faults"]  # named in /state and `kiosk status` for the technician
