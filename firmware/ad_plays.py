"""Proof of play without a commit per play: every ad shown is counted in memory, and the counts are
committed as one ``ad.plays`` event (per ad: how many plays, each one's length, the first and the last)
every ``commit_s`` on the cabinet's clock, and when the cabinet stops. A power cut loses at most
``commit_s`` of counts; a store that refuses the event keeps them in memory for the next try."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from firmware.clock import Clock
from firmware.optional_events import append_optional
from sync_client.outbox import Outbox
from sync_client.schema import utc_iso


@dataclass
class Tally:
    count: int
    first_at: float  # wall time
    last_at: float


@dataclass
class AdPlays:
    outbox: Outbox
    clock: Clock
    commit_s: float
    duration_s: Callable[[str], float]  # how long one play of the ad lasts, from the configuration
    tallies: dict[str, Tally] = field(default_factory=dict)  # ad id -> plays not yet committed
    due_at: float | None = None  # the next commit, on the clock (None: not running)

    def shown(self, ad_id: str) -> None:
        now = self.clock.time()
        tally = self.tallies.get(ad_id)
        if tally is None:
            self.tallies[ad_id] = Tally(1, now, now)
        else:
            tally.count += 1
            tally.last_at = now

    def commit(self) -> None:
        """One event with every ad's plays since the last commit; nothing when no ad played."""
        if not self.tallies:
            return
        plays = [
            {
                "ad_id": ad_id,
                "count": t.count,
                "shown_s": self.duration_s(ad_id),
                "first_at": utc_iso(t.first_at),
                "last_at": utc_iso(t.last_at),
            }
            for ad_id, t in sorted(self.tallies.items())
        ]
        if append_optional(self.outbox, "ad.plays", {"plays": plays}):
            self.tallies.clear()

    async def run(self) -> None:
        while True:
            self.due_at = self.clock.monotonic() + self.commit_s
            await self.clock.sleep(self.commit_s)
            self.commit()
