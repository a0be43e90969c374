"""A release handed to the root installer that never takes it (kiosk-updater.path disabled, the installer
crashed): the updater gives up after ``handoff_s`` on its own clock, withdraws the request, reports
``update.failed`` naming the installer, shows it in the service menu's software row, and checks again on its
schedule or when the cloud asks. Real repository over loopback HTTP, real staging directory, a fake clock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from firmware.updater.installer import Handoff
from firmware.updater.service import Release
from tests.polling import until
from tests.updater.rig import Cabinet, Releases, install_running, serve

CHECK_S = 6 * 3600.0


async def test_a_request_the_installer_never_takes_is_withdrawn_reported_and_tried_again(tmp_path: Path) -> None:
    releases = Releases(tmp_path / "publisher")
    releases.release("1.0.0")
    releases.release("1.1.0")
    cabinet = Cabinet(tmp_path / "cabinet", releases.served, "1.0.0")
    install_running(cabinet.slots, next((releases.root / "dist").glob("*1.0.0*.whl")), "1.0.0")
    stop = asyncio.Event()
    async with serve(releases.served) as server, aiohttp.ClientSession() as session:
        updater = cabinet.updater(server.url, session)
        nobody = Handoff(cabinet.root / "data" / "update")  # the request is written; no path unit starts the installer
        updater.handoff = nobody
        running = asyncio.ensure_future(updater.run(stop, CHECK_S))
        await until(lambda: bool(cabinet.clock.pending()), what="the updater waiting for the installer")
        assert nobody.pending()

        await cabinet.clock.run(899)  # the installer still has time
        assert nobody.pending() and cabinet.events == []
        await cabinet.clock.run(1)
        await until(lambda: bool(cabinet.events), what="the failure reported")
        reason = "the installer did not take the request within 15 min: is kiosk-updater.path enabled?"
        assert cabinet.events == [("update.failed", {"version": "1.1.0", "running": "1.0.0", "reason": reason})]
        # withdrawn: an installer started now (the path unit enabled at last) does nothing, the old version runs
        assert not nobody.pending()
        assert cabinet.installs.installer.handle() == "no request"
        assert cabinet.slots.current() == "slot-a" and cabinet.restarts == 0
        assert updater.note() == " (kiosk-updater?)"  # the service menu's software row
        failed = updater.last  # the last check's outcome, as logged
        assert failed is not None and failed.status == "failed" and reason in failed.detail, failed
        assert not running.done()  # the schedule goes on

        # the installer works again; the cloud's update_check (a rollout) hands the release over once more
        updater.handoff = cabinet.installs
        updater.poke("1.1.0")
        await until(lambda: cabinet.restarts == 1, what="the install")
        assert cabinet.slots.current() == "slot-b" and cabinet.running_version() == "1.1.0"
        assert updater.note() == ""
        stop.set()  # the installer's restart ends this process
        await running
    assert len(cabinet.events) == 1


async def test_a_scheduled_check_tries_again_after_a_request_was_withdrawn(tmp_path: Path) -> None:
    releases = Releases(tmp_path / "publisher")
    releases.release("1.0.0")
    releases.release("1.1.0")
    cabinet = Cabinet(tmp_path / "cabinet", releases.served, "1.0.0")
    install_running(cabinet.slots, next((releases.root / "dist").glob("*1.0.0*.whl")), "1.0.0")
    stop = asyncio.Event()
    async with serve(releases.served) as server, aiohttp.ClientSession() as session:
        updater = cabinet.updater(server.url, session)
        updater.handoff_s = 60.0
        nobody = Handoff(cabinet.root / "data" / "update")
        updater.handoff = nobody
        running = asyncio.ensure_future(updater.run(stop, CHECK_S))
        await until(lambda: bool(cabinet.clock.pending()), what="the updater waiting for the installer")
        assert nobody.pending()
        await cabinet.clock.run(60)
        await until(lambda: bool(cabinet.events), what="the failure reported")
        assert "within 1 min" in cabinet.events[0][1]["reason"]
        assert not nobody.pending()
        await until(lambda: cabinet.clock.pending() == [cabinet.clock.now + CHECK_S], what="the schedule")
        await cabinet.clock.run(CHECK_S - 1)
        assert not nobody.pending()  # not before the schedule says
        await cabinet.clock.run(1)
        await until(nobody.pending, what="the request written again at the next scheduled check")
        stop.set()
        await running


async def test_a_request_withdrawn_while_the_installer_verifies_it_installs_nothing(tmp_path: Path) -> None:
    releases = Releases(tmp_path / "publisher")
    releases.release("1.0.0")
    releases.release("1.1.0")
    cabinet = Cabinet(tmp_path / "cabinet", releases.served, "1.0.0")
    install_running(cabinet.slots, next((releases.root / "dist").glob("*1.0.0*.whl")), "1.0.0")
    async with serve(releases.served) as server, aiohttp.ClientSession() as session:
        updater = cabinet.updater(server.url, session)
        late = Handoff(cabinet.root / "data" / "update")
        updater.handoff = late
        assert (await updater.check()).status == "switched" and late.pending()
        installer = cabinet.installs.installer  # started at last, as the cabinet gives up
        verify = installer._verified_release

        def verified_then_withdrawn(version: str) -> Release:
            release = verify(version)
            late.withdraw()  # the updater's handoff_s ran out meanwhile
            return release

        installer._verified_release = verified_then_withdrawn  # type: ignore[method-assign]
        done = await asyncio.to_thread(installer.handle)
    assert done == "1.1.0: withdrawn by the cabinet; nothing installed"
    assert cabinet.slots.current() == "slot-a" and cabinet.slots.version("slot-b") is None
    assert cabinet.restarts == 0 and cabinet.slots.trial() is None
