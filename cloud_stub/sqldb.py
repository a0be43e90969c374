"""The cloud store's two databases behind one small connection interface, and its versioned migrations.

The store (``cloud_stub/store/``) writes its SQL once, in SQLite's spelling: ``?`` and ``:name``
placeholders, ``json_each(?)`` for a JSON list of values, ``FOR UPDATE`` on the rows a transaction must hold.
``Conn`` runs it on either database; the few differences are spelled out here:

- SQLite: one connection guarded by a lock (its single writer; ``BEGIN IMMEDIATE`` serialises writers, so
  ``FOR UPDATE`` is dropped from the text: the whole database is the lock), and a few read-only connections
  for reads (WAL: they never wait for the writer).
- PostgreSQL (psycopg 3 and a pool): placeholders become ``%s`` / ``%(name)s``, ``json_each(?)`` becomes
  ``jsonb_array_elements_text``, ``instr`` becomes ``strpos``. Parameters are bound client-side
  (``ClientCursor``), so an untyped ``? IS NULL`` is typed by its literal as in SQLite. Rows are read by
  name or position as ``sqlite3.Row`` reads them; sums come back as int, booleans as 0/1, as in SQLite.
  Where the statements are always the same (an upload's), ``prepared=True`` binds on the server instead, and
  ``Conn.pipeline()`` sends them without waiting for each answer; ``executemany`` of an ``INSERT … VALUES`` is
  one statement of many rows.
- DDL: the schema's types (``INTEGER``, ``REAL``, ``BLOB``, ``TEXT``) become ``BIGINT``, ``DOUBLE PRECISION``,
  ``BYTEA`` and ``TEXT COLLATE "C"`` (byte order, as SQLite sorts); ``WITHOUT ROWID`` is dropped.

Migrations: one numbered history for both databases (``Migration``), recorded in ``schema_migrations``.
"""

from __future__ import annotations

import datetime
import decimal
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol, TypeVar

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
Params = Sequence[Any] | Mapping[str, Any]


class Row(Protocol):
    """A result row: by column name or position (sqlite3.Row, or _PgRow)."""

    def __getitem__(self, key: str | int) -> Any: ...
    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Conn:
    """One connection of either database, inside a transaction the ``Database`` opened."""

    def __init__(self, raw: Any, dialect: str, *, prepared: bool = False) -> None:
        self.raw = raw
        self.dialect = dialect
        # PostgreSQL: bind parameters on the server, so psycopg prepares a statement the connection runs often
        # (parsed and planned once, not per upload); only for SQL whose parameters all have a type from their
        # context (an untyped ``? IS NULL`` fails there: see the module's docstring).
        self.prepared = prepared and dialect == POSTGRESQL
        # What gives rows their insertion order: SQLite's implicit rowid; PostgreSQL has none, so the tables
        # read in that order have a row_no identity column there (see the baseline migration).
        self.insert_order = "rowid" if dialect == SQLITE else "row_no"
        self._pipeline: Any = None

    @property
    def pipelined(self) -> bool:
        """Inside ``pipeline()`` on PostgreSQL: reading an answer waits for the server."""
        return self._pipeline is not None

    @contextmanager
    def pipeline(self) -> Iterator[None]:
        """PostgreSQL: the statements inside go to the server without waiting for each answer (psycopg's
        pipeline mode); the connection waits only where a result is read (``fetch*``, ``rowcount``), so a
        transaction of many writes costs a few round trips, not one per statement. SQLite: as without it."""
        if self.dialect == SQLITE or self._pipeline is not None:
            yield
            return
        with self.raw.pipeline() as pipeline:
            self._pipeline = pipeline
            try:
                yield
            finally:
                self._pipeline = None

    def json_text(self, column: str, key: str) -> str:
        """An expression: the JSON document's top-level ``key`` (NULL when absent or null)."""
        return (
            f"json_extract({column}, '$.{key}')" if self.dialect == SQLITE else f"(CAST({column} AS jsonb) ->> '{key}')"
        )

    def json_number(self, column: str, key: str) -> str:
        if self.dialect == SQLITE:
            return self.json_text(column, key)
        return f"CAST({self.json_text(column, key)} AS DOUBLE PRECISION)"

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        if self.dialect == SQLITE:
            return self.raw.execute(_for_sqlite(sql), params)  # type: ignore[no-any-return]
        cursor = self._pg_cursor()
        cursor.execute(_for_postgresql(sql, bool(params)), params or None)
        return cursor if self._pipeline is None else _PipelinedCursor(cursor, self._pipeline)

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        """``sql`` once per row. On PostgreSQL an ``INSERT … VALUES (?, …)`` is sent as one statement of many
        rows (its per-row cost in psycopg was most of an upload's CPU): the rows of one call must not repeat
        the key of an ``ON CONFLICT … DO UPDATE`` (a statement may not update a row twice; no caller does)."""
        if not rows:
            return
        if self.dialect == SQLITE:
            self.raw.executemany(_for_sqlite(sql), rows)
            return
        one_row = _INSERT_VALUES.match(sql)
        # only where every parameter is the row's: one after it (ON CONFLICT … SET x = ?) is not repeated per row
        if one_row is None or "?" in one_row[1] + one_row[3] or not isinstance(rows[0], Sequence):
            self._pg_cursor().executemany(_for_postgresql(sql, True), rows)
            return
        head, values, tail = one_row.groups()
        per_statement = max(1, _MAX_PARAMS // values.count("?"))
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            many = f"{head}{', '.join([values] * len(chunk))}{tail}"
            self._pg_cursor().execute(_for_postgresql(many, True), [v for row in chunk for v in row])

    def _pg_cursor(self) -> Any:
        if self.prepared:
            import psycopg

            return psycopg.Cursor(self.raw)
        return self.raw.cursor()

    def script(self, ddl: str) -> None:
        """Several statements without parameters (DDL), inside the caller's transaction."""
        if self.dialect == SQLITE:
            for statement in _statements(ddl):
                self.raw.execute(statement)
        else:
            self.raw.execute(postgresql_ddl(ddl))


# An INSERT of one row of positional parameters: the text before its row, the row, the rest (ON CONFLICT …).
_INSERT_VALUES = re.compile(r"(INSERT INTO .*? VALUES )(\(\?(?:, \?)*\))(.*)", re.DOTALL)
_MAX_PARAMS = 30000  # PostgreSQL takes at most 65535 parameters a statement


class _PipelinedCursor:
    """A cursor of a statement sent in pipeline mode: its row count is known once the server has answered
    (``fetch*`` wait for that themselves)."""

    def __init__(self, cursor: Any, pipeline: Any) -> None:
        self._cursor = cursor
        self._pipeline = pipeline

    @property
    def rowcount(self) -> int:
        self._pipeline.sync()
        return int(self._cursor.rowcount)

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return list(self._cursor.fetchall())

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)


