"""The sales and refunds pages' parts without a browser: the store's sales read model (kept at ingest in any
event order, built once for a database from before it, scoped to the retailer), the totals per day and week,
the refund states, the filter parser (fuzzed), the CSV (read back with a CSV reader) and the chart."""

from __future__ import annotations

import csv
import io
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloud_stub.console.sales import (
    CHART_H,
    CSV_HEADER,
    FilterError,
    SalesFilter,
    charts,
    parse_filter,
    refund_page,
    refund_state,
    sales_csv,
    sales_view,
)
from cloud_stub.store import Conflict, NotFound, SqlCloudStore, SqliteCloudStore, open_store, week_of
from sync_client.schema import Event

SHOP, OTHER = "velo-mall", "other-shop"


@pytest.fixture
def store(cloud_target: str) -> Iterator[SqlCloudStore]:
    """On SQLite and on PostgreSQL."""
    opened = open_store(cloud_target)
    opened.add_retailer(SHOP)
    opened.add_retailer(OTHER)
    opened.add_cabinet("cab-1", SHOP)
    opened.add_cabinet("cab-2", SHOP)
    opened.add_cabinet("cab-x", OTHER)
    yield opened
    opened.close()


class Cabinet:
    """Events as a cabinet sends them, numbered in order."""

    def __init__(self, store: SqlCloudStore, cabinet_id: str) -> None:
        self.store, self.id, self.seq = store, cabinet_id, 0

    def send(self, event_type: str, at: str, **payload: Any) -> None:
        self.seq += 1
        event = Event(str(uuid.uuid4()), self.id, self.seq, event_type, at, float(self.seq), payload)
        assert self.store.store_events(self.id, [event]).stored == 1

    def sale(self, sale_id: str, at: str, cents: int, sku: str = "SCOOT-S1", variant: str | None = None) -> None:
        facts = {"sale_id": sale_id, "sku": sku, "amount_cents": cents, "currency": "EUR"}
        if variant:
            facts["variant_sku"] = variant
        self.send("payment.approved", at, **facts, method="terminal", receipt_no="0001", trace_no="1")
        self.send("sale.completed", at, **facts, door_opened_at=at, door_closed_at=at)


def summary(store: SqlCloudStore, retailer: str = SHOP, **kw: Any) -> dict[str, list[dict[str, Any]]]:
    args = {"since_day": "2026-11-01", "until_day": "2026-11-30", **kw}
    return store.sales_summary(retailer, **args)


