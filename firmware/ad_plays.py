"""Proof of play without a commit per play: every ad shown is counted in memory, and the counts are
committed as one ``ad.plays`` event (per ad: how many plays, each one's length, the first and the last)
with the first heartbeat at least ``commit_s`` after the last commit (in the heartbeat's own commit), and
when the cabinet stops. A power cut loses at most ``commit_s`` plus a heartbeat period of counts; a store
that refuses the event keeps them in memory for the next try."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
    committed_at: float = field(init=False)  # on the clock

    def __post_init__(self) -> None:
        self.committed_at = self.clock.monotonic()

    def shown(self, ad_id: str) -> None:
        now = self.clock.time()
        tally = self.tallies.get(ad_id)
        if tally is None:
            self.tallies[ad_id] = Tally(1, now, now)
        else:
            tally.count += 1
            tally.last_at = now

    def due(self) -> list[tuple[str, dict[str, Any]]]:
        """The ``ad.plays`` event to commit now, if ``commit_s`` has passed since the last commit and an ad
        played: it rides with the heartbeat's commit (see IdleWatch), so an idle cabinet commits no more often."""
        if self.clock.monotonic() - self.committed_at < self.commit_s:
            return []
        event = self.event()
        return [event] if event is not None else []

    def event(self) -> tuple[str, dict[str, Any]] | None:
        """Every ad's plays since the last commit as one event; None when no ad played."""
        if not self.tallies:
            return None
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
        return "ad.plays", {"plays": plays}

    def committed(self) -> None:
        """The event from ``due()``/``event()`` is in the store: counting starts again."""
        self.tallies.clear()
        self.committed_at = self.clock.monotonic()

    def commit(self) -> None:
        """At a stop: the plays counted since the last commit, in their own commit."""
        event = self.event()
        if event is not None and append_optional(self.outbox, *event):
            self.committed()
