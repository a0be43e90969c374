"""The cabinet database's schema as an ordered list of migrations, recorded in ``PRAGMA user_version``.

Migration N brings a store at version N-1 to version N; a store opens at ``LATEST`` after the missing
ones ran, all in one transaction (a power cut mid-way leaves the store as it was). A migration that
rebuilds the file (VACUUM, which cannot run in a transaction) runs alone after the ones before it
committed; it is atomic by itself (VACUUM through its rollback journal), and the version is recorded
after it, so a power cut in between only makes the next start run it again. Migration 1 is the
schema as the code before versions created it, table by table and word for word, so a store written
by that code (user_version 0, its tables already there) is recognised and only gets what it lacks.
A store whose version is newer than this code knows is refused, never guessed at: it was written by
a newer release that may keep its facts in columns this one would not fill.

To change the schema, append a migration; never edit one that has shipped. This is the only place
with DDL for the cabinet's database.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
# A WAL frame is a whole page: with 512-byte pages a small commit appends a few small frames instead of
# 4 KiB ones. New stores are made with it (sync_client/outbox.py); migration 7 rebuilds older ones.
PAGE_SIZE = 512


class SchemaTooNew(RuntimeError):
    """The store was written by newer software than this; the message names the file."""


@dataclass(frozen=True)
class Migration:
    version: int
    summary: str
    apply: Callable[[sqlite3.Connection], None]
    rebuilds_file: bool = False  # runs outside any transaction, alone (VACUUM)


# Migration 1: the tables as each owner created them before versions (comments included: SQLite keeps
# the text, and a fresh store must read the same in sqlite_master as one that was migrated).
V1_TABLES = (
    """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,   -- gap-free per cabinet: never reused, never rolled forward
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    wall_time TEXT NOT NULL,
    mono_time REAL NOT NULL,
    payload TEXT NOT NULL,
    sent_at TEXT
)""",
    "CREATE INDEX IF NOT EXISTS events_unsent ON events(seq) WHERE sent_at IS NULL",
    "CREATE INDEX IF NOT EXISTS events_sent_at ON events(sent_at) WHERE sent_at IS NOT NULL",
    """CREATE TABLE IF NOT EXISTS dead_letters (
    seq INTEGER PRIMARY KEY,                 -- the event's own seq: the cloud sees a gap there, and why
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    wall_time TEXT NOT NULL,
    mono_time REAL NOT NULL,
    payload TEXT NOT NULL,
    reason TEXT NOT NULL,
    rejected_at TEXT NOT NULL
)""",
    "CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS stock (sku TEXT PRIMARY KEY, count INTEGER NOT NULL CHECK (count >= 0))",
    """
CREATE TABLE IF NOT EXISTS attempt_guards (
    name TEXT PRIMARY KEY,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until REAL NOT NULL DEFAULT 0
)
""",
    """
CREATE TABLE IF NOT EXISTS sales (
    sale_id TEXT PRIMARY KEY,
    sku TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    method TEXT NOT NULL,
    state TEXT NOT NULL,
    receipt_no TEXT,
    trace_no TEXT,
    unlocks INTEGER NOT NULL DEFAULT 0,
    door_opened_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    terminal_mark TEXT               -- the terminal's mark before authorizing (PaymentTerminal.mark)
)
""",
    """
CREATE TABLE IF NOT EXISTS pending_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('reverse', 'settle')),
    sale_id TEXT NOT NULL,
    method TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    receipt_no TEXT,                 -- reverse: the payment to give back
    mark TEXT,                       -- settle: the terminal's mark taken before the authorization
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done', 'flagged')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TEXT NOT NULL,
    closed_at TEXT,
    UNIQUE (kind, sale_id)
)""",
    "CREATE INDEX IF NOT EXISTS pending_actions_open ON pending_actions(id) WHERE state = 'open'",
    """
CREATE TABLE IF NOT EXISTS pickups (
    order_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,             -- unlocked | opened | collected (see the module docstring)
    updated_at TEXT NOT NULL,
    sku TEXT,                        -- the order's product, for a collection settled after a restart
    code_hash TEXT                   -- to say "already collected" once the order has left the configuration
)
""",
    """
CREATE TABLE IF NOT EXISTS restocks (
    restock_id TEXT PRIMARY KEY,
    who TEXT,                        -- "pin", "card:<uid>", "remote:<command id>"
    state TEXT NOT NULL,             -- unlocked | opened | recorded | not_opened | interrupted
    updated_at TEXT NOT NULL
)
""",
    """
