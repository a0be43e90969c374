"""Where one ingest request's CPU goes: each step of ``POST /v1/events`` timed alone on recorded requests.

    python benchmarks/bench_ingest_cpu.py [--requests 2000] [--cabinets 200] [--json PATH]

Batches are made as `bench_fleet_ingest` makes them (1-20 events of a cabinet's realistic mix, signed by
the cabinet's key) and stored in a new SQLite file on disk. Each request then runs through the device API's
own functions, step by step, in the order the handler calls them, each step timed with this thread's CPU
clock (``time.thread_time``; the store's calls run on this thread here, not on its worker): the key's
look-up with the check that the nonce is new, the signature, the body's hash, JSON decoding and the batch's
checks, each event's schema validation, the store's ingest (which claims the nonce in its transaction: one
commit a request), the answer's JSON, its signature and the log line (to a file,
formatted as ``kiosk-cloud serve`` formats it). What the whole request costs in a real node (HTTP parsing,
aiohttp's request and response objects, the hand-off to the store's thread and back) is
`bench_fleet_ingest`'s ``server_cpu_ms_per_request``; the difference is the HTTP server's share.

With ``--statements`` the store's SQL is timed too, statement by statement (CPU and wall time a request, through
a thin proxy around the store's connection): what the store's part is made of.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from multidict import CIMultiDict

from benchmarks.bench_fleet_ingest import event_source
from cloud_stub.device_api import NONCE_KEEP_S, log, parse_batch, validate_events
from cloud_stub.sqldb import SqliteDatabase
from cloud_stub.store import SqliteCloudStore
from sync_client.schema import HDR_NONCE, body_matches, dumps, sign_answer, sign_request, verify_signature

T = TypeVar("T")
STEPS = (
    "admission (store: key, nonce unused)",
    "verify_signature (HMAC-SHA256)",
    "body_matches (SHA-256)",
    "parse_batch (JSON decode)",
    "validate_events (schema)",
    "store_events (store, nonce claimed, commit)",
    "answer JSON",
    "sign_answer (HMAC-SHA256)",
    "log line",
)


@dataclass
class TimedConnection:
    """The store's connection, with each statement's CPU and wall time summed by its text (values elided)."""

    conn: sqlite3.Connection
    spent: dict[str, list[float]] = field(default_factory=dict)  # statement -> [count, CPU s, wall s]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        return self._timed(self.conn.execute, sql, *args)

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:
        return self._timed(self.conn.executemany, sql, *args)

    def _timed(self, run: Callable[..., sqlite3.Cursor], sql: str, *args: Any) -> sqlite3.Cursor:
        cpu, wall = time.thread_time(), time.perf_counter()
        cursor = run(sql, *args)
        entry = self.spent.setdefault(re.sub(r"(SET|VALUES) .*", r"\1 …", " ".join(sql.split()))[:72], [0, 0.0, 0.0])
        entry[0] += 1
        entry[1] += time.thread_time() - cpu
        entry[2] += time.perf_counter() - wall
        return cursor


def make_requests(store: SqliteCloudStore, cabinets: int, count: int) -> list[tuple[str, bytes, dict[str, str]]]:
    """(cabinet, body, signed headers) of ``count`` batches, every 10th of a cabinet's a resend of its last."""
    store.add_retailer("bench-cpu")
    keys = {f"cpu-{n:04d}": store.add_cabinet(f"cpu-{n:04d}", "bench-cpu") for n in range(cabinets)}
    sources = {cabinet: event_source(cabinet, n) for n, cabinet in enumerate(keys)}
    last: dict[str, list[dict[str, Any]]] = {}
    rng = random.Random(7)
    requests = []
    for n in range(count):
        cabinet = list(keys)[n % cabinets]
        if n // cabinets % 10 == 9 and cabinet in last:
            batch = last[cabinet]
        else:
            batch = [next(sources[cabinet]) for _ in range(rng.randint(1, 20))]
        last[cabinet] = batch
        body = dumps({"cabinet_id": cabinet, "events": batch})
        requests.append((cabinet, body, sign_request(keys[cabinet], cabinet, "POST", "/v1/events", body)))
    return requests


