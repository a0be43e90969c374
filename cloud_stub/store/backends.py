"""The store on SQLite (``SqliteCloudStore``) or PostgreSQL (``PostgresCloudStore``), opened by ``open_store``."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

from cloud_stub import sqldb
from cloud_stub.sqldb import Database
from cloud_stub.store import migrations
from cloud_stub.store.base import log
from cloud_stub.store.errors import CloudStoreError
from cloud_stub.store.sql_store import SqlCloudStore

# Read-only connections beside the writer: the retailer's pages and the device API's look-ups read on them.
SQLITE_READERS = 3


class SqliteCloudStore(SqlCloudStore):
    """``CloudStore`` on one SQLite file (WAL, synchronous=FULL: an acknowledged event is on disk).

    One writing connection guarded by a lock, so the object may be handed between threads, and ``readers``
    read-only ones (calls marked ``reads``); the CLI and another process (e.g. ``kiosk-cloud cabinet add``
    while ``serve`` runs) may share the file.
    """

    def __init__(self, path: str | Path, *, migrate: bool = True, readers: int = SQLITE_READERS) -> None:
        self.path = Path(path)
        # The file holds every cabinet's key: readable by its owner only. SQLite gives the -wal and -shm
        # files the database's own mode; the umask covers their creation here all the same.
        umask = os.umask(0o077)
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so one batch is one transaction.
            raw = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
            raw.row_factory = sqlite3.Row
            raw.execute("PRAGMA journal_mode=WAL")
            raw.execute("PRAGMA synchronous=FULL")
            raw.execute("PRAGMA foreign_keys=ON")
            raw.execute("PRAGMA cache_size=-65536")  # 64 MiB: the id index of a big fleet stays hot
            super().__init__(sqldb.SqliteDatabase(raw, path=self.path, readers=readers), migrate=migrate)
        except sqlite3.Error as exc:
            raise CloudStoreError(f"cannot open database {self.path}: {exc}") from None
        finally:
            os.umask(umask)
        self._owner_only()

    def _owner_only(self) -> None:
        """Tighten a database that an older version created readable by others."""
        for path in (self.path, *(self.path.with_name(self.path.name + s) for s in ("-wal", "-shm"))):
            try:
                mode = path.stat().st_mode
                if mode & 0o077:
                    path.chmod(mode & 0o700)
                    log.warning("database file %s was readable by others; now by its owner only", path)
            except FileNotFoundError:
                continue
            except PermissionError:
                log.warning("database file %s is readable by others and not ours to change", path)


class PostgresCloudStore(SqlCloudStore):
    """``CloudStore`` on PostgreSQL (``postgresql://…``): a connection pool; several nodes may share it."""

    def __init__(self, url: str, *, migrate: bool = True, pool_size: int = 8) -> None:
        self.url = url
        try:
            super().__init__(sqldb.PostgresDatabase(url, max_size=pool_size), migrate=migrate)
        except sqldb.database_errors() + (TimeoutError,) as exc:
            raise CloudStoreError(f"cannot open database {printable(url)}: {exc}") from None


def open_store(target: str | Path, *, migrate: bool = True) -> SqlCloudStore:
    """The store at ``target``: a ``postgresql://`` URL, else a SQLite file's path."""
    if sqldb.is_postgresql_url(str(target)):
        return PostgresCloudStore(str(target), migrate=migrate)
    return SqliteCloudStore(target, migrate=migrate)


def pending_migrations(target: str | Path) -> tuple[list[sqldb.Migration], bool]:
    """The migrations the database at ``target`` lacks, and whether it is new (holds no tables yet)."""
    if sqldb.is_postgresql_url(str(target)):
        db: Database = sqldb.PostgresDatabase(str(target), max_size=1)
    else:
        path = Path(target)
        if not path.exists():
            return list(migrations.MIGRATIONS), True
        db = sqldb.SqliteDatabase(sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10))
        db.raw.row_factory = sqlite3.Row
    try:
        with db.read() as conn:
            new = not sqldb.has_tables(conn)
        return sqldb.pending(db, migrations.MIGRATIONS), new
    finally:
        db.close()


def printable(target: str | Path) -> str:
    """A database's name for messages and logs: a URL without its password."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", str(target))