CREATE TABLE IF NOT EXISTS repair_tickets (
    ticket_id TEXT PRIMARY KEY,
    device TEXT NOT NULL,             -- the vehicle id or frame number
    category TEXT NOT NULL,
    status TEXT NOT NULL,             -- dropped_off
    created_at TEXT NOT NULL
)
""",
    """
CREATE TABLE IF NOT EXISTS service_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    action TEXT NOT NULL,            -- enter, selftest, lock_test, calibrate, restart, exit, timeout
    result TEXT NOT NULL,
    who TEXT,                        -- "pin" or "card:<uid>"
    at TEXT NOT NULL
)""",
    """
CREATE TABLE IF NOT EXISTS selftest_results (
    device TEXT PRIMARY KEY,         -- the last run only: it replaces the one before
    ok INTEGER NOT NULL,
    detail TEXT NOT NULL,
    run_at TEXT NOT NULL
)""",
    """
CREATE TABLE IF NOT EXISTS touch_calibration (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    points TEXT NOT NULL,            -- JSON [[x, y] x 4]: top-left, top-right, bottom-right, bottom-left
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    calibrated_at TEXT NOT NULL
)""",
    """
CREATE TABLE IF NOT EXISTS commands (
    id TEXT PRIMARY KEY,             -- chosen by the cloud
    kind TEXT NOT NULL,
    args TEXT NOT NULL,              -- JSON
    state TEXT NOT NULL CHECK (state IN ('received', 'applied', 'acked')),
    result TEXT,
    received_at TEXT NOT NULL,
    applied_at TEXT,
    acked_at TEXT,
    expires_at TEXT                  -- as the cloud sent it; checked when applied
)
""",
    """
CREATE TABLE IF NOT EXISTS config (
    id INTEGER PRIMARY KEY CHECK (id = 1),  -- one row: the configuration in force
    version INTEGER NOT NULL,
    etag TEXT NOT NULL,
    document TEXT NOT NULL,                 -- the JSON exactly as validated
    applied_at TEXT NOT NULL
)""",
    """
