"""Cloud ingest at fleet scale: N simulated cabinets syncing through the real device API.

    python benchmarks/bench_fleet_ingest.py [--cabinets 500,2000,5000] [--seconds 30]
                                            [--mix uploads|firmware] [--interval 2]
                                            [--upload-every 60] [--poll-scale 1]
                                            [--db PATH|URL | --pg] [--nodes 1] [--balance proxy|client]
                                            [--readers 0] [--connections 256] [--db-server-pid PID]
                                            [--json PATH]

For each fleet size, ``--nodes`` `kiosk-cloud serve` processes run on one store (``--db``: a SQLite file or
a ``postgresql://`` URL, by default a new SQLite file in a temporary directory; each size registers its own
cabinets in it). ``--pg`` starts a private PostgreSQL server for the run (Debian's binaries, a new durable
cluster in a temporary directory, made by the tests' own tests/pg_server.py) and counts its processes' CPU
and writes as ``--db-server-pid`` would. With several
nodes the cabinets go through the loopback proxy (`cloud_stub/balancer.py`, one request to each node in
turn), or with ``--balance client`` each cabinet talks to one node (cabinet i to node i mod N: what a
proxy in C costs next to nothing).

Each cabinet is registered with its own key and signs its requests as `sync_client` does (each nonce claimed
by the cloud: a commit a request, whatever the request). What it sends is the ``--mix``:

- ``uploads`` (the default; the issue's stress): a ``POST /v1/events`` every ``--interval`` seconds on
  average (jittered), with 1-20 events of a cabinet's realistic mix (sales with their door events and stock
  counts, ad plays, heartbeats, now and then an alarm: `bench_console`'s generator); every 10th batch is
  sent again (a lost acknowledgement). Nothing else. A real cabinet does not upload every 2 s: this is the
  write path at its limit.
- ``firmware``: what a running cabinet sends, each loop at the firmware's default interval read from
  `firmware.config.SyncSection` (so they follow the firmware), its first request at a random moment of its
  interval, the next an interval after the answer (as `sync_client.backoff.poll_forever` waits):
  ``GET /v1/commands`` every ``commands_poll_s`` (30 s; nothing is queued, so each answers
  ``{"commands": []}``); ``GET /v1/config`` every ``config_poll_s`` (60 s) with ``If-None-Match``: each
  cabinet is given `bench_console`'s catalogue through the store and starts with the ETag ``GET /v1/config``
  serves for it (`cloud_stub.device_api.served_config` and ``config_etag``: the one a running cabinet
  applied), so the poll is answered 304 without a body; a 200 brings a new ETag, which the cabinet sends
  from then on, as `sync_client.config_sync` does; an idle heartbeat uploaded on its own every
  ``heartbeat_store_s`` (600 s: the cloud hears from every cabinet that often, busy or not); and the
  shoppers' events: a burst every ``--upload-every`` seconds on average (0.5-1.5 times it; default 60 s, the
  firmware's ``upload_linger_s`` making one upload of each shopper moment) of 1-20 events of the generator
  above, every 10th burst replayed. A cabinet's uploads go one at a time and in order (the firmware's one
  uploader). At the default 60 s that is ~1,440 uploads and ~15,000 events a cabinet a day, a very busy
  mall: far busier than `bench_console`'s ~66 events a day. Per cabinet about 1/30 + 1/60 + 1/60 + 1/600
  = 0.068 requests/s: ~340 requests/s for 5,000 cabinets, half of them command polls.
  Not sent, because a running cabinet does not send them periodically: ``GET /v1/pickup-orders`` (the
  firmware never asks for it: the open orders ride in the configuration), ``GET /v1/media/...`` (only for a
  file the configuration names and the cabinet lacks), ``PUT /v1/snapshots/...`` (only after a photo),
  payments (only during a scan-to-pay sale), the commands poll every 2 s while a repair or callback form
  is open on a shopper's phone, and the release check (off by default: no ``[updates] root``; when on,
  every ``check_s`` = 6 h, static files under ``/updates/``, not the device API). ``--poll-scale`` multiplies
  the firmware's intervals (the tests shorten them to see every kind in a few seconds).

At most ``--connections`` requests are open to a URL at once (below a node's 512), like a proxy's pool; a
request waiting for one is late. An answer other than the expected ones (200; 304 too for the
configuration) from a node down or a busy cloud is retried after a second, as the firmware's backoff does;
a request's latency runs from its first attempt to its answer. All cabinets run as coroutines in this one
process (its CPU time is reported: the generator must not starve the server on 2 cores).

The table gives, per fleet size, requests/s, events/s, p50 and p99 over all requests (whatever their kind)
and whether the issue's goal is met (p99 under 100 ms over all requests); with ``--mix firmware`` a second
table gives each kind of request (events, heartbeat, commands, config) its requests/s, p50, p99 and answers
by status. The JSON has the same (``kinds`` per run, and the mix's intervals).

With ``--readers K`` the run has two halves of ``--seconds`` each: ingest alone, then ingest while K
retailer loops read the sales and stock of random cabinets without pause (``GET
/v1/retailer/cabinets/{id}/sales`` and ``/stock``); the table gives the devices' requests' p99 in each half.

At the end, every event the cloud acknowledged must be stored once and each cabinet's sequence gap-free;
the server's bytes written per event come from ``/proc/PID/io`` of the nodes (and of ``--db-server-pid``
and its children: a database server's processes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from yarl import URL

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_console import PRODUCTS, cabinet_events, percentile
from cloud_stub.device_api import config_etag, served_config
from cloud_stub.sqldb import is_postgresql_url
from cloud_stub.store import CloudStore, open_store
from firmware.config import SyncSection
from firmware.control_client import Process, _bin
from sync_client.schema import Event, dumps, new_event_id, sign_request, utc_iso
from tests.pg_server import benchmark_server, server_binaries

RETAILER = "bench-fleet"
EVENT_STEP_S = 0.2  # of a cabinet's event time per event: ~10 events every 2 s keep pace with the clock
GOAL_P99_MS = 100.0  # issue 16: p99 under 100 ms for 5,000 cabinets on two nodes
RETRY_S = 1.0  # after an answer other than 200, as the uploader's first backoff
CLK_TCK = os.sysconf("SC_CLK_TCK")


def quantile(values: list[float], fraction: float) -> float:
    return percentile(values, fraction) if values else 0.0


# --- the server's processes: CPU and bytes written ---------------------------------------------------


def descendants(pid: int) -> list[int]:
    """``pid`` and every process under it (a database server's backends, writer and checkpointer)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


@dataclass
class ProcessCounters:
    write_bytes: int = 0  # what reached the block layer (disk)
    wchar: int = 0  # what went through write() and friends (the page cache included)
    cpu_s: float = 0.0

    @classmethod
    def of(cls, pids: list[int]) -> ProcessCounters:
        total = cls()
        for pid in pids:
            try:
                io = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
                stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # gone, or not ours to read
                continue
            total.write_bytes += int(io["write_bytes"])
            total.wchar += int(io["wchar"])
            total.cpu_s += (int(stat[11]) + int(stat[12])) / CLK_TCK  # utime, stime
        return total

    def __sub__(self, other: ProcessCounters) -> ProcessCounters:
        return ProcessCounters(self.write_bytes - other.write_bytes, self.wchar - other.wchar, self.cpu_s - other.cpu_s)


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the fleet -----------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What the simulated cabinets saw, shared by all of them."""

    latencies: list[tuple[float, float, str]] = field(default_factory=list)  # (sent at, seconds to the answer, kind)
    answers: dict[str, dict[int, int]] = field(default_factory=dict)  # kind -> status -> requests (200, 304)
    acked: dict[str, set[str]] = field(default_factory=dict)
    requests: int = 0
    retries: int = 0
    body_bytes: int = 0  # of the event uploads
    statuses: dict[str, int] = field(default_factory=dict)  # why a retry was needed

    def answered(self, kind: str, started: float, status: int) -> None:
        self.latencies.append((started, time.monotonic() - started, kind))
        self.requests += 1
        by_status = self.answers.setdefault(kind, {})
        by_status[status] = by_status.get(status, 0) + 1


@dataclass(frozen=True)
class Mix:
    """What each simulated cabinet sends, and how often (seconds)."""

    kind: str  # uploads: event uploads every `interval`; firmware: the firmware's own requests
    interval: float  # --mix uploads: mean seconds between uploads
    upload_every: float = 60.0  # --mix firmware: mean seconds between shopper bursts
    polls: tuple[tuple[str, str, float], ...] = ()  # (kind, path, interval) of the firmware's periodic GETs
    heartbeat_s: float = 0.0  # an idle heartbeat uploaded this often (its own upload)


def firmware_mix(upload_every: float, poll_scale: float) -> Mix:
    """The firmware's periodic requests at its default intervals (firmware/config.py SyncSection, the loops
    firmware/runtime.py starts), times ``poll_scale`` (tests shorten them)."""
    sync = SyncSection()
    polls = (("commands", "/v1/commands", sync.commands_poll_s), ("config", "/v1/config", sync.config_poll_s))
    return Mix(
        "firmware",
        0.0,
        upload_every,
        tuple((kind, path, every * poll_scale) for kind, path, every in polls),
        sync.heartbeat_store_s * poll_scale,
    )


def event_source(cabinet_id: str, index: int) -> Iterator[dict[str, Any]]:
    """The cabinet's events from now on, as the JSON its uploader sends."""
    per_cabinet = 432_000  # a day of events at EVENT_STEP_S
    end = time.time() + per_cabinet * EVENT_STEP_S
    # vars(), not to_json(): asdict() deep-copies each payload, a quarter of a millisecond an event
    return (dict(vars(e)) for e in cabinet_events(cabinet_id, per_cabinet, 1, end, index))


