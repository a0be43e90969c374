"""The events table by month on PostgreSQL, and what the retention deletes (issue 16); SQL of ``events`` only.

Migration 2 (``partition_events``) makes ``events`` a table partitioned by range of ``received_at``: the
cloud's own clock (a cabinet's wall clock may be years off, and would put a row in a partition dropped at
once), so new rows always go to the newest month. Each month is split again by list of ``type``: its
analytics (``ANALYTICS_EVENTS``) and its records (the rest, money among them), so a month whose analytics
expired is dropped as one table while its money stays. ``events_default`` catches a time without its month.

PostgreSQL's unique keys on a partitioned table must include the partition keys: ``events``' key is
(id, received_at, type), and "an event id is stored once" is ``event_ids``' primary key (``store_events``
inserts there too; alarms' handling refers to it). SQLite keeps one table whose id is the key: migration 2
only adds the index on ``received_at`` the retention reads.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from cloud_stub.sqldb import SQLITE, Conn
from sync_client.schema import SHEDDABLE_EVENTS, utc_iso

# Raw analytics: the events a full outbox may shed on the cabinet, folded into the read models at ingest
# (cabinet_status, the funnel's tables), never read raw afterwards.
ANALYTICS_EVENTS = tuple(sorted(SHEDDABLE_EVENTS))
MONTHS_AHEAD = 3  # partitions made beyond this month: serve's round may be missed for a while
BATCH = 1000  # rows deleted by one transaction: a long delete must not hold ingest's locks
DEFAULT_KEEP_ANALYTICS_DAYS = 90
# Bookkeeping records are kept 10 years (Germany: §147 AO, §257 HGB; China: 会计档案管理办法, 30 years
# for some books but 10 for most vouchers): an assumption to check with the retailer's accountant.
DEFAULT_KEEP_MONEY_YEARS = 10
_PARTITIONS_LOCK = 16_0002
_MONTH = re.compile(r"events_(\d{4})_(\d{2})")
_COLUMNS = "id, cabinet_id, seq, type, schema_version, wall_time, mono_time, payload, received_at"
_PARTITIONED = """
CREATE TABLE events (
    id TEXT NOT NULL,                -- UUID chosen by the cabinet: unique through event_ids
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    wall_time TEXT NOT NULL,
    mono_time REAL NOT NULL,
    payload TEXT NOT NULL,           -- JSON
    received_at TEXT NOT NULL,       -- the cloud's clock: the partition key
    PRIMARY KEY (id, received_at, type)
) PARTITION BY RANGE (received_at);
CREATE INDEX events_by_cabinet_seq ON events(cabinet_id, seq, id);
CREATE INDEX events_by_cabinet_type ON events(cabinet_id, type, seq);
CREATE INDEX events_by_received ON events(received_at);
CREATE TABLE events_default PARTITION OF events DEFAULT;
CREATE TABLE event_ids (
    id TEXT PRIMARY KEY              -- every stored event's id, once: the key a partitioned table cannot have
);
"""


@dataclass(frozen=True)
class RetentionPolicy:
    """How long raw events are kept: analytics ``keep_analytics_days``, every other event (money, and the
    door, stock and alarm records a dispute about it needs) ``keep_money_years``."""

    keep_analytics_days: int = DEFAULT_KEEP_ANALYTICS_DAYS
    keep_money_years: int = DEFAULT_KEEP_MONEY_YEARS

    def __post_init__(self) -> None:
        if self.keep_analytics_days < 1:
            raise ValueError(f"keep_analytics_days: at least 1, got {self.keep_analytics_days}")
        if self.keep_money_years < 1:
            raise ValueError(f"keep_money_years: at least 1, got {self.keep_money_years}")

    def cutoffs(self, now: float) -> tuple[str, str]:
        """The received_at before which analytics, and before which the other events, are due."""
        at = datetime.datetime.fromtimestamp(now, datetime.UTC)
        try:
            money = at.replace(year=at.year - self.keep_money_years)
        except ValueError:  # 29 February, in a year without one
            money = at.replace(year=at.year - self.keep_money_years, day=28)
        return utc_iso(now - 86400.0 * self.keep_analytics_days), utc_iso(money.timestamp())


@dataclass
class RetentionResult:
    """What a retention round deleted (or, dry, would delete): rows per class, and whole tables dropped."""

    analytics: int = 0
    money: int = 0
    dropped: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)  # partitions made ahead by the same round

    def add(self, step: RetentionResult) -> None:
        self.analytics += step.analytics
        self.money += step.money
        self.dropped += step.dropped
        self.created += step.created


# --- months -------------------------------------------------------------------------------------------
def _month_start(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}-01T00:00:00.000Z"


def _next(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _months(first: tuple[int, int], last: tuple[int, int]) -> Iterator[tuple[int, int]]:
    while first <= last:
        yield first
        first = _next(*first)


def _month_of(iso: str) -> tuple[int, int]:
    return int(iso[0:4]), int(iso[5:7])


def _ahead(now: float, months: int) -> tuple[int, int]:
    month = _month_of(utc_iso(now))
    for _ in range(months):
        month = _next(*month)
    return month


def _name(year: int, month: int) -> str:
    return f"events_{year:04d}_{month:02d}"


def month_partitions(conn: Conn) -> list[str]:
    """The month partitions of ``events`` (PostgreSQL), oldest first."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = CAST('events' AS regclass)"
    ).fetchall()
    return sorted(r["relname"] for r in rows if _MONTH.fullmatch(r["relname"]))


