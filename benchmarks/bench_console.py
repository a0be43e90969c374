"""The retailer console's server time with a big fleet: every page over real HTTP as a signed-in owner.

    python benchmarks/bench_console.py [--cabinets 500] [--events 1000000] [--days 30] [--requests 20]
                                       [--json PATH] [--db PATH] [--only NAME]

The cloud's store is filled directly through its ingest path (``store_events``, in batches of 1000, so the
read models are kept as a cabinet's uploads keep them): per cabinet over ``--days`` days a heartbeat an hour,
ad plays every two hours, about 5 sales a day (payment approved, the door unlocked, opened and closed, the
sale completed, the stock count), 1 sale in 50 unclaimed (every other one flagged refund_needed), a few
alarms, shopper sessions (the funnel) and now and then a call-back request. Then `kiosk-cloud serve` runs
on that database as a real process, an owner signs in, and each page is fetched ``--requests`` times in turn;
the time is from sending the request to the last byte of the answer on loopback (the server's time plus a
fraction of a millisecond). Goal: p99 under 100 ms per page.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cloud_stub.store import SqliteCloudStore
from firmware.control_client import _bin, start_cloud
from sync_client.schema import Event, new_event_id, utc_iso

RETAILER, OWNER, PASSWORD = "bench-shop", "owner@bench-shop.example", "bench password 1234"
GOAL_MS = 100.0
BATCH = 1000
SKUS = (("SCOOT-S1", "SCOOT-S1-mint", 49900), ("SCOOT-S1", "SCOOT-S1-coal", 49900), ("BIKE-C7", "BIKE-C7", 129900))
# Every cabinet's catalogue: the units the sales above count (a scooter in two variants, an e-bike).
PRODUCTS = [
    {
        "sku": "SCOOT-S1",
        "name": {"en": "Volt S1 e-scooter", "zh": "Volt S1 电动滑板车"},
        "price_cents": 49900,
        "variants": [{"sku": "SCOOT-S1-mint", "name": "Mint"}, {"sku": "SCOOT-S1-coal", "name": "Coal"}],
    },
    {"sku": "BIKE-C7", "name": "Cruiser C7 e-bike", "price_cents": 129900},
]
STOREFRONTS = 5


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def session(sku: str, at: float) -> dict[str, Any]:
    """A shopper who looked at one product for a while and left."""
    visit = {"sku": sku, "dwell_s": 20.0, "turns": 1, "narrations": 0, "variant": None, "checkout": False}
    return {
        "started_at": utc_iso(at - 60),
        "ended_at": utc_iso(at),
        "ended_by": "idle",
        "screens": ["attract", "catalog", "product"],
        "products": [{**visit, "payment": None}],
        "step": "product",
        "left_at": "product",
        "ad_id": None,
    }


def callback(seq: int) -> dict[str, Any]:
    return {
        "request_id": str(uuid.uuid4()),
        "sku": "BIKE-C7",
        "phone": f"+4917{seq:09d}",
        "consent_text": "I agree that my phone number is kept 30 days to call me about this product.",
        "consent_version": "1",
        "language": "en",
    }


def cabinet_events(cabinet_id: str, per_cabinet: int, days: int, end: float, index: int) -> Iterator[Event]:
    """``per_cabinet`` events of one cabinet in time order over ``days`` days ending at ``end``."""
    span = days * 86400.0
    # Per day: 24 heartbeats, 12 ad plays, 5 sales of 6 events: 66; alarms now and then.
    step = span / per_cabinet
    seq, sale_no = 0, 0
    t = end - span
    while seq < per_cabinet:
        slot = seq % 66
        at = utc_iso(t)
        facts: list[tuple[str, dict[str, Any]]]
        if slot < 30 and slot % 6 == 0:  # a sale: its six events
            sku, variant, cents = SKUS[(sale_no + index) % len(SKUS)]
            sale_id = f"{cabinet_id}-{sale_no}"
            sale = {"sale_id": sale_id, "sku": sku, "variant_sku": variant, "amount_cents": cents, "currency": "EUR"}
            unclaimed = sale_no % 50 == 49
            facts = [
                ("payment.approved", {**sale, "method": "terminal", "receipt_no": f"{sale_no:04d}", "trace_no": "1"}),
                ("door.unlocked", {"reason": "sale", "seconds": 3, "sale_id": sale_id}),
            ]
            if unclaimed:
                facts += [
                    ("sale.unclaimed", {**sale, "action": "reversal", "receipt_no": f"{sale_no:04d}"}),
                    ("alarm", {"kind": "refund_needed", "sale_id": sale_id, "detail": "host refused"})
                    if sale_no % 100 == 99
                    else ("payment.reversed", {**sale, "receipt_no": f"{sale_no:04d}"}),
                    ("heartbeat", {"faults": [], "backlog": 0, "software": "1.0"}),
                    ("heartbeat", {"faults": [], "backlog": 0, "software": "1.0"}),
                ]
            else:
                facts += [
                    ("door.opened", {"authorized": True}),
                    ("door.closed", {"open_s": 12.5}),
                    ("sale.completed", {**sale, "door_opened_at": at, "door_closed_at": at}),
                    ("stock.changed", {"sku": variant, "count": 3 - sale_no % 4, "reason": "sale"}),
                ]
            sale_no += 1
        elif slot % 5 == 0:
            play = {"ad_id": "ad-1", "count": 40, "shown_s": 8.0, "first_at": utc_iso(t - 7200), "last_at": at}
            facts = [("ad.plays", {"plays": [play]})]
        elif slot == 65 and seq % 660 == 65:
            facts = [("alarm", {"kind": "door_left_open", "detail": "door open for 120 s"})]
        elif slot == 64 and seq % 660 == 64:
            facts = [("callback.requested", callback(seq))]
        elif slot % 5 == 2:
            facts = [("session.ended", session(SKUS[(seq + index) % len(SKUS)][0], t))]
        else:
            facts = [("heartbeat", {"faults": [], "backlog": 0, "software": "1.0"})]
        for kind, payload in facts:
            if seq >= per_cabinet:
                return
            seq += 1
            yield Event(new_event_id(t), cabinet_id, seq, kind, utc_iso(t), t, payload)
            t += step


def fill(db: Path, cabinets: int, events: int, days: int) -> dict[str, Any]:
    store = SqliteCloudStore(db)
    store.add_retailer(RETAILER)
    end = time.time() - 60
    started = time.perf_counter()
    fronts = [store.add_storefront(RETAILER, f"Shop {n}", f"High Street {n}") for n in range(STOREFRONTS)]
    for i in range(cabinets):
        cabinet_id = f"cab-{i:04d}"
        store.add_cabinet(cabinet_id, RETAILER)
        place = {"address": f"Mall {i}", "lat": 52.5, "lon": 13.4}
        store.put_config(
            cabinet_id, {"currency": "EUR", "languages": ["en", "zh"], "products": PRODUCTS, "place": place}
        )
        store.set_cabinet_storefront(RETAILER, cabinet_id, fronts[i % STOREFRONTS])
        for n in range(2):  # online orders: one to pick up, one collected or not
            store.add_order(cabinet_id, "BIKE-C7", "scrypt$bench", utc_iso(end + 86400 * (n + 1)), reference=f"web {n}")
        batch: list[Event] = []
        for event in cabinet_events(cabinet_id, events // cabinets, days, end, i):
            batch.append(event)
            if len(batch) == BATCH:
                store.store_events(cabinet_id, batch, now=end)
                batch = []
        if i % 10 == 0:  # a repair ticket at every tenth cabinet
            ticket = {"ticket_id": f"T{i}", "device": "scooter", "detail": "brakes squeak", "status": "dropped_off"}
            ticket |= {"name": "Mia Chen", "phone": "+49 170 1234567"}
            seq = events // cabinets + 1
            batch.append(Event(new_event_id(end), cabinet_id, seq, "repair.ticket", utc_iso(end), end, ticket))
        if batch:
            store.store_events(cabinet_id, batch, now=end)
        store.remember_nonce(cabinet_id, uuid.uuid4().hex, keep_s=600)  # seen just now: online
    stored = store.count_events()
    store.close()
    return {"cabinets": cabinets, "events": stored, "days": days, "fill_s": round(time.perf_counter() - started, 1)}


async def sign_in(session: aiohttp.ClientSession, url: str) -> None:
    async with session.get(f"{url}/console/sign-in") as response:
        token = re.search(r'name="csrf_token" value="([^"]+)"', await response.text())
    assert token, "no CSRF token on the sign-in page"
    form = {"email": OWNER, "password": PASSWORD, "csrf_token": token.group(1)}
    async with session.post(f"{url}/console/sign-in", data=form) as response:
        if not str(response.url).endswith("/console/fleet"):
            raise RuntimeError(f"sign-in failed: {response.status} {response.url}")


def peak_rss_mb(pid: int) -> float:
    """The server's peak resident memory so far (VmHWM): a streamed export keeps it flat."""
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmHWM:\s+(\d+) kB", status)
    return round(int(found.group(1)) / 1024, 1) if found else float("nan")


