"""What every part of ``SqlCloudStore`` shares: the database it runs on, and small helpers more than one area uses."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

from cloud_stub.sqldb import Conn, Database
from cloud_stub.store.errors import CloudStoreError
from sync_client.schema import COMMAND_TTL_S, dumps, utc_iso

log = logging.getLogger("cloud_stub")


def _values(name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> tuple[str, list[Any]]:
    """A common table of literal rows, ``name(columns) AS (VALUES (?, …), …)``, and its parameters (for a
    WITH clause: one query for a page of keys, on either database). ``rows`` must not be empty."""
    row = f"({', '.join('?' * len(columns))})"
    return f"{name}({', '.join(columns)}) AS (VALUES {', '.join([row] * len(rows))})", [v for r in rows for v in r]


NO_LIMIT = 2**62  # LIMIT -1 is SQLite's "no limit"; PostgreSQL refuses a negative one


def _limit(limit: int) -> int:
    return NO_LIMIT if limit < 0 else limit


def _now(now: float | None) -> float:
    return time.time() if now is None else now


class StoreBase:
    """The database every area's mixin of ``SqlCloudStore`` runs on, and what several of them call."""

    _db: Database

    def _check_retailer(self, conn: Conn, retailer: str | None) -> None:
        if (
            retailer is not None
            and conn.execute("SELECT 1 FROM retailers WHERE name = ?", (retailer,)).fetchone() is None
        ):
            raise CloudStoreError(f"no retailer {retailer!r}; add it first with `kiosk-cloud retailer add {retailer}`")

    @staticmethod
    def _bump_config(conn: Conn, cabinet_id: str, at: str) -> None:
        conn.execute("UPDATE configs SET version = version + 1, updated_at = ? WHERE cabinet_id = ?", (at, cabinet_id))

    @staticmethod
    def _insert_command(
        conn: Conn,
        cabinet_id: str,
        kind: str,
        args: dict[str, Any],
        ttl_s: float | None,
        created: float,
        created_by: str | None = None,  # the console user's email (None: through the API)
    ) -> str:
        command_id = str(uuid.uuid4())
        expires = created + (COMMAND_TTL_S[kind][0] if ttl_s is None else ttl_s)
        conn.execute(
            "INSERT INTO commands (id, cabinet_id, kind, args, created_at, expires_at, created_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (command_id, cabinet_id, kind, dumps(args).decode(), utc_iso(created), utc_iso(expires), created_by),
        )
        return command_id
