"""Sync benchmarks against a real `kiosk-cloud serve` process over loopback.

    python benchmarks/bench_sync.py [--events N] [--naive-events N] [--batch-size N]
                                    [--cabinets N] [--seconds S] [--json PATH]

1. Backlog drain: N events buffered in a cabinet outbox (a cabinet that was offline for
   weeks) uploaded by the real Uploader; against a naive client that sends one signed
   request per event and marks it sent, measured in the same run on the same cloud.
2. Cloud ingest: many simulated cabinets syncing at once for S seconds, each sending a
   signed batch of 1-20 events every ``--interval`` seconds on average (jittered) and
   replaying every 10th batch (a lost acknowledgement); afterwards the cloud must hold
   every event exactly once, gap-free per cabinet.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cloud_stub.store import SqliteCloudStore
from firmware.control_client import start_cloud
from sync_client.cloud_client import CloudClient
from sync_client.outbox import Outbox
from sync_client.schema import Event, dumps, new_event_id, sign_request, utc_now_iso
from sync_client.uploader import Uploader

SALE = {
    "sale_id": "s",
    "sku": "BIKE-C7",
    "amount_cents": 129900,
    "currency": "EUR",
    "method": "terminal",
    "receipt_no": "0042",
    "trace_no": "000123",
}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def fill(outbox: Outbox, count: int) -> None:
    """A realistic mix: mostly heartbeats and door events, a sale every 20 events."""
    with outbox.transaction(durable=True) as tx:
        for i in range(count):
            if i % 20 == 0:
                tx.append("payment.approved", {**SALE, "sale_id": f"sale-{i}"})
            elif i % 3 == 0:
                tx.append("door.opened", {"authorized": True, "sale_id": f"sale-{i - i % 20}"})
            else:
                tx.append("heartbeat", {"faults": []})


async def naive_drain(outbox: Outbox, client: CloudClient, count: int) -> float:
    """One request per event, marked sent one by one: what a first attempt at an uploader looks like."""
    started = time.perf_counter()
    for _seq, event_id, text in outbox.pending_json(count, 1 << 30):
        body = b'{"cabinet_id":"%s","events":[%s]}' % (outbox.cabinet_id.encode(), text)
        reply = await client.request("POST", "v1/events", raw=body)
        outbox.mark_sent([i for i in reply.body["acked"] if i == event_id])
    return time.perf_counter() - started


async def bench_drain(workdir: Path, url: str, key: bytes, events: int, naive_events: int, batch_size: int) -> dict:
    outbox = Outbox(workdir / "cabinet.db", "bench-cab")
    fill(outbox, events)
    uploader = Uploader(outbox, url, key, batch_size=batch_size)
    started = time.perf_counter()
    await uploader.upload_pending()
    elapsed = time.perf_counter() - started
    if outbox.pending_count():
        raise RuntimeError(f"{outbox.pending_count()} events left after the drain")
    await uploader.client.close()

    naive_box = Outbox(workdir / "naive.db", "bench-naive")
    fill(naive_box, naive_events)
    client = CloudClient(url, "bench-naive", key)
    naive_s = await naive_drain(naive_box, client, naive_events)
    await client.close()
    outbox.close()
    naive_box.close()
    rate, naive_rate = events / elapsed, naive_events / naive_s
    return {
        "events": events,
        "batch_size": batch_size,
        "max_in_flight": uploader.max_in_flight,
        "seconds": round(elapsed, 2),
        "events_per_s": round(rate),
        "naive_events": naive_events,
        "naive_events_per_s": round(naive_rate, 1),
        "speedup": round(rate / naive_rate, 1),
    }


async def one_cabinet(
    session: aiohttp.ClientSession,
    url: str,
    cabinet_id: str,
    key: bytes,
    deadline: float,
    interval: float,
    latencies: list[float],
    sent: dict[str, set[str]],
    rng: random.Random,
) -> int:
    seq, requests, previous = 0, 0, None
    acked: set[str] = sent.setdefault(cabinet_id, set())
    await asyncio.sleep(rng.random() * interval)  # they do not all wake in the same millisecond
    while time.monotonic() < deadline:
        if previous is not None and requests % 10 == 9:
            batch = previous  # a replay: the acknowledgement was "lost"
        else:
            batch = []
            for _ in range(rng.randint(1, 20)):
                seq += 1
                batch.append(
                    Event(
                        new_event_id(), cabinet_id, seq, "heartbeat", utc_now_iso(), time.monotonic(), {"n": seq}
                    ).to_json()
                )
        body = dumps({"cabinet_id": cabinet_id, "events": batch})
        headers = sign_request(key, cabinet_id, "POST", "/v1/events", body)
        started = time.perf_counter()
        async with session.post(url + "/v1/events", data=body, headers=headers) as resp:
            answer = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"{cabinet_id}: {resp.status} {answer}")
        latencies.append(time.perf_counter() - started)
        if sorted(answer["acked"]) != sorted(e["id"] for e in batch):
            raise RuntimeError(f"{cabinet_id}: not everything acknowledged: {answer}")
        acked.update(answer["acked"])
        previous = batch
        requests += 1
        await asyncio.sleep(interval * (0.5 + rng.random()))
    return requests


async def bench_ingest(workdir: Path, url: str, keys: dict[str, bytes], seconds: float, interval: float) -> dict:
    latencies: list[float] = []
    sent: dict[str, set[str]] = {}
    rng = random.Random(7)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        deadline = time.monotonic() + seconds
        started = time.perf_counter()
        counts = await asyncio.gather(
            *(
                one_cabinet(session, url, cab, key, deadline, interval, latencies, sent, rng)
                for cab, key in keys.items()
            )
        )
        elapsed = time.perf_counter() - started
    store = SqliteCloudStore(workdir / "cloud.db")
    stored: dict[str, list[int]] = {}
    ids: set[str] = set()
    duplicates = 0
    for record in store.export_events():
        if record["cabinet_id"] in keys:
            duplicates += record["id"] in ids
            ids.add(record["id"])
            stored.setdefault(record["cabinet_id"], []).append(record["seq"])
    store.close()
    expected = set().union(*sent.values())
    lost = len(expected - ids)
    gaps = sum(seqs != list(range(1, len(seqs) + 1)) for seqs in stored.values())
    ms = [v * 1000 for v in latencies]
    return {
        "cabinets": len(keys),
        "interval_s": interval,
        "seconds": round(elapsed, 1),
        "requests": sum(counts),
        "requests_per_s": round(sum(counts) / elapsed, 1),
        "events_stored": len(ids),
        "events_per_s": round(len(ids) / elapsed),
        "median_ms": round(statistics.median(ms), 1),
        "p99_ms": round(percentile(ms, 0.99), 1),
        "lost": lost,
        "duplicated": duplicates,
        "cabinets_with_seq_gaps": gaps,
    }


async def main(args: argparse.Namespace) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    store = SqliteCloudStore(workdir / "cloud.db")
    store.add_retailer("bench")
    drain_key = store.add_cabinet("bench-cab", "bench")
    store.set_cabinet_key("bench-naive", drain_key, "bench")
    fleet = {f"fleet-{n:03d}": store.add_cabinet(f"fleet-{n:03d}", "bench") for n in range(args.cabinets)}
    store.close()
    cloud, url = start_cloud(workdir)
    try:
        drain = await bench_drain(workdir, url, drain_key, args.events, args.naive_events, args.batch_size)
        ingest = await bench_ingest(workdir, url, fleet, args.seconds, args.interval)
    finally:
        cloud.stop()
    return {"drain": drain, "ingest": ingest}


def report(result: dict) -> None:
    d, i = result["drain"], result["ingest"]
    print(f"\nBacklog drain: {d['events']} events, batches of {d['batch_size']}, {d['max_in_flight']} in flight\n")
    print("| client | events/s | time for the backlog | goal |")
    print("|---|---|---|---|")
    print(f"| Uploader | {d['events_per_s']:,} | {d['seconds']} s | >= 20,000/s |")
    print(
        f"| naive, one request per event ({d['naive_events']} events) | {d['naive_events_per_s']:,} | "
        f"{d['events'] / d['naive_events_per_s']:.0f} s (extrapolated) | |"
    )
    print(f"| speed-up | {d['speedup']}x | | >= 50x |")
    print(
        f"\nCloud ingest: {i['cabinets']} cabinets at once for {i['seconds']} s, "
        f"each syncing every {i['interval_s']} s on average\n"
    )
    print("| requests/s | events/s | median | p99 | lost | duplicated | seq gaps |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {i['requests_per_s']:,} | {i['events_per_s']:,} | {i['median_ms']} ms | {i['p99_ms']} ms | "
        f"{i['lost']} | {i['duplicated']} | {i['cabinets_with_seq_gaps']} |"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--naive-events", type=int, default=2_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--cabinets", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=2.0, help="mean seconds between a cabinet's syncs")
    parser.add_argument("--json", type=Path)
    arguments = parser.parse_args()
    outcome = asyncio.run(main(arguments))
    report(outcome)
    print(json.dumps(outcome, indent=2))
    if arguments.json:
        arguments.json.write_text(json.dumps(outcome, indent=2) + "\n")
    ok = (
        outcome["ingest"]["lost"] == outcome["ingest"]["duplicated"] == 0
        and outcome["ingest"]["cabinets_with_seq_gaps"] == 0
    )
    sys.exit(0 if ok else 1)
