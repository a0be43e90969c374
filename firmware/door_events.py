"""Who hears the door sensor: the alarms always; then the service menu's door test, the opening a journey
asked for (the door cycle), or no one (a forced door, or a close nobody expected)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from firmware.door_alarms import DoorAlarms
from firmware.door_cycle import DoorCycle
from firmware.journeys.service import ServiceJourney
from sync_client.outbox import Outbox


@dataclass
class DoorEvents:
    alarms: DoorAlarms
    service: ServiceJourney
    cycle: DoorCycle
    outbox: Outbox
    snapshot: Callable[[str, str | None], None]  # (kind, ref): a photo of the door

    def changed(self, is_open: bool) -> None:
        """A debounced door change."""
        self.alarms.door_changed(is_open)
        if self.service.active and self.service.door_changed(is_open):
            self.snapshot("opened" if is_open else "closed", None)
        elif self.cycle.door_changed(is_open):
            pass  # an opening a journey asked for: the cycle told it, and took the photo
        elif is_open:
            self.alarms.forced()
        else:
            self.outbox.append("door.closed", {"open_s": 0})