def _exists(conn: Conn, table: str) -> bool:
    return bool(conn.execute("SELECT to_regclass(?) IS NOT NULL", (table,)).fetchone()[0])


def _create_month(conn: Conn, year: int, month: int) -> str:
    """The month's partition and its two lists; rows the default partition holds for it are moved in."""
    name, lo, hi = _name(year, month), _month_start(year, month), _month_start(*_next(year, month))
    types = ", ".join(f"'{t}'" for t in ANALYTICS_EVENTS)
    conn.script(
        # PostgreSQL refuses a partition for rows the default one holds: those go aside, then in.
        "CREATE TEMP TABLE events_moving (LIKE events);\n"
        f"WITH moved AS (DELETE FROM events_default WHERE received_at >= '{lo}' AND received_at < '{hi}' "
        "RETURNING *) INSERT INTO events_moving SELECT * FROM moved;\n"
        f"CREATE TABLE {name} PARTITION OF events FOR VALUES FROM ('{lo}') TO ('{hi}') PARTITION BY LIST (type);\n"
        f"CREATE TABLE {name}_analytics PARTITION OF {name} FOR VALUES IN ({types});\n"
        f"CREATE TABLE {name}_records PARTITION OF {name} DEFAULT;\n"
        f"INSERT INTO events SELECT * FROM events_moving;\n"
        "DROP TABLE events_moving;\n"
    )
    return name


def ensure_partitions(conn: Conn, now: float, *, since: str | None = None) -> list[str]:
    """PostgreSQL: the month partitions from ``since``'s month (default: now's) to ``MONTHS_AHEAD`` after now's
    that do not exist yet, made; their names. SQLite: nothing to do."""
    if conn.dialect == SQLITE:
        return []
    conn.execute("SELECT pg_advisory_xact_lock(?)", (_PARTITIONS_LOCK,))  # two nodes' rounds, one at a time
    have = set(month_partitions(conn))
    first = _month_of(since or utc_iso(now))
    return [
        _create_month(conn, *month) for month in _months(first, _ahead(now, MONTHS_AHEAD)) if _name(*month) not in have
    ]


# --- migration 2 --------------------------------------------------------------------------------------
def partition_events(conn: Conn, now: float) -> None:
    """Migration 2: on PostgreSQL ``events`` becomes partitioned by month (every row moved, its id in
    ``event_ids``); on SQLite the index on ``received_at`` the retention reads."""
    if conn.dialect == SQLITE:
        conn.script("CREATE INDEX IF NOT EXISTS events_by_received ON events(received_at);")
        return
    conn.script(
        "ALTER TABLE alarm_handling DROP CONSTRAINT IF EXISTS alarm_handling_event_id_fkey;\n"
        "ALTER TABLE events RENAME TO events_unpartitioned;\n"
        "ALTER TABLE events_unpartitioned RENAME CONSTRAINT events_pkey TO events_unpartitioned_pkey;\n"
        "DROP INDEX events_by_cabinet_seq;\n"
        "DROP INDEX events_by_cabinet_type;\n"
    )
    conn.script(_PARTITIONED)
    oldest = conn.execute("SELECT MIN(received_at) FROM events_unpartitioned").fetchone()[0]
    ensure_partitions(conn, now, since=min(oldest or utc_iso(now), utc_iso(now)))
    conn.script(
        f"INSERT INTO events ({_COLUMNS}) SELECT {_COLUMNS} FROM events_unpartitioned;\n"
        "INSERT INTO event_ids (id) SELECT id FROM events_unpartitioned;\n"
        "DROP TABLE events_unpartitioned;\n"
        "ALTER TABLE alarm_handling ADD CONSTRAINT alarm_handling_event_id_fkey "
        "FOREIGN KEY (event_id) REFERENCES event_ids(id);\n"
    )


