"""The console's long lists paged in the store, over real HTTP (the cloud app on 127.0.0.1, an owner signed in
with a password) on a fleet of 120 cabinets (three pages of 50) and a rival retailer's two: each page shows
exactly its rows (stock, restock, alarms, access, catalogue, orders, the sales per cabinet), the totals over
all pages stay where they were, the filters are kept on the other pages, an order is made by choosing its
cabinet first, and the rival sees none of it."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from cloud_stub.app import create_app
from cloud_stub.console.auth import hash_password
from cloud_stub.store import SqlCloudStore, open_store
from sync_client.schema import Event, utc_iso
from tests.conftest import STORES
from tests.console.http_sign_in import PASSWORD, signed_in

SHOP, OTHER = "velo-mall", "other-shop"
OWNER, RIVAL = "owner@velo-mall.example", "owner@other.example"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC).timestamp()
CABINETS = [f"cab-{n:03d}" for n in range(120)]
RIVALS = ["zz-rival-1", "zz-rival-2"]
PRODUCTS = [
    {"sku": "SCOOT", "name": "Scooter", "price_cents": 49900, "variants": [{"sku": "SCOOT-mint", "name": "Mint"}]},
    {"sku": "BIKE", "name": "Bike", "price_cents": 129900},
]
ALARMS_AT = CABINETS[:3]  # 40 alarms each: 120, three pages


def short(cabinet: str) -> bool:
    """Every third cabinet has sold its last bike."""
    return int(cabinet.rsplit("-", 1)[1]) % 3 == 0


def events(cabinet: str) -> list[Event]:
    at = NOW - 3600
    facts: list[tuple[str, dict[str, Any]]] = [
        ("stock.changed", {"sku": "SCOOT-mint", "count": 3, "reason": "restock"}),
        ("stock.changed", {"sku": "BIKE", "count": 0 if short(cabinet) else 2, "reason": "sale"}),
        ("payment.approved", {"sale_id": f"{cabinet}-s", "sku": "BIKE", "amount_cents": 129900, "currency": "EUR"}),
        ("sale.completed", {"sale_id": f"{cabinet}-s", "sku": "BIKE", "amount_cents": 129900, "currency": "EUR"}),
    ]
    if cabinet in ALARMS_AT:
        facts += [("alarm", {"kind": "door_left_open", "detail": f"{cabinet} alarm {n}"}) for n in range(40)]
    return [
        Event(str(uuid.uuid4()), cabinet, seq, kind, utc_iso(at + seq), at + seq, payload)
        for seq, (kind, payload) in enumerate(facts, start=1)
    ]


@pytest.fixture(scope="module", params=STORES)
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The module's fleet, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield from _filled(str(tmp_path_factory.mktemp("paging") / "cloud.db"))
    else:
        with request.getfixturevalue("pg_server").database() as target:
            yield from _filled(target)


def _filled(target: str) -> Iterator[str]:
    store = open_store(target)
    for retailer, owner, cabinets in ((SHOP, OWNER, CABINETS), (OTHER, RIVAL, RIVALS)):
        store.add_retailer(retailer)
        store.add_user(retailer, owner, "owner", password_hash=hash_password(PASSWORD))
        for cabinet in cabinets:
            store.add_cabinet(cabinet, retailer)
            store.put_config(cabinet, {"currency": "EUR", "languages": ["en"], "products": PRODUCTS})
            store.store_events(cabinet, events(cabinet), now=NOW)
            store.add_order(cabinet, "BIKE", "scrypt$test", utc_iso(NOW + 86400), reference=f"web {cabinet}", now=NOW)
    tickets(store, CABINETS[1])
    store.close()
    yield target


def tickets(store: SqlCloudStore, cabinet: str) -> None:
    """56 repair tickets dropped off at ``cabinet``: T0-T54 handed back one after the other, T55 still open."""
    seq = len(events(cabinet))
    for n in range(56):
        seq += 1
        ticket = {"ticket_id": f"T{n}", "device": "scooter", "detail": "brakes", "status": "dropped_off"}
        store.store_events(
            cabinet, [Event(str(uuid.uuid4()), cabinet, seq, "repair.ticket", utc_iso(NOW), NOW, ticket)]
        )
        for step, status in enumerate(("collected", "in_repair", "returned", "handed_back") if n < 55 else ()):
            store.move_ticket(cabinet, f"T{n}", status, by="api", now=NOW + n * 10 + step)


@pytest.fixture
async def server(db: str) -> AsyncIterator[TestServer]:
    store = open_store(db)
    served = TestServer(create_app(store, now=lambda: NOW), host="127.0.0.1")
    await served.start_server()
    yield served
    await served.close()
    store.close()


@pytest.fixture
async def owner(server: TestServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with await signed_in(server, OWNER) as session:
        yield session


async def text(session: aiohttp.ClientSession, path: str) -> str:
    async with session.get(path) as response:
        assert response.status == 200, path
        return await response.text()


def attr(page: str, name: str) -> list[str]:
    """The values of ``name`` in the page's order (each once)."""
    return list(dict.fromkeys(html.unescape(v) for v in re.findall(rf'{name}="([^"]*)"', page)))