CREATE TABLE IF NOT EXISTS config_refused (
    etag TEXT PRIMARY KEY,
    version INTEGER,
    reason TEXT NOT NULL,
    refused_at TEXT NOT NULL
)
""",
)
# Columns the code before versions added to stores older than itself, when it found them missing.
V1_LATE_COLUMNS = {
    "sales": ("terminal_mark",),  # a store from before terminal marks
    "pickups": ("sku", "code_hash"),
    "commands": ("expires_at",),  # a store from before expiries: its commands get refused
}


def _v1(conn: sqlite3.Connection) -> None:
    for statement in V1_TABLES:
        conn.execute(statement)
    for table, late in V1_LATE_COLUMNS.items():
        columns = {row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')}
        for column in late:
            if column not in columns:
                conn.execute(f'ALTER TABLE "{table}" ADD COLUMN {column} TEXT')


def _sale_variants(conn: sqlite3.Connection) -> None:
    # NULL in the rows of earlier releases: a product without variants, its stock under its own SKU.
    conn.execute("ALTER TABLE sales ADD COLUMN variant_sku TEXT")  # the variant paid for: its stock SKU


def _sent_at_indexes(conn: sqlite3.Connection) -> None:
    # Each index was a page written to the SD card per event appended and again per event sent. The outbox
    # finds the unsent events by seq from the lowest one it keeps in memory; pruning (hourly) and
    # `kiosk status` scan the table.
    conn.execute("DROP INDEX IF EXISTS events_sent_at")
    conn.execute("DROP INDEX IF EXISTS events_unsent")


EVENTS_WITHOUT_ID_INDEX = """
CREATE TABLE events_v4 (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,   -- gap-free per cabinet: never reused, never rolled forward
    id TEXT NOT NULL,                        -- a random UUID (new_event_id): unique without an index
    type TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    wall_time TEXT NOT NULL,
    mono_time REAL NOT NULL,
    payload TEXT NOT NULL,
    sent_at TEXT
)"""


def _events_without_id_index(conn: sqlite3.Connection) -> None:
    # The UNIQUE index on events.id put each event in a random leaf: a third of the pages a sale wrote to the
    # WAL. The ids are random UUIDs; the outbox finds an acknowledged event by the seq it was sent with.
    # SQLite drops such an index only with its table: the table is rebuilt, its sequence kept.
    (last,) = conn.execute("SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'events'").fetchone()
    conn.execute(EVENTS_WITHOUT_ID_INDEX)
    conn.execute(
        "INSERT INTO events_v4 SELECT seq, id, type, schema_version, wall_time, mono_time, payload, sent_at FROM events"
    )
    conn.execute("DROP TABLE events")
    conn.execute("ALTER TABLE events_v4 RENAME TO events")
    (kept,) = conn.execute("SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'events'").fetchone()
    conn.execute("DELETE FROM sqlite_sequence WHERE name = 'events'")
    if max(last, kept):
        conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)", (max(last, kept),))


def _sale_receipt_tokens(conn: sqlite3.Connection) -> None:
    # NULL in the rows of earlier releases: such a sale, resumed, thanks with its reference alone.
    conn.execute("ALTER TABLE sales ADD COLUMN receipt_token TEXT")  # the receipt's link, kept for a resumed sale


FINGERPRINT_SLOTS = """
CREATE TABLE IF NOT EXISTS fingerprint_slots (
    slot INTEGER PRIMARY KEY,           -- a template's page on the fingerprint module
    named INTEGER NOT NULL DEFAULT 0,   -- 1 once a configuration named the slot (staff_fingerprints)
    since REAL NOT NULL                 -- wall time it was enrolled or first found on the module
)"""


def _fingerprint_slots(conn: sqlite3.Connection) -> None:
    # The slots a configuration named, kept on disk: a slot a later configuration no longer names is deleted
    # from the module even when that configuration is first seen after a restart.
    conn.execute(FINGERPRINT_SLOTS)


def _small_pages(conn: sqlite3.Connection) -> None:
    # An existing store keeps the page size it was made with unless rebuilt: VACUUM, in a rollback journal
    # (a WAL store cannot change its page size). VACUUM is atomic through that journal: a power cut mid-way
    # leaves the store as it was, rolled back at the next open. Best effort: a store another process holds
    # open, or a disk without room for the copy, keeps its pages (it works all the same) and says so.
    (size,) = conn.execute("PRAGMA page_size").fetchone()
    if size == PAGE_SIZE:
        return
    (synchronous,) = conn.execute("PRAGMA synchronous").fetchone()
    log.info("store: rebuilding with smaller pages", extra={"page_size": size, "new_page_size": PAGE_SIZE})
    try:
        conn.execute("PRAGMA synchronous=FULL")  # the journal on disk before the file is overwritten
        if conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0] != "delete":
            raise sqlite3.OperationalError("the store is open in another process")
        conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
        conn.execute("VACUUM")
    except sqlite3.OperationalError as exc:
        log.warning("store: kept its pages", extra={"page_size": size, "error": str(exc)})
    finally:
        conn.execute(f"PRAGMA synchronous={int(synchronous)}")
        conn.execute("PRAGMA journal_mode=WAL")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "the schema as the code before versions created it", _v1),
    Migration(2, "sales record the variant paid for", _sale_variants),
    Migration(3, "no indexes on events.sent_at: fewer pages written per event", _sent_at_indexes),
    Migration(4, "no index on events.id: a third fewer pages written per sale", _events_without_id_index),
    Migration(
        5, "sales keep their receipt link: a sale resumed after a power cut still shows it", _sale_receipt_tokens
    ),
    Migration(
        6, "fingerprint slots enrolled and named: removals and unnamed fingers survive a restart", _fingerprint_slots
    ),
    Migration(7, "512-byte pages: a small commit writes small WAL frames", _small_pages, rebuilds_file=True),
)
LATEST = MIGRATIONS[-1].version


def version_of(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Bring the store behind ``conn`` (autocommit mode) to ``LATEST``: the missing migrations in one
    transaction, but for one that rebuilds the file, which runs alone; returns the version it had. Raises
    SchemaTooNew, naming ``path``, for a store newer than this code."""
    found = version_of(conn)
    if found > LATEST:
        raise SchemaTooNew(
            f"{path}: the store's schema is version {found}, newer than this software knows (up to {LATEST}); "
            "it was written by a newer release of the cabinet firmware: install that release again "
            "(a store is never migrated backwards)"
        )
    for group in _groups(MIGRATIONS[found:]):
        if group[0].rebuilds_file:
            group[0].apply(conn)  # atomic by itself; run again if a power cut comes before the version below
            conn.execute(f"PRAGMA user_version = {group[0].version}")
        else:
            _in_one_transaction(conn, group)
    return found


def _groups(migrations: tuple[Migration, ...]) -> Iterator[tuple[Migration, ...]]:
    """Consecutive migrations that run in one transaction, and each one that rebuilds the file, alone."""
    run: list[Migration] = []
    for migration in migrations:
        if migration.rebuilds_file:
            if run:
                yield tuple(run)
                run = []
            yield (migration,)
        else:
            run.append(migration)
    if run:
        yield tuple(run)


def _in_one_transaction(conn: sqlite3.Connection, migrations: tuple[Migration, ...]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        for migration in migrations:
            migration.apply(conn)
        conn.execute(f"PRAGMA user_version = {migrations[-1].version}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
