"""The cloud's remote unlock: recorded inside the transaction that marks its command applied, then the
relay once that committed. Only while no one is using the cabinet; the restock journey does the unlock."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from firmware.journeys.restock import RestockJourney, RestockRefused
from sync_client.outbox import Transaction

log = logging.getLogger(__name__)


@dataclass
class RemoteUnlock:
    restock: RestockJourney
    may_unlock: Callable[[], bool]  # no one is using the cabinet

    def record(self, tx: Transaction, command_id: str, seconds: float) -> str:
        """Inside the command's transaction: the unlock, recorded (or refused); the command's result."""
        if not self.may_unlock():
            return "refused: the cabinet is busy with a shopper"
        try:
            self.restock.record_remote_unlock(tx, command_id, seconds)
        except RestockRefused as exc:
            return f"refused: {exc}"
        return "unlocking"

    def unlock(self, command_id: str) -> None:
        """After that transaction committed: the relay, for an unlock recorded there (once)."""
        try:
            self.restock.remote_unlock(command_id)
        except RestockRefused as exc:
            log.warning("remote unlock not done", extra={"command_id": command_id, "reason": str(exc)})
