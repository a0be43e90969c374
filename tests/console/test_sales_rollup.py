"""The sales pages' daily rollup at store level: after any sequence of uploads (sales completed, unclaimed,
reversed, flagged for a refund, events in any order, sent twice, facts named late or changed) the rollup is
exactly a recount of the sales read model, the sales summary agrees with the sales themselves, and a database
from before the rollup gets the same rollup built once when it is opened."""

from __future__ import annotations

import sqlite3
import tempfile
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud_stub.store import SqliteCloudStore, week_of
from sync_client.schema import Event

SHOP, OTHER = "velo-mall", "other-shop"
CABINETS = {"cab-1": SHOP, "cab-2": SHOP, "cab-x": OTHER}
DAYS = ("2026-11-22", "2026-11-23", "2026-11-24", "2026-11-30")  # a Sunday, then two weeks
KINDS = ("payment.approved", "sale.completed", "sale.unclaimed", "payment.reversed", "alarm")
ROLLUPS = {
    "sales_daily": ("retailer", "cabinet_id", "day", "sku", "variant_sku", "currency"),
    "sales_cabinet_daily": ("retailer", "cabinet_id", "day", "currency"),
    "sales_fleet_daily": ("retailer", "day", "sku", "variant_sku", "currency"),
    "sales_method_daily": ("retailer", "cabinet_id", "day", "sku", "method", "method_detail", "currency"),
}

upload = st.fixed_dictionaries(
    {
        "cabinet": st.sampled_from(sorted(CABINETS)),
        "sale": st.integers(0, 4),
        "kind": st.sampled_from(KINDS),
        "day": st.sampled_from(DAYS),
        "sku": st.sampled_from([None, "SCOOT-S1", "HELMET"]),
        "variant": st.sampled_from([None, "SCOOT-S1-mint"]),
        "cents": st.sampled_from([None, 0, 1000, 49900]),
        "currency": st.sampled_from([None, "EUR", "JPY"]),
        "method": st.sampled_from([None, "terminal", "qr"]),
        "method_detail": st.sampled_from([None, "chip", "wallet"]),
        "again": st.booleans(),  # the same event sent once more (a retried upload)
        "batch_ends": st.booleans(),
    }
)


def events_of(uploads: list[dict[str, Any]]) -> list[tuple[str, list[Event]]]:
    """The uploads as batches per cabinet, with the retried events sent again within or after their batch."""
    batches: list[tuple[str, list[Event]]] = []
    seqs: dict[str, int] = defaultdict(int)
    sent: list[Event] = []
    for u in uploads:
        cabinet = u["cabinet"]
        seqs[cabinet] += 1
        payload: dict[str, Any] = {"sale_id": f"s{u['sale']}"}
        for key, value in (
            ("sku", u["sku"]),
            ("variant_sku", u["variant"]),
            ("amount_cents", u["cents"]),
            ("method", u["method"]),
            ("method_detail", u["method_detail"]),
        ):
            if value is not None:
                payload[key] = value
        if u["currency"]:
            payload["currency"] = u["currency"]
        if u["kind"] == "alarm":
            payload = {"kind": "refund_needed", "sale_id": payload["sale_id"], "detail": "host refused"}
        at = f"{u['day']}T10:{seqs[cabinet] % 60:02d}:00.000Z"
        event = Event(str(uuid.uuid4()), cabinet, seqs[cabinet], u["kind"], at, float(seqs[cabinet]), payload)
        if not batches or batches[-1][0] != cabinet or u["batch_ends"]:
            batches.append((cabinet, []))
        batches[-1][1].append(event)
        if u["again"]:
            batches[-1][1].append(event)
            if sent and sent[-1].cabinet_id == cabinet:
                batches[-1][1].append(sent[-1])  # an event of an earlier batch, retried
        sent.append(event)
    return batches


def recount(conn: sqlite3.Connection, table: str) -> list[tuple[Any, ...]]:
    """The rollup ``table`` recomputed from the sales read model, one row per sale."""
    key = ROLLUPS[table]
    expr = {
        "retailer": "k.retailer",
        "cabinet_id": "s.cabinet_id",
        "day": "s.day",
        "sku": "COALESCE(s.sku, '')",
        "variant_sku": "COALESCE(s.variant_sku, s.sku, '')",
        "currency": "COALESCE(s.currency, '')",
        "method": "COALESCE(s.method, '')",
        "method_detail": "COALESCE(s.method_detail, '')",
    }
    columns = ", ".join(expr[k] for k in key)
    return conn.execute(
        f"SELECT {columns}, COUNT(*), SUM(COALESCE(s.amount_cents, 0)) FROM sales s JOIN cabinets k "
        f"ON k.id = s.cabinet_id WHERE s.completed_at IS NOT NULL GROUP BY {columns} ORDER BY {columns}"
    ).fetchall()


def rollup(conn: sqlite3.Connection, table: str) -> list[tuple[Any, ...]]:
    columns = ", ".join(ROLLUPS[table])
    return conn.execute(f"SELECT {columns}, count, cents FROM {table} ORDER BY {columns}").fetchall()


def summary_from_sales(conn: sqlite3.Connection, retailer: str, **only: str) -> dict[str, dict[Any, list[int]]]:
    """What the sales summary must say, added up here from each completed sale of the retailer."""
    found: dict[str, dict[Any, list[int]]] = {"days": {}, "weeks": {}, "cabinets": {}, "products": {}, "methods": {}}
    rows = conn.execute(
        "SELECT s.* FROM sales s JOIN cabinets k ON k.id = s.cabinet_id "
        "WHERE k.retailer = ? AND s.completed_at IS NOT NULL",
        (retailer,),
    ).fetchall()
    for r in rows:
        if any(r[column] != value for column, value in only.items()):
            continue
        cents, currency = r["amount_cents"] or 0, r["currency"]
        for name, key in (
            ("days", r["day"]),
            ("weeks", week_of(r["day"])),
            ("cabinets", r["cabinet_id"]),
            ("products", (r["sku"], r["variant_sku"] or r["sku"])),
            ("methods", (r["method"], r["method_detail"])),
        ):
            line = found[name].setdefault((key, currency), [0, 0])
            line[0] += 1
            line[1] += cents
    return found


