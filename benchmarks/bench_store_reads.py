"""The retailer's reads of one cabinet with a long history, and ingest while retailers read.

    python benchmarks/bench_store_reads.py [--days 30,90,365] [--per-day 66] [--requests 50]
                                           [--ingest-cabinets 10] [--interval 1] [--seconds 20] [--readers 2]
                                           [--rounds 4] [--reader-page 100] [--pg] [--json PATH]

For each history length a new SQLite store gets one cabinet's ``--days`` days of realistic history through the
store's ingest path (``store_events`` in batches of 1000, so the read models are kept as uploads keep them;
`bench_console`'s generator: per day a heartbeat an hour, ad plays, shopper sessions, about 5 sales with their
door events and stock counts, an alarm now and then: ``--per-day`` events). Then `kiosk-cloud serve` runs on it
as a real process and each page is fetched ``--requests`` times (after two not counted): the retailer API's
sales of that cabinet (all of them, the newest page of 100, and the last 30 days'), its stock and alarms, and the
console's sales page of that cabinet over the whole history (at most 366 days). Time: from the request to the last
byte, on loopback.

Then ingest: ``--ingest-cabinets`` other cabinets each send a signed ``POST /v1/events`` of 10 events of the same
mix every ``--interval`` seconds (jittered) for ``--seconds`` alone, and for ``--seconds`` while ``--readers``
retailer loops fetch the big cabinet's sales (the newest ``--reader-page`` of them, as an app pages them; 0: all of
them, every sale of the history in one answer), its sales of the last 30 days, stock and alarms without pause; the
table gives ingest's p50/p99 in each half and their ratio (goal: at most 2), and the CPU the node (its one process:
the event loop and the store's threads share its GIL) and the database server (PostgreSQL's processes) spent per
second in each half: where the time of a slower ingest went. A batch answered 500 is sent again after a second, as
the uploader does, and counted. The two halves alternate in ``--rounds`` spans (alone, reading, alone, ...), so that
what the server does now and then (a checkpoint, autovacuum) falls in either half alike.

``--pg``: the same on PostgreSQL, a server this run starts in a temporary directory (`tests/pg_server.py`: Debian's
server binaries, fsync off as in the tests), a new database for each history length.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_console import BATCH, OWNER, PASSWORD, PRODUCTS, RETAILER, cabinet_events, percentile, sign_in
from benchmarks.bench_fleet_ingest import ProcessCounters, descendants
from cloud_stub.store import open_store
from firmware.control_client import _bin, start_cloud
from sync_client.schema import Event, dumps, sign_request
from tests.pg_server import PgServer, benchmark_server

BIG = "cab-history"
GOAL_SALES_MS = 20.0  # the sales page at 365 days (issue 16)
INGEST_BATCH = 10
RETRY_S = 1.0  # after a 500, as the uploader's first backoff


def fill(db: str, days: int, per_day: int, ingest_cabinets: int) -> dict[str, Any]:
    """The big cabinet's history, and the ingest cabinets (their keys); the retailer's API token."""
    store = open_store(db)
    token = store.add_retailer(RETAILER)
    end = time.time() - 60
    started = time.perf_counter()
    store.add_cabinet(BIG, RETAILER)
    store.put_config(BIG, {"currency": "EUR", "languages": ["en", "zh"], "products": PRODUCTS})
    batch: list[Event] = []
    for event in cabinet_events(BIG, days * per_day, days, end, 0):
        batch.append(event)
        if len(batch) == BATCH:
            store.store_events(BIG, batch, now=end)
            batch = []
    if batch:
        store.store_events(BIG, batch, now=end)
    keys = {f"cab-ingest-{i:02d}": store.add_cabinet(f"cab-ingest-{i:02d}", RETAILER) for i in range(ingest_cabinets)}
    stored = store.count_events()
    sales = len(store.sales_of(BIG, limit=1_000_000)) if hasattr(store, "sales_of") else None
    store.close()
    return {
        "days": days,
        "events": stored,
        "sales": sales,
        "fill_s": round(time.perf_counter() - started, 1),
        "token": token,
        "keys": keys,
    }


def stats(times: list[float]) -> dict[str, float]:
    if not times:
        return {"count": 0, "p50_ms": 0.0, "p99_ms": 0.0}
    return {
        "count": len(times),
        "p50_ms": round(percentile(times, 0.5), 2),
        "p99_ms": round(percentile(times, 0.99), 2),
    }


async def fetch(session: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None) -> tuple[float, int]:
    started = time.perf_counter()
    async with session.get(url, headers=headers, allow_redirects=False) as response:
        body = await response.read()
        if response.status != 200:
            raise RuntimeError(f"{url}: {response.status} {body[:300]!r}")
    return (time.perf_counter() - started) * 1000, len(body)


def api_pages(url: str) -> dict[str, str]:
    base = f"{url}/v1/retailer/cabinets/{BIG}"
    today = datetime.now(UTC).date()
    month = f"from={(today - timedelta(days=29)).isoformat()}&to={today.isoformat()}"
    return {
        "API sales (all)": base + "/sales",
        "API sales (newest 100)": base + "/sales?limit=100",
        "API sales (30 days)": f"{base}/sales?{month}",
        "API stock": base + "/stock",
        "API alarms": base + "/alarms",
    }


async def measure_pages(url: str, token: str, days: int, requests: int) -> dict[str, dict[str, Any]]:
    bearer = {"Authorization": f"Bearer {token}"}
    today = datetime.now(UTC).date()
    since = today - timedelta(days=min(days, 366) - 1)
    console = {
        "console sales page of the cabinet": f"{url}/console/sales?cabinet={BIG}"
        f"&from={since.isoformat()}&to={today.isoformat()}"
    }
    results: dict[str, dict[str, Any]] = {}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        await sign_in(session, url)
        for name, page in {**api_pages(url), **console}.items():
            headers = bearer if name.startswith("API") else None
            times, size = [], 0
            for _ in range(requests + 2):  # the first two warm the caches; not counted
                ms, size = await fetch(session, page, headers)
                times.append(ms)
            results[name] = {**stats(times[2:]), "bytes": size}
    return results


def ingest_batches(cabinet_id: str, index: int) -> Iterator[list[dict[str, Any]]]:
    """Batches of the mix, in the cabinet's order (seq from 1), stamped a little in the past."""
    events = cabinet_events(cabinet_id, 10**7, 3650, time.time(), index)
    while True:
        yield [e.to_json() for e in (next(events) for _ in range(INGEST_BATCH))]


