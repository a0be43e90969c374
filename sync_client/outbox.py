"""The cabinet's local store: a durable SQLite outbox of events, plus the
tables the firmware keeps beside it, written in the same transactions.

WAL mode. Ordinary commits use synchronous=NORMAL (no fsync); a transaction that
records money is opened ``durable=True`` and commits with synchronous=FULL, so the
WAL is on disk before the caller goes on to energize a relay: exactly one fsync.

Checkpoints (copying the WAL back into the database: two fsyncs and every page
rewritten) never happen inside a commit: automatic checkpoints are off, and the
firmware calls ``checkpoint()`` when the cabinet is idle (or the WAL passed a hard
limit), from a worker thread on its own connection. That connection also makes the
first write after a complete checkpoint, which restarts the WAL and syncs its new
header, so no commit on the event loop pays for that fsync either. Stores use 512-byte pages
(new ones from the start, older ones rebuilt by migration 7): a small commit appends a few small frames
to the WAL instead of 4 KiB ones.

What the card is spared: the events table has no index on ``sent_at`` (the unsent events are found from
a lower bound on their seq kept in memory), and the cloud's acknowledgements are kept in memory and
written with the next ordinary commit (never a money commit) instead of a commit of their own.

Retention: events the cloud acknowledged are pruned after a configurable age;
events it refused for good move to ``dead_letters``. Unsent events are never
deleted. The outbox has a size limit: an ``alarm`` event is raised when the
backlog crosses ``alarm_pending`` (well before the limit), and at
``max_pending`` only low-value events (SHEDDABLE_EVENTS) are refused, so a sale
is never lost to a full outbox. A full disk makes SQLite roll the transaction
back (StorageFull); it never corrupts the database.

Identity: every store has a random ``store_id``, made when the database is
created and kept in it (``store_meta``), and a last sequence number (the
events' AUTOINCREMENT high-water mark, which pruning never lowers).
sync_client/store_marker.py keeps both outside the database, so a store that
vanished or was replaced is noticed at the next start.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sync_client.schema import (
    MONEY_EVENTS,
    SCHEMA_VERSION,
    SHEDDABLE_EVENTS,
    Event,
    new_event_id,
    utc_iso,
    utc_now_iso,
    validate_payload,
)
from sync_client.store import store_meta
from sync_client.store.migrations import PAGE_SIZE, SchemaTooNew, migrate

log = logging.getLogger(__name__)
DEFAULT_MAX_PENDING = 500_000
MAX_ACKS_IN_MEMORY = 500  # acknowledgements kept off the disk at most (the uploader's queries skip them)
MAX_HANDED_OUT = 100_000  # ids of events sent and not answered yet, kept to find them by seq
RECENT_COMMIT_S = 60.0  # health(): a commit this recent stands for the probe's
_ENVELOPE = "SELECT seq, id, type, schema_version, wall_time, mono_time, payload FROM events "
_NOT_ACKED = " AND seq NOT IN (SELECT value FROM json_each(?))"  # acknowledged, the mark not on disk yet


class NotDurable(RuntimeError):
    """A money event appended in a transaction that was not opened durable."""


class OutboxFull(RuntimeError):
    """A low-value event refused because the backlog reached ``max_pending``."""


class StorageFull(RuntimeError):
    """The disk (or the database's page limit) is full; the transaction was rolled back whole."""


class StoreGone(RuntimeError):
    """The database file was deleted or replaced under the open connection: a commit would land in a
    file nobody will ever open again, so it is refused (and rolled back)."""


class StoreUnusable(RuntimeError):
    """The store cannot be opened: not a SQLite file, damaged, or not writable. The message names the file."""


class StoreTooNew(StoreUnusable):
    """The store's schema version is newer than this code knows (written by a newer release)."""


# What a failing disk raises from a commit: the money path catches exactly these.
STORAGE_ERRORS = (StorageFull, StoreGone, sqlite3.Error, OSError)


@dataclass(frozen=True)
class StoreHealth:
    """Whether the store can record a sale now. ``problem`` is None when it can."""

    path: Path
    free_bytes: int  # the smaller of the filesystem's free space and the database's page limit
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class DeadLetter:
    event: Event
    reason: str
    rejected_at: str


@dataclass(frozen=True)
class OutboxStatus:
    pending: int
    dead_letters: int
    max_pending: int
    alarm_pending: int

    @property
    def filling(self) -> bool:
        return self.pending >= self.alarm_pending


@dataclass(frozen=True)
class Database:
    """The store's one connection (the standard sqlite3 module: sqlite_utils would pull numpy into the cabinet)."""

    conn: sqlite3.Connection


@dataclass(frozen=True)
class Checkpoint:
    """What one ``checkpoint()`` did: the WAL's frames, how many are now in the database, and whether the
    WAL was restarted (every frame copied, the next write begins it again from the start)."""

    wal_frames: int
    copied_frames: int
    restarted: bool
    wal_bytes_before: int


@dataclass
class Transaction:
    db: Database
    cabinet_id: str
    durable: bool
    outbox: Outbox | None = None
    appended: int = field(default=0)
    raised_alarm: bool = field(default=False)

    def append(self, event_type: str, payload: dict[str, Any]) -> Event:
        """Append one event; it commits or rolls back with everything else in this transaction."""
        validate_payload(event_type, payload)
        if event_type in MONEY_EVENTS and not self.durable:
            raise NotDurable(f"{event_type} must be appended in a durable transaction")
        if self.outbox is not None:
            self.outbox._admit(self, event_type)
        now = time.time()  # one reading: the id carries the event's wall time
        event_id, wall, mono = new_event_id(now), utc_iso(now), time.monotonic()
        cursor = self.db.conn.execute(
            "INSERT INTO events (id, type, schema_version, wall_time, mono_time, payload) VALUES (?, ?, ?, ?, ?, ?)",
            (event_id, event_type, SCHEMA_VERSION, wall, mono, json.dumps(payload, sort_keys=True)),
        )
        self.appended += 1
        assert cursor.lastrowid is not None  # an INSERT into a rowid table always sets it
        return Event(
            id=event_id,
            cabinet_id=self.cabinet_id,
            seq=cursor.lastrowid,
            type=event_type,
            wall_time=wall,
            mono_time=mono,
            payload=payload,
        )

    def execute(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> sqlite3.Cursor:
        return self.db.conn.execute(sql, params)


class Outbox:
    def __init__(
        self,
        path: Path | str,
        cabinet_id: str,
        *,
        max_pending: int = DEFAULT_MAX_PENDING,
        alarm_pending: int | None = None,
    ) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending: expected at least 1, got {max_pending}")
        self.path = Path(path)
        self.cabinet_id = cabinet_id
        self.max_pending = max_pending
        # Half the limit by default: at a few hundred events a day that is months of warning.
        self.alarm_pending = alarm_pending if alarm_pending is not None else max_pending // 2
        conn = self._open()
        self.db = Database(conn)
        self._listeners: list[Callable[[], None]] = []
        self._alarm_raised = False
        self._checkpointer: sqlite3.Connection | None = None  # opened by the first checkpoint()
        # Held while a checkpoint runs on its worker thread: close() waits for it rather than closing the
        # connection under it (SQLite crashes the process when a connection in use is closed from elsewhere).
        self._checkpointing = threading.Lock()
        self._closed = False
        self._committed_at = float("-inf")  # time.monotonic() of the last commit that succeeded
        self._acked: dict[int, None] = {}  # seqs the cloud acknowledged, not yet marked sent on disk
        self._acked_at: float | None = None  # time.monotonic() of the oldest of them
        # id -> seq of the unsent events handed out to be sent: the cloud answers by id, and events.id has no
        # index (a random page written per event), so an acknowledged id is found by its seq
        self._handed_out: dict[str, int] = {}

    def _open(self) -> sqlite3.Connection:
        """Open (or create) the store at the schema's latest version (sync_client/store/migrations.py); a
        file that is not a usable store raises StoreUnusable naming it (StoreTooNew when newer software
        wrote it)."""
        conn = None
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so nothing commits behind our back.
            conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA page_size={PAGE_SIZE}")  # takes effect only in a new, empty file
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=5000")
            conn.execute("PRAGMA wal_autocheckpoint=0")  # checkpoint() runs them, never a commit
            migrate(conn, self.path)
            self.store_id = store_meta.ensure_store_id(conn)
            # Counted once here, then kept in step by append/mark_sent: pending_count() is on every status poll.
            self._pending: int = conn.execute("SELECT count(*) FROM events WHERE sent_at IS NULL").fetchone()[0]
            # No index on sent_at (each one was a page written per event appended and again per event sent):
            # every unsent event's seq is at least this, so the uploader's queries scan only from here.
            first = conn.execute("SELECT min(seq) FROM events WHERE sent_at IS NULL").fetchone()[0]
            self._unsent_from: int = first if first is not None else _last_seq(conn) + 1
        except (sqlite3.Error, SchemaTooNew) as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, SchemaTooNew):
                raise StoreTooNew(str(exc)) from None
            raise StoreUnusable(_unusable(self.path, exc)) from None
        self._file_id = _file_id(self.path)
        return conn

    def on_append(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every commit that appended events (wakes the uploader)."""
        self._listeners.append(callback)

    @contextmanager
    def transaction(self, *, durable: bool = False) -> Iterator[Transaction]:
        conn = self.db.conn
        if durable:
            conn.execute("PRAGMA synchronous=FULL")
        try:
            conn.execute("BEGIN IMMEDIATE")
            tx = Transaction(self.db, self.cabinet_id, durable, self)
            try:
                # Acknowledgements ride along with an ordinary commit (never a money commit: their bytes must
                # not be what a nearly full disk refuses a sale for).
                flushed = [] if durable else self._write_acks(tx)
                yield tx
                if durable:  # a stat, no fsync: money is never committed into a deleted file
                    self._check_file()
                conn.execute("COMMIT")
            except BaseException:
                if tx.raised_alarm:  # the alarm rolls back too: raise it again next time
                    self._alarm_raised = False
                if conn.in_transaction:  # SQLite rolls back by itself on some errors, e.g. SQLITE_FULL
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:
            if _is_full(exc):
                raise StorageFull(f"{self.path}: {exc}; the transaction was rolled back") from exc
            raise
        finally:
            if durable:
                conn.execute("PRAGMA synchronous=NORMAL")
        self._committed_at = time.monotonic()
        if flushed:
            for seq in flushed:
                del self._acked[seq]
            self._acked_at = time.monotonic() if self._acked else None
            self._advance_unsent_from()
        if tx.appended:
            self._pending += tx.appended
            for callback in self._listeners:
                callback()

    def _check_file(self) -> None:
        if _file_id(self.path) != self._file_id:
            raise StoreGone(f"{self.path}: the database file was deleted or replaced while the cabinet had it open")

    def last_seq(self) -> int:
        """The highest sequence number this store ever gave an event (0 for none); pruning never lowers it."""
        return _last_seq(self.db.conn)

    def _advance_unsent_from(self) -> None:
        """After events left the backlog: the lowest unsent seq (found from the old bound on, by rowid)."""
        row = self.db.conn.execute(
            "SELECT seq FROM events WHERE seq >= ? AND sent_at IS NULL ORDER BY seq LIMIT 1", (self._unsent_from,)
        ).fetchone()
        self._unsent_from = int(row[0]) if row else self.last_seq() + 1

    def health(self, reserve_bytes: int, *, probe: bool = True) -> StoreHealth:
        """Can a sale be recorded now? The file is still the one we opened, a small write commits (only with
        ``probe``: it is a write to the card), and at least ``reserve_bytes`` are free on the filesystem and
        under the database's page limit."""
        free = 0
        try:
            self._check_file()
            free = self._free_bytes()
            # A real commit of one small row: read-only and I/O errors show. One that succeeded a moment
            # ago shows the same (the check at "buy" and again at "pay" is one write, not two).
            if probe and time.monotonic() - self._committed_at > RECENT_COMMIT_S:
                with self.transaction() as tx:
                    store_meta.put(tx, store_meta.PROBED_AT, utc_now_iso())
        except STORAGE_ERRORS as exc:
            return StoreHealth(self.path, free, f"cannot write {self.path}: {exc}")
        if free < reserve_bytes:
            return StoreHealth(
                self.path, free, f"only {free // 2**20} MB free for {self.path} (reserve {reserve_bytes // 2**20} MB)"
            )
        return StoreHealth(self.path, free)

    def cap_size(self, full: bool) -> None:
        """A bench's full disk: SQLite refuses to grow the database past the pages it has now (SQLITE_FULL,
        the same error as a full card), or grows again up to its default limit."""
        conn = self.db.conn
        pages = conn.execute("PRAGMA page_count").fetchone()[0] if full else 0xFFFFFFFE
        conn.execute(f"PRAGMA max_page_count = {int(pages)}")

    def _free_bytes(self) -> int:
        conn = self.db.conn
        page_size, pages, limit, unused = (
            int(conn.execute(f"PRAGMA {name}").fetchone()[0])
            for name in ("page_size", "page_count", "max_page_count", "freelist_count")
        )
        return min(shutil.disk_usage(self.path.parent).free, (limit - pages + unused) * page_size)

    def _admit(self, tx: Transaction, event_type: str) -> None:
        """Apply the size limit to one append and raise the alarm once when the backlog crosses it."""
        backlog = self._pending + tx.appended + 1  # with this event
        if backlog > self.max_pending and event_type in SHEDDABLE_EVENTS:
            raise OutboxFull(
                f"outbox holds {backlog - 1} unsent events (limit {self.max_pending}); "
                f"{event_type} refused to keep room for sales"
            )
        if backlog < self.alarm_pending:
            self._alarm_raised = False
        elif not self._alarm_raised and event_type != "alarm":
            self._alarm_raised = tx.raised_alarm = True
            tx.append(
                "alarm",
                {
                    "kind": "outbox_filling",
                    "detail": f"{backlog} unsent events; limit {self.max_pending}",
                    "pending": backlog,
                    "max_pending": self.max_pending,
                },
            )

    def append(self, event_type: str, payload: dict[str, Any]) -> Event:
        """One event in its own transaction (durable if it records money)."""
        with self.transaction(durable=event_type in MONEY_EVENTS) as tx:
            return tx.append(event_type, payload)

    def wal_bytes(self) -> int:
        """The size of the write-ahead log now (0 when there is none)."""
        try:
            return os.stat(f"{self.path}-wal").st_size
        except FileNotFoundError:
            return 0

    def checkpoint(self) -> Checkpoint:
        """Copy the WAL into the database (PASSIVE: never waits for a reader or the writer) and, when all of
        it was copied, restart the WAL with a small write, so its header's fsync is paid here. Blocking:
        the firmware calls it from a worker thread, when no money is being committed. The write is the
        ``checkpointed_at`` fact; it is committed on this thread's own connection."""
        with self._checkpointing:
            if self._closed:
                raise sqlite3.ProgrammingError("the outbox is closed")
            return self._checkpoint(self._checkpoint_connection())

    def _checkpoint(self, conn: sqlite3.Connection) -> Checkpoint:
        size = self.wal_bytes()
        busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        restarted = not busy and frames >= 0 and copied == frames
        if restarted and frames > 0:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "INSERT OR REPLACE INTO store_meta (key, value) VALUES (?, ?)",
                    (store_meta.CHECKPOINTED_AT, utc_now_iso()),
                )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return Checkpoint(max(frames, 0), max(copied, 0), restarted, size)

    def _checkpoint_connection(self) -> sqlite3.Connection:
        if self._checkpointer is None:
            conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=5000")
            conn.execute("PRAGMA wal_autocheckpoint=0")
            # The restarting write cuts the WAL file back to what it holds: wal_bytes() is the WAL not yet copied.
            conn.execute("PRAGMA journal_size_limit=0")
            self._checkpointer = conn
        return self._checkpointer

    def _event(self, row: tuple[Any, ...]) -> Event:
        return Event(
            id=row[1],
            cabinet_id=self.cabinet_id,
            seq=row[0],
            type=row[2],
            schema_version=row[3],
            wall_time=row[4],
            mono_time=row[5],
            payload=json.loads(row[6]),
        )

    def _select(self, where: str, params: tuple[Any, ...]) -> list[Event]:
        return [self._event(r) for r in self.db.conn.execute(_ENVELOPE + where, params).fetchall()]

    def pending(self, limit: int) -> list[Event]:
        events = self._select(
            f"WHERE seq >= ? AND sent_at IS NULL{_NOT_ACKED} ORDER BY seq LIMIT ?",
            (self._unsent_from, json.dumps(list(self._acked)), limit),
        )
        self._hand_out((e.id, e.seq) for e in events)
        return events

    def _hand_out(self, sent: Iterable[tuple[str, int]]) -> None:
        if len(self._handed_out) > MAX_HANDED_OUT:  # batches sent and never answered: found by a scan instead
            self._handed_out.clear()
        self._handed_out.update(sent)

    def _unsent_seqs(self, event_ids: Iterable[str]) -> dict[str, int]:
        """The seqs of those of ``event_ids`` still unsent: those handed out by their seq, any other by a scan
        of the unsent events (no index on events.id)."""
        ids = set(event_ids)
        found = {i: self._handed_out[i] for i in ids if i in self._handed_out}
        if len(found) < len(ids):
            rows = self.db.conn.execute(
                "SELECT id, seq FROM events WHERE seq >= ? AND id IN (SELECT value FROM json_each(?))",
                (self._unsent_from, json.dumps(sorted(ids - found.keys()))),
            ).fetchall()
            found.update(dict(rows))
        return found

    def pending_json(
        self, limit: int, max_bytes: int, *, after_seq: int = 0, event_type: str | None = None
    ) -> list[tuple[int, str, bytes]]:
        """The oldest unsent events after ``after_seq`` (of one type, if given) as (seq, id, JSON object),
        without re-encoding their payloads: what the uploader sends. At most ``limit`` events and
        ``max_bytes`` of JSON, but at least one."""
        only_type = " AND type = ?" if event_type else ""
        start = max(after_seq, self._unsent_from - 1)
        rows = self.db.conn.execute(
            _ENVELOPE + f"WHERE seq > ? AND sent_at IS NULL{_NOT_ACKED}{only_type} ORDER BY seq LIMIT ?",
            (start, json.dumps(list(self._acked)), *((event_type,) if event_type else ()), limit),
        ).fetchall()
        cabinet = json.dumps(self.cabinet_id)
        out: list[tuple[int, str, bytes]] = []
        size = 0
        for seq, event_id, type_, version, wall, mono, payload in rows:
            # Keys in sorted order, as schema.dumps writes them; the payload is stored as JSON already.
            text = (
                f'{{"cabinet_id":{cabinet},"id":"{event_id}","mono_time":{mono!r},"payload":{payload},'
                f'"schema_version":{version},"seq":{seq},"type":{json.dumps(type_)},"wall_time":"{wall}"}}'
            ).encode()
            size += len(text) + 1
            if out and size > max_bytes:
                break
            out.append((seq, event_id, text))
        self._hand_out((event_id, seq) for seq, event_id, _ in out)
        return out

    def mark_sent(self, event_ids: list[str]) -> int:
        """Record the cloud's acknowledgement; only unsent events change. Returns how many did.

        In memory at once (they leave the backlog and are not sent again), on disk with the next ordinary
        commit or ``flush_acks()``: a commit of their own would be one more write to the card per upload.
        A power cut may lose the record of an acknowledgement; the events are then sent again, and the
        cloud, which stores each event id once, answers with the same acknowledgement."""
        if not event_ids:
            return 0
        seqs = self._unsent_seqs(event_ids)
        for event_id in seqs:
            self._handed_out.pop(event_id, None)
        rows = self.db.conn.execute(
            "SELECT seq FROM events WHERE seq IN (SELECT value FROM json_each(?)) AND sent_at IS NULL",
            (json.dumps(list(seqs.values())),),
        ).fetchall()
        new = [seq for (seq,) in rows if seq not in self._acked]
        self._acked.update(dict.fromkeys(new))
        if new and self._acked_at is None:
            self._acked_at = time.monotonic()
        self._pending -= len(new)
        if len(self._acked) >= MAX_ACKS_IN_MEMORY:  # a backlog draining: one commit per batch, as it was
            self.flush_acks()
        return len(new)

    def acks_waiting_s(self) -> float:
        """How long the oldest acknowledgement not yet on disk has waited (0 for none)."""
        return 0.0 if self._acked_at is None else time.monotonic() - self._acked_at

    def flush_acks(self) -> int:
        """Write the acknowledgements kept in memory now (one commit); returns how many."""
        count = len(self._acked)
        if count:
            with self.transaction():
                pass  # the transaction writes them
        return count

    def _write_acks(self, tx: Transaction) -> list[int]:
        flushed = list(self._acked)
        if flushed:
            tx.execute(
                "UPDATE events SET sent_at = ? WHERE seq IN (SELECT value FROM json_each(?)) AND sent_at IS NULL",
                (utc_now_iso(), json.dumps(flushed)),
            )
        return flushed

    def dead_letter(self, rejections: dict[str, str]) -> int:
        """Move unsent events the cloud refused for good (id -> reason) to ``dead_letters``."""
        if not rejections:
            return 0
        now = utc_now_iso()
        moved = 0
        seqs = self._unsent_seqs(rejections)
        with self.transaction() as tx:
            for event_id, reason in rejections.items():
                seq = seqs.get(event_id)
                if seq is None:
                    continue
                moved += tx.execute(
                    "INSERT INTO dead_letters (seq, id, type, schema_version, wall_time, mono_time, payload, reason,"
                    " rejected_at) SELECT seq, id, type, schema_version, wall_time, mono_time, payload, ?, ? "
                    "FROM events WHERE seq = ? AND sent_at IS NULL",
                    (reason, now, seq),
                ).rowcount
                tx.execute("DELETE FROM events WHERE seq = ? AND sent_at IS NULL", (seq,))
        for event_id in seqs:
            self._handed_out.pop(event_id, None)
        self._pending -= moved
        self._advance_unsent_from()
        return moved

    def dead_letters(self) -> list[DeadLetter]:
        rows = self.db.conn.execute(
            "SELECT seq, id, type, schema_version, wall_time, mono_time, payload, reason, rejected_at "
            "FROM dead_letters ORDER BY seq"
        ).fetchall()
        return [DeadLetter(self._event(r[:7]), r[7], r[8]) for r in rows]

    def prune_sent(self, older_than_s: float, *, now: float | None = None) -> int:
        """Delete acknowledged events sent more than ``older_than_s`` ago; unsent ones are never touched."""
        cutoff = utc_iso((time.time() if now is None else now) - older_than_s)
        with self.transaction() as tx:
            return tx.execute("DELETE FROM events WHERE sent_at IS NOT NULL AND sent_at < ?", (cutoff,)).rowcount

    def pending_count(self) -> int:
        return self._pending

    def status(self) -> OutboxStatus:
        dead = self.db.conn.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
        return OutboxStatus(
            pending=self._pending, dead_letters=dead, max_pending=self.max_pending, alarm_pending=self.alarm_pending
        )

    def events(self, event_type: str | None = None) -> list[Event]:
        """Every stored event (sent or not), oldest first: for status screens and tests."""
        if event_type:
            return self._select("WHERE type = ? ORDER BY seq", (event_type,))
        return self._select("ORDER BY seq", ())

    def close(self) -> None:
        try:
            self.flush_acks()
        except STORAGE_ERRORS as exc:  # sent again at the next start; the cloud keeps each event once
            log.warning("acknowledgements not recorded", extra={"count": len(self._acked), "error": str(exc)})
        with self._checkpointing:  # a checkpoint under way on its worker thread finishes first
            self._closed = True
            if self._checkpointer is not None:
                self._checkpointer.close()
        self.db.conn.close()


def _last_seq(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    return int(row[0]) if row else 0


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _unusable(path: Path, exc: sqlite3.Error) -> str:
    """Why a store could not be opened, naming the file and what to do."""
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return (
            f"{path}: not a usable SQLite database ({text}); the file is damaged or is not the cabinet's "
            "store. Move it aside for support (do not delete it: it may hold unsent sales), then start again"
        )
    if "readonly" in text or "read-only" in text or not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
        return (
            f"{path}: the store is read-only for this user ({text}); the cabinet must be able to write it "
            f"and its directory: check the owner and mode (ls -l {path.parent}) and that the filesystem is "
            "mounted read-write"
        )
    return f"{path}: cannot open the store: {text}"


def _is_full(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "database or disk is full" in str(exc)