def run(requests: list[tuple[str, bytes, dict[str, str]]], store: SqliteCloudStore) -> dict[str, float]:
    """CPU seconds per step over all requests, each step as the handler runs it."""
    spent = dict.fromkeys(STEPS, 0.0)

    def timed(step: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        started = time.thread_time()
        result = fn(*args, **kwargs)
        spent[step] += time.thread_time() - started
        return result

    line = "ingest cabinet=%s events=%d stored=%d acked=%d rejected=%d"
    for cabinet, body, raw_headers in requests:
        headers = CIMultiDict(raw_headers)
        nonce, now = headers[HDR_NONCE], time.time()
        admission = timed(STEPS[0], store.admission, cabinet, nonce, keep_s=NONCE_KEEP_S, now=now)
        assert admission is not None and not admission.nonce_used
        key = admission.key
        assert timed(STEPS[1], verify_signature, key, headers, "POST", "/v1/events")
        assert timed(STEPS[2], body_matches, headers, body)
        raw_events = timed(STEPS[3], parse_batch, body, cabinet)
        events, rejected = timed(STEPS[4], validate_events, raw_events, now)
        assert not rejected, rejected
        batch = [e for _, e in events]
        result = timed(STEPS[5], store.store_events, cabinet, batch, now=now, nonce=nonce, nonce_keep_s=NONCE_KEEP_S)
        answer = timed(STEPS[6], json.dumps, {"acked": result.acked, "rejected": rejected})
        timed(STEPS[7], sign_answer, key, 200, nonce, {}, answer.encode(), now=now)
        timed(STEPS[8], log.info, line, cabinet, len(raw_events), result.stored, len(result.acked), len(rejected))
    return spent


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--cabinets", type=int, default=200)
    parser.add_argument("--statements", action="store_true", help="time the store's SQL statement by statement")
    parser.add_argument("--json", type=Path, help="also write the JSON here, and the table beside it (.md)")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-cpu-"))
    logging.basicConfig(
        level=logging.INFO,
        filename=workdir / "node.log",
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    store = SqliteCloudStore(workdir / "cloud.db")
    try:
        requests = make_requests(store, args.cabinets, args.requests)
        events = sum(len(json.loads(body)["events"]) for _, body, _ in requests)
        db = store._db
        assert isinstance(db, SqliteDatabase)
        timed = TimedConnection(db.raw)
        if args.statements:  # the same calls, timed: the database's connection and its adapter's
            db.raw = db._conn.raw = timed  # type: ignore[assignment]
        spent = run(requests, store)
        db.raw = db._conn.raw = timed.conn
    finally:
        store.close()
    per_request = {step: round(1000 * s / len(requests), 3) for step, s in spent.items()}
    document: dict[str, Any] = {
        "requests": len(requests),
        "events_per_request": round(events / len(requests), 1),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "cpu_ms_per_request": per_request,
        "total_cpu_ms_per_request": round(sum(per_request.values()), 3),
    }
    lines = ["| step | CPU ms a request |", "|---|---|"]
    lines += [f"| {step} | {ms} |" for step, ms in per_request.items()]
    lines.append(f"| total of the steps | {document['total_cpu_ms_per_request']} |")
    if args.statements:
        count = len(requests)
        statements: dict[str, dict[str, float]] = {
            sql: {
                "per_request": round(n / count, 2),
                "cpu_us_per_request": round(1e6 * cpu / count),
                "wall_us_per_request": round(1e6 * wall / count),
            }
            for sql, (n, cpu, wall) in sorted(timed.spent.items(), key=lambda item: -item[1][1])
        }
        document["statements"] = statements
        lines += ["", "| statement | per request | CPU µs a request | wall µs a request |", "|---|---|---|---|"]
        lines += [
            f"| `{sql}` | {v['per_request']} | {v['cpu_us_per_request']} | {v['wall_us_per_request']} |"
            for sql, v in statements.items()
        ]
    text = "\n".join(lines)
    print(text)
    print(json.dumps(document, indent=2))
    if args.json:
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        args.json.with_suffix(".md").write_text(text + "\n")
    return document


if __name__ == "__main__":
    main()
