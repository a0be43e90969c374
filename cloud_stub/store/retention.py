"""The raw events' retention (cloud_stub/event_partitions.py)."""

from __future__ import annotations

from cloud_stub import event_partitions
from cloud_stub.event_partitions import RetentionPolicy, RetentionResult
from cloud_stub.store.base import StoreBase, _now


class RetentionMixin(StoreBase):
    """The raw events' retention (cloud_stub/event_partitions.py)."""

    def maintain_events(self, *, now: float | None = None) -> list[str]:
        """PostgreSQL: the coming months' partitions of ``events`` made (their names); SQLite: none needed."""
        with self._db.write() as conn:
            return event_partitions.ensure_partitions(conn, _now(now))

    def purge_events(
        self, policy: RetentionPolicy, *, now: float | None = None, dry_run: bool = False
    ) -> RetentionResult:
        """Raw events past ``policy``'s retention deleted (the read models folded them at ingest), step by step
        (``purge_events_step``); the coming months' partitions made first. ``dry_run``: only counted."""
        at = _now(now)
        if dry_run:
            analytics_before, money_before = policy.cutoffs(at)
            with self._db.read() as conn:
                return RetentionResult(
                    analytics=event_partitions.count_due(conn, analytics_before, analytics=True),
                    money=event_partitions.count_due(conn, money_before, analytics=False),
                    dropped=event_partitions.droppable(conn, analytics_before, money_before),
                )
        result = RetentionResult(created=self.maintain_events(now=at))
        while (step := self.purge_events_step(policy, now=at)) is not None:
            result.add(step)
        return result

    def purge_events_step(self, policy: RetentionPolicy, *, now: float) -> RetentionResult | None:
        """One transaction of the retention (what ingest waits for at most, on SQLite's single worker too):
        on PostgreSQL the oldest month's list past its class's retention dropped whole, else a batch of the
        analytics past theirs, else of the other events past theirs. None: nothing was due."""
        analytics_before, money_before = policy.cutoffs(now)
        with self._db.write() as conn:
            due = event_partitions.droppable(conn, analytics_before, money_before)
            if due:
                rows = event_partitions.drop_partition(conn, due[0])
                if due[0].endswith("_analytics"):
                    return RetentionResult(analytics=rows, dropped=due[:1])
                return RetentionResult(money=rows, dropped=due[:1])
            if rows := event_partitions.delete_batch(conn, analytics_before, analytics=True):
                return RetentionResult(analytics=rows)
            if rows := event_partitions.delete_batch(conn, money_before, analytics=False):
                return RetentionResult(money=rows)
        return None
