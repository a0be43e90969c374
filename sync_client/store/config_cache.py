"""``config`` (the configuration in force, one row) and ``config_refused`` (documents refused whole)."""

from __future__ import annotations

from dataclasses import dataclass

from sync_client.outbox import Outbox, Transaction
from sync_client.schema import utc_now_iso


@dataclass(frozen=True)
class CachedConfig:
    version: int
    etag: str
    document: str  # the JSON exactly as validated
    applied_at: str


@dataclass(frozen=True)
class RefusedConfig:
    etag: str
    version: int | None
    reason: str
    refused_at: str


class ConfigCacheRepo:
    def __init__(self, outbox: Outbox) -> None:
        self._conn = outbox.db.conn

    def current(self) -> CachedConfig | None:
        row = self._conn.execute("SELECT version, etag, document, applied_at FROM config WHERE id = 1").fetchone()
        return None if row is None else CachedConfig(*row)

    def known_etags(self) -> list[str]:
        """The applied ETag and every refused one, sorted: none of them is worth downloading again."""
        rows = self._conn.execute("SELECT etag FROM config UNION SELECT etag FROM config_refused ORDER BY 1")
        return [row[0] for row in rows]

    @staticmethod
    def apply(tx: Transaction, version: int, etag: str, document: str) -> None:
        tx.execute(
            "INSERT INTO config (id, version, etag, document, applied_at) VALUES (1, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET version = excluded.version, etag = excluded.etag, "
            "document = excluded.document, applied_at = excluded.applied_at",
            (version, etag, document, utc_now_iso()),
        )

    @staticmethod
    def refuse(tx: Transaction, etag: str, version: int | None, reason: str) -> None:
        tx.execute(
            "INSERT OR REPLACE INTO config_refused (etag, version, reason, refused_at) VALUES (?, ?, ?, ?)",
            (etag, version, reason, utc_now_iso()),
        )

    def refused(self) -> list[RefusedConfig]:
        rows = self._conn.execute("SELECT etag, version, reason, refused_at FROM config_refused ORDER BY refused_at")
        return [RefusedConfig(*row) for row in rows]
