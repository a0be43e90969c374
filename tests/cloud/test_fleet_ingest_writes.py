"""An upload is one transaction that no other cabinet's upload waits on in a cycle, on both stores: the fleet's
funnel and sales rows are kept in shards (each cabinet adds to its own, the reads add them up), the batch's
counters are written once per row in key order at its end, and the request's nonce is claimed in that same
transaction (one commit a ``POST /v1/events``); a cabinet forgets only its own old nonces."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from typing import Any

import pytest

from cloud_stub.sqldb import SQLITE, Conn
from cloud_stub.store import (
    FLEET_SHARDS,
    NonceUsed,
    PostgresCloudStore,
    SqlCloudStore,
    fleet_key,
    fleet_shard,
    open_store,
)
from cloud_stub.store import schema as cloud_schema
from sync_client.schema import HDR_NONCE, Event, event_from_json, new_event_id
from tests.cloud.cloud_helpers import CAB, OTHER, Cloud

SHOP = "shop-a"
DAY = "2026-11-30"
PRICE = 49900
PLAYS = 10  # of the one ad, in each batch
BATCH = 4  # events a batch: a payment, its sale, the ad's plays, a session
ROUNDS = 3
CABINETS = [f"fleet-{n:02d}" for n in range(24)]  # one retailer's, over most of the shards


def event(cabinet_id: str, seq: int, kind: str, payload: dict[str, Any]) -> Event:
    return event_from_json(
        {
            "id": new_event_id(),
            "cabinet_id": cabinet_id,
            "seq": seq,
            "type": kind,
            "schema_version": 1,
            "wall_time": f"{DAY}T10:00:{seq % 60:02d}Z",
            "mono_time": float(seq),
            "payload": payload,
        }
    )


def fleet_batch(cabinet_id: str, round_no: int) -> list[Event]:
    """A sale of SCOOT-S1, ten plays of ad-1 and a session that began on it and bought: the rows every cabinet
    of the retailer shares (the day's, the product's, the ad's), touched in an order that differs by cabinet
    and round (the sale's day row, then the ad's; or the ad's, then the day's): folded in event order, two
    uploads locked them in opposite orders, a deadlock."""
    seq = 1 + 10 * round_no
    money = {"sale_id": f"{cabinet_id}-{round_no}", "sku": "SCOOT-S1", "amount_cents": PRICE, "currency": "EUR"}
    visit = {"sku": "SCOOT-S1", "dwell_s": 4.0, "turns": 1, "narrations": 0, "variant": None, "checkout": True}
    parts: list[list[tuple[str, dict[str, Any]]]] = [
        [
            ("payment.approved", {**money, "method": "terminal", "receipt_no": "1", "trace_no": "1"}),
            ("sale.completed", {**money, "door_opened_at": f"{DAY}T10:02:00Z", "door_closed_at": f"{DAY}T10:02:30Z"}),
        ],
        [
            (
                "ad.plays",
                {
                    "plays": [
                        {
                            "ad_id": "ad-1",
                            "count": PLAYS,
                            "shown_s": 60.0,
                            "first_at": f"{DAY}T09:00:00Z",
                            "last_at": f"{DAY}T09:59:00Z",
                        }
                    ]
                },
            )
        ],
        [
            (
                "session.ended",
                {
                    "started_at": f"{DAY}T10:00:00Z",
                    "ended_at": f"{DAY}T10:03:00Z",
                    "ended_by": "idle",
                    "screens": ["attract", "product"],
                    "products": [{**visit, "payment": "approved"}],
                    "step": "paid",
                    "left_at": "thanks",
                    "ad_id": "ad-1",
                },
            )
        ],
    ]
    if (CABINETS.index(cabinet_id) + round_no) % 2:  # the ad's row first, the day's after it
        parts = [parts[1], parts[2], parts[0]]
    kinds = [kind for part in parts for kind in part]
    return [event(cabinet_id, seq + i, kind, payload) for i, (kind, payload) in enumerate(kinds)]


def at_once(calls: Sequence[Callable[[], Any]]) -> list[Any]:
    """The calls on threads released together: each one's result or exception."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait(30)
        try:
            return call()
        except Exception as exc:  # counted by the caller: none is expected
            return exc

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


@pytest.fixture
def nodes(cloud_target: str) -> Iterator[list[SqlCloudStore]]:
    """Two nodes' stores on PostgreSQL (a pool each); SQLite's one store (a single writer)."""
    stores = [open_store(cloud_target)]
    if not cloud_target.endswith(".db"):
        stores.append(open_store(cloud_target))
    yield stores
    for s in stores:
        s.close()


def test_the_cabinets_of_one_retailer_upload_at_once_first_time_and_the_fleet_adds_up_exactly(
    nodes: list[SqlCloudStore],
) -> None:
    first = nodes[0]
    first.add_retailer(SHOP)
    for cabinet_id in CABINETS:
        first.add_cabinet(cabinet_id, SHOP)
    assert len({fleet_shard(c) for c in CABINETS}) > FLEET_SHARDS // 2  # many shards, some shared
    for round_no in range(ROUNDS):
        calls = [
            partial(nodes[i % len(nodes)].store_events, cabinet_id, fleet_batch(cabinet_id, round_no))
            for i, cabinet_id in enumerate(CABINETS)
        ]
        results = at_once(calls)
        # The store retries nothing itself: a deadlock or a serialization failure would be an exception here.
        assert [r for r in results if isinstance(r, BaseException)] == []
        assert [r.stored for r in results] == [BATCH] * len(CABINETS)

    sales, sessions = ROUNDS * len(CABINETS), ROUNDS * len(CABINETS)
    for store in nodes:
        funnel = store.funnel(SHOP, since_day=DAY, until_day=DAY)
        assert [
            (d["day"], d["sessions"], d["viewed"], d["checkouts"], d["paid"], d["sold"]) for d in funnel["days"]
        ] == [(DAY, sessions, sessions, sessions, sessions, sales)]
        assert funnel["ads"] == [{"ad_id": "ad-1", "impressions": PLAYS * sessions, "touches": sessions}]
        [product] = funnel["products"]
        assert (product["sku"], product["views"], product["paid"], product["sold"]) == (
            "SCOOT-S1",
            sessions,
            sessions,
            sales,
        )
        assert product["dwell_s"] == pytest.approx(4.0 * sessions)
        assert funnel["exits"] == [{"left_at": "thanks", "sessions": sessions}]
        one = store.funnel(SHOP, since_day=DAY, until_day=DAY, cabinet_id=CABINETS[5])
        assert [(d["sessions"], d["sold"]) for d in one["days"]] == [(ROUNDS, ROUNDS)]

        summary = store.sales_summary(SHOP, since_day=DAY, until_day=DAY)
        assert [(p["period"], p["currency"], p["count"], p["cents"]) for p in summary["periods"]] == [
            (DAY, "EUR", sales, sales * PRICE)
        ]
        assert [(p["sku"], p["variant_sku"], p["count"], p["cents"]) for p in summary["products"]] == [
            ("SCOOT-S1", "SCOOT-S1", sales, sales * PRICE)
        ]
        assert [(m["method"], m["count"]) for m in summary["methods"]] == [("terminal", sales)]
        assert len(summary["cabinets"]) == len(CABINETS) and {c["count"] for c in summary["cabinets"]} == {ROUNDS}
        assert store.sale_skus(SHOP) == ["SCOOT-S1"]


@contextmanager
def counted_writes(store: SqlCloudStore) -> Iterator[dict[str, int]]:
    """Count the store's write transactions (each one commit) and, on SQLite, the COMMITs its writer ran."""
    counts = {"writes": 0, "commits": 0}
    db: Any = store._db
    write = db.write

    def counting_write(**options: Any) -> AbstractContextManager[Conn]:
        counts["writes"] += 1
        return write(**options)  # type: ignore[no-any-return]

    def trace(statement: str) -> None:
        counts["commits"] += statement.strip().upper() == "COMMIT"

    db.write = counting_write
    raw: sqlite3.Connection | None = db.raw if db.dialect == SQLITE else None
    if raw is not None:
        raw.set_trace_callback(trace)
    try:
        yield counts
    finally:
        db.write = write
        if raw is not None:
            raw.set_trace_callback(None)


async def test_an_upload_is_one_commit_and_its_replay_is_refused_as_before(cloud: Cloud) -> None:
    batch = [e.to_json() for e in fleet_batch(CABINETS[0], 0)]
    for e in batch:
        e["cabinet_id"] = CAB
    assert (await cloud.post([], nonce="first")).status == 200  # after the node's start-up chores (a purge)
    with counted_writes(cloud.store) as counts:
        reply = await cloud.post(batch, nonce="upload-1")
    assert reply.status == 200 and len(reply.body["acked"]) == BATCH
    sqlite = cloud.store._db.dialect == SQLITE
    assert counts == {"writes": 1, "commits": 1 if sqlite else 0}, "the nonce, the events, the read models: one"
    assert cloud.store.cabinet(CAB)["last_sync_at"] is not None  # type: ignore[index]

    with counted_writes(cloud.store) as counts:
        replay = await cloud.post(batch, nonce="upload-1")  # the same request again
    assert replay.status == 401 and replay.body["error"].startswith(HDR_NONCE + ":")
    assert counts["writes"] == 0, "refused before its body is read"
    assert cloud.store.count_events() == BATCH

    # Other signed requests keep their own claim of the nonce, and an upload cannot reuse theirs.
    assert (await cloud.signed("GET", "/v1/commands", nonce="poll-1")).status == 200
    assert (await cloud.signed("GET", "/v1/commands", nonce="poll-1")).status == 401
    assert (await cloud.post([], nonce="poll-1")).status == 401


def test_a_nonce_claimed_by_an_upload_at_once_elsewhere_refuses_the_batch_and_stores_nothing(
    store: SqlCloudStore,
) -> None:
    """Two nodes with the same request: both checked the nonce as new before either stored; the second to
    store finds it claimed (NonceUsed: the API's 401) and its transaction leaves nothing behind."""
    store.add_retailer(SHOP)
    store.add_cabinet(CAB, SHOP)
    store.add_cabinet(OTHER, SHOP)
    now = 1_800_000_000.0
    first = fleet_batch(CABINETS[0], 0)
    first = [event(CAB, e.seq, e.type, e.payload) for e in first]
    assert store.store_events(CAB, first, now=now, nonce="n-1", nonce_keep_s=600).stored == BATCH
    synced = store.cabinet(CAB)
    second = [event(CAB, 50 + i, "heartbeat", {}) for i in range(3)]
    with pytest.raises(NonceUsed):
        store.store_events(CAB, second, now=now + 1, nonce="n-1", nonce_keep_s=600)
    assert store.count_events() == BATCH and store.cabinet(CAB) == synced
    assert store.admission(CAB, "n-1", keep_s=600, now=now + 1).nonce_used  # type: ignore[union-attr]
    # Another cabinet's nonces are its own; an old one is forgotten and may come again.
    assert store.store_events(OTHER, [event(OTHER, 1, "heartbeat", {})], nonce="n-1", nonce_keep_s=600).stored == 1
    assert store.store_events(CAB, second, now=now + 601, nonce="n-1", nonce_keep_s=600).stored == 3
    assert not store.remember_nonce(CAB, "n-1", keep_s=600, now=now + 602), "a poll cannot reuse it either"


def test_a_cabinet_forgets_its_own_old_nonces_and_no_other_cabinet_s(store: SqlCloudStore) -> None:
    store.add_cabinet(CAB)
    store.add_cabinet(OTHER)
    assert store.remember_nonce(CAB, "old", keep_s=600, now=1000.0)
    assert store.remember_nonce(OTHER, "old", keep_s=600, now=1000.0)
    assert store.remember_nonce(OTHER, "new", keep_s=600, now=2000.0)  # OTHER's old one goes, not CAB's
    with store._db.read() as conn:
        kept = sorted((r["cabinet_id"], r["nonce"]) for r in conn.execute("SELECT cabinet_id, nonce FROM nonces"))
        if conn.dialect == SQLITE:  # found by the index on (cabinet, age), not by walking the cabinet's nonces
            plan = conn.execute("EXPLAIN QUERY PLAN DELETE FROM nonces WHERE cabinet_id = ? AND seen_at < ?", ("x", 1))
            assert "nonces_by_cabinet_age" in " ".join(str(r[3]) for r in plan)
    assert kept == [(CAB, "old"), (OTHER, "new")]
    assert store.store_events(CAB, [], now=2000.0, nonce="next", nonce_keep_s=600).stored == 0  # an upload too
    with store._db.read() as conn:
        assert [r["nonce"] for r in conn.execute("SELECT nonce FROM nonces WHERE cabinet_id = ?", (CAB,))] == ["next"]


def test_on_postgresql_an_upload_s_statements_are_prepared_once_and_store_the_same(pg_url: str) -> None:
    """The server parses and plans the ingest's statements once per connection, not once per upload (with
    literals bound into the text, each upload was new SQL to it): its largest CPU cost, measured."""
    store = PostgresCloudStore(pg_url, pool_size=1)  # one connection: the one whose prepared statements we read
    try:
        store.add_retailer(SHOP)
        store.add_cabinet(CABINETS[0], SHOP)
        uploads = 6  # psycopg prepares a statement at its fifth run on a connection
        assert [store.store_events(CABINETS[0], fleet_batch(CABINETS[0], n)).stored for n in range(uploads)] == [
            BATCH
        ] * uploads
        # every signed request's look (its cabinet's key, its nonce unused) before its body is read
        looks = [store.admission(CABINETS[0], f"n{n}", keep_s=60) for n in range(uploads)]
        assert [look is not None and not look.nonce_used for look in looks] == [True] * uploads
        with store._db.read() as conn:
            prepared = [
                " ".join(r["statement"].split()) for r in conn.execute("SELECT statement FROM pg_prepared_statements")
            ]
        assert any(s.startswith("INSERT INTO events (id, cabinet_id, seq,") for s in prepared), prepared
        assert any(s.startswith("SELECT retailer FROM cabinets WHERE id = $1") for s in prepared), prepared
        assert any(s.startswith("SELECT key, EXISTS (SELECT 1 FROM nonces") for s in prepared), prepared
        day = store.funnel(SHOP, since_day=DAY, until_day=DAY)["days"][0]
        assert (day["sessions"], day["paid"], day["sold"]) == (uploads, uploads, uploads)
    finally:
        store.close()


# --- the migration: the fleet's rows from before the shards -----------------------------------------------
# as migration 1 made it: the baseline's schema text, which stays as it was
_FLEET_SALES_V1 = re.search(
    r"CREATE TABLE IF NOT EXISTS sales_fleet_daily \(.*?\n\) WITHOUT ROWID;", cloud_schema._SCHEMA, re.S
)[0]  # type: ignore[index]
_FUNNEL_SUMS = {
    "funnel_days": (("day",), ("sessions", "viewed", "checkouts", "paid", "sold", "passers", "stoppers")),
    "funnel_products": (
        ("day", "sku"),
        ("views", "dwell_s", "turns", "narrations", "variants", "checkouts", "paid", "sold"),
    ),
    "funnel_exits": (("day", "left_at"), ("sessions",)),
    "funnel_ads": (("day", "ad_id"), ("impressions", "touches")),
}


def as_before_the_shards(conn: Conn) -> None:
    """The fleet's rows as migration 2 left them: one funnel row per day (product, ad...) under "*<retailer>",
    sales_fleet_daily without shards; the nonces' index by age."""
    keys = [fleet_key(SHOP, shard) for shard in range(FLEET_SHARDS)]
    marks = ", ".join("?" * len(keys))
    for table, (key, counters) in _FUNNEL_SUMS.items():
        columns = ", ".join((*key, *(f"SUM({c})" for c in counters)))
        rows = conn.execute(
            f"SELECT {columns} FROM {table} WHERE cabinet_id IN ({marks}) GROUP BY {', '.join(key)}", keys
        )
        summed = [(fleet_key(SHOP, 0), *r) for r in rows.fetchall()]
        conn.execute(f"DELETE FROM {table} WHERE cabinet_id IN ({marks})", keys)
        names = ", ".join(("cabinet_id", *key, *counters))
        conn.executemany(
            f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * (1 + len(key) + len(counters)))})", summed
        )
    lines = conn.execute(
        "SELECT retailer, day, sku, variant_sku, currency, SUM(count), SUM(cents) FROM sales_fleet_daily "
        "GROUP BY retailer, day, sku, variant_sku, currency"
    ).fetchall()
    conn.script("DROP TABLE sales_fleet_daily;\n" + _FLEET_SALES_V1)
    conn.executemany("INSERT INTO sales_fleet_daily VALUES (?, ?, ?, ?, ?, ?, ?)", [tuple(r) for r in lines])
    conn.script("DROP INDEX nonces_by_cabinet_age;\nCREATE INDEX nonces_by_age ON nonces(seen_at);\n")
    conn.execute("DELETE FROM schema_migrations WHERE version = 3")


