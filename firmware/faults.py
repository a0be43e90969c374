"""The cabinet's named faults: a device offline, a task that died, the screen, the store.

A fault is kept in memory first (``active``: what /state, the heartbeat and `kiosk status` show) and
recorded as a ``device.fault`` event with an alarm to the cloud; a store that cannot take the events (a
full disk) must not hide the fault.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from firmware.supervisor import TaskFailure
from hal.errors import DeviceFault
from sync_client.outbox import STORAGE_ERRORS, Outbox

log = logging.getLogger(__name__)
NETWORK = "network"  # the kernel's network link is down (firmware/link_watch.py)


@dataclass
class Faults:
    outbox: Outbox
    on_change: Callable[[], None] = lambda: None  # a fault raised or cleared: the screen may change
    active: dict[str, str] = field(default_factory=dict)  # name -> detail

    def device(self, exc: DeviceFault) -> None:
        """A device reported a fault; the same detail again is not raised twice."""
        if self.active.get(exc.device) != exc.detail:
            log.error("device fault", extra={"device": exc.device, "detail": exc.detail})
            self.raise_fault(exc.device, exc.detail, "device_offline")

    def task_failed(self, failure: TaskFailure) -> None:
        """A background task died of an exception (the supervisor logged its traceback)."""
        self.raise_fault(f"task:{failure.task}", failure.error, "task_failed")

    def screen(self, detail: str | None) -> None:
        """The screen could not show a view (detail), or shows one again (None): the "screen" fault."""
        if detail is None:
            self.recovered("screen")
        else:
            self.device(DeviceFault("screen", detail))

    def storage(self, problem: str | None) -> None:
        """The store's own state (its guard records its alarms): a fault while it cannot record a sale."""
        if problem is None:
            self.recovered("storage")
        else:
            self.active["storage"] = problem
            self.on_change()

    def raise_fault(self, name: str, detail: str, alarm: str) -> None:
        self.active[name] = detail
        try:
            with self.outbox.transaction() as tx:
                tx.append("device.fault", {"device": name, "detail": detail})
                tx.append("alarm", {"kind": alarm, "detail": f"{name}: {detail}"})
        except STORAGE_ERRORS as exc:
            log.error("fault not recorded in the store", extra={"fault": name, "error": str(exc)})
        self.on_change()

    def recovered(self, name: str) -> None:
        if self.active.pop(name, None) is not None:
            log.info("device back", extra={"device": name})
            self.on_change()

    def devices_faulty(self) -> bool:
        """A device (not the store, which has its own watch, nor the network link) is faulty: its checks come
        round sooner."""
        return bool(self.active.keys() - {"storage", NETWORK})
