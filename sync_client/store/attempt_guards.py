"""``attempt_guards``: wrong guesses in a row at each secret, and until when its pad is locked."""

from __future__ import annotations

from dataclasses import dataclass

from sync_client.outbox import Outbox, Transaction


@dataclass(frozen=True)
class GuardState:
    name: str  # "pin_pad", "pickup_code", "service_pin"
    failures: int
    locked_until: float  # wall-clock seconds; 0 when not locked


class AttemptGuardsRepo:
    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    def ensure(self, name: str) -> None:
        """The guard's row, with no failures, unless it has one already (kept across reboots)."""
        with self._outbox.transaction() as tx:
            tx.execute("INSERT OR IGNORE INTO attempt_guards (name) VALUES (?)", (name,))

    def get(self, name: str) -> GuardState:
        row = self._outbox.db.conn.execute(
            "SELECT name, failures, locked_until FROM attempt_guards WHERE name = ?", (name,)
        ).fetchone()
        return GuardState(name, 0, 0.0) if row is None else GuardState(*row)

    @staticmethod
    def put(tx: Transaction, name: str, failures: int, locked_until: float) -> None:
        tx.execute(
            "UPDATE attempt_guards SET failures = ?, locked_until = ? WHERE name = ?", (failures, locked_until, name)
        )

    def all(self) -> list[GuardState]:
        rows = self._outbox.db.conn.execute("SELECT name, failures, locked_until FROM attempt_guards ORDER BY name")
        return [GuardState(*row) for row in rows]
