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
from cloud_stub.console.releases import chosen
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


async def csrf(session: Any, path: str) -> str:
    async with session.get(path) as response:
        found = re.search(r'name="csrf_token" value="([^"]+)"', await response.text())
    assert found
    return found.group(1)


def rollout_rows(page: str) -> list[tuple[str, str, str]]:
    """(version, state, counts) of each rollout on the page, newest first."""
    rows = []
    for row in re.findall(r"<tr data-rollout=[^>]*>(.*?)</tr>", page, re.S):
        version = re.search(r'<th scope="row"[^>]*>(.*?)</th>', row, re.S)
        state = re.search(r'data-testid="rollout-state">(.*?)</td>', row, re.S)
        counts = re.search(r'data-testid="rollout-counts">(.*?)</td>', row, re.S)
        assert version and state and counts
        clean = [html.unescape(re.sub(r"<[^>]+>", "", m.group(1))).strip() for m in (version, state, counts)]
        rows.append((clean[0], clean[1], clean[2]))
    return rows


async def test_an_owner_rolls_a_version_out_to_a_percentage_and_it_pauses_at_the_failure_limit(
    server: TestServer, tmp_path: Path
) -> None:
    session = await signed_in(server, OWNER)
    async with session:
        token = await csrf(session, "/console/releases")
        bad = {"csrf_token": token, "version": "one", "percent": "50", "failure_limit": "1"}
        async with session.post("/console/releases", data=bad) as response:
            assert response.status == 400
            assert "“one” is not a version number" in html.unescape(await response.text())
        stranger = {**bad, "version": "1.2.0", "cabinets": "cab-ok, cab-other"}
        async with session.post("/console/releases", data=stranger) as response:
            assert response.status == 400
            assert "Not your cabinets: cab-other." in html.unescape(await response.text())
        half = {**bad, "version": "1.2.0", "percent": "50", "failure_limit": "1"}
        async with session.post("/console/releases", data=half) as response:
            page = await response.text()
        assert rollout_rows(page) == [
            ("1.2.0", "running", "2 cabinets: 0 installed, 0 failed (pauses at 1), 2 waiting")
        ]
    # half of the four cabinets got the update_check naming 1.2.0; one of them fails the update
    store = SqliteCloudStore(tmp_path / "cloud.db")
    try:
        targeted = [c for c in ("cab-ok", "cab-back", "cab-refused", "cab-quiet") if store.pending_commands(c)]
        assert len(targeted) == 2
        assert all(store.pending_commands(c)[0]["args"] == {"version": "1.2.0"} for c in targeted)
        failure = {"version": "1.2.0", "running": "1.1.0", "reason": "selftest: lock: relay did not switch on"}
        store.store_events(targeted[0], events(targeted[0], ("update.failed", failure))[:1])
    finally:
        store.close()
    session = await signed_in(server, OWNER)
    async with session:
        async with session.get("/console/releases", headers={"Accept-Language": "zh-CN"}) as response:
            chinese = rollout_rows(await response.text())
        async with session.get("/console/releases") as response:
            page = await response.text()
    assert rollout_rows(page) == [
        ("1.2.0", "paused: 1 failed updates (limit 1)", "2 cabinets: 0 installed, 1 failed (pauses at 1), 1 waiting")
    ]
    assert chinese[0][1].startswith("已暂停") and "1 台失败" in chinese[0][2]


def test_a_larger_percentage_of_the_same_version_keeps_the_cabinets_already_chosen() -> None:
    fleet = [f"cab-{n:03d}" for n in range(200)]
    ten, fifty = chosen(fleet, "1.2.0", 10), chosen(fleet, "1.2.0", 50)
    assert len(ten) == 20 and len(fifty) == 100 and set(ten) <= set(fifty)
    assert chosen(fleet, "1.3.0", 10) != ten  # another version starts with other cabinets
    assert len(chosen(fleet[:3], "1.2.0", 1)) == 1  # at least one


async def test_cabinets_that_never_report_show_as_timed_out_after_the_rollouts_time(tmp_path: Path) -> None:
    clock = [1_800_000_000.0]
    store = SqliteCloudStore(tmp_path / "cloud.db")
    store.add_retailer(SHOP)
    for cabinet in ("cab-1", "cab-2"):
        store.add_cabinet(cabinet, SHOP)
    store.add_user(SHOP, OWNER, "owner", password_hash=hash_password(PASSWORD))
    served = TestServer(create_app(store, now=lambda: clock[0]), host="127.0.0.1")
    await served.start_server()
    try:
        session = await signed_in(served, OWNER)
        async with session:
            token = await csrf(session, "/console/releases")
            form = {"csrf_token": token, "version": "1.2.0", "cabinets": "cab-1 cab-2", "failure_limit": "1"}
            async with session.post("/console/releases", data={**form, "report_within_h": "0"}) as response:
                assert response.status == 400
                assert "whole number of hours from 1 to 720" in html.unescape(await response.text())
            async with session.post("/console/releases", data={**form, "report_within_h": "2"}) as response:
                assert response.status == 200
            installed = {"version": "1.2.0", "previous": "1.1.0"}
            store.store_events("cab-1", events("cab-1", ("update.installed", installed)))
            clock[0] += 2 * 3600 - 1
            async with session.get("/console/releases") as response:
                before = await response.text()
            clock[0] += 1
            async with session.get("/console/releases") as response:
                after = await response.text()
            async with session.get("/console/releases", headers={"Accept-Language": "zh-CN"}) as response:
                chinese = html.unescape(await response.text())
            store.store_events("cab-2", events("cab-2", ("update.installed", installed)))  # late: still counted
            async with session.get("/console/releases") as response:
                finished = await response.text()
    finally:
        await served.close()
        store.close()
    assert rollout_rows(finished) == [
        ("1.2.0", "finished: every cabinet reported", "2 cabinets: 2 installed, 0 failed (pauses at 1), 0 waiting")
    ]
    assert "/pause" not in finished, "nothing is left to pause"
    assert rollout_rows(before) == [("1.2.0", "running", "2 cabinets: 1 installed, 0 failed (pauses at 1), 1 waiting")]
    timed_out = re.findall(r'data-testid="rollout-timed-out">(.*?)</span>', after)
    assert [html.unescape(text) for text in timed_out] == ["1 timed out (no report within 2 h): cab-2"]
    [(version, state, counted)] = rollout_rows(after)
    # not a failure: the rollout does not pause over a cabinet that is offline
    assert (version, state) == ("1.2.0", "running")
    assert counted.startswith("2 cabinets: 1 installed, 0 failed (pauses at 1), 0 waiting")
    assert "rollout-timed-out" not in before
    assert "1 台超时（2 小时内未报告）：cab-2" in chinese
