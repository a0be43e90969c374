"""Ingest latency and the retailer's sales query as the store grows: at 1 and 10 million stored events.

    python benchmarks/bench_store_scale.py [--events 1000000,10000000] [--days 365] [--per-day 66]
                                           [--ingest-cabinets 10] [--interval 1] [--seconds 20]
                                           [--requests 50] [--pg] [--json PATH]

The store is a fleet of cabinets each a ``--days`` old with ``--per-day`` events a day (`bench_console`'s
realistic mix: a heartbeat an hour, ad plays, shopper sessions, about 5 sales a day with their door events and
stock counts, an alarm now and then); a size of ``--events`` is that many cabinets' histories (1 million: 42
cabinets of a year, 10 million: 416). Sizes are filled in turn, each continuing the last (new cabinets).

The fill is bulk (benchmark only; through ingest 10 million events take hours on 2 cores): the generated
events go straight into the events table (SQLite: ``executemany``, one transaction per cabinet; PostgreSQL:
``COPY`` into ``events`` and ``event_ids``), and the read model the sales query reads is built by the store's own
code: each sale event of the history folded by ``_apply_sale_event`` (the sales rows and their daily rollup, as
ingest keeps them) in the same transaction; on PostgreSQL the fold runs on a scratch SQLite store (a fold is a
dozen round trips an event there: hours for 10 million) and its sales rows are copied (``COPY``), the rollup then
summed from them by the store's ``_backfill_sales_rollup``. The other read models (the funnel, the cabinet's status)
are not built for the history: ingest touches only the ingesting cabinet's rows of them.

At each size `kiosk-cloud serve` runs on the store as a real process and:
- the retailer API's sales of the first cabinet (a year of sales: the newest page of 100, the last 30 days',
  all of them) are fetched ``--requests`` times each (after two not counted), from the request to the last byte;
- ``--ingest-cabinets`` cabinets with a history send a signed ``POST /v1/events`` of 10 events each every
  ``--interval`` s (jittered) for ``--seconds``, continuing their sequence (`bench_store_reads.ingest`): the
  latency from the first attempt to the acknowledgement.
Both must stay flat as the store grows. The defaults are a smoke run's sizes; the issue's are
``--events 1000000,10000000`` (about 15 minutes for 10 million on a quiet 2-core machine).

``--pg``: on PostgreSQL, a server this run starts in a temporary directory (`tests/pg_server.py`, durable).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_console import PRODUCTS, RETAILER, cabinet_events
from benchmarks.bench_store_reads import INGEST_BATCH, fetch, ingest, stats
from cloud_stub.sqldb import SQLITE, is_postgresql_url
from cloud_stub.store import SqlCloudStore, open_store
from cloud_stub.store.counters import _Tally
from cloud_stub.store.migrations import _backfill_sales_rollup
from cloud_stub.store.sales import _SALE_EVENTS, SaleRows, _apply_sale_event
from firmware.control_client import start_cloud
from sync_client.schema import Event, dumps, utc_iso
from tests.pg_server import benchmark_server

QUERIED = "cab-00000"  # the cabinet whose sales the retailer reads
PAGE = 100  # the API page the retailer's app would ask for
COLUMNS = "id, cabinet_id, seq, type, schema_version, wall_time, mono_time, payload, received_at"


@dataclasses.dataclass
class Fleet:
    """The store's cabinets so far: their keys and their next sequence number."""

    store: str  # a SQLite file's path or a postgresql:// URL
    days: int
    per_day: int
    token: str = ""
    keys: dict[str, bytes] = dataclasses.field(default_factory=dict)
    next_seq: dict[str, int] = dataclasses.field(default_factory=dict)
    end: float = dataclasses.field(default_factory=lambda: time.time() - 60)

    @property
    def per_cabinet(self) -> int:
        return self.days * self.per_day


def rows_of(cabinet_id: str, per_cabinet: int, days: int, end: float, index: int, received: str) -> Iterator[Any]:
    for e in cabinet_events(cabinet_id, per_cabinet, days, end, index):
        yield e, (e.id, cabinet_id, e.seq, e.type, 1, e.wall_time, e.mono_time, dumps(e.payload).decode(), received)


