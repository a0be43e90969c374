"""Alarms around the door that no single journey owns: left open too long (a reminder on
screen first, then an alarm), the tamper switch, and a door forced open."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from firmware.clock import Clock, LoopClock, TimerHandle
from sync_client.outbox import Outbox

log = logging.getLogger(__name__)


@dataclass
class DoorAlarms:
    outbox: Outbox
    reminder_s: float  # open this long: "please close the door" on screen
    alarm_s: float  # open this long: an alarm to the retailer, with a photo
    on_change: Callable[[], None] = lambda: None
    snapshot: Callable[[str], None] = lambda kind: None
    reminder: str | None = None  # the door and restock screens' alarm while the door stays open
    clock: Clock = field(default_factory=LoopClock)
    _timers: list[TimerHandle] = field(default_factory=list)

    def door_changed(self, is_open: bool) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        if is_open:
            self._timers = [
                self.clock.call_later(self.reminder_s, self._remind),
                self.clock.call_later(self.alarm_s, self._left_open),
            ]
        elif self.reminder is not None:
            self.reminder = None
            self.on_change()

    def _remind(self) -> None:
        self.reminder = "door_open_too_long"
        self.on_change()

    def _left_open(self) -> None:
        self.raise_alarm("door_left_open", f"the door has been open for more than {self.alarm_s:g} s")

    def forced(self) -> None:
        with self.outbox.transaction(durable=True) as tx:
            tx.append("door.opened", {"authorized": False})
            tx.append("alarm", {"kind": "door_forced", "detail": "door opened without an authorized unlock"})
        log.error("door opened without an authorized unlock")
        self.snapshot("forced")

    def tamper_changed(self, is_open: bool) -> None:
        if is_open:
            self.raise_alarm("tamper", "the tamper switch opened: the cabinet's casing or electronics box")

    def raise_alarm(self, kind: str, detail: str) -> None:
        with self.outbox.transaction(durable=True) as tx:
            tx.append("alarm", {"kind": kind, "detail": detail})
        log.error("alarm", extra={"kind": kind, "detail": detail})
        self.snapshot(kind)