def test_sales_are_totalled_per_day_week_cabinet_and_variant_for_the_retailer_only(store: SqlCloudStore) -> None:
    one, two, theirs = Cabinet(store, "cab-1"), Cabinet(store, "cab-2"), Cabinet(store, "cab-x")
    one.sale("s1", "2026-11-23T10:00:00.000Z", 49900, variant="SCOOT-S1-mint")  # a Monday
    one.sale("s2", "2026-11-23T18:00:00.000Z", 49900, variant="SCOOT-S1-coal")
    two.sale("s3", "2026-11-24T09:00:00.000Z", 129900, sku="EBIKE-1")
    two.sale("s4", "2026-11-30T09:00:00.000Z", 1000, sku="HELMET")  # the next week
    theirs.sale("x1", "2026-11-23T10:00:00.000Z", 77700)
    one.send(
        "payment.approved",
        "2026-11-25T10:00:00.000Z",
        sale_id="u1",
        sku="SCOOT-S1",
        amount_cents=1,
        currency="EUR",
        method="terminal",
        receipt_no="9",
        trace_no="9",
    )
    one.send(
        "sale.unclaimed",
        "2026-11-25T10:01:00.000Z",
        sale_id="u1",
        sku="SCOOT-S1",
        amount_cents=1,
        currency="EUR",
        action="reversal",
    )

    by_day = summary(store)
    assert [(r["period"], r["count"], r["cents"]) for r in by_day["periods"]] == [
        ("2026-11-23", 2, 99800),
        ("2026-11-24", 1, 129900),
        ("2026-11-30", 1, 1000),
    ], "completed sales only, of this retailer only"
    assert [(r["cabinet_id"], r["count"], r["cents"]) for r in by_day["cabinets"]] == [
        ("cab-1", 2, 99800),
        ("cab-2", 2, 130900),
    ]
    assert [(r["sku"], r["variant_sku"], r["cents"]) for r in by_day["products"]] == [
        ("EBIKE-1", "EBIKE-1", 129900),  # a product without variants: its own SKU
        ("HELMET", "HELMET", 1000),
        ("SCOOT-S1", "SCOOT-S1-coal", 49900),
        ("SCOOT-S1", "SCOOT-S1-mint", 49900),
    ]
    by_week = summary(store, period="week")
    assert [(r["period"], r["count"], r["cents"]) for r in by_week["periods"]] == [
        ("2026-11-23", 3, 229700),
        ("2026-11-30", 1, 1000),
    ]
    only = summary(store, cabinet_id="cab-1", sku="SCOOT-S1", since_day="2026-11-23", until_day="2026-11-23")
    assert [(r["period"], r["count"]) for r in only["periods"]] == [("2026-11-23", 2)]
    assert summary(store, cabinet_id="cab-x")["periods"] == [], "another retailer's cabinet by name: nothing"
    assert [r["sale_id"] for r in store.sales_page(SHOP, since_day="2026-11-01", until_day="2026-11-30")] == [
        "s1",
        "s2",
        "s3",
        "s4",
    ]
    assert store.sale_skus(SHOP) == ["EBIKE-1", "HELMET", "SCOOT-S1"]
    assert [r["sale_id"] for r in store.sales_page(OTHER, since_day="2026-11-01", until_day="2026-11-30")] == ["x1"]


def test_weeks_start_on_monday() -> None:
    assert week_of("2026-11-23") == "2026-11-23"  # Monday
    assert week_of("2026-11-29") == "2026-11-23"  # Sunday
    assert week_of("2027-01-01") == "2026-12-28"  # across a year


def test_a_database_from_before_the_read_model_gets_it_built_from_its_events(tmp_path: Path) -> None:
    path = tmp_path / "cloud.db"
    old = SqliteCloudStore(path)
    old.add_retailer(SHOP)
    old.add_cabinet("cab-1", SHOP)
    Cabinet(old, "cab-1").sale("s1", "2026-11-23T10:00:00.000Z", 49900)
    old.close()
    with sqlite3.connect(path) as conn:  # as a release before the read model left it
        conn.execute("DROP TABLE sales")
        conn.execute("DROP TABLE schema_migrations")
    reopened = SqliteCloudStore(path)
    try:
        assert [(r["period"], r["cents"]) for r in summary(reopened)["periods"]] == [("2026-11-23", 49900)]
    finally:
        reopened.close()


def case(store: SqlCloudStore, sale_id: str = "u1") -> dict[str, Any]:
    [found] = store.refund_cases(SHOP, cabinet_id="cab-1", sale_id=sale_id)
    return found


NOW = "2026-11-25T12:00:00.000Z"


