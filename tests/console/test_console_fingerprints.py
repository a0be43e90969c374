"""The staff fingerprints on the console's cabinet page, over real HTTP (the cloud app on 127.0.0.1, an owner
signed in with a password): the slots the configuration names with whose finger each is, the fingers enrolled
at the cabinet and not named yet, every enrolment and deletion with why; in English and Chinese; read-only;
another retailer gets the same 404 as for a cabinet that does not exist."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from cloud_stub.app import create_app
from cloud_stub.console.auth import hash_password
from cloud_stub.store import SqliteCloudStore
from sync_client.schema import Event, utc_iso
from tests.console.http_sign_in import PASSWORD, signed_in

SHOP, OTHER = "velo-mall", "other-shop"
OWNER, RIVAL = "owner@velo-mall.example", "owner@other.example"
CABINET = "cab-fp"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC).timestamp()
CHANGES: list[tuple[str, dict[str, Any]]] = [
    ("fingerprint.enrolled", {"slot": 0, "ok": True, "detail": "stored", "who": "finger:4"}),
    ("fingerprint.enrolled", {"slot": 1, "ok": True, "detail": "stored", "who": "finger:4"}),
    ("fingerprint.enrolled", {"slot": 2, "ok": True, "detail": "stored", "who": "finger:4"}),
    ("fingerprint.enrolled", {"slot": 5, "ok": False, "detail": "not the same finger", "who": "finger:4"}),
    ("fingerprint.deleted", {"slot": 1, "ok": True, "detail": "deleted", "reason": "removed"}),
    ("fingerprint.deleted", {"slot": 2, "ok": False, "detail": "the module did not answer", "reason": "never_named"}),
]
NAMED = [{"slot": 0, "staff": "Mei", "role": "retailer"}, {"slot": 4, "staff": "Jo", "role": "technician"}]


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[TestServer]:
    store = SqliteCloudStore(tmp_path / "cloud.db")
    for retailer, owner in ((SHOP, OWNER), (OTHER, RIVAL)):
        store.add_retailer(retailer)
        store.add_user(retailer, owner, "owner", password_hash=hash_password(PASSWORD))
    store.add_cabinet(CABINET, SHOP)
    store.put_config(CABINET, {"currency": "EUR", "retailer": {"staff_fingerprints": NAMED}}, now=NOW)
    at = NOW - 3600
    events = [
        Event(str(uuid.uuid4()), CABINET, seq, kind, utc_iso(at + seq * 60), at + seq * 60, payload)
        for seq, (kind, payload) in enumerate(CHANGES, start=1)
    ]
    store.store_events(CABINET, events, now=NOW)
    served = TestServer(create_app(store, now=lambda: NOW), host="127.0.0.1")
    await served.start_server()
    yield served
    await served.close()
    store.close()


def rows(page: str, testid: str) -> list[str]:
    """The text of each row (or item) in the section ``testid``, tags dropped and spaces squeezed."""
    section = re.search(rf'data-testid="{testid}".*?</section>', page, re.S)
    assert section, testid
    found = re.findall(r"<(?:tr|li) data-[a-z]+=\"[^\"]*\">(.*?)</(?:tr|li)>", section.group(0), re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", r)).split()) for r in found]


async def test_the_cabinet_page_lists_named_waiting_and_deleted_fingers(server: TestServer) -> None:
    async with await signed_in(server, OWNER) as owner, owner.get(f"/console/cabinets/{CABINET}") as response:
        assert response.status == 200
        page = await response.text()
    assert rows(page, "fingerprints-named") == ["0 Mei retailer (restock)", "4 Jo technician (service menu)"]
    # Slot 0 is named; 1 was deleted; 2's deletion failed, so it is still on the module, unnamed.
    assert [r.split(",")[0] for r in rows(page, "fingerprints-unnamed")] == ["Slot 2"]
    changes = rows(page, "fingerprints-changes")
    assert [c.split("UTC ", 1)[1] for c in changes[:3]] == [
        "2 deletion failed never named in time (the module did not answer)",
        "1 deleted removed from the configuration",
        "5 enrolment failed not the same finger",
    ]
    assert len(changes) == len(CHANGES)
    assert "<form" not in page.split('data-testid="fingerprints-named"')[1]  # read-only


async def test_the_fingerprints_read_in_chinese(server: TestServer) -> None:
    async with await signed_in(server, OWNER) as owner:
        owner.cookie_jar.update_cookies({"console_lang": "zh"})
        async with owner.get(f"/console/cabinets/{CABINET}") as response:
            page = await response.text()
    assert "员工指纹" in page and "已从配置中移除" in page and "未按时命名" in page
    assert rows(page, "fingerprints-unnamed")[0].startswith("槽位 2，录入于")


async def test_another_retailer_sees_no_fingerprints(server: TestServer) -> None:
    async with await signed_in(server, RIVAL) as rival, rival.get(f"/console/cabinets/{CABINET}") as response:
        assert response.status == 404
        assert "Mei" not in await response.text()
