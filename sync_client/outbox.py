"""The cabinet's local store: a durable SQLite outbox of events, plus the
tables the firmware keeps beside it, written in the same transactions.

WAL mode. Ordinary commits use synchronous=NORMAL; a transaction that records
money is opened ``durable=True`` and commits with synchronous=FULL, so the
WAL is on disk before the caller goes on to energize a relay.
"""
from __future__ import annotations

import json
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import sqlite_utils

from sync_client.schema import MONEY_EVENTS, Event, new_event_id, utc_now_iso, validate_payload

EVENTS_DDL = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,   -- gap-free per cabinet: never reused, never rolled forward
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    wall_time TEXT NOT NULL,
    mono_time REAL NOT NULL,
    payload TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS events_unsent ON events(seq) WHERE sent_at IS NULL;
"""


class NotDurable(RuntimeError):
    """A money event appended in a transaction that was not opened durable."""


@dataclass
class Transaction:
    db: sqlite_utils.Database
    cabinet_id: str
    durable: bool

    def append(self, event_type: str, payload: dict[str, Any]) -> Event:
        """Append one event; it commits or rolls back with everything else in this transaction."""
        validate_payload(event_type, payload)
        if event_type in MONEY_EVENTS and not self.durable:
            raise NotDurable(f"{event_type} must be appended in a durable transaction")
        event_id, wall, mono = new_event_id(), utc_now_iso(), time.monotonic()
        cursor = self.db.conn.execute(
            "INSERT INTO events (id, type, schema_version, wall_time, mono_time, payload) VALUES (?, ?, 1, ?, ?, ?)",
            (event_id, event_type, wall, mono, json.dumps(payload, sort_keys=True)))
        return Event(id=event_id, cabinet_id=self.cabinet_id, seq=cursor.lastrowid, type=event_type,
                     wall_time=wall, mono_time=mono, payload=payload)

    def execute(self, sql: str, params: tuple | dict = ()) -> sqlite3.Cursor:
        return self.db.conn.execute(sql, params)


class Outbox:
    def __init__(self, path: Path | str, cabinet_id: str) -> None:
        self.path = Path(path)
        self.cabinet_id = cabinet_id
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so nothing commits behind our back.
        conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self.db = sqlite_utils.Database(conn)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.executescript(EVENTS_DDL)
        self._listeners: list = []

    def on_append(self, callback) -> None:
        """Call ``callback()`` after every commit that appended events (wakes the uploader)."""
        self._listeners.append(callback)

    @contextmanager
    def transaction(self, *, durable: bool = False) -> Iterator[Transaction]:
        conn = self.db.conn
        if durable:
            conn.execute("PRAGMA synchronous=FULL")
        conn.execute("BEGIN IMMEDIATE")
        tx = Transaction(self.db, self.cabinet_id, durable)
        before = conn.total_changes
        try:
            yield tx
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")
        finally:
            if durable:
                conn.execute("PRAGMA synchronous=NORMAL")
        if conn.total_changes != before:
            for callback in self._listeners:
                callback()

    def append(self, event_type: str, payload: dict[str, Any]) -> Event:
        """One event in its own transaction (durable if it records money)."""
        with self.transaction(durable=event_type in MONEY_EVENTS) as tx:
            return tx.append(event_type, payload)

    def _select(self, where: str, params: tuple) -> list[Event]:
        rows = self.db.conn.execute(
            "SELECT seq, id, type, schema_version, wall_time, mono_time, payload FROM events " + where,
            params).fetchall()
        return [Event(id=r[1], cabinet_id=self.cabinet_id, seq=r[0], type=r[2], schema_version=r[3],
                      wall_time=r[4], mono_time=r[5], payload=json.loads(r[6])) for r in rows]

    def pending(self, limit: int) -> list[Event]:
        return self._select("WHERE sent_at IS NULL ORDER BY seq LIMIT ?", (limit,))

    def mark_sent(self, event_ids: list[str]) -> int:
        if not event_ids:
            return 0
        now = utc_now_iso()
        with self.transaction() as tx:
            cursor = tx.db.conn.executemany(
                "UPDATE events SET sent_at = ? WHERE id = ? AND sent_at IS NULL", [(now, i) for i in event_ids])
            return cursor.rowcount

    def pending_count(self) -> int:
        return self.db.conn.execute("SELECT count(*) FROM events WHERE sent_at IS NULL").fetchone()[0]

    def events(self, event_type: str | None = None) -> list[Event]:
        """Every stored event (sent or not), oldest first: for status screens and tests."""
        if event_type:
            return self._select("WHERE type = ? ORDER BY seq", (event_type,))
        return self._select("ORDER BY seq", ())

    def close(self) -> None:
        self.db.conn.close()
