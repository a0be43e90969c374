"""``sales``: one row per sale, its state and what the terminal said, for the recovery after a power cut."""

from __future__ import annotations

from dataclasses import dataclass

from sync_client.outbox import Outbox, Transaction
from sync_client.schema import utc_now_iso

# Where a restart can catch a sale: the recovery settles each of these (firmware/journeys/sale.py).
INTERRUPTED_STATES = ("paying", "approved", "door_unlocked", "door_opened")
_COLUMNS = (
    "sale_id, sku, amount_cents, currency, method, state, receipt_no, trace_no, unlocks, door_opened_at, "
    "created_at, updated_at, terminal_mark, variant_sku, receipt_token"
)


@dataclass(frozen=True)
class SaleRecord:
    sale_id: str
    sku: str
    amount_cents: int
    currency: str
    method: str
    state: str
    receipt_no: str | None
    trace_no: str | None
    unlocks: int
    door_opened_at: str | None
    created_at: str
    updated_at: str
    terminal_mark: str | None  # the terminal's mark before authorizing (PaymentTerminal.mark)
    variant_sku: str | None = None  # None in rows from before variants: the product's own SKU
    receipt_token: str | None = None  # the receipt's link (None in rows from before it was kept)

    @property
    def stock_sku(self) -> str:
        """Where the unit paid for is counted."""
        return self.variant_sku or self.sku


class SalesRepo:
    def __init__(self, outbox: Outbox) -> None:
        self._conn = outbox.db.conn

    @staticmethod
    def insert(
        tx: Transaction,
        sale_id: str,
        sku: str,
        amount_cents: int,
        currency: str,
        method: str,
        state: str,
        terminal_mark: str | None,
        variant_sku: str | None = None,
    ) -> None:
        now = utc_now_iso()
        tx.execute(
            "INSERT INTO sales (sale_id, sku, amount_cents, currency, method, state, created_at, "
            "updated_at, terminal_mark, variant_sku) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (sale_id, sku, amount_cents, currency, method, state, now, now, terminal_mark, variant_sku),
        )

    @staticmethod
    def update(
        tx: Transaction,
        sale_id: str,
        state: str,
        receipt_no: str | None,
        trace_no: str | None,
        unlocks: int,
        receipt_token: str | None = None,
    ) -> None:
        """The sale's state with what the journey knows of it now (the receipt token in the approval's own
        statement: no extra write in the money commit)."""
        tx.execute(
            "UPDATE sales SET state = ?, receipt_no = ?, trace_no = ?, unlocks = ?, updated_at = ?, "
            "receipt_token = coalesce(?, receipt_token) WHERE sale_id = ?",
            (state, receipt_no, trace_no, unlocks, utc_now_iso(), receipt_token, sale_id),
        )

    @staticmethod
    def set_state(tx: Transaction, sale_id: str, state: str) -> None:
        tx.execute("UPDATE sales SET state = ?, updated_at = ? WHERE sale_id = ?", (state, utc_now_iso(), sale_id))

    @staticmethod
    def door_opened(tx: Transaction, sale_id: str, at: str) -> None:
        tx.execute(
            "UPDATE sales SET state = 'door_opened', door_opened_at = ?, updated_at = ? WHERE sale_id = ?",
            (at, at, sale_id),
        )

    @staticmethod
    def settled(tx: Transaction, sale_id: str, state: str, receipt_no: str | None, trace_no: str | None) -> None:
        """An interrupted authorization the terminal has answered for: its state and receipt."""
        tx.execute(
            "UPDATE sales SET state = ?, receipt_no = ?, trace_no = ?, updated_at = ? WHERE sale_id = ?",
            (state, receipt_no, trace_no, utc_now_iso(), sale_id),
        )

    def get(self, sale_id: str) -> SaleRecord | None:
        row = self._conn.execute(f"SELECT {_COLUMNS} FROM sales WHERE sale_id = ?", (sale_id,)).fetchone()
        return None if row is None else SaleRecord(*row)

    def interrupted(self) -> list[SaleRecord]:
        """Sales a restart caught in one of INTERRUPTED_STATES, oldest first."""
        marks = ", ".join("?" * len(INTERRUPTED_STATES))
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM sales WHERE state IN ({marks}) ORDER BY created_at", INTERRUPTED_STATES
        ).fetchall()
        return [SaleRecord(*row) for row in rows]

    def all(self) -> list[SaleRecord]:
        """Every sale, oldest first: for status screens and tests."""
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM sales ORDER BY created_at, sale_id").fetchall()
        return [SaleRecord(*row) for row in rows]