def pager_links(page: str) -> list[str]:
    nav = re.search(r'<nav class="pager".*?</nav>', page, re.S)
    return [html.unescape(h) for h in re.findall(r'href="([^"]+)"', nav.group(0))] if nav else []


async def test_the_stock_page_shows_its_page_of_cabinets_and_every_product(owner: aiohttp.ClientSession) -> None:
    second = await text(owner, "/console/stock?page=2")  # 20 cabinets a page (each a row per unit)
    assert attr(second, "data-cabinet") == CABINETS[20:40]
    assert "Page 2 of 6 (120 cabinets)" in second
    assert attr(second, "data-product") == ["BIKE", "SCOOT"]  # the levels of the whole fleet's products
    last = await text(owner, "/console/stock?page=99")  # past the end: the last page
    assert attr(last, "data-cabinet") == CABINETS[100:]


async def test_the_restock_list_pages_the_short_cabinets_without_a_line(owner: aiohttp.ClientSession) -> None:
    wanted = [c for c in CABINETS if short(c)]  # 40: one page
    first = await text(owner, "/console/restock")
    assert attr(first, "data-proposal") == wanted
    assert not pager_links(first)


async def test_alarms_come_50_a_page_with_the_total_and_the_filters_kept(owner: aiohttp.ClientSession) -> None:
    first = await text(owner, "/console/alarms?state=open")
    assert len(attr(first, "data-alarm")) == 50
    assert "120 alarms shown" in first
    assert "/console/alarms?state=open&page=2" in pager_links(first)
    pages = [attr(await text(owner, f"/console/alarms?state=open&page={n}"), "data-alarm") for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [50, 50, 20] and len({a for p in pages for a in p}) == 120
    one = await text(owner, f"/console/alarms?state=open&cabinet={CABINETS[1]}")
    assert "40 alarms shown" in one and len(attr(one, "data-alarm")) == 40 and not pager_links(one)
    assert f'value="{CABINETS[1]}"' in re.search(r'<input id="alarm-cabinet"[^>]*>', one).group(0)  # type: ignore[union-attr]


async def test_access_and_catalogue_list_50_cabinets_a_page(owner: aiohttp.ClientSession) -> None:
    access = await text(owner, "/console/access?page=3")
    assert attr(access, "data-cabinet") == CABINETS[100:]
    assert "/console/access?cabinet=all&page=2" in pager_links(access)
    catalogue = await text(owner, "/console/catalogue?page=2")
    assert re.findall(r'href="/console/catalogue/(cab-\d+)"', catalogue) == CABINETS[50:100]


async def test_an_order_is_made_at_a_chosen_cabinet_from_its_own_units(owner: aiohttp.ClientSession) -> None:
    page = await text(owner, "/console/orders")
    assert 'id="order-item"' not in page  # no cabinet chosen: no list of the whole fleet's units
    assert CABINETS[7] in re.search(r'<select id="order-cabinet".*?</select>', page, re.S).group(0)  # type: ignore[union-attr]
    chosen = await text(owner, f"/console/orders?for={CABINETS[7]}")
    options = re.findall(r'<option value="([^"]+)">', re.search(r'id="order-item".*?</select>', chosen, re.S).group(0))  # type: ignore[union-attr]
    assert options == [f"{CABINETS[7]}/SCOOT-mint", f"{CABINETS[7]}/BIKE"]
    rival_cabinet = await text(owner, f"/console/orders?for={RIVALS[0]}")
    assert 'id="order-item"' not in rival_cabinet


async def test_orders_are_paged_in_the_store_with_the_state_kept(owner: aiohttp.ClientSession) -> None:
    first = await text(owner, "/console/orders?state=open")
    assert "Page 1 of 3 (120 orders)" in first and len(attr(first, "data-order")) == 50
    assert "/console/orders?state=open&page=3" in pager_links(first)
    last = await text(owner, "/console/orders?state=open&page=3")
    assert len(attr(last, "data-order")) == 20
    assert "No orders." in await text(owner, "/console/orders?state=collected")
    one = await text(owner, f"/console/orders?cabinet={CABINETS[5]}")
    assert attr(one, "data-order") and f"web {CABINETS[5]}" in one and f"web {CABINETS[6]}" not in one


async def test_the_sales_per_cabinet_are_paged_under_the_whole_ranges_total(owner: aiohttp.ClientSession) -> None:
    day = utc_iso(NOW)[:10]
    second = await text(owner, f"/console/sales?from={day}&to={day}&page=2")
    table = re.search(r'data-testid="by-cabinet">(.*?)</table>', second, re.S)
    assert table and re.findall(r'<th scope="row"[^>]*>([^<]*)</th>', table.group(1)) == CABINETS[50:100]
    assert "120 sales" in html.unescape(re.search(r'data-testid="sales-total">(.*?)</span>', second).group(1))  # type: ignore[union-attr]
    assert f"/console/sales?from={day}&to={day}&page=3" in pager_links(second)


async def test_another_retailer_sees_none_of_the_pages_rows(server: TestServer) -> None:
    async with await signed_in(server, RIVAL) as rival:
        for path in ("/console/stock", "/console/access", "/console/catalogue", "/console/alarms?state=all"):
            page = await text(rival, path)
            assert not any(c in page for c in CABINETS), path
        assert attr(await text(rival, "/console/stock"), "data-cabinet") == RIVALS
        orders = await text(rival, "/console/orders")
        assert attr(orders, "data-order") and "web cab-" not in orders
        async with rival.get(f"/console/alarms?cabinet={CABINETS[0]}") as response:
            assert response.status == 404
        restock = await text(rival, "/console/restock")
        assert attr(restock, "data-proposal") == [] and not any(c in restock for c in CABINETS)


async def test_the_repair_board_shows_the_latest_handed_back_and_every_open_ticket(
    owner: aiohttp.ClientSession, server: TestServer
) -> None:
    board = await text(owner, "/console/repairs")
    handed = re.search(r'data-status="handed_back".*?</section>', board, re.S)
    assert handed and sorted(attr(handed.group(0), "data-ticket")) == sorted(f"T{n}" for n in range(5, 55))
    assert "The 50 handed back last." in handed.group(0)
    assert 'data-ticket="T55"' in board and 'data-ticket="T4"' not in board
    async with await signed_in(server, RIVAL) as rival:
        assert "data-ticket=" not in await text(rival, "/console/repairs")


def test_the_snapshots_around_alarms_are_read_in_one_query_for_the_retailer_only(cloud_target: str) -> None:
    store = open_store(cloud_target)
    for retailer, cabinet in ((SHOP, "cab-a"), (OTHER, "cab-b")):
        store.add_retailer(retailer)
        store.add_cabinet(cabinet, retailer)
        for minute in (0, 5, 10):
            taken = f"2026-11-30T12:{minute:02d}:00.000Z"
            store.put_snapshot(cabinet, f"snap-{minute:02d}.jpg", taken, f"{cabinet}{minute}".encode(), now=NOW)
    windows = [
        ("cab-a", "2026-11-30T12:04:00.000Z", "2026-11-30T12:11:00.000Z"),
        ("cab-a", "2026-11-30T13:00:00.000Z", "2026-11-30T14:00:00.000Z"),
        ("cab-b", "2026-11-30T12:00:00.000Z", "2026-11-30T12:11:00.000Z"),  # the rival's cabinet
    ]
    found = store.snapshots_around(SHOP, windows, limit=1)
    assert [[s["name"] for s in w] for w in found] == [["snap-05.jpg"], [], []]
    assert [s["name"] for s in store.snapshots_around(SHOP, windows[:1])[0]] == ["snap-05.jpg", "snap-10.jpg"]
    store.close()