def test_an_unclaimed_sale_goes_from_flagged_to_requested_to_settled_in_any_event_order(
    store: SqlCloudStore,
) -> None:
    cab = Cabinet(store, "cab-1")
    # The alarm is uploaded ahead of the money events: the row is made by whichever comes first.
    cab.send("alarm", "2026-11-25T10:02:00.000Z", kind="refund_needed", sale_id="u1", detail="host refused")
    assert store.refund_cases(SHOP) == [], "not listed before the sale itself is known"
    cab.send(
        "payment.approved",
        "2026-11-25T10:00:00.000Z",
        sale_id="u1",
        sku="SCOOT-S1",
        variant_sku="SCOOT-S1-mint",
        amount_cents=49900,
        currency="EUR",
        method="terminal",
        receipt_no="0042",
        trace_no="7",
    )
    cab.send(
        "sale.unclaimed",
        "2026-11-25T10:01:00.000Z",
        sale_id="u1",
        sku="SCOOT-S1",
        amount_cents=49900,
        currency="EUR",
        action="reversal",
    )
    found = case(store)
    assert (found["variant_sku"], found["receipt_no"], found["refund_detail"]) == (
        "SCOOT-S1-mint",
        "0042",
        "host refused",
    )
    assert refund_state(found, NOW) == ("refund_needed", "2026-11-25T10:02:00.000Z")
    assert store.refund_cases(OTHER) == []
    with pytest.raises(NotFound):
        store.request_refund(OTHER, "cab-1", "u1", requested_by="someone@other.example")

    requested = store.request_refund(SHOP, "cab-1", "u1", requested_by="owner@velo-mall.example", now=1.8e9)
    assert refund_state(requested, NOW)[0] == "refund_requested"
    [command] = store.pending_commands("cab-1")
    assert (command["kind"], command["args"]) == ("refund", {"sale_id": "u1"})
    with pytest.raises(Conflict, match="already waiting"):
        store.request_refund(SHOP, "cab-1", "u1", requested_by="owner@velo-mall.example", now=1.8e9)
    store.ack_command(command["id"], "ok: giving it back again")
    assert refund_state(case(store), NOW)[0] == "refund_acknowledged"
    cab.send(
        "payment.reversed",
        "2026-11-25T10:05:00.000Z",
        sale_id="u1",
        receipt_no="0042",
        amount_cents=49900,
        currency="EUR",
    )
    assert refund_state(case(store), NOW) == ("settled", "2026-11-25T10:05:00.000Z")
    with pytest.raises(Conflict, match="already settled"):
        store.request_refund(SHOP, "cab-1", "u1", requested_by="owner@velo-mall.example")


def test_refund_states_a_request_can_end_in() -> None:
    base = {
        "reversed_at": None,
        "payment_status": None,
        "refund_requested_at": "2026-11-25T10:00:00.000Z",
        "refund_flagged_at": "2026-11-25T09:00:00.000Z",
        "refund_acked_at": None,
        "refund_result": None,
        "refund_expires_at": "2026-11-26T10:00:00.000Z",
        "unclaimed_at": "2026-11-25T08:00:00.000Z",
        "approved_at": "2026-11-25T08:00:00.000Z",
    }
    assert refund_state(base, "2026-11-27T00:00:00.000Z")[0] == "refund_expired"
    refused = {**base, "refund_acked_at": "2026-11-25T10:01:00.000Z", "refund_result": "refused: args.sale_id: no"}
    assert refund_state(refused, NOW)[0] == "refund_refused"
    flagged_again = {**refused, "refund_result": "ok: giving it back again", "refund_flagged_at": "2026-11-25T10:02Z"}
    assert refund_state(flagged_again, NOW)[0] == "refund_needed"
    assert refund_state({**base, "payment_status": "refunded"}, NOW)[0] == "refunded_by_provider"
    untouched = {**base, "refund_requested_at": None, "refund_flagged_at": None}
    assert refund_state(untouched, NOW) == ("reversing", "2026-11-25T08:00:00.000Z")


TODAY = date(2026, 11, 30)


def test_the_filter_defaults_to_the_last_thirty_days_by_day() -> None:
    assert parse_filter({}, TODAY) == SalesFilter(date(2026, 11, 1), TODAY, "day", None, None)
    chosen = parse_filter(
        {"from": "2026-01-01", "to": "2026-01-31", "period": "week", "cabinet": "c", "sku": "S"}, TODAY
    )
    assert chosen.query() == {"from": "2026-01-01", "to": "2026-01-31", "period": "week", "cabinet": "c", "sku": "S"}