async def ingest(
    url: str, keys: dict[str, bytes], seconds: float, interval: float, streams: dict[str, Iterator[Any]]
) -> tuple[list[float], int]:
    """Every cabinet sends a batch every ``interval`` s (jittered) for ``seconds``: the latencies in ms (from the
    first attempt to the acknowledgement), and how many answers were 500 (a batch the store gave up on, sent again
    after a second as the uploader does)."""
    times: list[float] = []
    failed = [0]
    deadline = time.monotonic() + seconds

    async def send(session: aiohttp.ClientSession, cabinet_id: str, key: bytes, body: bytes) -> bool:
        headers = sign_request(key, cabinet_id, "POST", "/v1/events", body, now=time.time())
        headers["Content-Type"] = "application/json"
        async with session.post(url + "/v1/events", data=body, headers=headers) as response:
            answer = await response.read()
            if response.status == 500:
                return False
            if response.status != 200 or json.loads(answer)["rejected"]:
                raise RuntimeError(f"ingest of {cabinet_id}: {response.status} {answer[:300]!r}")
        return True

    async def cabinet(session: aiohttp.ClientSession, cabinet_id: str, key: bytes) -> None:
        await asyncio.sleep(random.uniform(0, interval))
        while time.monotonic() < deadline:
            body = dumps({"cabinet_id": cabinet_id, "events": next(streams[cabinet_id])})
            started = time.perf_counter()
            while not await send(session, cabinet_id, key, body):
                failed[0] += 1
                await asyncio.sleep(RETRY_S)
            elapsed = time.perf_counter() - started
            times.append(elapsed * 1000)
            await asyncio.sleep(max(0.0, interval * random.uniform(0.8, 1.2) - elapsed))

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(cabinet(session, c, k) for c, k in keys.items()))
    return times, failed[0]


def reader_pages(url: str, page: int) -> list[str]:
    """What a retailer loop reads: the sales as a page of ``page`` (0: all of them), the last 30 days', the stock
    and the alarms."""
    pages = api_pages(url)
    sales = pages["API sales (all)"] + (f"?limit={page}" if page else "")
    return [sales, pages["API sales (30 days)"], pages["API stock"], pages["API alarms"]]


