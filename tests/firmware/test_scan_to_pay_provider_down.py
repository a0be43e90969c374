"""The retailer's payment provider (WeChat Pay) cannot be reached: the cloud answers 503 with Retry-After, the
cabinet tells the shopper, withdraws scan-to-pay for that long and offers it again afterwards. The cloud and
the WeChat Pay emulator are real servers on 127.0.0.1; the cabinet's terminal reads an injected clock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from firmware.scan_to_pay_terminal import ScanToPayTerminal
from hal.errors import DeviceFault
from hal.payment import PaymentOutcome
from sync_client.cloud_client import CloudClient
from sync_client.outbox import Outbox
from sync_client.scan_to_pay import ScanToPayClient
from tests.cloud.wechatpay_rig import CAB, Rig, rig
from tests.firmware.test_scan_to_pay_follow_ups import sale_journey
from tests.polling import until

__all__ = ["rig"]  # the fixture


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_an_unreachable_provider_withdraws_scan_to_pay_until_the_clouds_retry_after(rig: Rig) -> None:
    clock = Monotonic()
    terminal = ScanToPayTerminal(rig.pay, poll_s=0.02, monotonic=clock)
    await terminal.check()  # offered
    rig.wechat.down = True
    with pytest.raises(DeviceFault, match="payment provider unreachable"):
        await terminal.authorize(1000, "CNY", reference="sale-down-1")
    with pytest.raises(DeviceFault, match="payment provider unreachable"):
        await terminal.check()  # the device watch keeps it off the screen ...
    clock.now += 59
    with pytest.raises(DeviceFault):
        await terminal.check()
    rig.wechat.down = False
    clock.now += 2  # ... until the cloud's Retry-After (60 s) has passed
    await terminal.check()
    paying = asyncio.create_task(terminal.authorize(1000, "CNY", reference="sale-down-2"))
    await until(lambda: terminal.qr_text is not None, what="a QR code from WeChat Pay again")
    assert terminal.qr_text is not None and terminal.qr_text.startswith("weixin://")
    await terminal.cancel()
    assert (await paying).outcome is PaymentOutcome.CANCELLED


async def test_a_cloud_that_cannot_be_reached_is_left_to_the_link_watch(rig: Rig) -> None:
    client = CloudClient("http://127.0.0.1:9", CAB, b"k" * 32, request_timeout_s=2)  # nothing listens there
    terminal = ScanToPayTerminal(ScanToPayClient(client), poll_s=0.02, monotonic=Monotonic())
    try:
        with pytest.raises(DeviceFault):
            await terminal.authorize(1000, "CNY", reference="sale-down-3")
        await terminal.check()  # no hold: the uploader and the link watch say when the cloud is back
    finally:
        await client.close()


async def test_the_shopper_reads_that_scan_to_pay_is_unavailable_and_was_not_charged(rig: Rig, tmp_path: Path) -> None:
    journey = sale_journey(Outbox(tmp_path / "cabinet.db", CAB), rig.pay, "CNY")
    rig.wechat.down = True
    journey.start()
    journey.select("SCOOT-S1")
    journey.buy()
    journey.pay("qr")
    await until(lambda: journey.message is not None, what="the payment ended")
    assert journey.message == "qr_unavailable"
    assert [e.payload["outcome"] for e in journey.outbox.events("payment.failed")] == ["fault"]
    journey.outbox.close()
