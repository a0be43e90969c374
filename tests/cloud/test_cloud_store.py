"""SqliteCloudStore: cabinets, once-only events in one transaction, nonces, ordered export."""

from __future__ import annotations

import random
import secrets
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from cloud_stub.store import CabinetExistsError, CloudStoreError, SqliteCloudStore
from sync_client.schema import event_from_json
from tests.cloud.cloud_helpers import CAB, OTHER, make_event


def events(*seqs: int, cabinet_id: str = CAB):
    return [event_from_json(make_event(seq, cabinet_id)) for seq in seqs]


def test_add_cabinet_makes_a_fresh_key_and_refuses_a_second_registration(store: SqliteCloudStore) -> None:
    with pytest.raises(CloudStoreError, match="no retailer 'shop-a'"):
        store.add_cabinet(CAB, "shop-a")
    store.add_retailer("shop-a")
    key = store.add_cabinet(CAB, "shop-a")
    assert len(key) == 32 and store.cabinet_key(CAB) == key
    assert store.add_cabinet(OTHER) != key
    with pytest.raises(CabinetExistsError, match="cab-1"):
        store.add_cabinet(CAB)
    assert store.cabinet_key(CAB) == key
    assert store.cabinet_key("cab-9") is None


@pytest.mark.parametrize("bad_id", ["", "has space", "x" * 65, "tab\t", "é"])
def test_cabinet_ids_must_be_plain(store: SqliteCloudStore, bad_id: str) -> None:
    with pytest.raises(ValueError, match="cabinet id"):
        store.add_cabinet(bad_id)


def test_set_cabinet_key_registers_or_replaces_the_key_and_keeps_the_rest(store: SqliteCloudStore) -> None:
    store.add_retailer("shop-a")
    first, second = secrets.token_bytes(32), secrets.token_bytes(32)
    store.set_cabinet_key(CAB, first, retailer="shop-a")
    store.store_events(CAB, events(1))
    store.set_cabinet_key(CAB, second)
    assert store.cabinet_key(CAB) == second
    assert store.cabinet(CAB)["retailer"] == "shop-a"
    assert store.count_events() == 1
    with pytest.raises(ValueError, match="at least 32 random bytes"):
        store.set_cabinet_key(CAB, b"short")
    with pytest.raises(ValueError, match="every byte is 00"):
        store.set_cabinet_key(CAB, bytes(32))
    assert store.cabinet_key(CAB) == second


def test_store_events_stores_each_id_once_and_acks_repeats(store: SqliteCloudStore) -> None:
    store.add_cabinet(CAB)
    batch = events(1, 2)
    first = store.store_events(CAB, batch, now=1000.0)
    assert (first.acked, first.stored, first.conflicts) == ([e.id for e in batch], 2, [])
    again = store.store_events(CAB, batch + batch[:1])
    assert (again.acked, again.stored) == ([e.id for e in batch], 0)
    assert store.count_events() == 2
    assert store.cabinet(CAB)["last_sync_at"] is not None


def test_a_batch_is_one_transaction(store: SqliteCloudStore) -> None:
    store.add_cabinet(CAB)
    good, bad = events(1, 2)
    with pytest.raises((OverflowError, psycopg.DataError)):  # integers stop at 2**63 - 1 (SQLite, BIGINT)
        store.store_events(CAB, [good, replace(bad, seq=2**64)])
    assert store.count_events() == 0


def test_events_survive_reopening_the_file(tmp_path: Path) -> None:
    first = SqliteCloudStore(tmp_path / "c.db")
    first.add_cabinet(CAB)
    first.store_events(CAB, events(1, 2, 3))
    first.close()
    reopened = SqliteCloudStore(tmp_path / "c.db")
    assert reopened.count_events() == 3
    reopened.close()


def test_remember_nonce_refuses_a_repeat_until_it_is_forgotten(store: SqliteCloudStore) -> None:
    assert store.remember_nonce(CAB, "n1", keep_s=600, now=1000.0)
    assert not store.remember_nonce(CAB, "n1", keep_s=600, now=1599.0)
    assert store.remember_nonce(OTHER, "n1", keep_s=600, now=1599.0)
    assert store.remember_nonce(CAB, "n2", keep_s=600, now=1601.0)  # prunes n1
    assert store.remember_nonce(CAB, "n1", keep_s=600, now=1602.0)


def test_export_is_ordered_by_cabinet_then_seq_across_pages(store: SqliteCloudStore) -> None:
    store.add_cabinet(CAB)
    store.add_cabinet(OTHER)
    seqs = list(range(1, 701))
    random.Random(7).shuffle(seqs)
    for cabinet_id in (OTHER, CAB):
        store.store_events(cabinet_id, events(*seqs, cabinet_id=cabinet_id))
    exported = [(r["cabinet_id"], r["seq"]) for r in store.export_events()]
    assert exported == [(c, s) for c in (CAB, OTHER) for s in range(1, 701)]


def test_an_unopenable_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CloudStoreError, match="cannot open database"):
        SqliteCloudStore(tmp_path / "missing-dir" / "c.db")


def test_commands_queued_before_expiries_existed_come_out_long_expired(tmp_path: Path) -> None:
    import sqlite3

    old = sqlite3.connect(tmp_path / "old.db")
    old.executescript("""
        CREATE TABLE cabinets (id TEXT PRIMARY KEY, key TEXT NOT NULL, retailer TEXT, created_at TEXT NOT NULL,
                               last_sync_at TEXT);
        CREATE TABLE commands (id TEXT PRIMARY KEY, cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
                               kind TEXT NOT NULL, args TEXT NOT NULL, created_at TEXT NOT NULL, acked_at TEXT,
                               result TEXT);
        INSERT INTO cabinets VALUES ('cab-1', 'ab', NULL, '2026-01-01T00:00:00.000Z', NULL);
        INSERT INTO commands VALUES ('c-1', 'cab-1', 'refresh_config', '{}', '2026-01-01T00:00:00.000Z', NULL, NULL);
    """)
    old.close()
    store = SqliteCloudStore(tmp_path / "old.db")
    [queued] = store.pending_commands(CAB)
    assert queued["id"] == "c-1" and queued["expires_at"] == "1970-01-01T00:00:00.000Z"
    fresh = store.command(store.add_command(CAB, "unlock", {"seconds": 3, "reason": "x"}, now=1_800_000_000.0))
    assert fresh["expires_at"] == "2027-01-15T08:02:00.000Z"  # the default 2 minutes
    store.close()


def test_tokens_people_type_on_a_command_line_are_hex(store: SqliteCloudStore) -> None:
    """`kiosk provision --enroll-token T`: a token starting with "-" (urlsafe base64 makes one about one time
    in 64) would be taken for an option and the technician told the argument is missing."""
    store.add_retailer("velo-mall")
    tokens = [store.add_enroll_token("velo-mall", ttl_s=60) for _ in range(200)]
    assert all(len(t) == 48 and all(c in "0123456789abcdef" for c in t) for t in tokens)
