"""The shopper funnel's query as events grow: it reads the funnel tables kept at ingest, so its time follows
the days and products asked for, not the events stored.

    python benchmarks/bench_funnel.py [--cabinets 200] [--events 1000000,10000000] [--days 30] [--requests 20]
                                      [--bulk-above N] [--json PATH]

The cloud's store (SQLite on disk) is filled through its ingest path (``store_events``, batches of 1000 per
cabinet, as an upload does) up to each size of ``--events`` in turn, the next size continuing the same fill
(its new events spread over the same days: the funnel tables keep their size, only the events grow);
per cabinet and day: anonymous shopper sessions (``session.ended``: 60 % of the events, a third viewing a
product, some checking out and paying), their sales (``payment.approved``, ``sale.completed``), ad plays and
heartbeats. At each size the funnel (``SqliteCloudStore.funnel``) is asked ``--requests`` times for the fleet
over all the days, over one day, and for one cabinet over all the days; the time is the query's, in the
process (the API and the console page add their rendering).

``--bulk-above N``: the events beyond the first N are not sent through ingest (at about 300 µs an event on a
busy 2-core machine, 10 million take hours) but written straight into the events table (benchmark only: the
same generated events, one transaction per cabinet, no journal, its secondary indexes built afterwards); then
the funnel and sales tables are emptied and built again from all the stored events by the store's own backfills
(those of migration 1, which upgraded stores from before the read models; the fleet's funnel and sales rows go
to shard 0, which the reads sum with the others): the figures are those ingest would have kept, and the
rebuild's time is reported.
Goal: p99 under 100 ms at every size.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cloud_stub.store import SqliteCloudStore
from cloud_stub.store.migrations import _backfill_funnel, _backfill_sales, _backfill_sales_rollup
from cloud_stub.store.schema import _SCHEMA
from sync_client.schema import Event, new_event_id, utc_iso

RETAILER = "bench-shop"
GOAL_MS = 100.0
BATCH = 1000
SKUS = ("SCOOT-S1", "BIKE-C7", "KIDS-K1", "TRIKE-T3")
SCREENS = ("attract", "catalog", "product", "checkout", "door", "thanks")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def session(n: int, at: float) -> dict[str, Any]:
    """The n-th session of a cabinet: one in three views a product, one in ten of those pays."""
    views = [SKUS[(n + k) % len(SKUS)] for k in range(n % 3)]
    paid = n % 30 == 1
    step = "paid" if paid else "checkout" if n % 10 == 1 else "product" if views else "touch"
    products = [
        {
            "sku": sku,
            "dwell_s": 5.0 + n % 40,
            "turns": n % 3,
            "narrations": n % 2,
            "variant": None,
            "checkout": step in ("checkout", "paid") and k == 0,
            "payment": "approved" if paid and k == 0 else None,
        }
        for k, sku in enumerate(views)
    ]
    return {
        "started_at": utc_iso(at - 90),
        "ended_at": utc_iso(at),
        "ended_by": "idle",
        "screens": list(SCREENS[: 2 + len(views)]),
        "products": products,
        "step": step,
        "left_at": SCREENS[(n % 4) + 1],
        "ad_id": "ad-1" if n % 7 == 0 else None,
    }


def cabinet_events(cabinet_id: str, count: int, first_seq: int, start: float, step: float) -> Iterator[Event]:
    """``count`` events of one cabinet from sequence ``first_seq`` on, ``step`` seconds apart from ``start``."""
    seq, t = first_seq, start
    while seq < first_seq + count:
        slot = seq % 10
        facts: list[tuple[str, dict[str, Any]]]
        if slot < 6:
            payload = session(seq, t)
            facts = [("session.ended", payload)]
            if payload["step"] == "paid":
                sale_id = f"{cabinet_id}-{seq}"
                sale = {
                    "sale_id": sale_id,
                    "sku": payload["products"][0]["sku"],
                    "amount_cents": 49900,
                    "currency": "EUR",
                }
                facts += [
                    ("payment.approved", {**sale, "method": "terminal", "receipt_no": "1", "trace_no": "1"}),
                    ("sale.completed", {**sale, "door_opened_at": utc_iso(t), "door_closed_at": utc_iso(t)}),
                ]
        elif slot == 6:
            plays = [
                {"ad_id": "ad-1", "count": 40, "shown_s": 6.0, "first_at": utc_iso(t - 600), "last_at": utc_iso(t)}
            ]
            facts = [("ad.plays", {"plays": plays})]
        else:
            facts = [("heartbeat", {"faults": [], "backlog": 0, "software": "1.0"})]
        for kind, body in facts:
            seq += 1
            yield Event(new_event_id(t), cabinet_id, seq, kind, utc_iso(t), t, body)
        t += step


class Filler:
    """Fills one store up to a number of events, continuing where the last fill stopped: each fill spreads its
    new events over the whole period, so every size covers the same cabinets, days and products (the funnel
    tables keep the same number of rows) and only the events grow."""

    def __init__(self, store: SqliteCloudStore, cabinets: int, days: int) -> None:
        self.store, self.cabinets = store, cabinets
        self.end = time.time() - 60
        self.start = self.end - days * 86400.0
        self.seqs = [0] * cabinets
        self.fill_s = 0.0
        store.add_retailer(RETAILER)
        for i in range(cabinets):
            store.add_cabinet(f"cab-{i:04d}", RETAILER)

    def _new(self, events: int) -> Iterator[tuple[str, Iterator[Event]]]:
        """Each cabinet's events beyond what it has, up to its share of ``events``."""
        per_cabinet = events // self.cabinets
        for i in range(self.cabinets):
            cabinet_id, have = f"cab-{i:04d}", self.seqs[i]
            new = per_cabinet - have
            if new <= 0:
                continue
            step = (self.end - self.start) / new
            yield cabinet_id, cabinet_events(cabinet_id, new, have, self.start + step / 2, step)
            self.seqs[i] = per_cabinet

    def fill(self, events: int) -> None:
        """Through ingest (``store_events``), batches of BATCH as an upload sends them."""
        started = time.perf_counter()
        for cabinet_id, new in self._new(events):
            batch: list[Event] = []
            for event in new:
                batch.append(event)
                if len(batch) == BATCH:
                    self.store.store_events(cabinet_id, batch, now=self.end)
                    batch = []
            if batch:
                self.store.store_events(cabinet_id, batch, now=self.end)
        self.fill_s += time.perf_counter() - started

    def bulk_fill(self, events: int) -> float:
        """Straight into the events table, then the read models rebuilt by the store's own migration at open
        (see the module's doc). Returns the rebuild's seconds (also in ``fill_s``)."""
        started = time.perf_counter()
        path, received = self.store.path, utc_iso(self.end)
        self.store.close()
        with sqlite3.connect(path, isolation_level=None) as conn:
            # a throwaway database: no journal, no fsync, the id index in memory; the other indexes of the
            # events table are dropped here and built once afterwards from the store's schema text, which is much
            # faster than 9 million random insertions into them
            conn.execute("PRAGMA journal_mode=OFF")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("PRAGMA cache_size=-2000000")
            for index in ("events_by_cabinet_seq", "events_by_cabinet_type"):
                conn.execute(f"DROP INDEX {index}")
            for cabinet_id, new in self._new(events):
                conn.execute("BEGIN")
                conn.executemany(
                    "INSERT INTO events (id, cabinet_id, seq, type, schema_version, wall_time, mono_time, payload,"
                    " received_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)",
                    (
                        (e.id, cabinet_id, e.seq, e.type, e.wall_time, e.mono_time, json.dumps(e.payload), received)
                        for e in new
                    ),
                )
                conn.execute("COMMIT")
        conn.close()
        rebuilding = time.perf_counter()
        self.store = SqliteCloudStore(path)
        with self.store._db.write() as store:
            store.script(_SCHEMA)  # the dropped indexes (CREATE INDEX IF NOT EXISTS)
            # the read models emptied and built afresh from every stored event by the store's own backfills
            for table in ("funnel_days", "funnel_products", "funnel_exits", "funnel_ads", "sales"):
                store.execute(f"DELETE FROM {table}")
            _backfill_sales(store)
            _backfill_sales_rollup(store)
            _backfill_funnel(store)  # after the sales: their completed ones count as sold
        rebuild_s = time.perf_counter() - rebuilding
        self.fill_s += time.perf_counter() - started
        return rebuild_s