async def read_loop(url: str, token: str, page: int, stop: asyncio.Event, times: list[float]) -> None:
    pages = reader_pages(url, page)
    async with aiohttp.ClientSession() as session:
        n = 0
        while not stop.is_set():
            ms, _ = await fetch(session, pages[n % len(pages)], {"Authorization": f"Bearer {token}"})
            times.append(ms)
            n += 1


class CpuMeter:
    """CPU seconds the node and the database server (its processes) spent, and the wall time, over the spans
    between ``start`` and ``stop`` (a half of the ingest measurement is several such spans)."""

    def __init__(self, node_pid: int, db_pid: int | None) -> None:
        self.node_pid, self.db_pid = node_pid, db_pid
        self.node_s = self.db_s = self.wall_s = 0.0
        self._from: tuple[float, ProcessCounters, ProcessCounters] | None = None

    def _now(self) -> tuple[float, ProcessCounters, ProcessCounters]:
        db = ProcessCounters.of(descendants(self.db_pid)) if self.db_pid else ProcessCounters()
        return time.perf_counter(), ProcessCounters.of([self.node_pid]), db

    def start(self) -> None:
        self._from = self._now()

    def stop(self) -> None:
        assert self._from is not None, "stop without start"
        (then, node0, db0), (now, node1, db1) = self._from, self._now()
        self.wall_s += now - then
        self.node_s += (node1 - node0).cpu_s
        self.db_s += (db1 - db0).cpu_s
        self._from = None

    def per_s(self) -> dict[str, float]:
        return {
            "node_cpu_per_s": round(self.node_s / self.wall_s, 2),
            "db_cpu_per_s": round(self.db_s / self.wall_s, 2),
        }


async def ingest_with_and_without_readers(
    url: str, token: str, keys: dict[str, bytes], args: argparse.Namespace, pids: tuple[int, int | None]
) -> dict[str, Any]:
    """Ingest alone and ingest while the readers read, in ``--rounds`` alternating spans of each (so that a
    checkpoint or a vacuum of the server, which comes when it comes, lands in either with the same chance)."""
    streams = {c: ingest_batches(c, i) for i, c in enumerate(keys)}
    span_s = args.seconds / args.rounds
    alone: list[float] = []
    reading: list[float] = []
    reads: list[float] = []
    failed = {"alone": 0, "reading": 0}
    meters = {"alone": CpuMeter(*pids), "reading": CpuMeter(*pids)}
    for _ in range(args.rounds):
        meters["alone"].start()
        times, failures = await ingest(url, keys, span_s, args.interval, streams)
        meters["alone"].stop()
        alone += times
        failed["alone"] += failures
        stop = asyncio.Event()
        readers = [
            asyncio.create_task(read_loop(url, token, args.reader_page, stop, reads)) for _ in range(args.readers)
        ]
        meters["reading"].start()
        try:
            times, failures = await ingest(url, keys, span_s, args.interval, streams)
        finally:
            stop.set()
            await asyncio.gather(*readers)
        meters["reading"].stop()
        reading += times
        failed["reading"] += failures
    ratio = percentile(reading, 0.99) / percentile(alone, 0.99)
    return {
        "alone": {**stats(alone), "answered_500": failed["alone"], **meters["alone"].per_s()},
        "while_reading": {**stats(reading), "answered_500": failed["reading"], **meters["reading"].per_s()},
        "p99_ratio": round(ratio, 2),
        "reads": stats(reads),
        "reads_per_s": round(len(reads) / meters["reading"].wall_s, 1),
        "ok": ratio <= 2.0,
    }