def add_history(store: SqlCloudStore, cabinet_id: str, fleet: Fleet, index: int, scratch: SqlCloudStore) -> int:
    """One cabinet's history, bulk-written, its sales folded into the read model in the same transaction (on
    PostgreSQL folded on ``scratch``, a SQLite store of no retailer, and its sales rows copied: a fold there is
    a dozen round trips an event; the rollup is summed afterwards, ``sum_rollup``)."""
    received = utc_iso(fleet.end)
    sales: list[Event] = []
    with store._db.write() as conn:
        rows = []
        for event, row in rows_of(cabinet_id, fleet.per_cabinet, fleet.days, fleet.end, index, received):
            rows.append(row)
            if event.type in _SALE_EVENTS:
                sales.append(event)
        if conn.dialect == SQLITE:
            conn.executemany(f"INSERT INTO events ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            tally, folded = _Tally(), SaleRows(conn, cabinet_id, [(e.type, e.payload) for e in sales])
            for event in sales:
                _apply_sale_event(conn, folded, event.type, event.wall_time, event.payload)
            folded.roll_up(tally, RETAILER)
            tally.write(conn)
            return len(rows)
        cursor = conn.raw.cursor()
        with cursor.copy(f"COPY events ({COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        with cursor.copy("COPY event_ids (id) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((row[0],))
        scratch.add_cabinet(cabinet_id)  # of no retailer: its folds leave the rollup alone
        with scratch._db.write() as folding:
            folded = SaleRows(folding, cabinet_id, [(e.type, e.payload) for e in sales])
            for event in sales:
                _apply_sale_event(folding, folded, event.type, event.wall_time, event.payload)
            folded.roll_up(_Tally(), None)  # of no retailer: no rollup line is made (the tally stays empty)
            found = folding.raw.execute("SELECT * FROM sales WHERE cabinet_id = ?", (cabinet_id,))
            columns = ", ".join(d[0] for d in found.description)
            with cursor.copy(f"COPY sales ({columns}) FROM STDIN") as copy:
                for sale in found:
                    copy.write_row(tuple(sale))
    return len(rows)


def sum_rollup(store: SqlCloudStore) -> None:
    """PostgreSQL: the sales' daily rollup summed afresh from the sales read model, by the store's own code."""
    with store._db.write() as conn:
        _backfill_sales_rollup(conn)
        conn.execute("ANALYZE")  # autovacuum would, some time later: the plans of a grown store
    with store._db.write() as conn:
        # the fill's dirty pages written now, not by a checkpoint in the middle of the measurement (seconds of
        # disk writes the ingest's commits would wait behind)
        conn.execute("CHECKPOINT")


def grow(fleet: Fleet, events: int) -> dict[str, Any]:
    """New cabinets with a history each until the store holds about ``events`` events."""
    started = time.perf_counter()
    store = open_store(fleet.store)
    scratch_dir = tempfile.TemporaryDirectory()
    scratch = open_store(Path(scratch_dir.name) / "scratch.db")
    try:
        if not fleet.token:
            fleet.token = store.add_retailer(RETAILER)
        have = store.count_events()
        while have + fleet.per_cabinet // 2 < events:
            index = len(fleet.keys)
            cabinet_id = f"cab-{index:05d}"
            fleet.keys[cabinet_id] = store.add_cabinet(cabinet_id, RETAILER, now=fleet.end)
            store.put_config(cabinet_id, {"currency": "EUR", "languages": ["en", "zh"], "products": PRODUCTS})
            have += add_history(store, cabinet_id, fleet, index, scratch)
            fleet.next_seq[cabinet_id] = fleet.per_cabinet + 1
            if index % 50 == 49:
                print(f"  {have:,} events, {time.perf_counter() - started:.0f} s", flush=True)
        if is_postgresql_url(fleet.store):
            sum_rollup(store)
        stored = store.count_events()
    finally:
        store.close()
        scratch.close()
        scratch_dir.cleanup()
    return {"events": stored, "cabinets": len(fleet.keys), "fill_s": round(time.perf_counter() - started, 1)}


def live_batches(fleet: Fleet, cabinet_id: str, index: int) -> Iterator[list[dict[str, Any]]]:
    """The cabinet's new events after its history, in order, 10 to a batch (the fleet's next_seq follows)."""
    # another generator name: its sale ids ("<id>-live-<n>") are not the history's
    events = cabinet_events(f"{cabinet_id}-live", 100 * fleet.per_day, 100, time.time(), index)  # 100 days'
    while True:
        batch = []
        for event in (next(events) for _ in range(INGEST_BATCH)):
            seq = fleet.next_seq[cabinet_id]
            fleet.next_seq[cabinet_id] = seq + 1
            batch.append(dataclasses.replace(event, cabinet_id=cabinet_id, seq=seq).to_json())
        yield batch


async def sales_queries(url: str, token: str, requests: int) -> dict[str, dict[str, Any]]:
    base = f"{url}/v1/retailer/cabinets/{QUERIED}/sales"
    today = time.strftime("%Y-%m-%d", time.gmtime())
    month = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 29 * 86400))
    pages = {
        f"sales, newest {PAGE}": f"{base}?limit={PAGE}",
        "sales, 30 days": f"{base}?from={month}&to={today}",
        "sales, all": base,
    }
    bearer = {"Authorization": f"Bearer {token}"}
    results: dict[str, dict[str, Any]] = {}
    async with aiohttp.ClientSession() as session:
        for name, page in pages.items():
            times, size = [], 0
            for _ in range(requests + 2):  # the first two warm the caches; not counted
                ms, size = await fetch(session, page, bearer)
                times.append(ms)
            async with session.get(page, headers=bearer) as response:
                count = len((await response.json())["sales"])
            results[name] = {**stats(times[2:]), "bytes": size, "sales": count}
    return results