def measure(store: SqliteCloudStore, requests: int, days: int) -> dict[str, dict[str, Any]]:
    today = utc_iso(time.time())[:10]
    first = utc_iso(time.time() - (days - 1) * 86400)[:10]  # the first whole day
    queries = {
        f"fleet, {days} days": {"since_day": first, "until_day": today},
        "fleet, 1 day": {"since_day": first, "until_day": first},
        f"one cabinet, {days} days": {"since_day": first, "until_day": today, "cabinet_id": "cab-0000"},
    }
    results = {}
    for name, args in queries.items():
        times = []
        sessions = 0
        for _ in range(requests + 2):  # the first two warm the caches; not counted
            started = time.perf_counter()
            found = store.funnel(RETAILER, **args)
            times.append((time.perf_counter() - started) * 1000)
            sessions = sum(day["sessions"] for day in found["days"])
        counted = times[2:]
        results[name] = {
            "p50_ms": round(percentile(counted, 0.5), 2),
            "p99_ms": round(percentile(counted, 0.99), 2),
            "sessions": sessions,
            "ok": percentile(counted, 0.99) < GOAL_MS,
        }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cabinets", type=int, default=200)
    parser.add_argument("--events", default="1000000,10000000", help="sizes to measure at, comma-separated")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--bulk-above", type=int, help="events beyond this many are bulk-written (see above)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.events.split(","))
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-funnel-") as tmp:
        filler = Filler(SqliteCloudStore(Path(tmp) / "cloud.db"), args.cabinets, args.days)
        for size in sizes:
            bulk = args.bulk_above is not None and size > args.bulk_above
            before_n, before_s = filler.store.count_events(), filler.fill_s
            filler.fill(min(size, args.bulk_above) if bulk else size)
            ingested_n, ingest_s = filler.store.count_events() - before_n, filler.fill_s - before_s
            rebuild_s = filler.bulk_fill(size) if bulk else None
            stored = filler.store.count_events()
            print(f"filled {stored:,} events in {filler.fill_s:.0f} s", flush=True)
            queries = measure(filler.store, args.requests, args.days)
            run: dict[str, Any] = {"events": stored, "fill_s": round(filler.fill_s, 1), "queries": queries}
            if ingested_n:  # the ingest cost: store_events per event, funnel and other read models included
                run["ingest"] = {"events": ingested_n, "us_per_event": round(ingest_s / ingested_n * 1e6)}
            if bulk:
                run["filled"] = f"{args.bulk_above:,} through ingest, the rest bulk-written and rebuilt at open"
                run["rebuild_s"] = round(rebuild_s or 0.0, 1)
            runs.append(run)
            print(json.dumps(runs[-1]), flush=True)  # each size as it is measured: a long run shows its progress
        filler.store.close()
    print(f"\nShopper funnel query, {args.cabinets} cabinets, {args.days} days, {args.requests} requests each\n")
    print("| events | query | p50 ms | p99 ms | sessions counted | goal p99 < 100 ms |")
    print("|---|---|---|---|---|---|")
    for run in runs:
        for name, r in run["queries"].items():
            goal = "met" if r["ok"] else "MISSED"
            print(f"| {run['events']:,} | {name} | {r['p50_ms']} | {r['p99_ms']} | {r['sessions']:,} | {goal} |")
    report = {"cabinets": args.cabinets, "days": args.days, "runs": runs}
    print("\n" + json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if all(r["ok"] for run in runs for r in run["queries"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
