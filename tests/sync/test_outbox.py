"""The outbox: events commit with the state change that caused them, money durably."""

import json
import sqlite3
import time

import pytest

from sync_client.outbox import NotDurable, Outbox, OutboxFull, StorageFull
from sync_client.schema import SchemaError, event_from_json


@pytest.fixture
def outbox(tmp_path):
    box = Outbox(tmp_path / "cabinet.db", "cab-1")
    yield box
    box.close()


def test_events_get_gap_free_sequence_numbers_and_valid_json(outbox):
    events = [outbox.append("heartbeat", {}) for _ in range(3)]
    assert [e.seq for e in events] == [1, 2, 3]
    assert len({e.id for e in events}) == 3
    for e in events:
        assert event_from_json(e.to_json()) == e


def test_rolled_back_transaction_leaves_neither_event_nor_state(outbox):
    outbox.db.conn.execute("CREATE TABLE thing (x)")
    with pytest.raises(RuntimeError), outbox.transaction() as tx:
        tx.append("heartbeat", {})
        tx.execute("INSERT INTO thing VALUES (1)")
        raise RuntimeError("power cut, in spirit")
    assert outbox.pending_count() == 0
    assert outbox.db.conn.execute("SELECT count(*) FROM thing").fetchone()[0] == 0
    assert outbox.append("heartbeat", {}).seq == 1


def test_money_events_must_be_durable(outbox):
    payload = {
        "sale_id": "s",
        "sku": "A",
        "amount_cents": 1,
        "currency": "EUR",
        "method": "terminal",
        "receipt_no": None,
        "trace_no": None,
    }
    with pytest.raises(NotDurable), outbox.transaction() as tx:
        tx.append("payment.approved", payload)
    assert outbox.pending_count() == 0
    assert outbox.append("payment.approved", payload).type == "payment.approved"
    # the durable commit restores the cheaper default afterwards
    assert outbox.db.conn.execute("PRAGMA synchronous").fetchone()[0] == 1


def test_bad_payload_is_refused_before_anything_is_written(outbox):
    with pytest.raises(SchemaError, match="payload.uid: required for card.read"):
        outbox.append("card.read", {})
    with pytest.raises(SchemaError, match="unknown event type"):
        outbox.append("nonsense", {})
    assert outbox.pending_count() == 0


def test_mark_sent_only_marks_what_was_acknowledged(outbox):
    events = [outbox.append("heartbeat", {}) for _ in range(5)]
    assert outbox.mark_sent([events[1].id, events[3].id, "not-an-id"]) == 2
    assert [e.seq for e in outbox.pending(10)] == [1, 3, 5]
    assert outbox.pending_count() == 3


def test_database_is_wal_and_survives_reopen(tmp_path):
    box = Outbox(tmp_path / "c.db", "cab-1")
    box.append("heartbeat", {})
    box.close()
    conn = sqlite3.connect(tmp_path / "c.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    reopened = Outbox(tmp_path / "c.db", "cab-1")
    assert reopened.append("heartbeat", {}).seq == 2
    reopened.close()


def test_dead_letters_leave_the_backlog_but_keep_the_event_and_reason(outbox):
    events = [outbox.append("heartbeat", {}) for _ in range(3)]
    assert outbox.dead_letter({events[1].id: "payload.faults: expected array", "unknown-id": "x"}) == 1
    assert [e.seq for e in outbox.pending(10)] == [1, 3]
    assert outbox.pending_count() == 2
    [dead] = outbox.dead_letters()
    assert (dead.event.id, dead.event.seq, dead.reason) == (events[1].id, 2, "payload.faults: expected array")
    assert outbox.status().dead_letters == 1
    # a sent event is never dead-lettered, and seqs are never reused
    outbox.mark_sent([events[0].id])
    assert outbox.dead_letter({events[0].id: "late"}) == 0
    assert outbox.append("heartbeat", {}).seq == 4


def test_prune_removes_only_events_sent_long_enough_ago(outbox):
    events = [outbox.append("heartbeat", {}) for _ in range(4)]
    outbox.mark_sent([events[0].id, events[1].id])
    assert outbox.prune_sent(3600) == 0  # sent just now: kept
    assert outbox.prune_sent(3600, now=time.time() + 7200) == 2
    assert [e.seq for e in outbox.events()] == [3, 4]  # unsent ones are never pruned
    assert outbox.pending_count() == 2


def test_a_filling_outbox_raises_one_alarm_then_sheds_only_low_value_events(tmp_path):
    box = Outbox(tmp_path / "c.db", "cab-1", max_pending=6, alarm_pending=3)
    for _ in range(3):
        box.append("card.read", {"uid": "04a1b2c3"})
    alarms = box.events("alarm")
    assert len(alarms) == 1 and alarms[0].payload["kind"] == "outbox_filling"
    box.append("door.opened", {"authorized": False})  # 5 pending: no second alarm
    assert len(box.events("alarm")) == 1
    box.append("heartbeat", {})  # 6 = the limit
    with pytest.raises(OutboxFull, match="limit 6"):
        box.append("heartbeat", {})
    sale = {
        "sale_id": "s",
        "sku": "A",
        "amount_cents": 1,
        "currency": "EUR",
        "method": "terminal",
        "receipt_no": None,
        "trace_no": None,
    }
    assert box.append("payment.approved", sale).seq == 7  # money always gets in
    assert box.status().filling
    box.close()


def test_a_full_disk_rolls_back_whole_and_never_corrupts_the_database(tmp_path):
    box = Outbox(tmp_path / "c.db", "cab-1")
    box.db.conn.execute("CREATE TABLE thing (x)")
    kept = [box.append("heartbeat", {}) for _ in range(5)]
    pages = box.db.conn.execute("PRAGMA page_count").fetchone()[0]
    box.db.conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # the disk, as far as SQLite knows, is full
    with pytest.raises(StorageFull, match="rolled back"):
        for n in range(10_000):
            with box.transaction() as tx:
                tx.append("alarm", {"kind": "test", "detail": "x" * 2000})
                tx.execute("INSERT INTO thing VALUES (?)", (n,))
    written = box.db.conn.execute("SELECT count(*) FROM thing").fetchone()[0]
    assert len(box.events("alarm")) == written  # each event is there exactly with its state
    assert box.pending_count() == 5 + written
    box.close()
    conn = sqlite3.connect(tmp_path / "c.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert [r[0] for r in conn.execute("SELECT id FROM events ORDER BY seq LIMIT 5")] == [e.id for e in kept]
    conn.close()
    reopened = Outbox(tmp_path / "c.db", "cab-1")  # space again: it carries on
    assert reopened.append("heartbeat", {}).seq == 5 + written + 1
    reopened.close()


def test_pending_json_is_what_the_cloud_parses_and_respects_the_byte_bound(outbox):
    events = [outbox.append("alarm", {"kind": "k", "detail": "d" * 100}) for _ in range(5)]
    batch = outbox.pending_json(10, 10_000)
    assert [json.loads(text) for _, _, text in batch] == [e.to_json() for e in events]
    assert [seq for seq, _, _ in batch] == [1, 2, 3, 4, 5]
    assert len(outbox.pending_json(10, 700)) == 2  # each event is about 300 bytes
    assert len(outbox.pending_json(10, 10)) == 1  # never zero: one event always goes
    assert [seq for seq, _, _ in outbox.pending_json(2, 10_000, after_seq=3)] == [4, 5]
