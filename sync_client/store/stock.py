"""``stock``: how many of each product the cabinet holds."""

from __future__ import annotations

from dataclasses import dataclass

from sync_client.outbox import Outbox, Transaction


@dataclass(frozen=True)
class StockCount:
    sku: str
    count: int


class StockRepo:
    def __init__(self, outbox: Outbox) -> None:
        self._conn = outbox.db.conn

    @staticmethod
    def seed(tx: Transaction, sku: str, count: int) -> None:
        """A count for a product that has none yet; one already counted is kept."""
        tx.execute("INSERT OR IGNORE INTO stock (sku, count) VALUES (?, ?)", (sku, count))

    @staticmethod
    def put(tx: Transaction, sku: str, count: int) -> None:
        tx.execute("UPDATE stock SET count = ? WHERE sku = ?", (count, sku))

    def count(self, sku: str) -> int | None:
        """The count (inside a transaction: as it stands there); None for a product never counted."""
        row = self._conn.execute("SELECT count FROM stock WHERE sku = ?", (sku,)).fetchone()
        return None if row is None else int(row[0])

    def all(self) -> list[StockCount]:
        return [StockCount(*row) for row in self._conn.execute("SELECT sku, count FROM stock ORDER BY sku")]
