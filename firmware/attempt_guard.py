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
from sync_client.store.attempt_guards import AttemptGuardsRepo, GuardState


@dataclass
class AttemptGuard:
    outbox: Outbox
    name: str  # "pin_pad", "pickup_code"
    free_attempts: int = 5
    first_delay_s: float = 30.0
    max_delay_s: float = 3600.0
    clock: Clock = field(default_factory=LoopClock)

    def __post_init__(self) -> None:
        self._guards = AttemptGuardsRepo(self.outbox)
        self._guards.ensure(self.name)

    def _row(self) -> GuardState:
        return self._guards.get(self.name)

    @property
    def failures(self) -> int:
        return self._row().failures

    def locked_for(self) -> float:
        """Seconds until the next attempt is allowed; 0 when it is allowed now."""
        return max(0.0, self._row().locked_until - self.clock.time())

    def record(self, tx: Transaction, ok: bool) -> float:
        """Record an attempt inside the caller's transaction; returns the lock now in force (s)."""
        now = self.clock.time()
        if ok:
            self._guards.put(tx, self.name, 0, 0)
            return 0.0
        failures = self.failures + 1
        over = failures - self.free_attempts
        delay = 0.0 if over < 0 else min(self.max_delay_s, self.first_delay_s * 2**over)
        self._guards.put(tx, self.name, failures, now + delay if delay else 0)
        return delay
