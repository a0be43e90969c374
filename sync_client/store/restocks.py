"""``restocks``: every door opening for a restock, so that none is repeated after a power cut."""

from __future__ import annotations

from dataclasses import dataclass

from sync_client.outbox import Outbox, Transaction
from sync_client.schema import utc_now_iso

_COLUMNS = "restock_id, who, state, updated_at"


@dataclass(frozen=True)
class RestockRecord:
    restock_id: str
    who: str | None  # "pin", "card:<uid>", "remote:<command id>"
    state: str  # unlocked | opened | recorded | not_opened | interrupted
    updated_at: str


class RestocksRepo:
    def __init__(self, outbox: Outbox) -> None:
        self._conn = outbox.db.conn

    @staticmethod
    def insert(tx: Transaction, restock_id: str, who: str | None) -> None:
        """A restock whose door is about to be unlocked."""
        tx.execute(
            "INSERT INTO restocks (restock_id, who, state, updated_at) VALUES (?, ?, 'unlocked', ?)",
            (restock_id, who, utc_now_iso()),
        )

    @staticmethod
    def set_state(tx: Transaction, restock_id: str | None, state: str) -> None:
        tx.execute(
            "UPDATE restocks SET state = ?, updated_at = ? WHERE restock_id = ?", (state, utc_now_iso(), restock_id)
        )

    def interrupted(self) -> list[RestockRecord]:
        """Restocks a restart caught unlocked or with the door open."""
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM restocks WHERE state IN ('unlocked', 'opened') ORDER BY rowid"
        ).fetchall()
        return [RestockRecord(*row) for row in rows]

    def all(self) -> list[RestockRecord]:
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM restocks ORDER BY rowid").fetchall()
        return [RestockRecord(*row) for row in rows]