def as_found(lines: list[dict[str, Any]], *key: str) -> dict[Any, list[int]]:
    def k(line: dict[str, Any]) -> Any:
        return line[key[0]] if len(key) == 1 else tuple(line[c] for c in key)

    return {(k(line), line["currency"]): [line["count"], line["cents"]] for line in lines}


def check_summary(store: SqliteCloudStore, conn: sqlite3.Connection) -> None:
    for retailer in (SHOP, OTHER):
        for only in ({}, {"cabinet_id": "cab-1"}, {"sku": "SCOOT-S1"}, {"cabinet_id": "cab-2", "sku": "HELMET"}):
            expected = summary_from_sales(conn, retailer, **only)
            span = {"since_day": DAYS[0], "until_day": DAYS[-1]}
            by_day = store.sales_summary(retailer, **span, **only)
            by_week = store.sales_summary(retailer, **span, period="week", **only)
            assert as_found(by_day["periods"], "period") == expected["days"], (retailer, only)
            assert as_found(by_week["periods"], "period") == expected["weeks"], (retailer, only)
            assert as_found(by_day["cabinets"], "cabinet_id") == expected["cabinets"], (retailer, only)
            assert as_found(by_day["products"], "sku", "variant_sku") == expected["products"], (retailer, only)
            assert as_found(by_day["methods"], "method", "method_detail") == expected["methods"], (retailer, only)
            if not only:
                skus = {key[0] for key, _ in expected["products"] if key[0]}
                assert store.sale_skus(retailer) == sorted(skus)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(upload, min_size=1, max_size=30))
def test_the_rollup_is_a_recount_of_the_sales_after_any_uploads(uploads: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cloud.db"
        store = SqliteCloudStore(path)
        try:
            store.add_retailer(SHOP)
            store.add_retailer(OTHER)
            for cabinet, retailer in CABINETS.items():
                store.add_cabinet(cabinet, retailer)
            for cabinet, batch in events_of(uploads):
                store.store_events(cabinet, batch)
            conn = sqlite3.connect(path)
            conn.row_factory = sqlite3.Row
            with conn:
                for table in ROLLUPS:
                    assert [tuple(r) for r in rollup(conn, table)] == [tuple(r) for r in recount(conn, table)], table
                assert all(r["count"] > 0 for r in conn.execute("SELECT count FROM sales_daily")), "no empty lines"
                check_summary(store, conn)
                kept = {table: [tuple(r) for r in rollup(conn, table)] for table in ROLLUPS}
                for table in (*ROLLUPS, "schema_migrations"):  # as a release before the rollup left the database
                    conn.execute(f"DROP TABLE {table}")
            conn.close()
        finally:
            store.close()
        reopened = SqliteCloudStore(path)
        try:
            conn = sqlite3.connect(path)
            with conn:
                assert {table: [tuple(r) for r in rollup(conn, table)] for table in ROLLUPS} == kept
            conn.close()
        finally:
            reopened.close()


@pytest.mark.parametrize("paid_first", [True, False], ids=["provider-then-cabinet", "cabinet-then-provider"])
def test_a_scan_to_pay_sale_counts_by_how_its_provider_says_it_was_paid(tmp_path: Path, paid_first: bool) -> None:
    """The provider's word on how a scan-to-pay sale was paid reaches the rollup whether it comes before or after
    the cabinet's events, and a later word (a query after the notification) moves the sale's share."""
    store = SqliteCloudStore(tmp_path / "cloud.db")
    try:
        store.add_retailer(SHOP)
        store.add_cabinet("cab-1", SHOP)
        sale = {"sale_id": "s1", "sku": "SCOOT-S1", "amount_cents": 49900, "currency": "CNY", "method": "qr"}
        at = f"{DAYS[1]}T10:00:00.000Z"
        kinds = ("payment.approved", "sale.completed")
        events = [Event(str(uuid.uuid4()), "cab-1", n, kind, at, float(n), sale) for n, kind in enumerate(kinds, 1)]

        def pay() -> str:
            payment, _ = store.create_payment("cab-1", "s1", 49900, "CNY", 2e9, provider="btcpay", now=1.8e9)
            store.move_payment(payment["id"], "pending", "paid", details={"method_detail": "btc"}, now=1.8e9)
            return str(payment["id"])

        payment_id = pay() if paid_first else ""
        store.store_events("cab-1", events)
        payment_id = payment_id or pay()
        span = {"since_day": DAYS[0], "until_day": DAYS[-1]}
        methods = store.sales_summary(SHOP, **span)["methods"]
        assert [(m["method"], m["method_detail"], m["count"]) for m in methods] == [("qr", "btc", 1)]
        store.note_payment(payment_id, {"method_detail": "btc:lightning"})
        methods = store.sales_summary(SHOP, **span)["methods"]
        assert [(m["method"], m["method_detail"], m["count"]) for m in methods] == [("qr", "btc:lightning", 1)]
        conn = sqlite3.connect(tmp_path / "cloud.db")
        conn.row_factory = sqlite3.Row
        table = "sales_method_daily"
        assert [tuple(r) for r in rollup(conn, table)] == [tuple(r) for r in recount(conn, table)]
        conn.close()
    finally:
        store.close()