def figures(store: SqlCloudStore) -> list[Any]:
    span = {"since_day": DAY, "until_day": DAY}
    return [
        store.funnel(SHOP, **span),
        store.funnel(SHOP, **span, cabinet_id=CABINETS[1]),
        store.sales_summary(SHOP, **span),
        store.sales_summary(SHOP, **span, period="week", sku="SCOOT-S1"),
        store.sale_skus(SHOP),
    ]


def test_the_fleet_s_rows_from_before_the_shards_read_the_same_and_keep_adding_up(cloud_target: str) -> None:
    store = open_store(cloud_target)
    store.add_retailer(SHOP)
    for cabinet_id in CABINETS[:8]:
        store.add_cabinet(cabinet_id, SHOP)
        store.store_events(cabinet_id, fleet_batch(cabinet_id, 0))
    before = figures(store)
    with store._db.write() as conn:
        as_before_the_shards(conn)
    with store._db.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM funnel_days WHERE cabinet_id LIKE '*%'").fetchone()[0] == 1
    assert figures(store) == before, "the old layout reads the same"
    store.close()

    store = open_store(cloud_target)  # migration 3 again
    try:
        assert [m.version for m in store.migrated] == [3]
        assert figures(store) == before
        with store._db.read() as conn:
            shards = {tuple(r) for r in conn.execute("SELECT DISTINCT shard FROM sales_fleet_daily")}
        assert shards == {(fleet_shard(c),) for c in CABINETS[:8]}, "each cabinet's past sales in its shard"
        for cabinet_id in CABINETS[:8]:  # and its next sales add to the same lines
            store.store_events(cabinet_id, fleet_batch(cabinet_id, 1))
        summary = store.sales_summary(SHOP, since_day=DAY, until_day=DAY)
        assert [(p["count"], p["cents"]) for p in summary["periods"]] == [(16, 16 * PRICE)]
        funnel = store.funnel(SHOP, since_day=DAY, until_day=DAY)
        assert [(d["sessions"], d["sold"]) for d in funnel["days"]] == [(16, 16)]
        assert funnel["ads"] == [{"ad_id": "ad-1", "impressions": 16 * PLAYS, "touches": 16}]
    finally:
        store.close()


def test_a_cabinet_s_shard_is_the_same_in_every_node_process() -> None:
    """Nodes add to and read the same shard rows: the shard depends on the cabinet's id alone, not on the
    process (Python's own str hash differs per process)."""
    code = "from cloud_stub.store import fleet_shard; print([fleet_shard(f'cab-{n}') for n in range(50)])"
    shards = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert shards == {f"{[fleet_shard(f'cab-{n}') for n in range(50)]}\n"}
    assert len(set(eval(shards.pop()))) == FLEET_SHARDS  # 50 cabinets spread over all the shards
