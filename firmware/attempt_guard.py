"""Rate limiting for guesses at a secret (the retailer PIN pad, pickup codes).

After ``free_attempts`` wrong answers in a row, the pad locks for a delay that
doubles with every further wrong answer (capped). The count and the lock live in
the cabinet's database, written in the same transaction as the attempt's audit
event, so pulling the plug does not reset them. Wall-clock time (the clock's ``time()``), because
the monotonic clock starts again at every boot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from firmware.clock import Clock, LoopClock
from sync_client.outbox import Outbox, Transaction

GUARDS_DDL = """
CREATE TABLE IF NOT EXISTS attempt_guards (
    name TEXT PRIMARY KEY,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until REAL NOT NULL DEFAULT 0
)
"""


@dataclass
class AttemptGuard:
    outbox: Outbox
    name: str  # "pin_pad", "pickup_code"
    free_attempts: int = 5
    first_delay_s: float = 30.0
    max_delay_s: float = 3600.0
    clock: Clock = field(default_factory=LoopClock)

    def __post_init__(self) -> None:
        with self.outbox.transaction() as tx:
            tx.execute(GUARDS_DDL)
            tx.execute("INSERT OR IGNORE INTO attempt_guards (name) VALUES (?)", (self.name,))

    def _row(self) -> tuple[int, float]:
        return self.outbox.db.conn.execute(
            "SELECT failures, locked_until FROM attempt_guards WHERE name = ?", (self.name,)
        ).fetchone()

    @property
    def failures(self) -> int:
        return self._row()[0]

    def locked_for(self) -> float:
        """Seconds until the next attempt is allowed; 0 when it is allowed now."""
        return max(0.0, self._row()[1] - self.clock.time())

    def record(self, tx: Transaction, ok: bool) -> float:
        """Record an attempt inside the caller's transaction; returns the lock now in force (s)."""
        now = self.clock.time()
        if ok:
            tx.execute("UPDATE attempt_guards SET failures = 0, locked_until = 0 WHERE name = ?", (self.name,))
            return 0.0
        failures = self.failures + 1
        over = failures - self.free_attempts
        delay = 0.0 if over < 0 else min(self.max_delay_s, self.first_delay_s * 2**over)
        tx.execute(
            "UPDATE attempt_guards SET failures = ?, locked_until = ? WHERE name = ?",
            (failures, now + delay if delay else 0, self.name),
        )
        return delay
