"""Actions that must follow a commit, kept in the cabinet's store until they are done.

A sale that is unclaimed must be reversed (or refunded); a sale a restart caught in the middle of
an authorization must be settled by asking the terminal. The action is added in the same
transaction as the commit that requires it, so a power cut between the commit and the action
cannot lose it: whoever comes next (the running journey at once, or the recovery at boot) finds it
open and carries it out, retrying until it is closed as ``done`` or, after a definite refusal, as
``flagged`` (a refund for the retailer).
"""

from __future__ import annotations

from dataclasses import dataclass

from sync_client.outbox import Outbox, Transaction
from sync_client.schema import utc_now_iso

REVERSE = "reverse"  # give an approved payment back: ZVT reversal, scan-to-pay refund
SETTLE = "settle"  # find out from the terminal how an interrupted authorization ended
KINDS = (REVERSE, SETTLE)
DONE, FLAGGED = "done", "flagged"

_COLUMNS = "id, kind, sale_id, method, amount_cents, currency, receipt_no, mark, state, attempts, last_error"


@dataclass(frozen=True)
class PendingAction:
    id: int
    kind: str
    sale_id: str
    method: str
    amount_cents: int
    currency: str
    receipt_no: str | None
    mark: str | None
    state: str
    attempts: int
    last_error: str | None


class PendingActions:
    """The repository of the ``pending_actions`` table (its schema: sync_client/store/migrations.py),
    written in the outbox's transactions."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    @staticmethod
    def add(
        tx: Transaction,
        kind: str,
        sale_id: str,
        method: str,
        amount_cents: int,
        currency: str,
        *,
        receipt_no: str | None = None,
        mark: str | None = None,
    ) -> None:
        """Record an action in the caller's transaction; the same action for the same sale is kept once."""
        if kind not in KINDS:
            raise ValueError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
        tx.execute(
            "INSERT INTO pending_actions (kind, sale_id, method, amount_cents, currency, receipt_no, mark, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, sale_id) DO NOTHING",
            (kind, sale_id, method, amount_cents, currency, receipt_no, mark, utc_now_iso()),
        )

    def open(self) -> list[PendingAction]:
        """The actions not yet closed: settlements first (until one is settled, its terminal's last
        transaction is the only evidence, and another transaction there would overwrite it), then
        oldest first."""
        rows = self.outbox.db.conn.execute(
            f"SELECT {_COLUMNS} FROM pending_actions WHERE state = 'open' ORDER BY kind = 'reverse', id"
        ).fetchall()
        return [PendingAction(*row) for row in rows]

    def all(self) -> list[PendingAction]:
        """Every action, open or closed, oldest first: for status screens and tests."""
        rows = self.outbox.db.conn.execute(f"SELECT {_COLUMNS} FROM pending_actions ORDER BY id").fetchall()
        return [PendingAction(*row) for row in rows]

    def unsettled_methods(self) -> frozenset[str]:
        """Payment methods with an interrupted authorization not settled yet."""
        rows = self.outbox.db.conn.execute(
            "SELECT DISTINCT method FROM pending_actions WHERE state = 'open' AND kind = 'settle'"
        ).fetchall()
        return frozenset(row[0] for row in rows)

    def failed_attempt(self, action: PendingAction, error: str) -> None:
        """An attempt that did not finish the action: counted, and why, for the technician."""
        with self.outbox.transaction() as tx:
            tx.execute(
                "UPDATE pending_actions SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                (error[:500], action.id),
            )

    @staticmethod
    def reopen(tx: Transaction, kind: str, sale_id: str) -> str | None:
        """Open the sale's action of ``kind`` again if it was flagged (the retailer asks for another try);
        returns its state before (None: the sale has no such action)."""
        row = tx.execute("SELECT state FROM pending_actions WHERE kind = ? AND sale_id = ?", (kind, sale_id)).fetchone()
        if row is not None and row[0] == FLAGGED:
            tx.execute(
                "UPDATE pending_actions SET state = 'open', closed_at = NULL, last_error = NULL "
                "WHERE kind = ? AND sale_id = ?",
                (kind, sale_id),
            )
        return str(row[0]) if row is not None else None

    @staticmethod
    def close(tx: Transaction, action: PendingAction, outcome: str) -> None:
        """Close the action in the caller's transaction, with the event that records its outcome."""
        if outcome not in (DONE, FLAGGED):
            raise ValueError(f"outcome: expected {DONE} or {FLAGGED}, got {outcome!r}")
        tx.execute(
            "UPDATE pending_actions SET state = ?, attempts = attempts + 1, closed_at = ? "
            "WHERE id = ? AND state = 'open'",
            (outcome, utc_now_iso(), action.id),
        )
