"""Raw events past their retention are deleted while the server runs: ``EventRetention.run_once`` makes the
coming months' partitions and deletes what ``RetentionPolicy`` says is due (``Store.purge_events``), ``run``
does so every ``period_s`` on the schedule the call-backs' retention uses (cloud_stub/consumer/retention.py),
on the server's clock (``core.now``). ``kiosk-cloud retention`` is the same round from the command line."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from cloud_stub.consumer.retention import PERIOD_S, every
from cloud_stub.core import Core
from cloud_stub.event_partitions import RetentionPolicy, RetentionResult

log = logging.getLogger("cloud_stub.retention")


@dataclass
class EventRetention:
    core: Core
    policy: RetentionPolicy
    period_s: float = PERIOD_S

    async def run_once(self) -> RetentionResult:
        """The coming months' partitions, then the retention step by step: each its own call on the store's
        threads, so requests queued meanwhile (on SQLite's one worker) wait for one step, not the whole round."""
        store, now = self.core.store, self.core.now()
        result = RetentionResult(created=await self.core.db(store.maintain_events, now=now))
        while (step := await self.core.db(store.purge_events_step, self.policy, now=now)) is not None:
            result.add(step)
        if result.analytics or result.money or result.created:
            log.info("raw events' retention: %s", describe(result))
        return result

    async def run(self) -> None:
        await every(self.period_s, self.run_once, "raw events' retention")


def describe(result: RetentionResult, *, dry_run: bool = False) -> str:
    """One line for the log and the command: what was (or would be) deleted and made."""
    verb = "would delete" if dry_run else "deleted"
    line = f"{verb} {result.analytics} analytics events and {result.money} other events past their retention"
    if result.dropped:
        line += f" ({'would drop' if dry_run else 'dropped'} {', '.join(result.dropped)})"
    if result.created:
        line += f"; partitions made: {', '.join(result.created)}"
    return line
