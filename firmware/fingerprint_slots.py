"""The fingerprint module's templates kept in step with the configuration, durably.

The store records every slot the cabinet enrolled (or found holding a template) and every slot a
configuration named. At start, on every configuration and every ``check_s``, the module is reconciled:

- a slot once named and no longer named is deleted (``reason: "removed"``): the staff member was removed,
  even if the configuration that removed them is first seen after a restart;
- a slot enrolled (or found) and never named within ``name_within_days`` is deleted
  (``reason: "never_named"``): no finger stays on the module that no configuration owns.

A deletion the module refuses keeps its row and is tried again at the next reconcile. Every deletion
is reported as ``fingerprint.deleted``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from firmware.clock import Clock
from hal.errors import DeviceFault, ProtocolError
from hal.fingerprint_sensor import FingerprintSensor
from sync_client.cabinet_config import StaffFingerprint
from sync_client.outbox import Outbox, Transaction
from sync_client.store.fingerprint_slots import FingerprintSlotsRepo, SlotRecord

log = logging.getLogger(__name__)
DAY_S = 86400.0


@dataclass
class FingerprintSlots:
    outbox: Outbox
    sensor: FingerprintSensor | None
    staff_fingerprints: Callable[[], Mapping[int, StaffFingerprint]]  # the configuration in force
    clock: Clock
    configured: Callable[[], bool]  # a configuration is in force (before one, no slot counts as removed)
    name_within_days: float = 7.0  # a retailer's time to name a newly enrolled finger
    check_s: float = 3600.0  # how often unnamed fingers are looked at without a new configuration
    running: bool = field(default=False, init=False)  # reconciling (the cabinet started): configurations too
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self.repo = FingerprintSlotsRepo(self.outbox)

    def enrolled(self, tx: Transaction, slot: int) -> None:
        """A template just stored at ``slot`` (in the enrolment's own transaction): its naming time starts."""
        self.repo.enrolled(tx, slot, self.clock.time())

    def config_applied(self) -> None:
        """A configuration is in force: the slots it names are recorded at once (before any module I/O), so a
        later configuration that drops one deletes it even across a restart."""
        if self.sensor is None:
            return
        with self.outbox.transaction() as tx:
            self.repo.named(tx, self.staff_fingerprints(), self.clock.time())

    async def run(self) -> None:
        """Reconcile now and every ``check_s`` (an unnamed finger ages out without a new configuration)."""
        self.running = True
        while True:
            await self.reconcile()
            await self.clock.sleep(self.check_s)

    async def reconcile(self) -> None:
        """Delete from the module what the store says must go; a module that does not answer is left for the
        next time (logged)."""
        if self.sensor is None or not self.configured():
            return
        async with self._lock:
            try:
                on_module = await self.sensor.used_slots()
            except (DeviceFault, ProtocolError, TimeoutError) as exc:
                log.warning("fingerprint: the module's slots could not be read; reconciled later: %s", exc)
                return
            named, now = set(self.staff_fingerprints()), self.clock.time()
            with self.outbox.transaction() as tx:
                self.repo.named(tx, named, now)
                for slot in on_module - named:
                    self.repo.found(tx, slot, now)  # no-op for a slot already recorded
            for record in self.repo.all():
                reason = self._reason_to_delete(record, named, now)
                if reason is None:
                    continue
                if record.slot in on_module:
                    await self._delete(record.slot, reason)
                else:  # nothing left on the module to delete
                    with self.outbox.transaction() as tx:
                        self.repo.forget(tx, record.slot)

    def _reason_to_delete(self, record: SlotRecord, named: set[int], now: float) -> str | None:
        if record.slot in named:
            return None
        if record.named:
            return "removed"
        if now - record.since >= self.name_within_days * DAY_S:
            return "never_named"
        return None

    async def _delete(self, slot: int, reason: str) -> None:
        assert self.sensor is not None
        try:
            await self.sensor.delete(slot)
            ok, detail = True, "deleted"
        except (DeviceFault, ProtocolError, TimeoutError) as exc:
            ok, detail = False, str(exc) or "timed out"
        with self.outbox.transaction() as tx:
            if ok:
                self.repo.forget(tx, slot)
            tx.append("fingerprint.deleted", {"slot": slot, "ok": ok, "detail": detail, "reason": reason})
        log.info("fingerprint: slot %s %s (%s)", slot, detail, reason)
