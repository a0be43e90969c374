"""The cabinet's store has a schema version: a store written before versions existed opens without losing
a row, a fresh one gets the same schema, and one written by newer software is refused by name."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from firmware.attempt_guard import AttemptGuard
from sync_client.cabinet_config import parse_config
from sync_client.config_sync import ConfigSync
from sync_client.outbox import Outbox, StoreTooNew
from sync_client.pending_actions import PendingActions
from sync_client.store import store_meta
from sync_client.store.attempt_guards import AttemptGuardsRepo
from sync_client.store.commands import CommandsRepo
from sync_client.store.config_cache import ConfigCacheRepo
from sync_client.store.migrations import LATEST, MIGRATIONS
from sync_client.store.pickups import PickupsRepo
from sync_client.store.repair_tickets import RepairTicketsRepo
from sync_client.store.restocks import RestocksRepo
from sync_client.store.sales import SalesRepo
from sync_client.store.service_records import ServiceRecords
from sync_client.store.stock import StockRepo

FIXTURE = Path(__file__).parents[1] / "fixtures" / "store_before_versions.sql"
CAB = "cab-fixture"


def load_dump(path: Path) -> None:
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript(FIXTURE.read_text())


def raw_tables(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table, read without the cabinet's code."""
    with closing(sqlite3.connect(path)) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {name: sorted(conn.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr) for name in names}


def schema(path: Path) -> list[tuple]:
    with closing(sqlite3.connect(path)) as conn:
        return sorted(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall())


