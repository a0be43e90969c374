"""Each cabinet's version and update state on the fleet page and the cabinet's page, over real HTTP (the cloud
app on 127.0.0.1, an owner signed in): the newest of ``update.installed``, ``update.failed`` and
``update.refused`` the cabinet uploaded, in English and Chinese; another retailer's cabinets never show."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from cloud_stub.app import create_app
from cloud_stub.console.auth import hash_password
from cloud_stub.store import SqliteCloudStore
from sync_client.schema import Event
from tests.console.http_sign_in import PASSWORD, signed_in

SHOP, OWNER = "velo-mall", "owner@velo-mall.example"


def events(cabinet: str, *kinds: tuple[str, dict[str, Any]]) -> list[Event]:
    at = "2026-11-30T12:00:00.000Z"
    return [Event(str(uuid.uuid4()), cabinet, seq, k, at, float(seq), p) for seq, (k, p) in enumerate(kinds, 1)]


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[TestServer]:
    store = SqliteCloudStore(tmp_path / "cloud.db")
    store.add_retailer(SHOP)
    store.add_retailer("other")
    for cabinet in ("cab-ok", "cab-back", "cab-refused", "cab-quiet"):
        store.add_cabinet(cabinet, SHOP)
    store.add_cabinet("cab-other", "other")
    heartbeat = ("heartbeat", {"faults": [], "software": "1.1.0"})
    store.store_events(
        "cab-ok", events("cab-ok", heartbeat, ("update.installed", {"version": "1.1.0", "previous": "1.0.0"}))
    )
    failed = {"version": "1.1.0", "running": "1.0.0", "reason": "no sync within 600 s"}
    installed = ("update.installed", {"version": "1.0.0", "previous": "0.9.0"})
    store.store_events("cab-back", events("cab-back", installed, ("update.failed", failed)))  # the newest wins
    refused = {"version": None, "reason": "metadata past its expiry (freeze): timestamp.json"}
    store.store_events("cab-refused", events("cab-refused", ("update.refused", refused)))
    store.store_events("cab-other", events("cab-other", ("update.failed", failed)))
    store.add_user(SHOP, OWNER, "owner", password_hash=hash_password(PASSWORD))
    served = TestServer(create_app(store), host="127.0.0.1")
    await served.start_server()
    yield served
    await served.close()
    store.close()


def update_cells(page: str) -> dict[str, str]:
    """cabinet id -> the text of its update state on the fleet page."""
    cells = {}
    for row in re.findall(r'<tr data-cabinet="([^"]+)">(.*?)</tr>', page, re.S):
        found = re.search(r'data-testid="update">(.*?)</span>', row[1], re.S)
        if found:
            cells[row[0]] = html.unescape(found.group(1))
    return cells


async def test_the_fleet_shows_each_cabinets_newest_update_outcome(server: TestServer) -> None:
    session = await signed_in(server, OWNER)
    async with session:
        async with session.get("/console/fleet") as response:
            page = await response.text()
        assert update_cells(page) == {
            "cab-ok": "updated to 1.1.0 (from 1.0.0)",
            "cab-back": "update to 1.1.0 failed, back on the old version: no sync within 600 s",
            "cab-refused": "an update was refused: metadata past its expiry (freeze): timestamp.json",
        }
        assert "cab-other" not in page
        async with session.get("/console/cabinets/cab-back") as response:
            cabinet_page = await response.text()
        assert "update to 1.1.0 failed, back on the old version" in html.unescape(cabinet_page)
        async with session.get("/console/fleet", headers={"Accept-Language": "zh-CN"}) as response:
            chinese = update_cells(await response.text())
    assert chinese["cab-ok"] == "已更新到 1.1.0（原 1.0.0）"
    assert chinese["cab-back"].startswith("更新到 1.1.0 失败，已回到旧版本")
