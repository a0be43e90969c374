"""Updates in a whole Cabinet (its journeys, the SQLite store, mock pins) with the cloud stub on 127.0.0.1: the
cloud's ``update_check`` command starts a check, the download waits while a shopper uses the cabinet, and the
cabinet stops to restart into the new slot; a version on trial is judged on the cabinet's own signals."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

from firmware.cabinet import Cabinet
from firmware.config import UpdatesSection
from firmware.journeys.service import software_version
from firmware.supervisor import Supervisor
from firmware.updater.service import UnpackInstaller
from firmware.updater.slots import Slots
from firmware.updater.wiring import Updates, start_updates
from kiosk_ui.intents import Home, OpenPickup
from sync_client.commands import CommandInbox
from tests.firmware.cabinet_rig import Cabinets
from tests.polling import until
from tests.sync.conftest import CAB, Site
from tests.updater.rig import InProcess, Releases, install_running, installer_for, serve


def running_now() -> str:
    return software_version() if software_version() != "unknown" else "0.1.0"


async def wired(
    cabinet: Cabinet,
    tmp_path: Path,
    section: UpdatesSection,
    inbox: CommandInbox,
    stop: asyncio.Event,
    stack: contextlib.AsyncExitStack,
    last_sync: Any = lambda: None,
) -> Updates:
    loop = asyncio.get_running_loop()

    def restart() -> None:  # systemctl restart, from the installer's thread
        loop.call_soon_threadsafe(stop.set)

    installer = installer_for(
        Slots(Path(section.slots)), tmp_path / "data", section.url, Path(section.root), restart, UnpackInstaller()
    )
    return await start_updates(
        stack, section, "", tmp_path / "data", cabinet, cabinet.outbox, inbox, lambda: 1, last_sync,
        Supervisor(), cabinet.clock, stop, InProcess(installer), idle_poll_s=0.001,
    )  # fmt: skip


async def test_the_update_check_command_downloads_once_the_shopper_has_left_then_restarts_into_the_new_slot(
    cabinets: Cabinets, site: Site, tmp_path: Path
) -> None:
    cabinet = await cabinets.boot()
    running = running_now()
    releases = Releases(tmp_path / "publisher")
    wheel = releases.release(running)
    slots = Slots(tmp_path / "opt")
    install_running(slots, wheel, running)
    inbox = CommandInbox(cabinet.outbox, site.client)
    stop = asyncio.Event()
    async with contextlib.AsyncExitStack() as stack, serve(releases.served, lambda: not cabinet.idle()) as server:
        section = UpdatesSection(
            root=str(releases.served / "metadata" / "1.root.json"), url=server.url, slots=str(slots.root), check_s=3600
        )
        updates = await wired(cabinet, tmp_path, section, inbox, stop, stack)
        assert updates.updater is not None
        await until(lambda: updates.updater.last is not None, what="the check at start")  # type: ignore[union-attr]
        assert updates.updater.last.status == "up to date"  # type: ignore[union-attr]
        releases.release("99.0.0")  # published after the cabinet's check at start: it waits for the next

        cabinet.handle_intent(OpenPickup())  # a customer typing a pickup code
        assert not cabinet.idle()
        status, body = await site.retailer("POST", f"/v1/retailer/cabinets/{CAB}/commands", {"kind": "update_check"})
        assert status == 201, body
        await inbox.poll()
        assert site.store.command(str(body["id"]))["result"] == "ok: checking for the latest release"  # type: ignore[index]
        for _ in range(50):
            await asyncio.sleep(0)
        assert not stop.is_set()
        cabinet.handle_intent(Home())
        await until(stop.is_set, what="the restart the updater asks for")
        await asyncio.gather(*updates.tasks)
    assert not any(busy for _, busy in server.requests), server.requests
    assert slots.current() == "slot-b" and slots.version("slot-b") == "99.0.0"
    trial = slots.trial()
    assert trial is not None and trial.previous_version == running


async def test_a_version_on_trial_that_syncs_draws_and_self_tests_is_committed_and_reported(
    cabinets: Cabinets, tmp_path: Path, site: Site
) -> None:
    cabinet = await cabinets.boot()
    releases = Releases(tmp_path / "publisher")
    old = releases.release("0.0.1")
    slots = Slots(tmp_path / "opt")
    install_running(slots, old, "0.0.1")
    new = slots.clear("slot-b")
    (new / "site").mkdir()
    slots.stamp("slot-b", running_now())
    slots.switch_to("slot-b", running_now())
    slots.boot()
    synced: list[float] = []
    stop = asyncio.Event()
    section = UpdatesSection(root=str(releases.served / "metadata" / "1.root.json"), url="http://127.0.0.1:9/u",
                             slots=str(slots.root), check_s=3600)  # fmt: skip
    async with contextlib.AsyncExitStack() as stack:
        updates = await wired(
            cabinet, tmp_path, section, CommandInbox(cabinet.outbox, site.client), stop, stack,
            lambda: synced[-1] if synced else None,
        )  # fmt: skip
        await asyncio.sleep(0)
        assert slots.trial() is not None  # not before the first sync after this start
        synced.append(time.time() + 1)
        await until(lambda: slots.trial() is None, what="the trial committed")
        stop.set()
        await asyncio.gather(*updates.tasks)
    assert cabinets.events("update.installed") == [{"version": running_now(), "previous": "0.0.1"}]
    assert slots.current() == "slot-b"