def user_version(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    path = tmp_path / "cabinet.db"
    load_dump(path)
    assert user_version(path) == 0
    return path


def test_a_store_written_before_versions_opens_with_every_row_readable(old_store: Path) -> None:
    before = raw_tables(old_store)
    outbox = Outbox(old_store, CAB)
    try:
        assert user_version(old_store) == LATEST
        sales = {s.sale_id.split("-", 2)[2]: s for s in SalesRepo(outbox).all()}
        assert set(sales) == {
            "paying",
            "approved",
            "door_unlocked",
            "door_opened",
            "completed",
            "failed",
            "unclaimed",
            "reversed",
            "settling",
            "interrupted",
        }
        assert all(s.state == name and s.sku == "SCOOT-S1" and s.amount_cents == 49900 for name, s in sales.items())
        assert sales["paying"].terminal_mark == "mark-0" and sales["paying"].receipt_no is None
        assert sales["door_opened"].door_opened_at == "2026-11-01T10:00:00.000Z"
        assert sales["completed"].receipt_no == "R0004" and sales["completed"].unlocks == 1
        assert [s.state for s in SalesRepo(outbox).interrupted()] == [
            "paying",
            "approved",
            "door_unlocked",
            "door_opened",
        ]

        pickups = {p.order_id: p for p in PickupsRepo(outbox).all()}
        assert {k: p.state for k, p in pickups.items()} == {
            "order-unlocked": "unlocked",
            "order-opened": "opened",
            "order-done": "collected",
        }
        assert all(p.sku == "BIKE-E2" and p.code_hash for p in pickups.values())
        assert [(r.who, r.state) for r in RestocksRepo(outbox).all()] == [
            ("pin", "recorded"),
            ("card:04C0FFEE123456", "opened"),
            ("remote:cmd-1", "not_opened"),
        ]
        guards = {g.name: g for g in AttemptGuardsRepo(outbox).all()}
        assert {k: g.failures for k, g in guards.items()} == {"pin_pad": 6, "pickup_code": 2, "service_pin": 0}
        assert guards["pin_pad"].locked_until > 0
        assert AttemptGuard(outbox, "pin_pad").failures == 6, "the count survives the migration"
        assert {(s.sku, s.count) for s in StockRepo(outbox).all()} == {("SCOOT-S1", 2), ("BIKE-E2", 4)}

        commands = {c.id: c for c in CommandsRepo(outbox).all()}
        assert {k: c.state for k, c in commands.items()} == {"cmd-1": "acked", "cmd-2": "applied", "cmd-3": "received"}
        assert commands["cmd-1"].args == {"seconds": 3, "reason": "delivery"}
        assert commands["cmd-2"].result == "ok: unlocked" and commands["cmd-3"].expires_at == "2026-11-01T09:02:00.000Z"

        cache = ConfigCacheRepo(outbox)
        cached = cache.current()
        assert cached is not None and (cached.version, cached.etag) == (3, '"v3"')
        assert parse_config(json.loads(cached.document)).version == 3
        assert ConfigSync(outbox, None).current_etag() == '"v3"'  # type: ignore[arg-type]
        assert [(r.etag, r.version) for r in cache.refused()] == [('"v4"', 4)]
        assert cache.known_etags() == ['"v3"', '"v4"']

        actions = PendingActions(outbox).all()
        assert [(a.kind, a.state, a.sale_id.split("-", 2)[2]) for a in actions] == [
            ("reverse", "open", "unclaimed"),
            ("reverse", "flagged", "reversed"),
            ("settle", "open", "settling"),
        ]
        assert actions[1].attempts == 2 and actions[1].last_error == "terminal busy"
        assert actions[2].mark == "mark-8"

        [ticket] = RepairTicketsRepo(outbox).all()
        assert ticket.ticket_id.startswith("R-") and (ticket.device, ticket.category) == ("WBA12345678", "brakes")
        records = ServiceRecords(outbox)
        assert [(a.action, a.result, a.who) for a in records.actions(10)] == [("enter", "ok", "pin")]
        assert [(r.device, r.ok) for r in records.selftest()] == [("lock", True), ("payment", False)]
        calibration = records.calibration()
        assert calibration is not None and calibration.points[2] == (974, 550)

        facts = store_meta.all_facts(outbox.db.conn)
        assert outbox.store_id == facts["store_id"] == dict(before["store_meta"])["store_id"]

        # The event sequence: every event and dead letter as it was, no seq reused, the next one follows.
        old_events = sorted(before["events"])
        assert [(e.seq, e.id, e.type) for e in outbox.events()] == [(r[0], r[1], r[2]) for r in old_events]
        [dead] = outbox.dead_letters()
        assert dead.event.type == "auth.attempt" and dead.reason.startswith("schema:")
        highest = max(r[0] for r in old_events + before["dead_letters"])
        assert outbox.last_seq() == highest
        assert outbox.pending_count() == sum(1 for r in old_events if r[7] is None)
        assert outbox.append("heartbeat", {"faults": []}).seq == highest + 1
    finally:
        outbox.close()
    after = raw_tables(old_store)
    after["events"] = [r for r in after["events"] if r[2] != "heartbeat"]
    after["sqlite_sequence"] = before["sqlite_sequence"]  # moved on by the heartbeat
    after["store_meta"] = [r for r in after["store_meta"] if r[0] != "probed_at"]
    before["store_meta"] = [r for r in before["store_meta"] if r[0] != "probed_at"]
    assert all(r[-2] is None for r in after["sales"]), "migration 2: no variant recorded for an older sale"
    assert all(r[-1] is None for r in after["sales"]), "migration 5: no receipt link kept for an older sale"
    after["sales"] = [r[:-2] for r in after["sales"]]
    assert after.pop("fingerprint_slots") == [], "migration 6: no fingerprint slot known before it"
    assert after == before, "no row lost or changed"


def test_a_fresh_store_gets_the_same_schema_as_a_migrated_one(old_store: Path, tmp_path: Path) -> None:
    Outbox(old_store, CAB).close()
    fresh = tmp_path / "fresh.db"
    Outbox(fresh, CAB).close()
    assert schema(fresh) == schema(old_store)
    assert user_version(fresh) == user_version(old_store) == LATEST


def test_the_schema_before_versions_is_migration_one_word_for_word(old_store: Path, tmp_path: Path) -> None:
    before = schema(old_store)
    fresh = tmp_path / "fresh.db"
    with closing(sqlite3.connect(fresh)) as conn:
        MIGRATIONS[0].apply(conn)  # the later migrations change the schema on purpose
        conn.commit()
    assert schema(fresh) == before, "migration 1 creates exactly the tables the code before versions did"


def test_migration_two_drops_the_indexes_that_cost_pages_per_event(old_store: Path) -> None:
    outbox = Outbox(old_store, CAB)
    try:
        indexes = {row[0] for row in outbox.db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "events_sent_at" not in indexes and "events_unsent" not in indexes
        assert outbox.prune_sent(0.0, now=4e9) >= 0  # pruning works without it
    finally:
        outbox.close()


def test_migration_four_drops_the_index_on_event_ids_and_acknowledgements_still_find_their_events(
    old_store: Path,
) -> None:
    outbox = Outbox(old_store, CAB)
    try:
        indexed = {row[0] for row in outbox.db.conn.execute("SELECT tbl_name FROM sqlite_master WHERE type = 'index'")}
        assert "events" not in indexed, "no index on the events table: no random page written per event"
        pending = outbox.pending_count()
        sent = outbox.pending_json(2, 100_000)  # handed out to the uploader: found again by their seq
        other = outbox.pending(3)[2]  # an id the cloud names that was not in a batch: found by a scan
        assert outbox.mark_sent([sent[0][1], other.id]) == 2
        assert outbox.dead_letter({sent[1][1]: "schema: refused"}) == 1
        assert outbox.mark_sent(["no-such-event"]) == 0
        assert outbox.pending_count() == pending - 3
        left = {e.id for e in outbox.pending(100)}
        assert not left & {sent[0][1], sent[1][1], other.id}
        assert sent[1][1] in {d.event.id for d in outbox.dead_letters()}
    finally:
        outbox.close()


def test_reopening_a_current_store_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "cabinet.db"
    outbox = Outbox(path, CAB)
    store_id = outbox.store_id
    outbox.append("heartbeat", {"faults": []})
    outbox.close()
    again = Outbox(path, CAB)
    try:
        assert again.store_id == store_id and [e.type for e in again.events()] == ["heartbeat"]
    finally:
        again.close()


def test_a_store_from_newer_software_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cabinet.db"
    Outbox(path, CAB).close()
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    before = raw_tables(path)
    with pytest.raises(StoreTooNew) as refused:
        Outbox(path, CAB)
    message = str(refused.value)
    assert message.startswith(f"{path}: ") and f"version {LATEST + 1}" in message and "newer" in message
    assert user_version(path) == LATEST + 1 and raw_tables(path) == before, "the store is left as it was"


def test_a_migration_that_fails_leaves_the_store_as_it_was(old_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sync_client.store import migrations

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(migrations, "MIGRATIONS", (migrations.Migration(1, "broken", broken),))
    before, layout = raw_tables(old_store), schema(old_store)
    with pytest.raises(Exception, match="disk I/O error"):
        Outbox(old_store, CAB)
    assert user_version(old_store) == 0 and schema(old_store) == layout and raw_tables(old_store) == before


def page_size(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("PRAGMA page_size").fetchone()[0]


@pytest.fixture
def store_with_big_pages(old_store: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store at version 6 with SQLite's default 4 KiB pages (as every store made before 512-byte pages),
    holding events sent and unsent."""
    from sync_client.store import migrations

    with monkeypatch.context() as patched:
        patched.setattr(migrations, "MIGRATIONS", MIGRATIONS[:6])
        outbox = Outbox(old_store, CAB)
        try:
            for i in range(40):
                outbox.append("heartbeat", {"faults": [], "n": i})
            outbox.mark_sent([e.id for e in outbox.pending(10)])
            outbox.flush_acks()
        finally:
            outbox.close()
    assert user_version(old_store) == 6 and page_size(old_store) == 4096
    return old_store


def test_a_store_with_big_pages_is_rebuilt_with_small_ones_keeping_every_row(store_with_big_pages: Path) -> None:
    path = store_with_big_pages
    before = raw_tables(path)
    with closing(sqlite3.connect(path)) as conn:
        unsent = conn.execute("SELECT seq FROM events WHERE sent_at IS NULL ORDER BY seq").fetchall()
    assert len(unsent) > 30  # the store holds events not yet sent: they must survive the rebuild
    outbox = Outbox(path, CAB)
    try:
        assert outbox.db.conn.execute("PRAGMA page_size").fetchone()[0] == 512
        assert outbox.db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert [(e.seq,) for e in outbox.pending(1000)] == unsent
        assert outbox.pending_count() == len(unsent)
    finally:
        outbox.close()
    assert user_version(path) == LATEST and page_size(path) == 512
    assert raw_tables(path) == before, "every row of every table kept, the events' sequence too"


def test_a_new_store_is_made_with_small_pages_and_never_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "cabinet.db"
    Outbox(path, CAB).close()
    assert page_size(path) == 512 and user_version(path) == LATEST


def test_a_store_another_process_holds_open_keeps_its_pages_and_opens(store_with_big_pages: Path) -> None:
    path = store_with_big_pages
    before = raw_tables(path)
    with closing(sqlite3.connect(path)) as reader:  # e.g. `kiosk status` reading it at that moment
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM events").fetchone()
        outbox = Outbox(path, CAB)
        try:
            assert outbox.db.conn.execute("PRAGMA page_size").fetchone()[0] == 4096
            assert outbox.db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            outbox.append("heartbeat", {"faults": []})  # it records as before
        finally:
            outbox.close()
        reader.execute("ROLLBACK")
    assert page_size(path) == 4096 and len(raw_tables(path)["events"]) == len(before["events"]) + 1


REBUILD = "import sys; from sync_client.outbox import Outbox; Outbox(sys.argv[1], 'cab-fixture').close()"


def test_a_rebuild_cut_short_leaves_the_store_whole_and_the_next_start_finishes_it(
    store_with_big_pages: Path,
) -> None:
    """The cabinet killed while VACUUM rewrites the file (its rollback journal on disk): the next open rolls
    the journal back, every row is there, and the rebuild runs again."""
    path = store_with_big_pages
    with closing(sqlite3.connect(path)) as conn:  # enough rows that the rewrite takes a while
        conn.executemany(
            "INSERT INTO events (id, type, schema_version, wall_time, mono_time, payload) VALUES (?, ?, 1, ?, 0, ?)",
            ((f"bulk-{i}", "heartbeat", "2026-01-01T00:00:00Z", json.dumps({"pad": "x" * 400})) for i in range(60_000)),
        )
        conn.commit()
    before = raw_tables(path)
    journal = Path(f"{path}-journal")
    child = subprocess.Popen([sys.executable, "-c", REBUILD, str(path)], cwd=Path(__file__).resolve().parents[2])
    deadline = time.monotonic() + 60
    while not journal.exists() and child.poll() is None and time.monotonic() < deadline:
        pass  # wait for VACUUM to begin rewriting the file
    killed_with_journal = journal.exists()
    child.kill()
    child.wait(10)
    assert killed_with_journal, "the child was killed while the rebuild was under way"
    with closing(sqlite3.connect(path)) as conn:  # the hot journal rolled back by the first reader
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert user_version(path) == 6 and raw_tables(path) == before
    outbox = Outbox(path, CAB)
    try:
        assert outbox.db.conn.execute("PRAGMA page_size").fetchone()[0] == 512
    finally:
        outbox.close()
    assert user_version(path) == LATEST and raw_tables(path) == before
