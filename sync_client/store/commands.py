"""``commands``: what the cloud asked of this cabinet, each ``received → applied → acked``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sync_client.outbox import Outbox, Transaction

_COLUMNS = "id, kind, args, state, result, received_at, applied_at, acked_at, expires_at"


@dataclass(frozen=True)
class StoredCommand:
    id: str  # chosen by the cloud
    kind: str
    args: Any  # as the cloud sent it (JSON); validated when applied
    state: str  # received | applied | acked
    result: str | None
    received_at: str
    applied_at: str | None
    acked_at: str | None
    expires_at: str | None  # as the cloud sent it; checked when applied


def _command(row: tuple[Any, ...]) -> StoredCommand:
    return StoredCommand(row[0], row[1], json.loads(row[2]), *row[3:])


class CommandsRepo:
    def __init__(self, outbox: Outbox) -> None:
        self._conn = outbox.db.conn

    @staticmethod
    def receive(tx: Transaction, command_id: str, kind: str, args: Any, at: str, expires_at: str | None) -> None:
        """A command as received; one already known is left as it is (never applied twice)."""
        tx.execute(
            "INSERT OR IGNORE INTO commands (id, kind, args, state, received_at, expires_at) "
            "VALUES (?, ?, ?, 'received', ?, ?)",
            (command_id, kind, json.dumps(args), at, expires_at),
        )

    @staticmethod
    def decided(tx: Transaction, command_id: str, result: str, at: str) -> None:
        """Applied, refused or expired: only the acknowledgement to the cloud is left."""
        tx.execute(
            "UPDATE commands SET state = 'applied', result = ?, applied_at = ? WHERE id = ?", (result, at, command_id)
        )

    @staticmethod
    def acked(tx: Transaction, command_id: str, at: str) -> None:
        tx.execute("UPDATE commands SET state = 'acked', acked_at = ? WHERE id = ?", (at, command_id))

    def get(self, command_id: str) -> StoredCommand | None:
        row = self._conn.execute(f"SELECT {_COLUMNS} FROM commands WHERE id = ?", (command_id,)).fetchone()
        return None if row is None else _command(row)

    def in_state(self, state: str) -> list[StoredCommand]:
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM commands WHERE state = ? ORDER BY received_at, id", (state,)
        ).fetchall()
        return [_command(row) for row in rows]

    def all(self) -> list[StoredCommand]:
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM commands ORDER BY received_at, id").fetchall()
        return [_command(row) for row in rows]
