"""Sync benchmark against a real `kiosk-cloud serve` process over loopback.

    python benchmarks/bench_sync.py [--events N] [--naive-events N] [--batch-size N] [--json PATH]

Backlog drain: N events buffered in a cabinet outbox (a cabinet that was offline for weeks) uploaded by
the real Uploader; against a naive client that sends one signed request per event and marks it sent,
measured in the same run on the same cloud. Many cabinets syncing at once: bench_fleet_ingest.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cloud_stub.store import SqliteCloudStore
from firmware.control_client import start_cloud
from sync_client.cloud_client import CloudClient
from sync_client.outbox import Outbox
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


async def main(args: argparse.Namespace) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    store = SqliteCloudStore(workdir / "cloud.db")
    store.add_retailer("bench")
    drain_key = store.add_cabinet("bench-cab", "bench")
    store.set_cabinet_key("bench-naive", drain_key, "bench")
    store.close()
    cloud, url = start_cloud(workdir)
    try:
        drain = await bench_drain(workdir, url, drain_key, args.events, args.naive_events, args.batch_size)
    finally:
        cloud.stop()
    return {"drain": drain}


def report(result: dict) -> None:
    d = result["drain"]
    print(f"\nBacklog drain: {d['events']} events, batches of {d['batch_size']}, {d['max_in_flight']} in flight\n")
    print("| client | events/s | time for the backlog | goal |")
    print("|---|---|---|---|")
    print(f"| Uploader | {d['events_per_s']:,} | {d['seconds']} s | >= 20,000/s |")
    print(
        f"| naive, one request per event ({d['naive_events']} events) | {d['naive_events_per_s']:,} | "
        f"{d['events'] / d['naive_events_per_s']:.0f} s (extrapolated) | |"
    )
    print(f"| speed-up | {d['speedup']}x | | >= 50x |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--naive-events", type=int, default=2_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--json", type=Path)
    arguments = parser.parse_args()
    outcome = asyncio.run(main(arguments))
    report(outcome)
    print(json.dumps(outcome, indent=2))
    if arguments.json:
        arguments.json.write_text(json.dumps(outcome, indent=2) + "\n")
    sys.exit(0)
