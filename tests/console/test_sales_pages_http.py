"""The sales pages over real HTTP (the cloud app on 127.0.0.1, an owner signed in with a password), on a store
holding a few hundred sales in two currencies: the page's total, its table per day or week and its chart say
what the sales themselves add up to; the CSV export is streamed page by page and has exactly the rows of a
direct query of the sales, with formula cells neutralised; the refunds list is paged; another retailer sees
none of it."""

from __future__ import annotations

import csv
import html
import io
import re
import sqlite3
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from cloud_stub.app import create_app
from cloud_stub.console import sales
from cloud_stub.console.auth import hash_password
from cloud_stub.console.i18n import money
from cloud_stub.store import SqliteCloudStore, week_of
from sync_client.schema import Event
from tests.console.http_sign_in import PASSWORD, signed_in

SHOP, OTHER = "velo-mall", "other-shop"
OWNER, OTHER_OWNER = "owner@velo-mall.example", "owner@other.example"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC).timestamp()
DAYS = [f"2026-11-{d:02d}" for d in range(20, 31)]
PAID_BY = ("alipay:huabei", "btc:lightning", "btc:onchain", "wechatpay:OTHERS")
PRODUCTS = [("SCOOT-S1", "SCOOT-S1-mint", 49900), ("BIKE-C7", None, 129900), ("=SUM(A1)", "@x", 250)]


def fill(store: SqliteCloudStore) -> None:
    """Per cabinet a sale every few hours over DAYS, one in nine unclaimed; cab-j sells in yen."""
    for retailer in (SHOP, OTHER):
        store.add_retailer(retailer)
    for cabinet, retailer in (("cab-1", SHOP), ("cab-2", SHOP), ("cab-j", SHOP), ("cab-x", OTHER)):
        store.add_cabinet(cabinet, retailer)
        events, seq = [], 0
        for n in range(60):
            sku, variant, cents = PRODUCTS[(n + len(cabinet) + ord(cabinet[-1])) % len(PRODUCTS)]
            at = f"{DAYS[n * 7 % len(DAYS)]}T{n % 24:02d}:{n % 60:02d}:00.000Z"
            sale = {"sale_id": f"{cabinet}-{n}", "sku": sku, "amount_cents": cents}
            sale |= {"currency": "JPY" if cabinet == "cab-j" else "EUR"} | ({"variant_sku": variant} if variant else {})
            kinds = ["payment.approved", "sale.unclaimed" if n % 9 == 4 else "sale.completed"]
            for kind in kinds:
                seq += 1
                # cab-1's shoppers pay at the card terminal, by chip or phone wallet; the others scan to pay
                paid = {"method": "terminal", "method_detail": ("chip", "wallet")[n % 2]} if cabinet == "cab-1" else {}
                payload = {**sale, "method": "qr", **paid}
                events.append(Event(str(uuid.uuid4()), cabinet, seq, kind, at, float(seq), payload))
        store.store_events(cabinet, events)
    for n, detail in enumerate(PAID_BY * 4):  # some of the shop's scan-to-pay sales paid at a real provider
        cabinet, sale_id = ("cab-1", "cab-j")[n % 2], f"{('cab-1', 'cab-j')[n % 2]}-{n * 3}"
        provider = detail.split(":")[0]
        payment, _ = store.create_payment(cabinet, sale_id, 1, "EUR", NOW + 3600, provider=provider, now=NOW)
        store.move_payment(payment["id"], "pending", "paid", details={"method_detail": detail}, now=NOW)
    store.add_user(SHOP, OWNER, "owner", password_hash=hash_password(PASSWORD))
    store.add_user(OTHER, OTHER_OWNER, "owner", password_hash=hash_password(PASSWORD))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    store = SqliteCloudStore(tmp_path / "cloud.db")
    fill(store)
    store.close()
    yield tmp_path / "cloud.db"


@pytest.fixture
async def server(db: Path) -> AsyncIterator[TestServer]:
    store = SqliteCloudStore(db)
    served = TestServer(create_app(store, now=lambda: NOW), host="127.0.0.1")
    await served.start_server()
    yield served
    await served.close()
    store.close()


