"""The health check of a version on trial: it must run its self-test, draw a frame and sync with the cloud
within ``within_s`` of starting, or the cabinet switches back to the version it came from by itself.

A version that cannot even get this far (it crashes at start) is switched back by the boot check
(``slots.py``, run before every start) after ``MAX_BOOTS`` starts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from firmware.clock import Clock
from firmware.updater.service import Report
from firmware.updater.slots import Slots

log = logging.getLogger(__name__)

CHECKS = ("selftest", "frame", "sync")


@dataclass
class HealthCheck:
    slots: Slots
    report: Report
    restart: Callable[[], None]  # after a rollback: stop, so that systemd starts the old slot
    clock: Clock
    within_s: float = 600.0
    passed: set[str] = field(default_factory=set, init=False)
    _changed: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _failed: str | None = field(default=None, init=False)

    def report_rollback(self) -> None:
        """At start: an update rolled back before this start is told to the cloud once."""
        failure = self.slots.failure()
        if failure is not None:
            self.report(
                "update.failed", {"version": failure.version, "running": failure.running, "reason": failure.reason}
            )
            self.slots.reported()

    def ok(self, check: str) -> None:
        """One of CHECKS succeeded."""
        self.passed.add(check)
        self._changed.set()

    def fail(self, check: str, detail: str) -> None:
        """One of CHECKS failed for good (a self-test with a failed device): no waiting for the deadline."""
        self._failed = f"{check}: {detail}"
        self._changed.set()

    async def run(self) -> str:
        """Judge the version on trial, if there is one; returns what happened."""
        trial = self.slots.trial()
        if trial is None or trial.slot != self.slots.current():
            return "no update on trial"
        deadline = self.clock.monotonic() + self.within_s
        while self._failed is None and not self.passed.issuperset(CHECKS):
            left = deadline - self.clock.monotonic()
            if left <= 0:
                missing = ", ".join(c for c in CHECKS if c not in self.passed)
                self._failed = f"no {missing} within {self.within_s:g} s"
                break
            self._changed.clear()
            await self.clock.wait(self._changed, left)
        if self._failed is None:
            self.slots.commit()
            self.report("update.installed", {"version": trial.version, "previous": trial.previous_version})
            log.info("update %s passed its health check: committed", trial.version)
            return f"{trial.version} committed"
        self.slots.roll_back(self._failed)
        log.error("update %s failed its health check (%s): switching back", trial.version, self._failed)
        self.restart()
        return f"{trial.version} rolled back: {self._failed}"
