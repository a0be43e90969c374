"""The cloud's storage: registered cabinets, the events they sent, and the nonces they used.

``CloudStore`` is the interface the web app uses, so that a PostgreSQL backend can be
added later; ``SqliteCloudStore`` is the implementation used today.
"""
from __future__ import annotations

import json
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sync_client.schema import Event, dumps, utc_iso

KEY_BYTES = 32
MIN_KEY_BYTES = 16
# Cabinet ids travel in an HTTP header and in file names on the cabinet: keep them plain.
CABINET_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_EXPORT_PAGE = 500


class CloudStoreError(Exception):
    """The store cannot do what was asked; the message says why."""


class CabinetExistsError(CloudStoreError):
    """``add_cabinet`` for an id that is already registered."""


@dataclass(frozen=True)
class StoreResult:
    """What ``store_events`` did with one batch."""
    acked: list[str]       # ids now held for this cabinet: newly stored and already stored alike
    stored: int            # how many of the acked ids were new
    conflicts: list[str]   # ids already held for a *different* cabinet: not stored, not acked


class CloudStore(Protocol):
    """Storage behind the cloud endpoint. Implementations must be safe to call from any one thread
    at a time; the web app calls them from a single worker thread."""

    def add_cabinet(self, cabinet_id: str, retailer: str | None = None, *, now: float | None = None) -> bytes: ...
    def set_cabinet_key(self, cabinet_id: str, key: bytes, retailer: str | None = None,
                        *, now: float | None = None) -> None: ...
    def cabinet_key(self, cabinet_id: str) -> bytes | None: ...
    def cabinet(self, cabinet_id: str) -> dict[str, Any] | None: ...
    def store_events(self, cabinet_id: str, events: Sequence[Event], *, now: float | None = None) -> StoreResult: ...
    def remember_nonce(self, cabinet_id: str, nonce: str, *, keep_s: float, now: float | None = None) -> bool: ...
    def export_events(self) -> Iterator[dict[str, Any]]: ...
    def count_events(self) -> int: ...
    def close(self) -> None: ...


def check_cabinet_id(cabinet_id: str) -> None:
    if not isinstance(cabinet_id, str) or not CABINET_ID_RE.fullmatch(cabinet_id):
        raise ValueError(f"cabinet id {cabinet_id!r}: use 1-64 characters from A-Z a-z 0-9 . _ : -")


_SCHEMA = """
CREATE TABLE IF NOT EXISTS cabinets (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL,               -- hex
    retailer TEXT,
    created_at TEXT NOT NULL,        -- ISO 8601 UTC
    last_sync_at TEXT
);
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,             -- UUID chosen by the cabinet: the idempotency key
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    wall_time TEXT NOT NULL,
    mono_time REAL NOT NULL,
    payload TEXT NOT NULL,           -- JSON
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_cabinet_seq ON events(cabinet_id, seq, id);
CREATE TABLE IF NOT EXISTS nonces (
    cabinet_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    seen_at REAL NOT NULL,           -- unix seconds: only ever compared, never shown
    PRIMARY KEY (cabinet_id, nonce)
);
CREATE INDEX IF NOT EXISTS nonces_by_age ON nonces(seen_at);
"""


