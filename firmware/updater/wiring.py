"""The updater and the health check wired into the running cabinet (called by firmware/runtime.py).

Idle, for a download, is the cabinet's own rule for a restart (no journey beyond the attract and catalog
screens) with the door shut. The health check of a version on trial passes on the cabinet's own signals: the
self-test (every device check but the latch's pulse, and the lock board reporting the firmware version this
release ships), the first frame drawn, and an upload the cloud acknowledged after this start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp

from firmware.cabinet import Cabinet
from firmware.clock import Clock
from firmware.config import UpdatesSection
from firmware.journeys.service import software_version
from firmware.selftest import run_checks
from firmware.supervisor import Supervisor
from firmware.technician.lockboard_flash import shipped_version
from firmware.updater.slots import Slots
from hal.lockboard.backend import LockBoardLock
from sync_client.commands import CommandInbox
from sync_client.outbox import Outbox

if TYPE_CHECKING:
    from firmware.updater.health import HealthCheck
    from firmware.updater.installer import Handoff
    from firmware.updater.service import Updater

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Updates:
    updater: Updater | None
    tasks: list[asyncio.Task[Any]]


async def start_updates(
    stack: contextlib.AsyncExitStack,
    section: UpdatesSection,
    cloud_url: str,
    data_dir: Path,
    cabinet: Cabinet,
    outbox: Outbox,
    commands: CommandInbox,
    frames: Callable[[], int],  # frames the screen has drawn
    last_sync: Callable[[], float | None],  # when the cloud last acknowledged an upload (clock.time)
    supervisor: Supervisor,
    clock: Clock,
    stop: asyncio.Event,
    handoff: Handoff | None = None,  # default: requests in DATA_DIR/update for kiosk-updater (tests: in process)
    idle_poll_s: float = 1.0,  # how often a download waiting for the cabinet to be free asks again
) -> Updates:
    """Start checking for releases, and judging a version on trial (nothing when updates are off: no trusted
    root configured). The tasks end when ``stop`` is set."""
    if not section.root:
        log.info("signed updates off: no [updates] root in the configuration")
        return Updates(None, [])
    # TUF, cryptography and their dependencies are about 11 MB resident: imported only by a cabinet that
    # takes signed updates (issue 13: nothing loaded that the configuration does not use).
    from firmware.updater.health import HealthCheck
    from firmware.updater.installer import Handoff
    from firmware.updater.service import Updater, UpdateSource

    slots = Slots(Path(section.slots))
    session = aiohttp.ClientSession()
    stack.push_async_callback(session.close)

    def report(kind: str, payload: dict[str, Any]) -> None:
        outbox.append(kind, payload)

    staging = data_dir / "update"
    handoff = handoff or Handoff(staging)
    health = HealthCheck(slots, report, handoff, staging / "reported.json", clock, section.health_s)
    health.report_rollback()
    updater = Updater(
        UpdateSource(section.url or f"{cloud_url.rstrip('/')}/updates", Path(section.root), staging),
        slots,
        handoff,
        software_version(),
        lambda: cabinet.idle() and not cabinet.devices.door.is_open,
        session,
        report,
        clock,
        auto=section.auto,
        handoff_s=section.handoff_s,
        idle_poll_s=idle_poll_s,
        on_progress=lambda progress: cabinet.refresh(),
    )
    cabinet.update_note = updater.note
    commands.register(
        "update_check",
        lambda command, tx: f"checking for {command.args.get('version') or 'the latest release'}",
        lambda command: updater.poke(str(command.args["version"]) if command.args.get("version") else None),
    )
    tasks = [supervisor.run("updates", updater.run(stop, section.check_s))]
    trial = slots.trial()
    if trial is not None and trial.slot == slots.current():
        judging = _judge(health, cabinet, slots, frames, last_sync, clock.time(), clock, stop)
        tasks.append(supervisor.run("update-health", judging))
    return Updates(updater, tasks)


async def _judge(
    health: HealthCheck,
    cabinet: Cabinet,
    slots: Slots,
    frames: Callable[[], int],
    last_sync: Callable[[], float | None],
    started: float,
    clock: Clock,
    stop: asyncio.Event,
) -> None:
    async def until(condition: Callable[[], bool], check: str) -> None:
        while not condition():
            await clock.sleep(1.0)
        health.ok(check)

    async def selftest() -> None:
        checks = await run_checks(cabinet.devices, cabinet.config, faults=cabinet.faults, pulse_lock=False)
        failed = [f"{c.device}: {c.detail}" for c in checks if not c.ok]
        failed += lockboard_mismatch(cabinet, slots.path(slots.current()) / "lockboard")
        if failed:
            health.fail("selftest", "; ".join(failed))
        else:
            health.ok("selftest")

    judged = asyncio.ensure_future(health.run())
    others = [
        asyncio.ensure_future(until(lambda: frames() > 0, "frame")),
        asyncio.ensure_future(until(lambda: (last_sync() or 0.0) >= started, "sync")),
        asyncio.ensure_future(selftest()),
        asyncio.ensure_future(stop.wait()),  # stopped before judged: the trial stays, the next start counts
    ]
    try:
        await asyncio.wait([judged, others[-1]], return_when=asyncio.FIRST_COMPLETED)
        if judged.done():
            log.warning("health check: %s", judged.result())
    finally:
        for task in [judged, *others]:
            task.cancel()


def lockboard_mismatch(cabinet: Cabinet, shipped: Path) -> list[str]:
    """The lock board's reported firmware version against the one this release ships (none: no lock board,
    or a release without lock board files)."""
    lock = cabinet.devices.lock
    if not isinstance(lock, LockBoardLock) or lock.link.board is None or not (shipped / "controller.py").exists():
        return []
    want, got = shipped_version(shipped), lock.link.board.version
    if got == want:
        return []
    return [f"lock board runs {'.'.join(map(str, got))}, this release ships {'.'.join(map(str, want))}"]