def completed_sales(db: Path, retailer: str, **only: str) -> list[sqlite3.Row]:
    """The retailer's completed sales straight from the read model, in the export's order (the query the CSV
    export ran before it was paged)."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    where = "".join(f" AND s.{column} = ?" for column in only)
    rows = conn.execute(
        "SELECT s.completed_at, s.cabinet_id, s.sale_id, s.sku, COALESCE(s.variant_sku, s.sku) AS variant_sku, "
        "s.amount_cents, s.currency, s.method, s.day FROM sales s JOIN cabinets k ON k.id = s.cabinet_id "
        f"WHERE k.retailer = ? AND s.completed_at IS NOT NULL AND s.day >= ? AND s.day <= ?{where} "
        "ORDER BY s.completed_at, s.cabinet_id, s.sale_id",
        (retailer, DAYS[0], DAYS[-1], *only.values()),
    ).fetchall()
    conn.close()
    return rows


def totals(sales_rows: list[sqlite3.Row], key: Callable[[sqlite3.Row], str]) -> dict[str, str]:
    """Per ``key`` (a day, a week, a cabinet), the totals as the page writes them (per currency, joined)."""
    cents: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in sales_rows:
        cents[key(row)][row["currency"]] += row["amount_cents"]
    return {k: ", ".join(money(c, cur) for cur, c in sorted(by.items())) for k, by in cents.items()}


def by_period(period: str) -> Callable[[sqlite3.Row], str]:
    return (lambda r: r["day"]) if period == "day" else (lambda r: week_of(r["day"]))


def table(page: str, testid: str) -> dict[str, str]:
    """A totals table of the page: its row header -> its total cell."""
    body = re.search(rf'data-testid="{testid}">(.*?)</table>', page, re.S)
    assert body, testid
    rows = re.findall(r'<th scope="row"[^>]*>([^<]*)</th>.*?data-testid="total">([^<]*)</td>', body.group(1), re.S)
    return {html.unescape(k): html.unescape(v) for k, v in rows}


@pytest.mark.parametrize("period", ["day", "week"])
async def test_the_page_totals_and_chart_say_what_the_sales_add_up_to(
    server: TestServer, db: Path, period: str
) -> None:
    session = await signed_in(server, OWNER)
    async with session:
        query = {"from": DAYS[0], "to": DAYS[-1], "period": period}
        async with session.get("/console/sales", params=query) as response:
            page = await response.text()
        assert response.status == 200
    shop = completed_sales(db, SHOP)
    assert table(page, "by-period") == totals(shop, by_period(period))
    count = len(shop)
    overall = totals(shop, lambda _: "all")["all"]
    total = re.search(r'data-testid="sales-total">([^<]*)<', page)
    assert total and html.unescape(total.group(1)) == f"{count} sales, {overall}"
    # A chart per currency: each bar's title is its period's total in that currency (an empty one is zero).
    charts = re.findall(r'<svg[^>]*aria-label="([^"]*)"[^>]*data-testid="chart">(.*?)</svg>', page, re.S)
    assert len(charts) == 2, "euro and yen"
    for label, bars in charts:
        currency = "EUR" if "EUR" in label else "JPY"
        drawn = dict(re.findall(r"<title>([\d-]+): ([^<]*)</title>", bars))
        for period_key, value in drawn.items():
            mine = [r for r in shop if r["currency"] == currency]
            sums = totals(mine, by_period(period))
            assert value == sums.get(period_key, money(0, currency)), (currency, period_key)
    assert table(page, "by-cabinet") == totals(shop, lambda r: r["cabinet_id"])


async def test_the_page_counts_the_sales_by_way_to_pay(server: TestServer, db: Path) -> None:
    session = await signed_in(server, OWNER)
    async with session:
        async with session.get("/console/sales", params={"from": DAYS[0], "to": DAYS[-1]}) as response:
            page = await response.text()
    body = re.search(r'data-testid="by-method">(.*?)</table>', page, re.S)
    assert body
    cells = r'<th scope="row"[^>]*>([^<]*)</th><td[^>]*>([^<]*)</td><td[^>]*data-testid="count">(\d+)</td>'
    rows = re.findall(cells, body.group(1))
    conn = sqlite3.connect(db)
    query = (
        "SELECT COALESCE(method_detail, '') || '/' || method, COUNT(*) FROM sales s JOIN cabinets k "
        "ON k.id = s.cabinet_id WHERE k.retailer = ? AND completed_at IS NOT NULL GROUP BY 1"
    )
    counted = dict(conn.execute(query, (SHOP,)).fetchall())
    conn.close()
    methods = {"terminal": "card terminal", "qr": "scan-to-pay"}
    details = {"chip": "chip card", "wallet": "phone wallet", "": "not told"}  # a provider's own words as they are
    expected = []
    for key, count in counted.items():
        detail, method = key.split("/")
        expected.append((methods[method], details.get(detail, detail), str(count)))
    assert sorted(rows) == sorted(expected)
    # cab-1's card terminal said how; a provider said how for cab-j's scan-to-pay sales it took (odd ones of
    # PAID_BY), after the sales came in; a payment that names a sale paid at the terminal (cab-1's) changes nothing
    assert {"chip/terminal", "wallet/terminal", "/qr", "btc:lightning/qr", "wechatpay:OTHERS/qr"} == set(counted)


async def test_the_csv_is_streamed_in_pages_with_the_rows_of_a_direct_query(
    server: TestServer, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sales, "CSV_CHUNK", 7)  # many pages from a few hundred sales
    session = await signed_in(server, OWNER)
    async with session:
        for only in ({}, {"cabinet": "cab-2"}, {"sku": "=SUM(A1)"}):
            query = {"from": DAYS[0], "to": DAYS[-1], **only}
            async with session.get("/console/sales.csv", params=query) as response:
                assert response.status == 200
                assert response.headers["Transfer-Encoding"] == "chunked" and "Content-Length" not in response.headers
                text = (await response.read()).decode()
            rows = list(csv.reader(io.StringIO(text, newline="")))
            column = {"cabinet": "cabinet_id"}
            direct = completed_sales(db, SHOP, **{column.get(k, k): v for k, v in only.items()})
            assert len(direct) > 7, "more than one page"
            assert rows[0] == list(sales.CSV_HEADER)
            assert rows[1:] == list(csv.reader(io.StringIO(sales.csv_rows([dict(r) for r in direct]), newline="")))
            assert [r[2] for r in rows[1:]] == [r["sale_id"] for r in direct]
            formulas = [r for r in rows[1:] if r[3].startswith("'=")]
            if "sku" in only or not only:
                assert formulas and all(r[3:5] == ["'=SUM(A1)", "'@x"] for r in formulas), "neutralised"


async def test_another_retailer_sees_no_sales_no_csv_rows_and_no_refunds(server: TestServer) -> None:
    session = await signed_in(server, OTHER_OWNER)
    async with session:
        async with session.get("/console/sales", params={"from": DAYS[0], "cabinet": "cab-1"}) as response:
            page = await response.text()
        assert "No sales in this range." in page
        # The cabinet filter suggests its own cabinets only (a datalist of the fleet's ids).
        assert '<option value="cab-x">' in page and not re.search(r'<option value="cab-[12j]">', page), "its own only"
        async with session.get("/console/sales.csv", params={"from": DAYS[0], "cabinet": "cab-1"}) as response:
            assert (await response.text()).splitlines() == [",".join(sales.CSV_HEADER)]
        async with session.get("/console/refunds") as response:
            page = await response.text()
        assert "cab-1" not in page and "Payments 1-" in page, "its own cab-x's unclaimed sales only"
        assert re.findall(r'data-sale="([^"]+)"', page) and all(
            s.startswith("cab-x-") for s in re.findall(r'data-sale="([^"]+)"', page)
        )


async def test_the_refunds_list_is_paged_newest_first(
    server: TestServer, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sales, "REFUNDS_PER_PAGE", 4)
    conn = sqlite3.connect(db)
    newest_first = [
        r[0]
        for r in conn.execute(
            "SELECT s.sale_id FROM sales s JOIN cabinets k ON k.id = s.cabinet_id WHERE k.retailer = ? "
            "AND s.unclaimed_at IS NOT NULL ORDER BY s.unclaimed_at DESC, s.sale_id DESC",
            (SHOP,),
        )
    ]
    conn.close()
    assert len(newest_first) == 3 * 7, "the shop's three cabinets' unclaimed sales"
    session = await signed_in(server, OWNER)
    async with session:
        seen: list[str] = []
        for number in range(1, 7):
            async with session.get("/console/refunds", params={"page": str(number)}) as response:
                page = html.unescape(await response.text())
            shown = re.findall(r'data-sale="([^"]+)"', page)
            first = (number - 1) * 4 + 1
            assert f"Payments {first}-{first + len(shown) - 1} of 21, newest first." in page
            assert f"Page {number} of 6" in page
            assert ('rel="next"' in page) == (number < 6) and ('rel="prev"' in page) == (number > 1)
            seen += shown
        assert seen == newest_first, "each once, in order"
        async with session.get("/console/refunds", params={"page": "99"}) as response:
            assert re.findall(r'data-sale="([^"]+)"', await response.text()) == newest_first[20:], "the last page"
        async with session.get("/console/refunds", params={"page": "0"}) as response:
            assert response.status == 400
            assert "Page: enter a page number from 1." in await response.text()
