"""The fleet ingest benchmark's harness (benchmarks/bench_fleet_ingest.py) measures what it says: a small
fleet through real `kiosk-cloud serve` nodes and the proxy, and the checks that would catch a lost event."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psycopg
import pytest
from aiohttp import web

from benchmarks.bench_fleet_ingest import (
    Pool,
    ProcessCounters,
    Tally,
    applied_etag,
    check_stored,
    descendants,
    firmware_cabinet,
    firmware_mix,
    logged_since,
    main,
    parse_args,
    start_nodes,
)
from cloud_stub.store import SqliteCloudStore
from firmware.config import SyncSection
from sync_client.schema import Event, new_event_id, utc_now_iso


async def test_a_small_fleet_on_a_sqlite_node_is_stored_once_and_measured(tmp_path: Path) -> None:
    db = tmp_path / "cloud.db"
    args = parse_args(["--cabinets", "12", "--seconds", "1", "--interval", "0.1", "--readers", "1", "--db", str(db)])
    [run] = await main(args)
    assert (run.cabinets, run.nodes, run.balance) == (12, 1, "-")
    assert run.events_sent > 12 and run.events_stored == run.events_sent
    assert (run.lost, run.duplicated, run.cabinets_with_seq_gaps) == (0, 0, 0)
    store = SqliteCloudStore(db)
    try:
        assert store.count_events() == run.events_sent  # what the harness counted is what the store holds
    finally:
        store.close()
    assert run.p99_ms >= run.p50_ms > 0
    assert run.server_cpu_percent > 0 and run.balancer_cpu_percent is None and run.generator_cpu_percent > 0
    assert run.server_written_bytes_per_event > 0  # the node wrote the events (SQLite's WAL)
    assert run.reading is not None and run.reading["reads"] > 0 and run.reading["ingest_reading_p99_ms"] > 0


@pytest.mark.parametrize("store", ["sqlite", "pg-2-nodes"])
async def test_the_firmware_mix_sends_each_kind_of_request_the_firmware_does_and_its_config_polls_get_304(
    tmp_path: Path, store: str
) -> None:
    """--mix firmware: command polls, config polls with the applied ETag, idle heartbeats and shopper bursts, at
    the firmware's own intervals (scaled down here); every acknowledged event stored once."""
    db = tmp_path / "cloud.db"
    argv = ["--mix", "firmware", "--cabinets", "5", "--seconds", "2", "--poll-scale", "0.003", "--upload-every", "0.4"]
    args = parse_args([*argv, *(["--db", str(db)] if store == "sqlite" else ["--pg", "--nodes", "2"])])
    sync = SyncSection()
    assert args.mix_of.polls == (
        ("commands", "/v1/commands", sync.commands_poll_s * 0.003),
        ("config", "/v1/config", sync.config_poll_s * 0.003),
    )
    assert args.mix_of.heartbeat_s == sync.heartbeat_store_s * 0.003
    [run] = await main(args)
    assert set(run.kinds) == {"events", "heartbeat", "commands", "config"}
    assert all(k["requests"] > 0 and k["p99_ms"] >= k["p50_ms"] > 0 for k in run.kinds.values())
    # A cabinet that applied its configuration is told it is unchanged: 304, no body, every time.
    assert run.kinds["config"]["answers"] == {"304": run.kinds["config"]["requests"]}
    assert run.kinds["commands"]["answers"] == {"200": run.kinds["commands"]["requests"]}
    # Commands are asked for twice as often as the configuration (30 s against 60 s in the firmware).
    assert run.kinds["commands"]["requests"] > run.kinds["config"]["requests"]
    assert sum(k["requests_per_s"] for k in run.kinds.values()) == pytest.approx(run.requests_per_s, abs=0.5)
    assert run.p99_goal_met == (run.p99_ms < 100)
    assert run.events_sent > 5 and run.events_stored == run.events_sent
    assert (run.lost, run.duplicated, run.cabinets_with_seq_gaps, run.retries) == (0, 0, 0, 0)
    if store == "sqlite":
        stored = SqliteCloudStore(db)
        try:
            assert stored.count_events() == run.events_sent
        finally:
            stored.close()
    else:
        assert (run.nodes, run.balance) == (2, "proxy")


async def test_a_cabinet_whose_configuration_changed_gets_it_once_then_304_for_the_new_etag(tmp_path: Path) -> None:
    db = tmp_path / "cloud.db"
    store = SqliteCloudStore(db)
    try:
        key = store.add_cabinet("cab-1")
        current = applied_etag(store, "cab-1")
    finally:
        store.close()
    [(node, url)] = start_nodes(str(db), 1, tmp_path)
    tally = Tally()
    try:
        mix = firmware_mix(upload_every=100.0, poll_scale=0.002)  # config every 0.12 s; no burst in time
        deadline = time.monotonic() + 1.0
        await firmware_cabinet(Pool(url, 4), "cab-1", key, '"stale"', 0, deadline, mix, tally)
    finally:
        node.stop()
    assert current.startswith('"') and tally.answers["config"][200] == 1 and tally.answers["config"][304] >= 2


