"""A WeChat Pay merchant and platform for the tests: the emulator that knows the merchant (its keys and clock are
``provider_rig``'s), and the settings a retailer enters to use it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from cloud_stub.app import PAYMENTS
from cloud_stub.payments.credentials import Sealer
from cloud_stub.payments.emulators.wechatpay import MerchantAccount, WeChatPayEmulator
from cloud_stub.payments.service import Payments
from cloud_stub.server import start_cloud
from cloud_stub.store import SqliteCloudStore
from sync_client.cloud_client import CloudClient
from sync_client.scan_to_pay import ScanToPayClient
from tests.cloud.provider_rig import Clock, private_pem, public_pem, rsa_keys

MCHID = "1900009191"
APPID = "wxd678efh567hg6787"
SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
PLATFORM_SERIAL = "PUB_KEY_ID_0119000091912025010100000001"
APIV3_KEY = "k3Y9aV2mQ8zL5xR1tB7nC4wE6uH0jP2s"  # 32 characters, as the merchant platform asks
SECRET_KEY_HEX = "7f" * 32
CAB = "cab-wx"
# The notification schedule: the documented one runs from 15 s to hours; the tests' from milliseconds.
RETRIES_S = (0.01, 0.01, 0.02, 0.05, 0.1)


def merchant_settings(base_url: str, **changes: str) -> dict[str, str]:
    """What the retailer enters on the console or PUTs to the API."""
    merchant, platform, _ = rsa_keys()
    return {
        "provider": "wechatpay",
        "mchid": MCHID,
        "appid": APPID,
        "serial_no": SERIAL,
        "platform_serial": PLATFORM_SERIAL,
        "platform_public_key": public_pem(platform),
        "base_url": base_url,
        "private_key": private_pem(merchant),
        "apiv3_key": APIV3_KEY,
        **changes,
    }


def emulator(now: Callable[[], float] | None = None) -> WeChatPayEmulator:
    merchant, platform, _ = rsa_keys()
    kwargs = {"now": now} if now is not None else {}
    made = WeChatPayEmulator(platform, PLATFORM_SERIAL, retries_s=RETRIES_S, **kwargs)
    made.add_merchant(MerchantAccount(MCHID, APPID, SERIAL, merchant.public_key(), APIV3_KEY.encode()))
    return made


@dataclass
class Rig:
    url: str
    store: SqliteCloudStore
    wechat: WeChatPayEmulator
    pay: ScanToPayClient  # the cabinet's client
    session: aiohttp.ClientSession
    token: str
    other_token: str
    clock: Clock
    payments: Payments

    async def retailer(
        self, method: str, path: str, body: object = None, token: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        async with self.session.request(method, self.url + path, json=body, headers=headers) as resp:
            return resp.status, await resp.json()

    async def phone_pays(self, code_url: str) -> tuple[int, dict[str, Any]]:
        """The shopper scans the code with WeChat and pays."""
        async with self.session.post(self.wechat.url + "/emulator/pay", json={"code_url": code_url}) as resp:
            return resp.status, await resp.json()

    async def notify(self, headers: dict[str, str], body: bytes, retailer: str = "shop-a") -> int:
        url = f"{self.url}/v1/payments/notify/wechatpay/{retailer}"
        async with self.session.post(url, data=body, headers=headers) as resp:
            return resp.status


@pytest.fixture
async def rig(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    """The cloud (its payment catch-up every ``request.param`` s when parametrized indirectly, else hourly), the
    WeChat Pay emulator, and retailer shop-a's cabinet with WeChat Pay configured."""
    catch_up_s = getattr(request, "param", 3600.0)
    clock = Clock()
    wechat = emulator(now=clock)
    await wechat.start()
    store = SqliteCloudStore(tmp_path / "cloud.db")
    token, other = store.add_retailer("shop-a"), store.add_retailer("shop-b")
    key = store.add_cabinet(CAB, "shop-a")
    runner, url = await start_cloud(
        store, now=clock, secret_key=Sealer.from_text(SECRET_KEY_HEX), payment_catch_up_s=catch_up_s
    )
    client = CloudClient(url, CAB, key, request_timeout_s=5)
    async with aiohttp.ClientSession() as session:
        made = Rig(url, store, wechat, ScanToPayClient(client), session, token, other, clock, runner.app[PAYMENTS])
        status, _ = await made.retailer("PUT", "/v1/retailer/payment-provider", merchant_settings(wechat.url))
        assert status == 200
        yield made
    await client.close()
    await runner.cleanup()
    await wechat.stop()
    store.close()
