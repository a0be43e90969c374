"""Events the cabinet can do without (heartbeats, card reads, scanned codes, ad plays)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sync_client.outbox import STORAGE_ERRORS, Outbox, OutboxFull

log = logging.getLogger(__name__)


def append_optional(
    outbox: Outbox, event_type: str, payload: dict[str, Any], *riders: tuple[str, dict[str, Any]]
) -> bool:
    """Dropped with a warning when the outbox is full (money and alarms keep their room) or the store fails
    (the storage check reports that). ``riders``: more optional events in the same commit (one write to the
    card for all). Returns whether the events were committed."""
    try:
        with outbox.transaction() as tx:
            for kind, body in ((event_type, payload), *riders):
                tx.append(kind, body)
    except OutboxFull:
        log.warning("outbox full: event dropped", extra={"type": event_type})
        return False
    except STORAGE_ERRORS as exc:
        log.warning("store failing: event dropped", extra={"type": event_type, "error": str(exc)})
        return False
    return True


Events = list[tuple[str, dict[str, Any]]]


class Rider(Protocol):
    """Optional events kept in memory that ride in the heartbeat's commit when due (ad plays, sessions)."""

    def due(self) -> Events: ...

    def committed(self) -> None: ...


@dataclass
class Riders:
    """Several riders in one heartbeat: ``committed()`` tells only those whose events rode in it."""

    riders: Sequence[Rider]
    riding: list[Rider] = field(default_factory=list)

    def due(self) -> Events:
        self.riding, events = [], []
        for rider in self.riders:
            if due := rider.due():
                self.riding.append(rider)
                events.extend(due)
        return events

    def committed(self) -> None:
        for rider in self.riding:
            rider.committed()
        self.riding = []