def run_size(
    days: int, args: argparse.Namespace, url: str | None = None, server: PgServer | None = None
) -> dict[str, Any]:
    """One history length on a new SQLite file, or on the PostgreSQL database at ``url`` (of ``server``)."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        db = url or str(workdir / "cloud.db")
        filled = fill(db, days, args.per_day, args.ingest_cabinets)
        subprocess.run(
            [*_bin("kiosk-cloud"), "user", "add", "--retailer", RETAILER, "--email", OWNER, "--role", "owner"]
            + ["--db", db],
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        proc, base = start_cloud(workdir, args=("--db", db))  # the last --db is the one served
        try:
            pages = asyncio.run(measure_pages(base, filled["token"], days, args.requests))
            assert proc.proc is not None  # started
            pids = (proc.proc.pid, server.postmaster_pid() if server else None)
            ingest_figures = asyncio.run(
                ingest_with_and_without_readers(base, filled["token"], filled["keys"], args, pids)
            )
        except Exception:
            print("the server's log ends:\n" + "".join((workdir / "cloud.log").read_text().splitlines(True)[-60:]))
            raise
        finally:
            proc.stop()
        if ingest_figures["alone"]["answered_500"] or ingest_figures["while_reading"]["answered_500"]:
            log = (workdir / "cloud.log").read_text().splitlines()
            first = next((n for n, line in enumerate(log) if " ERROR " in line), len(log))
            print("the server's first error (a batch answered 500):\n" + "\n".join(log[first : first + 40]), flush=True)
    facts = {k: v for k, v in filled.items() if k not in ("token", "keys")}
    return {**facts, "pages": pages, "ingest": ingest_figures}


def table(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    names = list(results[0]["pages"])
    lines = [
        "| days of history | events | sales | " + " | ".join(f"{n} p50 / p99 ms" for n in names) + " |",
        "|---|---|---|" + "---|" * len(names),
    ]
    for r in results:
        cells = " | ".join(f"{r['pages'][n]['p50_ms']} / {r['pages'][n]['p99_ms']}" for n in names)
        lines.append(f"| {r['days']} | {r['events']:,} | {r['sales'] or '-'} | {cells} |")
    lines += [
        "",
        f"Ingest: {args.ingest_cabinets} cabinets, a batch of {INGEST_BATCH} events every {args.interval:g} s each, "
        f"{args.seconds:g} s alone and {args.seconds:g} s with {args.readers} retailer loops reading, in "
        f"{args.rounds} alternating spans of each (sales: "
        + (f"pages of {args.reader_page})" if args.reader_page else "all of them)"),
        "",
        "| days of history | ingest p50 / p99 ms alone | while reading | p99 ratio (goal <= 2) | reads/s "
        "| read p50 / p99 ms | answers 500 (alone, reading) | node CPU s/s (alone, reading) "
        "| database CPU s/s (alone, reading) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        i = r["ingest"]
        lines.append(
            f"| {r['days']} | {i['alone']['p50_ms']} / {i['alone']['p99_ms']} | {i['while_reading']['p50_ms']} / "
            f"{i['while_reading']['p99_ms']} | {i['p99_ratio']} | {i['reads_per_s']} | {i['reads']['p50_ms']} / "
            f"{i['reads']['p99_ms']} | {i['alone']['answered_500']}, {i['while_reading']['answered_500']} "
            f"| {i['alone']['node_cpu_per_s']}, {i['while_reading']['node_cpu_per_s']} "
            f"| {i['alone']['db_cpu_per_s']}, {i['while_reading']['db_cpu_per_s']} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", default="30,90,365")
    parser.add_argument("--per-day", type=int, default=66)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--ingest-cabinets", type=int, default=10)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=4, help="alternating spans of ingest alone and while reading")
    parser.add_argument("--reader-page", type=int, default=100, help="the readers' page of sales (0: all of them)")
    parser.add_argument("--pg", action="store_true", help="on PostgreSQL: a server of this run (tests/pg_server.py)")
    parser.add_argument("--json", type=Path, help="also write the JSON here, and the table beside it (.md)")
    args = parser.parse_args()
    sizes = [int(days) for days in args.days.split(",")]
    if args.pg:
        results = []
        with benchmark_server(durable=False) as server:
            for days in sizes:
                with server.database() as url:
                    results.append(run_size(days, args, url, server))
    else:
        results = [run_size(days, args) for days in sizes]
    text = table(results, args)
    print(text)
    load = [round(x, 2) for x in os.getloadavg()]
    print(f"\nload average (1, 5, 15 min) at the end: {load}")
    if args.json:
        document = {
            "store": "postgresql" if args.pg else "sqlite",
            "args": vars(args) | {"json": str(args.json)},
            "load_average": load,
        }
        args.json.write_text(json.dumps({**document, "sizes": results}, indent=2) + "\n")
        args.json.with_suffix(".md").write_text(text + f"\n\nload average at the end: {load}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
