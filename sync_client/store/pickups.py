"""``pickups``: each online order whose code opened the door, and how far its collection got."""

from __future__ import annotations

from dataclasses import dataclass

from sync_client.outbox import Outbox, Transaction
from sync_client.schema import utc_now_iso

_COLUMNS = "order_id, state, updated_at, sku, code_hash"


@dataclass(frozen=True)
class PickupRecord:
    order_id: str
    state: str  # unlocked | opened | collected (firmware/journeys/pickup.py)
    updated_at: str
    sku: str | None  # the order's product, for a collection settled after a restart
    code_hash: str | None  # to say "already collected" once the order has left the configuration


class PickupsRepo:
    def __init__(self, outbox: Outbox) -> None:
        self._conn = outbox.db.conn

    @staticmethod
    def use_code(tx: Transaction, order_id: str, sku: str, code_hash: str) -> bool:
        """Record the order's code as used (state ``unlocked``); False when it was used already."""
        cursor = tx.execute(
            "INSERT INTO pickups (order_id, state, updated_at, sku, code_hash) "
            "VALUES (?, 'unlocked', ?, ?, ?) ON CONFLICT (order_id) DO NOTHING",
            (order_id, utc_now_iso(), sku, code_hash),
        )
        return cursor.rowcount == 1

    @staticmethod
    def release(tx: Transaction, order_id: str) -> None:
        """Give a code back whose door never opened."""
        tx.execute("DELETE FROM pickups WHERE order_id = ? AND state = 'unlocked'", (order_id,))

    @staticmethod
    def set_state(tx: Transaction, order_id: str, state: str) -> None:
        tx.execute("UPDATE pickups SET state = ?, updated_at = ? WHERE order_id = ?", (state, utc_now_iso(), order_id))

    def recently_used(self, limit: int) -> list[PickupRecord]:
        """The last ``limit`` orders whose code is known, newest first."""
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM pickups WHERE code_hash IS NOT NULL ORDER BY updated_at DESC LIMIT ?", (limit,)
        ).fetchall()
        return [PickupRecord(*row) for row in rows]

    def interrupted(self) -> list[PickupRecord]:
        """Orders a restart caught unlocked or with the door open."""
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM pickups WHERE state IN ('unlocked', 'opened') ORDER BY rowid"
        ).fetchall()
        return [PickupRecord(*row) for row in rows]

    def all(self) -> list[PickupRecord]:
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM pickups ORDER BY rowid").fetchall()
        return [PickupRecord(*row) for row in rows]
