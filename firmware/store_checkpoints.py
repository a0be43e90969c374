"""When the store's WAL is copied back into the database (a checkpoint: two fsyncs and every changed page
written again). Never inside a commit (the store's automatic checkpoints are off) and never on the event
loop (a worker thread, on the store's own checkpoint connection):

- when the cabinet is idle (no journey, the door closed) and the WAL has grown past ``soft_bytes``, or it
  has not been checkpointed for ``max_age_s`` (so the database file never lags far behind);
- when the WAL passes ``hard_bytes`` with no idle moment, at once, unless a payment is under way (the
  money commit keeps the card to itself).

The same tick writes the cloud's acknowledgements the store keeps in memory (they ride along with the next
ordinary commit) once the oldest has waited ACKS_WAIT_S, and before every checkpoint.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from firmware.clock import Clock
from sync_client.outbox import STORAGE_ERRORS, Checkpoint, Outbox

log = logging.getLogger(__name__)
TICK_S = 5.0
ACKS_WAIT_S = 600.0  # an idle cabinet commits more often than this (heartbeats): its acks never commit alone


@dataclass
class StoreCheckpoints:
    outbox: Outbox
    clock: Clock
    idle: Callable[[], bool]  # no journey, door closed
    paying: Callable[[], bool]  # a payment under way: its commit is about to come
    soft_bytes: int
    hard_bytes: int
    max_age_s: float
    last_at: float | None = None  # on the clock; None: not yet since the start
    tick_at: float | None = None  # the next look, on the clock (None: not running)

    def due(self) -> bool:
        wal = self.outbox.wal_bytes()
        if wal == 0:
            return False
        if wal >= self.hard_bytes:
            return not self.paying()
        if not self.idle():
            return False
        since = self.last_at if self.last_at is not None else float("-inf")
        return wal >= self.soft_bytes or self.clock.monotonic() - since >= self.max_age_s

    async def checkpoint(self) -> Checkpoint | None:
        try:
            self.outbox.flush_acks()  # an ordinary commit (no fsync), on the loop that owns the connection
            done = await asyncio.to_thread(self.outbox.checkpoint)
        except STORAGE_ERRORS as exc:  # the storage check reports a failing store; try again later
            log.warning("checkpoint failed", extra={"error": str(exc)})
            return None
        finally:
            self.last_at = self.clock.monotonic()
        log.info(
            "checkpoint",
            extra={"wal_bytes": done.wal_bytes_before, "frames": done.wal_frames, "restarted": done.restarted},
        )
        return done

    async def run(self) -> None:
        while True:
            self.tick_at = self.clock.monotonic() + TICK_S
            await self.clock.sleep(TICK_S)
            if self.due():
                await self.checkpoint()
            elif self.outbox.acks_waiting_s() >= ACKS_WAIT_S:
                self._flush_acks()

    def _flush_acks(self) -> None:
        try:
            self.outbox.flush_acks()
        except STORAGE_ERRORS as exc:
            log.warning("acknowledgements not recorded yet", extra={"error": str(exc)})