def maybe_stored(conn: Conn) -> str:
    """A query of one parameter (a JSON list of ids) for those of them ``events`` may hold: on PostgreSQL the ones
    in ``event_ids`` (one index, where a look-up in ``events`` by id would ask every month's), usually none; on
    SQLite all (its key is the id). A subquery, so the upload's look-up is one statement on either database."""
    if conn.dialect == SQLITE:
        return "SELECT value FROM json_each(?)"
    return "SELECT id FROM event_ids WHERE id IN (SELECT value FROM json_each(?))"


def add_event_ids(conn: Conn, ids: Sequence[str]) -> None:
    """``store_events``' part: on PostgreSQL each new id in ``event_ids`` (a second store of it fails there,
    as the events table's key does on SQLite)."""
    if conn.dialect != SQLITE:
        conn.executemany("INSERT INTO event_ids (id) VALUES (?)", [(i,) for i in ids])


# --- retention ----------------------------------------------------------------------------------------
def _types(analytics: bool) -> tuple[str, tuple[str, ...]]:
    marks = ", ".join("?" * len(ANALYTICS_EVENTS))
    return (f"type IN ({marks})" if analytics else f"type NOT IN ({marks})"), ANALYTICS_EVENTS


def count_due(conn: Conn, before: str, *, analytics: bool) -> int:
    where, types = _types(analytics)
    return int(
        conn.execute(f"SELECT COUNT(*) FROM events WHERE received_at < ? AND {where}", (before, *types)).fetchone()[0]
    )


def delete_batch(conn: Conn, before: str, *, analytics: bool) -> int:
    """At most ``BATCH`` of the class's events received before ``before`` deleted, with their id and the
    alarm handling that referred to them; how many."""
    where, types = _types(analytics)
    due = f"SELECT id FROM events WHERE received_at < ? AND {where} ORDER BY received_at LIMIT ?"
    ids = json.dumps([r["id"] for r in conn.execute(due, (before, *types, BATCH)).fetchall()])
    _forget(conn, "SELECT value FROM json_each(?)", (ids,))
    return conn.execute(
        "DELETE FROM events WHERE received_at < ? AND id IN (SELECT value FROM json_each(?))", (before, ids)
    ).rowcount


def _forget(conn: Conn, ids: str, params: tuple[str, ...] = ()) -> None:
    """The alarm handling of the events ``ids`` selects deleted, and on PostgreSQL their ids."""
    conn.execute(f"DELETE FROM alarm_handling WHERE event_id IN ({ids})", params)
    if conn.dialect != SQLITE:
        conn.execute(f"DELETE FROM event_ids WHERE id IN ({ids})", params)


def droppable(conn: Conn, analytics_before: str, money_before: str) -> list[str]:
    """PostgreSQL: the month lists whose whole month is past its class's retention, oldest first."""
    if conn.dialect == SQLITE:
        return []
    due = []
    for name in month_partitions(conn):
        year, month = (int(g) for g in _MONTH.fullmatch(name).groups())  # type: ignore[union-attr]
        end = _month_start(*_next(year, month))
        for part, before in ((f"{name}_analytics", analytics_before), (f"{name}_records", money_before)):
            if end <= before and _exists(conn, part):
                due.append(part)
    return due


def drop_partition(conn: Conn, table: str) -> int:
    """One expired list dropped whole (its ids and alarm handling forgotten first); its rows (0: another
    node dropped it first)."""
    conn.execute("SELECT pg_advisory_xact_lock(?)", (_PARTITIONS_LOCK,))
    if not _exists(conn, table):
        return 0
    rows = count_rows(conn, table)
    _forget(conn, f"SELECT id FROM {table}")
    conn.script(f"DROP TABLE {table};")
    return rows


def count_rows(conn: Conn, table: str) -> int:
    return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