def measure(fleet: Fleet, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        proc, base = start_cloud(workdir, args=("--db", fleet.store))  # the last --db is the one served
        try:
            queries = asyncio.run(sales_queries(base, fleet.token, args.requests))
            ingesting = list(fleet.keys)[: args.ingest_cabinets]
            streams = {c: live_batches(fleet, c, i) for i, c in enumerate(ingesting)}
            keys = {c: fleet.keys[c] for c in ingesting}
            times, failed = asyncio.run(ingest(base, keys, args.seconds, args.interval, streams))
        except Exception:
            print("the server's log ends:\n" + "".join((workdir / "cloud.log").read_text().splitlines(True)[-60:]))
            raise
        finally:
            proc.stop()
        if failed:
            log = (workdir / "cloud.log").read_text().splitlines()
            first = next((n for n, line in enumerate(log) if " ERROR " in line), len(log))
            print("the server's first error (a batch answered 500):\n" + "\n".join(log[first : first + 40]), flush=True)
    return {"sales": queries, "ingest": {**stats(times), "answered_500": failed}}


def table(runs: list[dict[str, Any]], args: argparse.Namespace, store: str) -> str:
    names = list(runs[0]["sales"])
    lines = [
        f"{store}: cabinets of {args.days} days, {args.per_day} events a day; ingest: up to {args.ingest_cabinets} of "
        f"them, a batch of {INGEST_BATCH} every {args.interval:g} s each for {args.seconds:g} s",
        "",
        "| events stored | cabinets | fill s | ingest p50 / p99 ms | "
        + " | ".join(f"API {n} p50 / p99 ms" for n in names)
        + " |",
        "|---|---|---|---|" + "---|" * len(names),
    ]
    for r in runs:
        cells = " | ".join(
            f"{r['sales'][n]['p50_ms']} / {r['sales'][n]['p99_ms']} ({r['sales'][n]['sales']})" for n in names
        )
        i = r["ingest"]
        lines.append(f"| {r['events']:,} | {r['cabinets']} | {r['fill_s']} | {i['p50_ms']} / {i['p99_ms']} | {cells} |")
    lines += ["", "(n): the sales the answer listed"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Runs the benchmark; returns its JSON document (also written to ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", default="50000,200000", help="sizes, comma-separated (the issue's: 1e6,1e7)")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--per-day", type=int, default=66)
    parser.add_argument("--ingest-cabinets", type=int, default=10)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--pg", action="store_true", help="on PostgreSQL: a server of this run (tests/pg_server.py)")
    parser.add_argument("--json", type=Path, help="also write the JSON here, and the table beside it (.md)")
    args = parser.parse_args(argv)
    sizes = sorted(int(float(s)) for s in args.events.split(","))
    runs = []
    with ExitStack() as stack:
        if args.pg:
            server = stack.enter_context(benchmark_server())
            target = stack.enter_context(server.database())
        else:
            target = str(Path(stack.enter_context(tempfile.TemporaryDirectory())) / "cloud.db")
        fleet = Fleet(target, args.days, args.per_day)
        for size in sizes:
            filled = grow(fleet, size)
            print(f"filled: {json.dumps(filled)}", flush=True)
            runs.append({**filled, **measure(fleet, args)})
            print(json.dumps(runs[-1]), flush=True)
    store = "postgresql" if args.pg else "sqlite"
    text = table(runs, args, store)
    print(text)
    load = [round(x, 2) for x in os.getloadavg()]
    print(f"\nload average (1, 5, 15 min) at the end: {load}")
    document = {"store": store, "args": vars(args) | {"json": str(args.json)}, "load_average": load, "sizes": runs}
    if args.json:
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        args.json.with_suffix(".md").write_text(text + f"\n\nload average at the end: {load}\n")
    return document


if __name__ == "__main__":
    main()
    sys.exit(0)