class SqliteCloudStore:
    """``CloudStore`` on one SQLite file (WAL, synchronous=FULL: an acknowledged event is on disk).

    One connection guarded by a lock, so the object may be handed between threads; the CLI and
    another process (e.g. ``kiosk-cloud cabinet add`` while ``serve`` runs) may share the file.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so one batch is one transaction.
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise CloudStoreError(f"cannot open database {self.path}: {exc}") from None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            # IMMEDIATE takes the write lock up front, so a concurrent writer waits instead of failing mid-way.
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                if self._conn.in_transaction:     # SQLite may already have rolled back (e.g. disk full)
                    self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def add_cabinet(self, cabinet_id: str, retailer: str | None = None, *, now: float | None = None) -> bytes:
        """Register a new cabinet and return its fresh 32-byte key; CabinetExistsError if already registered."""
        check_cabinet_id(cabinet_id)
        key = secrets.token_bytes(KEY_BYTES)
        try:
            with self._write() as conn:
                conn.execute("INSERT INTO cabinets (id, key, retailer, created_at) VALUES (?, ?, ?, ?)",
                             (cabinet_id, key.hex(), retailer, utc_iso(_now(now))))
        except sqlite3.IntegrityError:
            raise CabinetExistsError(f"cabinet {cabinet_id!r} is already registered") from None
        return key

    def set_cabinet_key(self, cabinet_id: str, key: bytes, retailer: str | None = None,
                        *, now: float | None = None) -> None:
        """Register the cabinet with this key, or replace the key of a registered one (keeps its events)."""
        check_cabinet_id(cabinet_id)
        if not isinstance(key, bytes) or len(key) < MIN_KEY_BYTES:
            raise ValueError(f"key for {cabinet_id!r}: expected at least {MIN_KEY_BYTES} bytes")
        with self._write() as conn:
            conn.execute(
                "INSERT INTO cabinets (id, key, retailer, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET key = excluded.key, retailer = COALESCE(excluded.retailer, retailer)",
                (cabinet_id, key.hex(), retailer, utc_iso(_now(now))))

    def cabinet_key(self, cabinet_id: str) -> bytes | None:
        with self._lock:
            row = self._conn.execute("SELECT key FROM cabinets WHERE id = ?", (cabinet_id,)).fetchone()
        return bytes.fromhex(row["key"]) if row else None

    def cabinet(self, cabinet_id: str) -> dict[str, Any] | None:
        """The cabinet's record without its key (for status views and tests)."""
        with self._lock:
            row = self._conn.execute("SELECT id, retailer, created_at, last_sync_at FROM cabinets WHERE id = ?",
                                     (cabinet_id,)).fetchone()
        return dict(row) if row else None

    def store_events(self, cabinet_id: str, events: Sequence[Event], *, now: float | None = None) -> StoreResult:
        """Store each event id once, all in one transaction, and mark the cabinet as just synced."""
        for event in events:
            if event.cabinet_id != cabinet_id:
                raise ValueError(f"event {event.id} belongs to {event.cabinet_id!r}, not {cabinet_id!r}")
        received_at = utc_iso(_now(now))
        acked: list[str] = []
        conflicts: list[str] = []
        stored = 0
        with self._write() as conn:
            for event in events:
                cursor = conn.execute(
                    "INSERT INTO events (id, cabinet_id, seq, type, schema_version, wall_time, mono_time, payload,"
                    " received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
                    (event.id, cabinet_id, event.seq, event.type, event.schema_version, event.wall_time,
                     event.mono_time, dumps(event.payload).decode(), received_at))
                if cursor.rowcount == 1:
                    stored += 1
                    acked.append(event.id)
                    continue
                owner = conn.execute("SELECT cabinet_id FROM events WHERE id = ?", (event.id,)).fetchone()[0]
                target = acked if owner == cabinet_id else conflicts
                if event.id not in target:     # the same id twice in one batch is acked once
                    target.append(event.id)
            conn.execute("UPDATE cabinets SET last_sync_at = ? WHERE id = ?", (received_at, cabinet_id))
        return StoreResult(acked=acked, stored=stored, conflicts=conflicts)

    def remember_nonce(self, cabinet_id: str, nonce: str, *, keep_s: float, now: float | None = None) -> bool:
        """Record a request nonce; False if this cabinet already used it. Forgets nonces older than keep_s."""
        seen_at = _now(now)
        with self._write() as conn:
            conn.execute("DELETE FROM nonces WHERE seen_at < ?", (seen_at - keep_s,))
            cursor = conn.execute("INSERT INTO nonces (cabinet_id, nonce, seen_at) VALUES (?, ?, ?) "
                                  "ON CONFLICT DO NOTHING", (cabinet_id, nonce, seen_at))
        return cursor.rowcount == 1

    def export_events(self) -> Iterator[dict[str, Any]]:
        """Every stored event (its fields plus received_at), ordered by cabinet then seq.

        Reads in pages so a large store neither fills memory nor holds the lock while the caller works.
        """
        after: tuple[str, int, str] = ("", -1, "")
        while True:
            with self._lock:
                rows = self._conn.execute(
                    "SELECT * FROM events WHERE (cabinet_id, seq, id) > (?, ?, ?) "
                    "ORDER BY cabinet_id, seq, id LIMIT ?", (*after, _EXPORT_PAGE)).fetchall()
            for row in rows:
                record = dict(row)
                record["payload"] = json.loads(record["payload"])
                yield record
            if len(rows) < _EXPORT_PAGE:
                return
            last = rows[-1]
            after = (last["cabinet_id"], last["seq"], last["id"])

    def count_events(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _now(now: float | None) -> float:
    return time.time() if now is None else now
