"""The outbox: events commit with the state change that caused them, money durably."""
import sqlite3

import pytest

from sync_client.outbox import NotDurable, Outbox
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
    with pytest.raises(RuntimeError):
        with outbox.transaction() as tx:
            tx.append("heartbeat", {})
            tx.execute("INSERT INTO thing VALUES (1)")
            raise RuntimeError("power cut, in spirit")
    assert outbox.pending_count() == 0
    assert outbox.db.conn.execute("SELECT count(*) FROM thing").fetchone()[0] == 0
    assert outbox.append("heartbeat", {}).seq == 1


def test_money_events_must_be_durable(outbox):
    payload = {"sale_id": "s", "sku": "A", "amount_cents": 1, "currency": "EUR", "method": "terminal",
               "receipt_no": None, "trace_no": None}
    with pytest.raises(NotDurable):
        with outbox.transaction() as tx:
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
