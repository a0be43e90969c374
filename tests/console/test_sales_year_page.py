"""The sales page over a whole year, per day, on both stores (over real HTTP, an owner signed in): what the
retailer reads there is what the sales add up to, however long the range. A cabinet sells on most days of the
year (none on some), in euros and, on another cabinet, in yen; one product's codes need escaping. Checked against
the sales as they were made, not against the store: the total line, the day table (a row per day with sales,
in order, its count and total), one chart per currency with a bar for every day of the range (an empty day's
bar has no height and says so), and the cabinet, product and payment tables."""

from __future__ import annotations

import html
import re
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from aiohttp.test_utils import TestServer

from cloud_stub.app import create_app
from cloud_stub.console.auth import hash_password
from cloud_stub.console.sales import CHART_H, CHART_TOP
from cloud_stub.store import SqlCloudStore, open_store
from sync_client.schema import Event
from tests.console.http_sign_in import PASSWORD, signed_in

SHOP, OWNER = "year-shop", "owner@year-shop.example"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC).timestamp()
FIRST, LAST = date(2025, 12, 1), date(2026, 11, 30)
DAYS = [(FIRST + timedelta(days=i)).isoformat() for i in range((LAST - FIRST).days + 1)]
# (sku, variant, cents): one product's codes are markup, to be shown as text
PRODUCTS = [("SCOOT-S1", "SCOOT-S1-mint", 49900), ("BIKE-C7", None, 129900), ("<b>&x", '"q"', 250)]


@dataclass(frozen=True)
class Sale:
    cabinet: str
    day: str
    sku: str
    variant: str  # the sku when the product has no variants (as the page shows it)
    cents: int
    currency: str
    method: str  # as the page names it


def year_of_sales() -> list[Sale]:
    """cab-1 sells in euros on two days of three (up to three sales a day), at the terminal by chip;
    cab-2 in yen on about one day in four, scan-to-pay; also a sale of cab-1 the day before the range."""
    made = []
    for n, day in enumerate(DAYS):
        for k in range(n % 6 % 4):  # none on two days of six
            sku, variant, cents = PRODUCTS[(n + k) % len(PRODUCTS)]
            made.append(Sale("cab-1", day, sku, variant or sku, cents * (k + 1), "EUR", "card terminal/chip card"))
        if n % 4 == 1:
            made.append(Sale("cab-2", day, "BIKE-C7", "BIKE-C7", 3000 + n, "JPY", "scan-to-pay/not told"))
    return made


def events_of(sales: list[Sale], cabinet: str) -> list[Event]:
    events, seq = [], 0
    for n, sale in enumerate(s for s in sales if s.cabinet == cabinet):
        facts = {"sale_id": f"{cabinet}-{n}", "sku": sale.sku, "amount_cents": sale.cents, "currency": sale.currency}
        if sale.variant != sale.sku:
            facts["variant_sku"] = sale.variant
        paid = {"method": "terminal", "method_detail": "chip"} if cabinet == "cab-1" else {"method": "qr"}
        at = f"{sale.day}T{n % 24:02d}:{n % 60:02d}:00.000Z"
        for kind in ("payment.approved", "sale.completed"):
            seq += 1
            events.append(Event(str(uuid.uuid4()), cabinet, seq, kind, at, float(seq), {**facts, **paid}))
    return events


def money(cents: int, currency: str) -> str:
    return f"{cents} JPY" if currency == "JPY" else f"{cents // 100}.{cents % 100:02d} {currency}"


def totals(sales: list[Sale]) -> str:
    by: dict[str, int] = defaultdict(int)
    for sale in sales:
        by[sale.currency] += sale.cents
    return ", ".join(money(cents, currency) for currency, cents in sorted(by.items()))


def grouped(sales: list[Sale], key: str) -> dict[str, list[Sale]]:
    found: dict[str, list[Sale]] = defaultdict(list)
    for sale in sales:
        found[getattr(sale, key)].append(sale)
    return found


BEFORE = Sale("cab-1", "2025-11-30", "SCOOT-S1", "SCOOT-S1-mint", 49900, "EUR", "card terminal/chip card")
SALES = year_of_sales()


@pytest.fixture
async def server(cloud_target: str) -> AsyncIterator[TestServer]:
    store: SqlCloudStore = open_store(cloud_target)
    store.add_retailer(SHOP)
    for cabinet in ("cab-1", "cab-2"):
        store.add_cabinet(cabinet, SHOP)
        store.store_events(cabinet, events_of([BEFORE, *SALES], cabinet))
    store.add_user(SHOP, OWNER, "owner", password_hash=hash_password(PASSWORD))
    served = TestServer(create_app(store, now=lambda: NOW), host="127.0.0.1")
    await served.start_server()
    yield served
    await served.close()
    store.close()


