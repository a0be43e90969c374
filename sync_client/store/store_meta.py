"""``store_meta``: small facts about the store itself, by key (its identity, the last probe and checkpoint)."""

from __future__ import annotations

import sqlite3
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the outbox opens the store through this module
    from sync_client.outbox import Transaction

STORE_ID = "store_id"
PROBED_AT = "probed_at"
CHECKPOINTED_AT = "checkpointed_at"  # written by the checkpoint that restarts the WAL


def ensure_store_id(conn: sqlite3.Connection) -> str:
    """The store's identity, made (at random) the first time the store is opened."""
    conn.execute("INSERT OR IGNORE INTO store_meta (key, value) VALUES (?, ?)", (STORE_ID, str(uuid.uuid4())))
    value = get(conn, STORE_ID)
    assert value is not None
    return value


def get(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM store_meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def put(tx: Transaction, key: str, value: str) -> None:
    tx.execute("INSERT OR REPLACE INTO store_meta (key, value) VALUES (?, ?)", (key, value))


def all_facts(conn: sqlite3.Connection) -> dict[str, str]:
    return {str(key): str(value) for key, value in conn.execute("SELECT key, value FROM store_meta ORDER BY key")}
