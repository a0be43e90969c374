"""A real cloud stub on a loopback port, a registered retailer and cabinet, and the cabinet's outbox."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from cloud_stub.server import start_cloud
from cloud_stub.store import SqliteCloudStore
from sync_client.cloud_client import CloudClient
from sync_client.outbox import Outbox

CAB = "cab-1"
PRODUCTS = [
    {
        "sku": "SCOOT-S1",
        "name": "Volt S1 e-scooter",
        "price_cents": 49900,
        "summary": "Foldable city scooter",
        "materials": ["aluminium"],
        "colours": ["#1f8a70"],
        "specs": {"range": "35 km"},
        "media": [{"kind": "image", "url": "media/scoot-s1.jpg"}],
    },
    {"sku": "BIKE-C7", "name": "Cruiser C7 e-bike", "price_cents": 129900},
]
GOOD_CONFIG = {"currency": "EUR", "products": PRODUCTS, "scan_to_pay": {"enabled": True, "provider": "sim"}}


class CloudClock:
    """The cloud's clock: real time, moved by ``offset`` seconds when a test needs the cloud to be later."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class Site:
    url: str
    store: SqliteCloudStore
    key: bytes
    token: str
    outbox: Outbox
    client: CloudClient
    session: aiohttp.ClientSession
    cloud_clock: CloudClock
    runner: web.AppRunner | None = None  # the cloud's server: a test may stop it and start another in its place

    async def retailer(self, method: str, path: str, body: object = None) -> tuple[int, object]:
        async with self.session.request(
            method, self.url + path, json=body, headers={"Authorization": f"Bearer {self.token}"}
        ) as resp:
            return resp.status, await resp.json()


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    store = SqliteCloudStore(tmp_path / "cloud.db")
    token = store.add_retailer("shop-a")
    key = store.add_cabinet(CAB, "shop-a")
    cloud_clock = CloudClock()
    runner, url = await start_cloud(store, simulate_payments=True, now=cloud_clock)
    outbox = Outbox(tmp_path / "cabinet.db", CAB)
    client = CloudClient(url, CAB, key, request_timeout_s=5)
    async with aiohttp.ClientSession() as session:
        site = Site(url, store, key, token, outbox, client, session, cloud_clock, runner)
        yield site
    await client.close()
    if site.runner is not None:
        await site.runner.cleanup()
    site.outbox.close()
    store.close()