def table(page: str, testid: str) -> list[tuple[str, ...]]:
    """A totals table's rows: its cells' text, in order."""
    body = re.search(rf'<table data-testid="{testid}">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert body, testid
    rows = re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    return [tuple(html.unescape(c) for c in re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", row)) for row in rows]


async def year_page(server: TestServer, **query: str) -> str:
    session = await signed_in(server, OWNER)
    async with session:
        params = {"from": FIRST.isoformat(), "to": LAST.isoformat(), **query}
        async with session.get("/console/sales", params=params) as response:
            assert response.status == 200
            return await response.text()


def check_chart(page: str, sales: list[Sale]) -> None:
    """A chart per currency, a bar per day of the range in order, its title the day's total, its height the
    share of the tallest day's."""
    charts = re.findall(r'<svg[^>]*aria-label="([^"]*)"[^>]*data-testid="chart">(.*?)</svg>', page, re.S)
    by_currency = grouped(sales, "currency")
    assert len(charts) == len(by_currency)
    for (label, svg), currency in zip(charts, sorted(by_currency), strict=True):
        per_day = {
            day: sum(s.cents for s in day_sales) for day, day_sales in grouped(by_currency[currency], "day").items()
        }
        top = max(per_day.values())
        assert currency in label and FIRST.isoformat() in label and LAST.isoformat() in label
        assert money(top, currency) in html.unescape(label)
        rects = re.findall(
            r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" class="bar">'
            r"<title>([^<]*)</title></rect>",
            svg,
        )
        assert [html.unescape(title) for *_, title in rects] == [
            f"{day}: {money(per_day.get(day, 0), currency)}" for day in DAYS
        ]
        xs = [float(x) for x, *_ in rects]
        assert xs == sorted(xs) and len({w for _, _, w, _, _ in rects}) == 1
        for (_, y, _, height, _), day in zip(rects, DAYS, strict=True):
            assert float(height) == pytest.approx(per_day.get(day, 0) / top * (CHART_H - CHART_TOP), abs=0.01)
            assert float(y) + float(height) == pytest.approx(CHART_H)


async def test_a_cabinets_year_per_day_shows_every_day_its_chart_and_its_totals(server: TestServer) -> None:
    page = await year_page(server, cabinet="cab-1")
    mine = [s for s in SALES if s.cabinet == "cab-1"]
    total = re.search(r'data-testid="sales-total">([^<]*)<', page)
    assert total and html.unescape(total.group(1)) == f"{len(mine)} sales, {totals(mine)}"
    days = grouped(mine, "day")
    assert 200 < len(days) < len(DAYS), "most days of the year, not all"
    assert table(page, "by-period") == [(day, str(len(s)), totals(s)) for day, s in sorted(days.items())]
    check_chart(page, mine)
    assert table(page, "by-cabinet") == [("cab-1", str(len(mine)), totals(mine))]
    products = grouped(mine, "variant")
    assert table(page, "by-product") == sorted(
        (s[0].sku, variant, str(len(s)), totals(s)) for variant, s in products.items()
    )
    assert table(page, "by-method") == [("card terminal", "chip card", str(len(mine)), totals(mine))]
    assert "<b>&x" not in page and "&lt;b&gt;&amp;x" in page, "a product's code shown as text"


async def test_the_fleets_year_per_day_adds_up_both_currencies(server: TestServer) -> None:
    page = await year_page(server)
    total = re.search(r'data-testid="sales-total">([^<]*)<', page)
    assert total and html.unescape(total.group(1)) == f"{len(SALES)} sales, {totals(SALES)}"
    days = grouped(SALES, "day")
    assert table(page, "by-period") == [(day, str(len(s)), totals(s)) for day, s in sorted(days.items())]
    check_chart(page, SALES)
    cabinets = grouped(SALES, "cabinet")
    assert table(page, "by-cabinet") == [(c, str(len(s)), totals(s)) for c, s in sorted(cabinets.items())]
    methods = grouped(SALES, "method")
    in_stored_order = sorted(methods, key=lambda m: {"card terminal": "terminal", "scan-to-pay": "qr"}[m.split("/")[0]])
    assert table(page, "by-method") == [
        (*m.split("/"), str(len(methods[m])), totals(methods[m])) for m in in_stored_order
    ]