async def test_the_generators_pool_reads_a_304_without_a_body_and_keeps_the_connection() -> None:
    seen: list[tuple[str, str | None, bytes, object]] = []

    async def config(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        seen.append((request.method, request.headers.get("If-None-Match"), await request.read(), peer))
        return web.Response(status=304, headers={"ETag": '"abc"'})

    app = web.Application()
    app.router.add_get("/v1/config", config)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        pool = Pool(f"http://127.0.0.1:{runner.addresses[0][1]}", 1)
        for _ in range(2):  # the second on the same keep-alive connection: nothing of the first left unread
            status, headers, body = await pool.request("GET", "/v1/config", b"", {"If-None-Match": '"abc"'})
            assert (status, headers["etag"], body) == (304, '"abc"', b"")
        assert [s[:3] for s in seen] == [("GET", '"abc"', b"")] * 2
        assert seen[0][3] == seen[1][3]  # one connection
    finally:
        await runner.cleanup()


def test_an_acknowledged_event_missing_from_the_store_is_counted_lost(tmp_path: Path) -> None:
    store = SqliteCloudStore(tmp_path / "cloud.db")
    try:
        store.add_cabinet("cab-1")
        stored = Event(new_event_id(), "cab-1", 1, "heartbeat", utc_now_iso(), 1.0, {"faults": []})
        store.store_events("cab-1", [stored])
        gap = Event(new_event_id(), "cab-1", 3, "heartbeat", utc_now_iso(), 3.0, {"faults": []})
        store.store_events("cab-1", [gap])
        acked = {"cab-1": {stored.id, gap.id, new_event_id()}}
        assert check_stored(store, acked) == (2, 1, 0, 1)  # stored, lost, duplicated, cabinets with a gap
    finally:
        store.close()


def test_bytes_written_and_cpu_are_read_from_proc_for_a_process_and_its_children(tmp_path: Path) -> None:
    me = os.getpid()
    before = ProcessCounters.of(descendants(me))
    with open(tmp_path / "written", "wb") as f:
        f.write(b"x" * 1_000_000)
        f.flush()
        os.fsync(f.fileno())
    after = ProcessCounters.of(descendants(me)) - before
    assert after.wchar >= 1_000_000 and after.write_bytes >= 1_000_000
    assert me in descendants(me)


async def test_the_generators_connections_survive_a_node_restart_and_say_when_none_answers() -> None:
    """The pool reuses keep-alive connections; one the node closed (restarted) is replaced, not an error."""
    bodies: list[bytes] = []

    async def echo(request: web.Request) -> web.Response:
        bodies.append(await request.read())
        return web.json_response({"n": len(bodies), "signed": request.headers["X-Signature"]})

    app = web.Application()
    app.router.add_post("/v1/events", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    pool = Pool(f"http://127.0.0.1:{port}", 4)
    assert await pool.post("/v1/events", b'{"a":1}', {"X-Signature": "s1"}) == (200, b'{"n": 1, "signed": "s1"}')
    await runner.cleanup()  # the node restarts: the pool's idle connection is closed under it
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        assert await pool.post("/v1/events", b'{"b":2}', {"X-Signature": "s2"}) == (200, b'{"n": 2, "signed": "s2"}')
        assert bodies == [b'{"a":1}', b'{"b":2}']
    finally:
        await runner.cleanup()
    with pytest.raises(ConnectionError, match=f"127.0.0.1:{port}"):  # nobody listens any more
        await pool.post("/v1/events", b"{}", {"X-Signature": "s3"})


async def test_with_pg_a_private_postgresql_serves_two_nodes_and_its_writes_are_counted() -> None:
    """--pg: a durable cluster of its own for the run; the nodes serve its URL; the events are checked in it,
    and the server's processes (the postmaster and its children) count in the bytes written."""
    args = parse_args(
        ["--pg", "--cabinets", "8", "--seconds", "1", "--interval", "0.1", "--nodes", "2", "--readers", "1"]
    )
    [run] = await main(args)
    assert args.db.startswith("postgresql://") and args.db_server_pid > 0
    assert (run.cabinets, run.nodes, run.balance) == (8, 2, "proxy")
    assert run.balancer_cpu_percent and run.reading is not None and run.reading["reads"] > 0
    assert run.events_sent > 8 and run.events_stored == run.events_sent
    assert (run.lost, run.duplicated, run.cabinets_with_seq_gaps) == (0, 0, 0)
    # The nodes alone write a log line a request (~10 bytes an event): the WAL of PostgreSQL is far more.
    assert run.server_written_bytes_per_event > 300
    with pytest.raises(psycopg.OperationalError):  # the private server is gone with the run
        psycopg.connect(args.db, connect_timeout=2).close()


def test_db_and_pg_are_exclusive_and_several_nodes_need_postgresql(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--pg", "--db", "x.db"])
    assert "not allowed with argument" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # one SQLite file is one node's
        parse_args(["--nodes", "2", "--db", "x.db"])
    assert "--nodes 2: several nodes need PostgreSQL" in capsys.readouterr().err
    assert parse_args(["--nodes", "2", "--db", "postgresql://u@/d?host=/tmp"]).nodes == 2


def test_what_the_nodes_logged_before_the_run_is_not_counted(tmp_path: Path) -> None:
    log = tmp_path / "node-0.log"
    log.write_text("store call store_events rolled back (deadlock detected); attempt 2\n")
    offsets = {log: log.stat().st_size}
    with log.open("a") as f:
        f.write("store call store_events rolled back (deadlock detected); attempt 2\nERROR Error handling request\n")
    assert (logged_since(offsets, "rolled back"), logged_since(offsets, "Error handling request")) == (1, 1)