async def measure(url: str, pages: dict[str, str], requests: int, server_pid: int) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    # unsafe: the jar keeps cookies of an IP address (the server's 127.0.0.1) too
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        await sign_in(session, url)
        for name, path in pages.items():
            times, firsts, size = [], [], 0
            for _ in range(requests + 2):  # the first two warm the caches; not counted
                started = time.perf_counter()
                async with session.get(url + path, allow_redirects=False) as response:
                    first = await response.content.readany()  # the first byte of the body (a streamed one too)
                    firsts.append((time.perf_counter() - started) * 1000)
                    body = first + await response.content.read()
                    if response.status != 200:
                        raise RuntimeError(f"{path}: {response.status} {body[:300]!r}")
                times.append((time.perf_counter() - started) * 1000)
                size = len(body)
            counted = times[2:]
            results[name] = {
                "path": path,
                "p50_ms": round(percentile(counted, 0.5), 1),
                "p99_ms": round(percentile(counted, 0.99), 1),
                "first_byte_p50_ms": round(percentile(firsts[2:], 0.5), 1),
                "first_byte_p99_ms": round(percentile(firsts[2:], 0.99), 1),
                "bytes": size,
                "server_peak_rss_mb": peak_rss_mb(server_pid),
                "ok": percentile(counted, 0.99) < GOAL_MS,
            }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cabinets", type=int, default=500)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--db", type=Path, help="keep the filled database here; a later run measures it again")
    parser.add_argument("--only", help="measure only the pages whose name holds this")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.db and args.db.exists():  # filled by an earlier run: measure the same data again
            shutil.copy(args.db, workdir / "cloud.db")
            store = SqliteCloudStore(workdir / "cloud.db")  # a read model added since is backfilled here
            filled = {"cabinets": args.cabinets, "events": store.count_events(), "days": args.days, "fill_s": 0}
            store.close()
        else:
            filled = fill(workdir / "cloud.db", args.cabinets, args.events, args.days)
            if args.db:
                shutil.copy(workdir / "cloud.db", args.db)
        subprocess.run(
            [*_bin("kiosk-cloud"), "user", "add", "--retailer", RETAILER, "--email", OWNER, "--role", "owner"]
            + ["--db", str(workdir / "cloud.db")],
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        proc, url = start_cloud(workdir)
        try:
            last_page = max(1, -(-args.cabinets // 50))
            pages = {
                "fleet, page 1": "/console/fleet",
                f"fleet, page {last_page} (the last)": f"/console/fleet?page={last_page}",
                "fleet, low stock": "/console/fleet?state=low_stock",
                "fleet, search": "/console/fleet?q=mall+42",
                "cabinet": "/console/cabinets/cab-0000",
                "stock": "/console/stock",
                "restock": "/console/restock",
                "storefronts": "/console/storefronts",
                "orders": "/console/orders",
                "repairs": "/console/repairs",
                "alarms": "/console/alarms",
                "catalogue": "/console/catalogue",
                "catalogue of a cabinet": "/console/catalogue/cab-0000",
                "access": "/console/access",
                "actions": "/console/actions",
                "sales by day (30 days)": "/console/sales",
                "sales by week (30 days)": "/console/sales?period=week",
                "sales of one cabinet": "/console/sales?cabinet=cab-0000",
                "sales CSV (1 day)": "/console/sales.csv?from={d}&to={d}".format(d=utc_iso(time.time())[:10]),
                "sales CSV (30 days)": "/console/sales.csv",
                "refunds (page 1 of 30)": "/console/refunds",
                "refunds (page 20 of 30)": "/console/refunds?page=20",
                "funnel (30 days)": "/console/funnel",
                "funnel of one cabinet": "/console/funnel?cabinet=cab-0000",
                "funnel CSV (30 days)": "/console/funnel.csv",
                "call-backs (page 1)": "/console/callbacks",
                "call-backs, new ones": "/console/callbacks?state=new",
                "call-backs (page 10)": "/console/callbacks?page=10",
                "users": "/console/users",
                "tokens": "/console/tokens",
            }
            if args.only:
                pages = {k: v for k, v in pages.items() if args.only in k}
            assert proc.proc is not None
            results = asyncio.run(measure(url, pages, args.requests, proc.proc.pid))
        finally:
            proc.stop()
    print(
        f"\nConsole pages, {filled['cabinets']} cabinets, {filled['events']:,} events over {filled['days']} days "
        f"(filled in {filled['fill_s']} s), {args.requests} requests each\n"
    )
    print("| page | p50 ms | p99 ms | first byte p50/p99 ms | bytes | server peak RSS MB | goal p99 < 100 ms |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} | {r['p50_ms']} | {r['p99_ms']} | {r['first_byte_p50_ms']}/{r['first_byte_p99_ms']} "
            f"| {r['bytes']:,} | {r['server_peak_rss_mb']} | {'met' if r['ok'] else 'MISSED'} |"
        )
    print(f"\nload average (1, 5, 15 min) at the end: {os.getloadavg()}")
    report = {"fill": filled, "pages": results, "load_average": os.getloadavg()}
    print("\n" + json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
