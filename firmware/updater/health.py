"""The health check of a version on trial: it must run its self-test, draw a frame and sync with the cloud
within ``within_s`` of starting, or the cabinet switches back to the version it came from by itself.

A version that cannot even get this far (it crashes at start) is switched back by the boot check
(``slots.py``, run before every start) after ``MAX_BOOTS`` starts.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from firmware.clock import Clock
from firmware.updater.service import Report
from firmware.updater.slots import Slots, write_durably

log = logging.getLogger(__name__)

CHECKS = ("selftest", "frame", "sync")


class Decisions(Protocol):
    """Where the verdict goes: the cabinet's process cannot write the slots, it asks the installer
    (``installer.Handoff``), which commits, or switches back and restarts the cabinet."""

    def commit(self, version: str) -> None: ...

    def roll_back(self, version: str, reason: str) -> None: ...


@dataclass
class HealthCheck:
    slots: Slots  # read only
    report: Report
    decisions: Decisions
    reported_file: Path  # DATA_DIR/update/reported.json: the last failure told to the cloud (the slots are not ours)
    clock: Clock
    within_s: float = 600.0
    passed: set[str] = field(default_factory=set, init=False)
    _changed: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _failed: str | None = field(default=None, init=False)

    def report_rollback(self) -> None:
        """At start: an update rolled back before this start is told to the cloud once."""
        failure = self.slots.failure()
        if failure is None:
            return
        record = json.dumps(asdict(failure), sort_keys=True)
        try:
            if self.reported_file.read_text() == record:
                return
        except FileNotFoundError:
            pass
        self.report("update.failed", {"version": failure.version, "running": failure.running, "reason": failure.reason})
        self.reported_file.parent.mkdir(parents=True, exist_ok=True)
        write_durably(self.reported_file, record)

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
            self.decisions.commit(trial.version)
            self.report("update.installed", {"version": trial.version, "previous": trial.previous_version})
            log.info("update %s passed its health check: committed", trial.version)
            return f"{trial.version} committed"
        log.error("update %s failed its health check (%s): switching back", trial.version, self._failed)
        self.decisions.roll_back(trial.version, self._failed)
        return f"{trial.version} rolled back: {self._failed}"