@pytest.mark.parametrize(
    ("query", "field", "key"),
    [
        ({"from": "30.11.2026"}, "from", "filter_bad_date"),
        ({"to": "2026-13-01"}, "to", "filter_bad_date"),
        ({"from": "2026-12-01", "to": "2026-11-01"}, "from", "filter_from_after_to"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "from", "filter_too_long"),
        ({"period": "year"}, "period", "filter_bad_period"),
    ],
)
def test_a_bad_filter_names_its_field(query: dict[str, str], field: str, key: str) -> None:
    with pytest.raises(FilterError) as refused:
        parse_filter(query, TODAY)
    assert (refused.value.field, refused.value.key) == (field, key)


@given(st.dictionaries(st.sampled_from(["from", "to", "period", "cabinet", "sku", "x"]), st.text(max_size=30)))
def test_any_query_is_a_filter_or_a_named_refusal(query: dict[str, str]) -> None:
    try:
        flt = parse_filter(query, TODAY)
    except FilterError as exc:
        assert exc.field in ("from", "to", "period")
    else:
        assert flt.since <= flt.until and (flt.until - flt.since).days < 366 and flt.period in ("day", "week")


def test_the_csv_has_a_header_and_reads_back_with_quotes_and_formulas_neutralised() -> None:
    rows: list[dict[str, Any]] = [
        {
            "completed_at": "2026-11-23T10:00:00.000Z",
            "cabinet_id": "cab-1",
            "sale_id": "s1",
            "sku": 'SCOOT "S1", mint',
            "variant_sku": "=HYPERLINK(1)",
            "amount_cents": 49905,
            "currency": "EUR",
            "method": "terminal",
        },
        {**{k: "x" for k in CSV_HEADER}, "completed_at": "t", "cabinet_id": "c", "sale_id": "s2", "sku": "A"}
        | {"variant_sku": None, "amount_cents": 1500, "currency": "JPY", "method": "qr"},
    ]
    text = sales_csv(rows)
    assert text.startswith(",".join(CSV_HEADER) + "\r\n")
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert parsed[1] == [
        "2026-11-23T10:00:00.000Z",
        "cab-1",
        "s1",
        'SCOOT "S1", mint',
        "'=HYPERLINK(1)",
        "499.05",
        "EUR",
        "terminal",
    ]
    assert parsed[2][4:6] == ["", "1500"], "a missing variant is empty; yen have no minor unit"


def test_the_chart_has_a_bar_for_every_day_scaled_to_the_best() -> None:
    flt = SalesFilter(date(2026, 11, 23), date(2026, 11, 25))
    rows = [
        {"period": "2026-11-23", "currency": "EUR", "count": 1, "cents": 1000},
        {"period": "2026-11-25", "currency": "EUR", "count": 2, "cents": 500},
    ]
    [chart] = charts(flt, rows)
    assert [b.label for b in chart.bars] == ["2026-11-23", "2026-11-24", "2026-11-25"]
    heights = [b.height for b in chart.bars]
    assert heights[1] == 0 and heights[0] == 2 * heights[2] and max(heights) <= CHART_H
    assert all(b.y + b.height == pytest.approx(CHART_H) for b in chart.bars)
    assert (chart.top, chart.bars[2].value) == ("10.00 EUR", "5.00 EUR")
    view = sales_view(flt, {"periods": rows, "cabinets": [], "products": []})
    assert (view.count, view.totals) == (3, ["15.00 EUR"])


@given(st.dictionaries(st.sampled_from(["page", "x"]), st.text(max_size=30)), st.integers(0, 10_000))
def test_any_refunds_page_query_is_a_page_of_the_list_or_a_named_refusal(query: dict[str, str], total: int) -> None:
    try:
        page = refund_page(query, total, 50)
    except ValueError as exc:
        assert str(exc).startswith("page: ")
    else:
        assert 1 <= page.number <= page.pages and 0 <= page.offset <= max(0, total - 1)
        assert page.pages == max(1, (total + 49) // 50)


def test_a_page_past_the_end_shows_the_last_one() -> None:
    assert refund_page({"page": "7"}, 120, 50) == refund_page({"page": "3"}, 120, 50)
    assert refund_page({}, 0, 50).number == 1
