"""A real cloud server on an ephemeral 127.0.0.1 port with a fake clock, and two registered cabinets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from cloud_stub.server import start_cloud
from cloud_stub.store import SqlCloudStore, open_store
from tests.cloud.cloud_helpers import CAB, OTHER, Clock, Cloud


@pytest.fixture
def store(cloud_target: str) -> Iterator[SqlCloudStore]:
    """The cloud's store, once on SQLite and once on PostgreSQL."""
    s = open_store(cloud_target)
    yield s
    s.close()


@pytest.fixture
async def cloud(store: SqlCloudStore) -> AsyncIterator[Cloud]:
    clock = Clock()
    tokens = {"shop-a": store.add_retailer("shop-a"), "shop-b": store.add_retailer("shop-b")}
    keys = {CAB: store.add_cabinet(CAB, "shop-a"), OTHER: store.add_cabinet(OTHER, "shop-b")}
    runner, url = await start_cloud(store, now=clock, simulate_payments=True)
    async with aiohttp.ClientSession() as session:
        yield Cloud(url, store, clock, session, keys, tokens)
    await runner.cleanup()
