"""The call-back queue and the repair board's "to notify" list paged in the store, over real HTTP (the cloud app on
127.0.0.1, an owner signed in with a password): 120 call-backs (three pages of 50, newest first) and 60 repair
messages owed (two pages), each page exactly its rows, the filters kept on the other pages, and the export still
the whole filtered queue."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from cloud_stub.app import create_app
from cloud_stub.console.auth import hash_password
from cloud_stub.store import SqliteCloudStore
from sync_client.schema import Event, utc_iso
from tests.console.http_sign_in import PASSWORD, signed_in
from tests.console.test_console_store_paging import attr, pager_links, text

SHOP, OWNER, CABINET = "velo-mall", "owner@velo-mall.example", "cab-001"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC).timestamp()
CALLBACKS = 120
TICKETS = 60


def phone(n: int) -> str:
    """Every tenth request is the same shopper's."""
    return "+491705550000" if n % 10 == 0 else f"+4917055{n:05d}"


def asked(n: int) -> Event:
    payload = {
        "request_id": str(uuid.UUID(int=n + 1)),
        "sku": "SCOOT",
        "phone": phone(n),
        "consent_text": "Call me about this product.",
        "consent_version": "1",
        "language": "en",
    }
    at = NOW - 3600 + n  # n later than the one before: newest first is the highest n first
    return Event(str(uuid.uuid4()), CABINET, n + 1, "callback.requested", utc_iso(at), at, payload)


def dropped_off(n: int) -> Event:
    ticket = {"ticket_id": f"T{n:02d}", "device": "scooter", "detail": "brakes", "status": "dropped_off"}
    at = NOW - 1800 + n
    return Event(str(uuid.uuid4()), CABINET, CALLBACKS + n + 1, "repair.ticket", utc_iso(at), at, ticket)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("callback-paging") / "cloud.db"
    store = SqliteCloudStore(path)
    store.add_retailer(SHOP)
    store.add_user(SHOP, OWNER, "owner", password_hash=hash_password(PASSWORD))
    store.add_cabinet(CABINET, SHOP)
    store.put_config(CABINET, {"currency": "EUR", "languages": ["en"], "callback_retention_days": 30, "products": []})
    store.store_events(CABINET, [asked(n) for n in range(CALLBACKS)], now=NOW)
    store.store_events(CABINET, [dropped_off(n) for n in range(TICKETS)], now=NOW)
    for n in range(0, CALLBACKS, 2):  # every other one called already
        store.follow_up_callback(SHOP, str(uuid.UUID(int=n + 1)), "called", "left a message", OWNER, now=NOW)
    store.close()
    yield path


@pytest.fixture
async def owner(db: Path) -> AsyncIterator[aiohttp.ClientSession]:
    store = SqliteCloudStore(db)
    server = TestServer(create_app(store, now=lambda: NOW), host="127.0.0.1")
    await server.start_server()
    async with await signed_in(server, OWNER) as session:
        yield session
    await server.close()
    store.close()


def ids(numbers: range | list[int]) -> list[str]:
    return [str(uuid.UUID(int=n + 1)) for n in numbers]


async def test_the_call_back_queue_comes_50_a_page_newest_first(owner: aiohttp.ClientSession) -> None:
    first = await text(owner, "/console/callbacks")
    assert attr(first, "data-callback") == ids(range(119, 69, -1))
    assert first.count("left a message") == 25, "each listed request with its own history (every other one called)"
    assert "/console/callbacks?page=3" in pager_links(first)
    last = await text(owner, "/console/callbacks?page=3")
    assert attr(last, "data-callback") == ids(range(19, -1, -1))
    assert attr(await text(owner, "/console/callbacks?page=9"), "data-callback") == ids(range(19, -1, -1))


async def test_the_filters_are_kept_on_the_other_pages(owner: aiohttp.ClientSession) -> None:
    waiting = await text(owner, "/console/callbacks?state=new")  # the 60 odd ones
    assert attr(waiting, "data-callback") == ids(range(119, 19, -2))
    assert "/console/callbacks?state=new&page=2" in pager_links(waiting)
    second = await text(owner, "/console/callbacks?state=new&page=2")
    assert attr(second, "data-callback") == ids(range(19, 0, -2))
    one_shopper = await text(owner, "/console/callbacks?phone=%2B49+170+555+0000")  # typed with spaces
    assert attr(one_shopper, "data-callback") == ids(range(110, -1, -10)) and not pager_links(one_shopper)
    async with owner.get("/console/callbacks.csv?state=new") as response:
        rows = (await response.text()).strip().split("\r\n")
    assert len(rows) == 1 + 60, "the export is the whole filtered queue, not a page"


async def test_the_repairs_to_notify_come_50_a_page(owner: aiohttp.ClientSession) -> None:
    first = await text(owner, "/console/repairs")
    owed = re.findall(r'data-notify="(T\d+):dropped_off"', first)
    assert owed == [f"T{n:02d}" for n in range(50)]
    assert "/console/repairs?page=2" in pager_links(first)
    second = await text(owner, "/console/repairs?page=2")
    assert re.findall(r'data-notify="(T\d+):dropped_off"', second) == [f"T{n:02d}" for n in range(50, 60)]
    assert 'data-ticket="T59"' in second, "the board itself is not paged"