class EventFeed:
    """A cabinet's outbox for --mix firmware: the generator's shopper events and idle heartbeats in one
    sequence (each numbered as it is taken, so the sequence stays gap-free)."""

    def __init__(self, cabinet_id: str, index: int) -> None:
        self.cabinet_id, self.seq = cabinet_id, 0
        self._events = event_source(cabinet_id, index)

    def take(self, count: int) -> list[dict[str, Any]]:
        return [self._numbered(next(self._events)) for _ in range(count)]

    def heartbeat(self) -> list[dict[str, Any]]:
        now = time.time()
        beat = Event(new_event_id(now), self.cabinet_id, 0, "heartbeat", utc_iso(now), now, {"faults": []})
        return [self._numbered(dict(vars(beat)))]

    def _numbered(self, event: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        event["seq"] = self.seq
        return event


class Pool:
    """Keep-alive HTTP/1.1 connections to one URL, shared by the cabinets, at most ``size`` open: the device
    API's requests written and read by hand, lighter than aiohttp's client (with it and ``Event.to_json``
    the generator took 1.2 ms of CPU a request, 10.6 % of a core at 86 requests/s; with this 0.8-0.9 ms,
    most of it the kernel's loopback send), so the generator takes less of the server's 2 cores."""

    def __init__(self, url: str, size: int) -> None:
        parsed = URL(url)
        self.host, self.port = parsed.host or "127.0.0.1", parsed.port or 80
        self.authority = f"{self.host}:{self.port}"
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._slots = asyncio.Semaphore(size)

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """(status, body) of the answer; ConnectionError when the connection failed."""
        status, _, answer = await self.request("POST", path, body, headers)
        return status, answer

    async def request(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, headers with lower-case names, body) of the answer; a GET is sent without a body."""
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.authority}\r\n"
        if method != "GET":
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = head.encode() + b"\r\n" + body
        async with self._slots:
            reused = bool(self._idle)
            try:
                return await self._exchange(self._idle.pop() if reused else await self._connect(), request)
            except ConnectionError:
                if not reused:
                    raise
                # An idle connection the server had closed: once more on a new one (an event id is stored
                # once, and the nonce is checked only for requests that arrived).
                return await self._exchange(await self._connect(), request)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            return await asyncio.open_connection(self.host, self.port)
        except OSError as exc:
            raise ConnectionError(f"{self.authority}: {exc}") from exc

    async def _exchange(
        self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        reader, writer = conn
        try:
            writer.write(request)
            await writer.drain()
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            status = int(head[0].split(" ", 2)[1])
            fields = {k.lower(): v for k, v in (line.split(": ", 1) for line in head[1:] if ": " in line)}
            # 304 and 204 have no body, whatever Content-Length says (aiohttp leaves it out of a 304)
            answer = b"" if status in (204, 304) else await reader.readexactly(int(fields["content-length"]))
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, KeyError, ValueError) as exc:
            writer.close()
            raise ConnectionError(f"{self.authority}: {type(exc).__name__}") from exc
        if fields.get("connection", "").lower() == "close":
            writer.close()
        else:
            self._idle.append(conn)
        return status, fields, answer


async def answer_of(
    pool: Pool,
    cabinet_id: str,
    key: bytes,
    request: tuple[str, str, bytes, dict[str, str]],
    ok: tuple[int, ...],
    tally: Tally,
    deadline: float,
) -> tuple[int, dict[str, str], bytes] | None:
    """The answer to a signed (method, path, body, headers) once it is one of ``ok``; None when the run ended
    first. Any other answer is retried after about a second (a node down, the cloud busy), as the firmware's
    backoff does, each time with a new signature and nonce."""
    method, path, body, headers = request
    while time.monotonic() < deadline + 30:  # a request in flight at the end still gets its answer
        signed = {**headers, **sign_request(key, cabinet_id, method, path, body)}
        try:
            status, fields, raw = await pool.request(method, path, body, signed)
        except ConnectionError:
            status, fields, raw = 0, {}, b""
        if status in ok:
            return status, fields, raw
        if 400 <= status < 500 and status not in (408, 429):
            raise RuntimeError(f"{cabinet_id}: {method} {path}: {status} {raw[:300]!r}")
        reason = str(status or "connection")
        tally.retries += 1
        tally.statuses[reason] = tally.statuses.get(reason, 0) + 1
        await asyncio.sleep(RETRY_S * (0.5 + random.random()))
    return None


async def upload(
    pool: Pool, cabinet_id: str, key: bytes, batch: list[dict[str, Any]], kind: str, tally: Tally, deadline: float
) -> bool:
    """One upload until acknowledged (its time counted under ``kind``); False when the run ended first."""
    body = dumps({"cabinet_id": cabinet_id, "events": batch})
    started = time.monotonic()
    answer = await answer_of(pool, cabinet_id, key, ("POST", "/v1/events", body, {}), (200,), tally, deadline)
    if answer is None:
        return False
    tally.answered(kind, started, answer[0])
    tally.body_bytes += len(body)
    result = json.loads(answer[2])
    if result["rejected"]:
        raise RuntimeError(f"{cabinet_id}: events refused: {result['rejected'][:3]}")
    if sorted(result["acked"]) != sorted(e["id"] for e in batch):
        raise RuntimeError(f"{cabinet_id}: not everything acknowledged: {result['acked']}")
    tally.acked.setdefault(cabinet_id, set()).update(result["acked"])
    return True


async def one_cabinet(
    pool: Pool,
    cabinet_id: str,
    key: bytes,
    index: int,
    deadline: float,
    interval: float,
    tally: Tally,
    rng: random.Random,
) -> None:
    """--mix uploads: an upload every ``interval`` on average, nothing else."""
    events = event_source(cabinet_id, index)
    tally.acked.setdefault(cabinet_id, set())
    previous: list[dict[str, Any]] | None = None
    sent = 0
    await asyncio.sleep(rng.random() * interval)  # they do not all wake in the same millisecond
    while time.monotonic() < deadline:
        if previous is not None and sent % 10 == 9:
            batch = previous  # a replay: the acknowledgement was "lost"
        else:
            batch = [next(events) for _ in range(rng.randint(1, 20))]
        if not await upload(pool, cabinet_id, key, batch, "events", tally, deadline):
            return
        previous, sent = batch, sent + 1
        await asyncio.sleep(interval * (0.5 + rng.random()))


async def firmware_cabinet(
    pool: Pool, cabinet_id: str, key: bytes, etag: str, index: int, deadline: float, mix: Mix, tally: Tally
) -> None:
    """--mix firmware: the firmware's loops, each first at a random moment of its interval; the uploads in one
    loop (the firmware's one uploader: a cabinet's batches arrive in order)."""
    rng = random.Random(index)
    tally.acked.setdefault(cabinet_id, set())
    feed = EventFeed(cabinet_id, index)
    applied = {"etag": etag}  # what the cabinet applied; a 200 brings a new one, as ConfigSync takes it

    async def until(moment: float) -> None:  # no later than the end: a run lasts --seconds, not an interval more
        await asyncio.sleep(max(0.0, min(moment, deadline) - time.monotonic()))

    async def poll(kind: str, path: str, every: float) -> None:
        await until(time.monotonic() + rng.random() * every)
        while time.monotonic() < deadline:
            headers = {"If-None-Match": applied["etag"]} if kind == "config" else {}
            ok = (200, 304) if kind == "config" else (200,)
            started = time.monotonic()
            answer = await answer_of(pool, cabinet_id, key, ("GET", path, b"", headers), ok, tally, deadline)
            if answer is None:
                return
            tally.answered(kind, started, answer[0])
            if kind == "config" and answer[0] == 200:
                applied["etag"] = answer[1]["etag"]
            await until(time.monotonic() + every)  # as poll_forever: the interval runs from the answer

    async def uploads() -> None:
        now = time.monotonic()
        next_burst, next_beat = now + rng.random() * mix.upload_every, now + rng.random() * mix.heartbeat_s
        previous: list[dict[str, Any]] | None = None
        bursts = 0
        while min(next_burst, next_beat) < deadline:
            await until(min(next_burst, next_beat))
            if next_burst <= next_beat:
                # every 10th a replay: the acknowledgement was "lost"
                batch = previous if previous is not None and bursts % 10 == 9 else feed.take(rng.randint(1, 20))
                if not await upload(pool, cabinet_id, key, batch, "events", tally, deadline):
                    return
                previous, bursts = batch, bursts + 1
                next_burst = time.monotonic() + mix.upload_every * (0.5 + rng.random())
            else:
                if not await upload(pool, cabinet_id, key, feed.heartbeat(), "heartbeat", tally, deadline):
                    return
                next_beat = time.monotonic() + mix.heartbeat_s

    await asyncio.gather(uploads(), *(poll(kind, path, every) for kind, path, every in mix.polls))


async def retailer_reader(
    session: aiohttp.ClientSession, url: str, token: str, cabinets: list[str], deadline: float, reads: list[float]
) -> None:
    rng = random.Random(len(reads))
    headers = {"Authorization": f"Bearer {token}"}
    page = 0
    while time.monotonic() < deadline:
        path = f"/v1/retailer/cabinets/{rng.choice(cabinets)}/{('sales', 'stock')[page % 2]}"
        started = time.monotonic()
        async with session.get(url + path, headers=headers) as resp:
            await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"{path}: {resp.status}")
        reads.append(time.monotonic() - started)
        page += 1


# --- one run -------------------------------------------------------------------------------------------


@dataclass
class Run:
    cabinets: int
    nodes: int
    balance: str
    seconds: float
    requests_per_s: float
    events_per_s: float
    p50_ms: float  # over all requests, whatever their kind
    p99_ms: float
    p99_goal_met: bool  # p99 under GOAL_P99_MS
    kinds: dict[str, dict[str, Any]]  # per kind of request: requests/s, p50, p99, answers by status
    events_sent: int
    events_stored: int
    lost: int
    duplicated: int
    cabinets_with_seq_gaps: int
    retries: int
    retry_reasons: dict[str, int]
    store_rollbacks: int  # transactions a node ran again after the database rolled them back (a deadlock)
    server_errors: int  # requests a node answered with 500 (logged with their traceback)
    server_cpu_percent: float  # of one core, all nodes together
    server_cpu_ms_per_request: float  # what a request costs the nodes, whatever else the machine does
    balancer_cpu_percent: float | None
    generator_cpu_percent: float
    server_disk_bytes_per_event: float
    server_written_bytes_per_event: float
    written_per_body_byte: float
    reading: dict[str, Any] | None = None  # with --readers: ingest alone against ingest while retailers read


def by_kind(tally: Tally, elapsed: float) -> dict[str, dict[str, Any]]:
    """Requests/s, p50 and p99 (ms) and the answers by status of each kind of request."""
    ms: dict[str, list[float]] = {}
    for _, seconds, kind in tally.latencies:
        ms.setdefault(kind, []).append(seconds * 1000)
    return {
        kind: {
            "requests": len(values),
            "requests_per_s": round(len(values) / elapsed, 1),
            "p50_ms": round(quantile(values, 0.5), 1),
            "p99_ms": round(quantile(values, 0.99), 1),
            "answers": {str(status): n for status, n in sorted(tally.answers.get(kind, {}).items())},
        }
        for kind, values in sorted(ms.items())
    }


def applied_etag(store: CloudStore, cabinet_id: str) -> str:
    """Gives the cabinet a configuration (bench_console's catalogue) and returns the ETag ``GET /v1/config``
    serves for it: the one a running cabinet applied and sends back in If-None-Match."""
    store.put_config(cabinet_id, {"currency": "EUR", "languages": ["en", "zh"], "products": PRODUCTS})
    found = store.config(cabinet_id)
    assert found is not None
    return config_etag(served_config(*found, store.open_orders(cabinet_id)))


def start_nodes(db: str, count: int, workdir: Path) -> list[tuple[Process, str]]:
    nodes = []
    for n in range(count):
        argv = [*_bin("kiosk-cloud"), "serve", "--host", "127.0.0.1", "--port", "0", "--db", db]
        proc = Process(argv, workdir / f"node-{n}.log").start()
        nodes.append((proc, proc.read_line().rsplit(" ", 1)[-1]))
    return nodes


def start_balancer(node_urls: list[str], workdir: Path) -> tuple[Process, str]:
    proc = Process([sys.executable, "-m", "cloud_stub.balancer", *node_urls], workdir / "balancer.log").start()
    return proc, proc.read_line().rsplit(" ", 1)[-1]


def check_stored(store: CloudStore, acked: dict[str, set[str]]) -> tuple[int, int, int, int]:
    """(stored, lost, duplicated, cabinets with a sequence gap) of this run's cabinets."""
    ids: set[str] = set()
    seqs: dict[str, list[int]] = {}
    duplicated = 0
    for record in store.export_events():
        if record["cabinet_id"] in acked:
            duplicated += record["id"] in ids
            ids.add(record["id"])
            seqs.setdefault(record["cabinet_id"], []).append(record["seq"])
    lost = len(set().union(*acked.values()) - ids)
    gaps = sum(sorted(s) != list(range(1, len(s) + 1)) for s in seqs.values())
    return len(ids), lost, duplicated, gaps


async def drive(
    urls: list[str], keys: dict[str, bytes], etags: dict[str, str], token: str, args: argparse.Namespace
) -> tuple[Tally, list[float], float, float]:
    """Runs the fleet (and the readers); returns the tally, read latencies, when reading began, elapsed."""
    tally, reads = Tally(), list[float]()
    rng = random.Random(7)
    halves = 2 if args.readers else 1
    pools = [Pool(url, args.connections) for url in urls]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        started = time.monotonic()
        deadline = started + args.seconds * halves
        reading_from = started + args.seconds
        mix: Mix = args.mix_of
        cabinets = [
            firmware_cabinet(pools[i % len(pools)], cab, key, etags[cab], i, deadline, mix, tally)
            if mix.kind == "firmware"
            else one_cabinet(pools[i % len(pools)], cab, key, i, deadline, mix.interval, tally, rng)
            for i, (cab, key) in enumerate(keys.items())
        ]

        async def readers() -> None:
            await asyncio.sleep(args.seconds)
            await asyncio.gather(
                *(
                    retailer_reader(session, urls[r % len(urls)], token, list(keys), deadline, reads)
                    for r in range(args.readers)
                )
            )

        await asyncio.gather(*cabinets, *([readers()] if args.readers else []))
        return tally, reads, reading_from, time.monotonic() - started


async def run_one(cabinets: int, args: argparse.Namespace, workdir: Path) -> Run:
    store = open_store(args.db)
    prefix = f"fleet{cabinets}-{int(time.time()) % 100000}"
    try:
        token = store.add_retailer(f"{RETAILER}-{prefix}")
        ids = [f"{prefix}-{n:05d}" for n in range(cabinets)]
        keys = {cabinet_id: store.add_cabinet(cabinet_id, f"{RETAILER}-{prefix}") for cabinet_id in ids}
        etags = {cabinet_id: applied_etag(store, cabinet_id) for cabinet_id in ids} if args.mix == "firmware" else {}
    finally:
        store.close()
    nodes = start_nodes(args.db, args.nodes, workdir)
    balancer = start_balancer([u for _, u in nodes], workdir) if args.nodes > 1 and args.balance == "proxy" else None
    urls = [balancer[1]] if balancer else [u for _, u in nodes]
    logs = {proc.log_path: proc.log_path.stat().st_size for proc, _ in nodes}
    server_pids = [p.proc.pid for p, _ in nodes if p.proc]
    server_pids += descendants(args.db_server_pid) if args.db_server_pid else []
    try:
        before, balancer_before, own_before = ProcessCounters.of(server_pids), _balancer_cpu(balancer), own_cpu_s()
        tally, reads, reading_from, elapsed = await drive(urls, keys, etags, token, args)
        own = own_cpu_s() - own_before
        # The database's backends the nodes' pools opened during the run count too (all their time is the run's).
        late = descendants(args.db_server_pid) if args.db_server_pid else []
        server = ProcessCounters.of(server_pids + [p for p in late if p not in server_pids]) - before
        balancer_cpu = None if balancer is None else _balancer_cpu(balancer) - balancer_before
    finally:
        if balancer:
            balancer[0].stop()
        for proc, _ in nodes:
            proc.stop()
    rollbacks, errors = logged_since(logs, "rolled back"), logged_since(logs, "Error handling request")
    store = open_store(args.db)
    try:
        stored, lost, duplicated, gaps = check_stored(store, tally.acked)
    finally:
        store.close()
    sent = sum(len(ids) for ids in tally.acked.values())
    alone = [s * 1000 for at, s, _ in tally.latencies if at < reading_from]
    ms = [s * 1000 for _, s, _ in tally.latencies]
    reading = None
    if args.readers:
        with_reads = [s * 1000 for at, s, _ in tally.latencies if at >= reading_from]
        reading = {
            "readers": args.readers,
            "ingest_alone_p50_ms": round(quantile(alone, 0.5), 1),
            "ingest_alone_p99_ms": round(quantile(alone, 0.99), 1),
            "ingest_reading_p50_ms": round(quantile(with_reads, 0.5), 1),
            "ingest_reading_p99_ms": round(quantile(with_reads, 0.99), 1),
            "p99_ratio": round(quantile(with_reads, 0.99) / max(quantile(alone, 0.99), 1e-9), 2),
            "reads": len(reads),
            "reads_per_s": round(len(reads) / args.seconds, 1),
            "read_p50_ms": round(quantile([r * 1000 for r in reads], 0.5), 1),
            "read_p99_ms": round(quantile([r * 1000 for r in reads], 0.99), 1),
        }
    return Run(
        cabinets=cabinets,
        nodes=args.nodes,
        balance=args.balance if args.nodes > 1 else "-",
        seconds=round(elapsed, 1),
        requests_per_s=round(tally.requests / elapsed, 1),
        events_per_s=round(sent / elapsed),
        p50_ms=round(statistics.median(ms), 1) if ms else 0.0,
        p99_ms=round(quantile(ms, 0.99), 1),
        p99_goal_met=quantile(ms, 0.99) < GOAL_P99_MS,
        kinds=by_kind(tally, elapsed),
        events_sent=sent,
        events_stored=stored,
        lost=lost,
        duplicated=duplicated,
        cabinets_with_seq_gaps=gaps,
        retries=tally.retries,
        retry_reasons=tally.statuses,
        store_rollbacks=rollbacks,
        server_errors=errors,
        server_cpu_percent=round(100 * server.cpu_s / elapsed, 1),
        server_cpu_ms_per_request=round(1000 * server.cpu_s / max(tally.requests, 1), 2),
        balancer_cpu_percent=None if balancer_cpu is None else round(100 * balancer_cpu / elapsed, 1),
        generator_cpu_percent=round(100 * own / elapsed, 1),
        server_disk_bytes_per_event=round(server.write_bytes / max(sent, 1)),
        server_written_bytes_per_event=round(server.wchar / max(sent, 1)),
        written_per_body_byte=round(server.wchar / max(tally.body_bytes, 1), 1),
        reading=reading,
    )


def logged_since(logs: dict[Path, int], text: str) -> int:
    """Lines with ``text`` the nodes logged after the given offsets of their logs."""
    count = 0
    for path, offset in logs.items():
        with path.open("rb") as f:
            f.seek(offset)
            count += f.read().decode(errors="replace").count(text)
    return count


def _balancer_cpu(balancer: tuple[Process, str] | None) -> float:
    return ProcessCounters.of([balancer[0].proc.pid]).cpu_s if balancer and balancer[0].proc else 0.0


def table(runs: list[Run], store: str) -> str:
    lines = [
        f"Store: {store}",
        "",
        f"| cabinets | nodes | requests/s | events/s | p50 ms | p99 ms | p99 < {GOAL_P99_MS:g} ms | lost | duplicated "
        "| seq gaps | retries | rollbacks / 500s | server CPU % (ms a request) | balancer CPU % | generator CPU % "
        "| disk bytes/event | written bytes/event |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        lines.append(
            f"| {r.cabinets:,} | {r.nodes} ({r.balance}) | {r.requests_per_s:,} | {r.events_per_s:,} | {r.p50_ms} "
            f"| {r.p99_ms} | {'yes' if r.p99_goal_met else 'no'} | {r.lost} | {r.duplicated} "
            f"| {r.cabinets_with_seq_gaps} | {r.retries} "
            f"| {r.store_rollbacks} / {r.server_errors} "
            f"| {r.server_cpu_percent} ({r.server_cpu_ms_per_request}) "
            f"| {r.balancer_cpu_percent if r.balancer_cpu_percent is not None else '-'} "
            f"| {r.generator_cpu_percent} | {r.server_disk_bytes_per_event:,} | {r.server_written_bytes_per_event:,} |"
        )
    if any(len(r.kinds) > 1 for r in runs):  # --mix firmware: each kind of request on its own
        lines += ["", "| cabinets | request | requests/s | p50 ms | p99 ms | answers |", "|---|---|---|---|---|---|"]
        for r in runs:
            for kind, k in r.kinds.items():
                answers = ", ".join(f"{n:,} × {status}" for status, n in k["answers"].items())
                lines.append(
                    f"| {r.cabinets:,} | {KIND_NAMES.get(kind, kind)} | {k['requests_per_s']:,} | {k['p50_ms']} "
                    f"| {k['p99_ms']} | {answers} |"
                )
    reading = [r for r in runs if r.reading]
    if reading:
        lines += [
            "",
            "| cabinets | readers | ingest p50 / p99 alone | ingest p50 / p99 while reading | p99 ratio | reads/s "
            "| read p50 / p99 ms |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in reading:
            g = r.reading or {}
            lines.append(
                f"| {r.cabinets:,} | {g['readers']} | {g['ingest_alone_p50_ms']} / {g['ingest_alone_p99_ms']} "
                f"| {g['ingest_reading_p50_ms']} / {g['ingest_reading_p99_ms']} | {g['p99_ratio']} "
                f"| {g['reads_per_s']} | {g['read_p50_ms']} / {g['read_p99_ms']} |"
            )
    return "\n".join(lines)


KIND_NAMES = {
    "events": "events (POST /v1/events, shoppers)",
    "heartbeat": "heartbeat (POST /v1/events, idle)",
    "commands": "commands (GET /v1/commands)",
    "config": "config (GET /v1/config, If-None-Match)",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cabinets", default="500,2000,5000", help="fleet sizes, comma-separated")
    parser.add_argument("--seconds", type=float, default=30.0, help="of ingest per fleet size (each half)")
    parser.add_argument(
        "--mix",
        choices=("uploads", "firmware"),
        default="uploads",
        help="uploads: an upload every --interval; firmware: the firmware's own requests (see the docstring)",
    )
    parser.add_argument("--interval", type=float, default=2.0, help="--mix uploads: mean seconds between uploads")
    parser.add_argument(
        "--upload-every", type=float, default=60.0, help="--mix firmware: mean seconds between shopper bursts"
    )
    parser.add_argument(
        "--poll-scale", type=float, default=1.0, help="--mix firmware: the firmware's intervals times this (tests)"
    )
    store = parser.add_mutually_exclusive_group()
    store.add_argument("--db", help="the store every node serves: a SQLite file or a postgresql:// URL")
    store.add_argument("--pg", action="store_true", help="start a private PostgreSQL server and serve from it")
    parser.add_argument("--nodes", type=int, default=1, help="kiosk-cloud serve processes (default: 1)")
    parser.add_argument("--balance", choices=("proxy", "client"), default="proxy")
    parser.add_argument("--readers", type=int, default=0, help="retailer loops reading sales and stock")
    parser.add_argument("--connections", type=int, default=256, help="open connections to each URL at most")
    parser.add_argument("--db-server-pid", type=int, help="a database server whose writes and CPU count too")
    parser.add_argument("--json", type=Path, help="also write the JSON here, and the table beside it (.md)")
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(n) for n in args.cabinets.split(",")]
    except ValueError:
        parser.error(f"--cabinets: expected numbers separated by commas, got {args.cabinets!r}")
    if args.nodes < 1 or any(n < 1 for n in args.sizes):
        parser.error("--nodes and --cabinets: expected at least 1")
    if args.nodes > 1 and not (args.pg or (args.db and is_postgresql_url(args.db))):
        parser.error(f"--nodes {args.nodes}: several nodes need PostgreSQL (--pg or --db postgresql://...)")
    for name in ("interval", "upload_every", "poll_scale"):
        if not getattr(args, name) > 0:
            parser.error(f"--{name.replace('_', '-')}: expected more than 0, got {getattr(args, name)}")
    args.mix_of = (
        firmware_mix(args.upload_every, args.poll_scale) if args.mix == "firmware" else Mix("uploads", args.interval)
    )
    return args


async def main(args: argparse.Namespace) -> list[Run]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    with ExitStack() as stack:
        if args.pg:
            server = stack.enter_context(benchmark_server())
            args.db = stack.enter_context(server.database())
            args.db_server_pid = server.postmaster_pid()
        args.db = args.db or str(workdir / "cloud.db")
        return [await run_one(n, args, workdir) for n in args.sizes]


def mix_document(mix: Mix) -> dict[str, Any]:
    if mix.kind == "uploads":
        return {"kind": "uploads", "interval_s": mix.interval}
    return {
        "kind": "firmware",
        "upload_every_s": mix.upload_every,
        "heartbeat_s": mix.heartbeat_s,
        **{f"{kind}_poll_s": every for kind, _, every in mix.polls},
    }


def store_name(args: argparse.Namespace) -> str:
    if args.pg:
        binaries = server_binaries()
        return f"PostgreSQL {binaries.parent.name if binaries else '?'} (a private cluster, fsync on, --pg)"
    return "SQLite (a temporary file)" if args.db is None else args.db.split("@")[-1]


if __name__ == "__main__":
    arguments = parse_args()
    name, load_at_start = store_name(arguments), os.getloadavg()
    outcome = asyncio.run(main(arguments))
    text = table(outcome, name)
    print(text)
    document = {
        "store": name,
        "mix": mix_document(arguments.mix_of),
        "load_average_1_5_15_at_start": [round(x, 2) for x in load_at_start],  # what else the machine did
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],  # at the end
        "runs": [asdict(r) for r in outcome],
    }
    print(json.dumps(document, indent=2))
    if arguments.json:
        arguments.json.write_text(json.dumps(document, indent=2) + "\n")
        arguments.json.with_suffix(".md").write_text(text + "\n")
    sys.exit(0 if all(r.lost == r.duplicated == r.cabinets_with_seq_gaps == 0 for r in outcome) else 1)
