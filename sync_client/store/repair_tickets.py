"""``repair_tickets``: vehicles dropped off for repair (no personal data: that goes in the event only)."""

from __future__ import annotations

from dataclasses import dataclass

from sync_client.outbox import Outbox, Transaction
from sync_client.schema import utc_now_iso


@dataclass(frozen=True)
class RepairTicket:
    ticket_id: str
    device: str  # the vehicle id or frame number
    category: str
    status: str  # dropped_off
    created_at: str


class RepairTicketsRepo:
    def __init__(self, outbox: Outbox) -> None:
        self._conn = outbox.db.conn

    @staticmethod
    def exists(tx: Transaction, ticket_id: str) -> bool:
        return tx.execute("SELECT 1 FROM repair_tickets WHERE ticket_id = ?", (ticket_id,)).fetchone() is not None

    @staticmethod
    def insert(tx: Transaction, ticket_id: str, device: str, category: str, status: str) -> None:
        tx.execute(
            "INSERT INTO repair_tickets (ticket_id, device, category, status, created_at) VALUES (?, ?, ?, ?, ?)",
            (ticket_id, device, category, status, utc_now_iso()),
        )

    def all(self) -> list[RepairTicket]:
        rows = self._conn.execute(
            "SELECT ticket_id, device, category, status, created_at FROM repair_tickets ORDER BY created_at, ticket_id"
        )
        return [RepairTicket(*row) for row in rows]