def _statements(script: str) -> list[str]:
    """A script split at its statements' ends (sqlite3's executescript would commit our transaction)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current)
            current = ""
    if any(line.strip() and not line.strip().startswith("--") for line in current.splitlines()):
        statements.append(current)  # a last statement without its ";" (comments after the last one are dropped)
    return statements


_FOR_UPDATE = re.compile(r"\s+FOR (?:NO KEY )?UPDATE(?: OF \w+)?\b")


@lru_cache(maxsize=1024)
def _for_sqlite(sql: str) -> str:
    return _FOR_UPDATE.sub("", sql)


_TOKEN = re.compile(r"'(?:[^']|'')*'|\?|(?<!:):([A-Za-z_]\w*)|%|json_each\(\?\)|\binstr\(")


@lru_cache(maxsize=1024)
def _for_postgresql(sql: str, has_params: bool) -> str:
    """SQLite's spelling of a statement in PostgreSQL's (placeholders and the few functions that differ)."""

    def token(match: re.Match[str]) -> str:
        text = match.group(0)
        if text.startswith("'"):
            return text.replace("%", "%%") if has_params else text
        if text == "?":
            return "%s"
        if text == "%":
            return "%%" if has_params else "%"
        if text == "json_each(?)":
            return "jsonb_array_elements_text(CAST(%s AS jsonb))"
        if text == "instr(":
            return "strpos("
        return f"%({match.group(1)})s"

    return _TOKEN.sub(token, sql)


_DDL_TYPES = (
    (re.compile(r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b"), "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    (re.compile(r"\bTEXT\b"), 'TEXT COLLATE "C"'),
    (re.compile(r"\)\s*WITHOUT ROWID;"), ");"),
)


def postgresql_ddl(ddl: str) -> str:
    """The schema's SQLite DDL in PostgreSQL's types (see the module's docstring)."""
    for pattern, replacement in _DDL_TYPES:
        ddl = pattern.sub(replacement, ddl)
    return ddl


class _PgRow:
    """A PostgreSQL row read like sqlite3.Row: by name or position, ``dict(row)``, ``row.keys()``."""

    __slots__ = ("_index", "_values")

    def __init__(self, index: dict[str, int], values: tuple[Any, ...]) -> None:
        self._index = index
        self._values = values

    def __getitem__(self, key: str | int) -> Any:
        return self._values[self._index[key] if isinstance(key, str) else key]

    def keys(self) -> list[str]:
        return list(self._index)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def _as_sqlite(value: Any) -> Any:
    """What SQLite would have returned: SUM's numeric as int (or float), a boolean as 0/1."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


_PG_CONVERTED = frozenset({16, 1700})  # the type OIDs _as_sqlite changes: boolean, numeric


def _pg_rows(cursor: Any) -> Callable[[Sequence[Any]], _PgRow]:
    description = cursor.description or ()
    index = {column.name: i for i, column in enumerate(description)}
    if not any(column.type_code in _PG_CONVERTED for column in description):
        # most reads (text, integers): the values as they come, without a Python call per value
        return lambda values: _PgRow(index, tuple(values))

    def make(values: Sequence[Any]) -> _PgRow:
        return _PgRow(index, tuple(_as_sqlite(v) for v in values))

    return make


class Database(Protocol):
    """Where the store's transactions run."""

    dialect: str
    workers: int  # how many threads may use it at once (the app's store executor)
    readers: int  # how many more may read beside them (SQLite's WAL readers); 0: reads share the workers

    def read(self, *, prepared: bool = False) -> AbstractContextManager[Conn]: ...
    def write(self, *, prepared: bool = False) -> AbstractContextManager[Conn]: ...
    def close(self) -> None: ...


F = TypeVar("F", bound=Callable[..., Any])
_READS = "_store_reads"


def reads(fn: F) -> F:
    """Mark a store call that only reads (one ``Database.read()``): the app runs it on a reader thread, beside
    the writer, instead of in the writer's queue."""
    setattr(fn, _READS, True)
    return fn


def only_reads(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` (a function, or a bound method) was marked with ``reads``."""
    return bool(getattr(fn, _READS, False))


class SqliteDatabase:
    """SQLite's single writer: one connection guarded by a lock, so one thread writes at a time. With a ``path``
    and ``readers``, reads take one of that many read-only connections of their own (WAL: a reader sees the
    last commit and never waits for an open write transaction); without, they share the writer's. ``prepared``
    is PostgreSQL's alone (sqlite3 caches its statements already)."""

    dialect = SQLITE
    workers = 1

    def __init__(
        self, raw: sqlite3.Connection, *, path: str | os.PathLike[str] | None = None, readers: int = 0
    ) -> None:
        self.raw = raw
        self.lock = threading.Lock()
        self._conn = Conn(raw, SQLITE)
        self.readers = readers if path is not None else 0
        self._path = path
        self._idle: list[Conn] = []  # reader connections not in use (opened on demand, at most ``readers``)
        self._open = 0
        self._free = threading.Condition()

    @contextmanager
    def read(self, *, prepared: bool = False) -> Iterator[Conn]:
        if not self.readers:
            with self.lock:
                yield self._conn
            return
        conn = self._take_reader()
        try:
            # One snapshot for the whole call: a read of several statements sees one commit, as it did under
            # the writer's lock.
            conn.raw.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.raw.in_transaction:  # nothing to keep (query_only); an error may have ended it already
                    conn.raw.execute("ROLLBACK")
        finally:
            with self._free:
                self._idle.append(conn)
                self._free.notify()

    def _take_reader(self) -> Conn:
        with self._free:
            while not self._idle and self._open >= self.readers:
                self._free.wait()
            if self._idle:
                return self._idle.pop()
            self._open += 1
        try:
            raw = sqlite3.connect(self._path or "", isolation_level=None, check_same_thread=False, timeout=10)
            raw.row_factory = self.raw.row_factory
            raw.execute("PRAGMA query_only=ON")  # a write by mistake fails instead of racing the writer
            raw.execute("PRAGMA cache_size=-16384")  # 16 MiB each: the read models' pages stay hot
            return Conn(raw, SQLITE)
        except BaseException:
            with self._free:
                self._open -= 1
                self._free.notify()
            raise

    @contextmanager
    def write(self, *, prepared: bool = False) -> Iterator[Conn]:
        with self.lock:
            # IMMEDIATE takes the write lock up front, so a concurrent writer waits instead of failing mid-way.
            self.raw.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                if self.raw.in_transaction:  # SQLite may already have rolled back (e.g. disk full)
                    self.raw.execute("ROLLBACK")
                raise
            self.raw.execute("COMMIT")

    def close(self) -> None:
        with self._free:
            for conn in self._idle:
                conn.raw.close()
            self._idle.clear()
        with self.lock:
            self.raw.close()


class PostgresDatabase:
    """A psycopg pool: each transaction takes a connection of its own (READ COMMITTED); what must happen once
    across several nodes rests on constraints, conditional updates and row locks (``FOR UPDATE``)."""

    dialect = POSTGRESQL
    readers = 0  # reads take a pooled connection like writes: the pool is the readers

    def __init__(self, url: str, *, max_size: int = 8) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool

        self.url = url
        self.workers = max_size
        # One connection first: a wrong URL or a server that is down fails now with the server's own words,
        # not after the pool's retries as a timeout.
        psycopg.connect(url, connect_timeout=10).close()

        def configure(conn: psycopg.Connection[Any]) -> None:
            conn.cursor_factory = psycopg.ClientCursor
            conn.row_factory = _pg_rows

        self.pool = ConnectionPool(
            url, min_size=1, max_size=max_size, configure=configure, open=False, name="kiosk-cloud"
        )
        try:
            self.pool.open(wait=True, timeout=10)
        except Exception:
            self.pool.close()
            raise

    @contextmanager
    def read(self, *, prepared: bool = False) -> Iterator[Conn]:
        with self.pool.connection() as raw:  # commits at the end (nothing to commit), rolls back on error
            yield Conn(raw, POSTGRESQL, prepared=prepared)

    @contextmanager
    def write(self, *, prepared: bool = False) -> Iterator[Conn]:
        """``prepared``: the transaction's statements are bound on the server (see ``Conn.prepared``)."""
        with self.pool.connection() as raw:
            yield Conn(raw, POSTGRESQL, prepared=prepared)

    def close(self) -> None:
        self.pool.close()


def is_postgresql_url(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


def integrity_errors() -> tuple[type[Exception], ...]:
    """The exceptions a broken constraint raises, on either database."""
    try:
        import psycopg
    except ImportError:  # SQLite only
        return (sqlite3.IntegrityError,)
    return (sqlite3.IntegrityError, psycopg.IntegrityError)


def database_errors() -> tuple[type[Exception], ...]:
    try:
        import psycopg
    except ImportError:
        return (sqlite3.Error,)
    return (sqlite3.Error, psycopg.Error)


def must_retry(exc: BaseException) -> bool:
    """A transaction PostgreSQL rolled back to break a deadlock or a serialization conflict: run it again."""
    try:
        import psycopg
    except ImportError:
        return False
    return isinstance(exc, (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected))


# --- versioned migrations -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Migration:
    """One step of the schema's history, the same number and name on both databases; ``apply`` runs in the
    migration's transaction and may branch on ``conn.dialect`` where the SQL differs."""

    version: int
    name: str
    apply: Callable[[Conn], None]


_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
);
"""
# Serialises `kiosk-cloud migrate` (or `serve --migrate`) of several nodes at once on PostgreSQL.
_MIGRATION_LOCK = 16_0001


def applied_versions(conn: Conn) -> dict[int, str]:
    if conn.dialect == SQLITE:
        exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
    else:
        exists = conn.execute(
            "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = ?", ("schema_migrations",)
        )
    if exists.fetchone() is None:
        return {}
    return {r["version"]: r["name"] for r in conn.execute("SELECT version, name FROM schema_migrations")}


def has_tables(conn: Conn) -> bool:
    """Whether the database holds anything yet (a new one is created at the newest version without asking)."""
    if conn.dialect == SQLITE:
        row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'").fetchone()
    else:
        row = conn.execute("SELECT 1 FROM pg_tables WHERE schemaname = current_schema()").fetchone()
    return row is not None


def pending(db: Database, migrations: Sequence[Migration]) -> list[Migration]:
    with db.read() as conn:
        done = applied_versions(conn)
    return [m for m in migrations if m.version not in done]


def migrate(db: Database, migrations: Sequence[Migration], *, now: str | None = None) -> list[Migration]:
    """Apply the pending migrations in order, each in its own transaction with its record; returns them."""
    at = now or datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    applied = []
    for migration in migrations:
        with db.write() as conn:
            if conn.dialect == POSTGRESQL:
                conn.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
            conn.script(_MIGRATIONS_TABLE)
            if migration.version in applied_versions(conn):  # another node was first
                continue
            migration.apply(conn)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, at),
            )
        applied.append(migration)
    return applied
