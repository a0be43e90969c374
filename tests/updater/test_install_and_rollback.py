"""An install cut short at each of its steps (a power cut: the process stops there, then the boot check runs
and the updater starts again) leaves the old version running or the new one whole; a version that fails its
health check, or cannot start at all, is switched back by itself and the failure reported once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from firmware.updater.health import HealthCheck
from firmware.updater.service import Release, UnpackInstaller
from firmware.updater.slots import MAX_BOOTS, Slots
from tests.updater.rig import Cabinet, Releases, install_running, serve


class PowerCut(BaseException):
    """Not an Exception: nothing in the updater may catch it, as nothing catches a power cut."""


@pytest.fixture
def releases(tmp_path: Path) -> Releases:
    releases = Releases(tmp_path / "publisher")
    releases.release("1.0.0")
    releases.release("1.1.0")
    return releases


def running_1_0(tmp_path: Path, releases: Releases) -> Cabinet:
    cabinet = Cabinet(tmp_path / "cabinet", releases.served, "1.0.0")
    install_running(cabinet.slots, next((releases.root / "dist").glob("*1.0.0*.whl")), "1.0.0")
    return cabinet


class HalfInstaller(UnpackInstaller):
    def install(self, release: Release, slot: Path) -> None:
        super().install(release, slot)
        (slot / "site" / "kiosk_probe.py").write_text("VERSION = '1.1.0'\n# cut he")
        raise PowerCut


def cut_before(name: str) -> Any:
    original = getattr(Slots, name)

    def cut(self: Slots, *args: Any) -> Any:
        raise PowerCut

    return original, cut


def cut_after(name: str) -> Any:
    original = getattr(Slots, name)

    def cut(self: Slots, *args: Any) -> Any:
        original(self, *args)
        raise PowerCut

    return original, cut


CUTS = {
    "downloaded, slot not yet cleared": ("clear", cut_before),
    "slot cleared": ("clear", cut_after),
    "installed, not stamped": ("stamp", cut_before),
    "stamped, not switched": ("switch_to", cut_before),
    "trial recorded, link not switched": ("_point_at", cut_before),
}


@pytest.mark.parametrize("step", [*CUTS, "half the files written"])
async def test_a_power_cut_at_each_install_step_leaves_the_old_version_running_then_the_update_completes(
    tmp_path: Path, releases: Releases, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    cabinet = running_1_0(tmp_path, releases)
    installer = HalfInstaller() if step == "half the files written" else None
    if step in CUTS:
        name, how = CUTS[step]
        monkeypatch.setattr(Slots, name, how(name)[1])
    async with serve(releases.served) as server, aiohttp.ClientSession() as session:
        with pytest.raises(PowerCut):
            await cabinet.updater(server.url, session, installer).check()
        monkeypatch.undo()
        # the power comes back: the boot check, then the old version runs
        cabinet.slots.boot()
        assert cabinet.slots.current() == "slot-a" and cabinet.running_version() == "1.0.0"
        assert cabinet.slots.trial() is None
        # a slot counts as installed only once whole (stamped); never switched to, it is just spare
        whole = step in ("stamped, not switched", "trial recorded, link not switched")
        assert cabinet.slots.version("slot-b") == ("1.1.0" if whole else None)
        # and its updater, started again, completes the update from where the files are
        outcome = await cabinet.updater(server.url, session).check()
    assert outcome.status == "switched", outcome
    assert cabinet.slots.current() == "slot-b" and cabinet.running_version() == "1.1.0"
    assert (cabinet.slots.path("slot-b") / "site" / "kiosk_probe.py").read_text() == "VERSION = '1.1.0'\n"


async def test_a_power_cut_after_the_switch_starts_the_new_version_on_trial(tmp_path: Path, releases: Releases) -> None:
    cabinet = running_1_0(tmp_path, releases)

    def cut() -> None:
        raise PowerCut

    async with serve(releases.served) as server, aiohttp.ClientSession() as session:
        updater = cabinet.updater(server.url, session)
        cabinet.installs.installer.restart = cut
        with pytest.raises(PowerCut):
            await updater.check()
    assert "start 1 of" in cabinet.slots.boot()
    assert cabinet.slots.current() == "slot-b" and cabinet.running_version() == "1.1.0"
    trial = cabinet.slots.trial()
    assert trial is not None and trial.boots == 1


async def switched_to_1_1(tmp_path: Path, releases: Releases) -> Cabinet:
    cabinet = running_1_0(tmp_path, releases)
    async with serve(releases.served) as server, aiohttp.ClientSession() as session:
        assert (await cabinet.updater(server.url, session).check()).status == "switched"
    cabinet.slots.boot()
    return cabinet


def health(cabinet: Cabinet, within_s: float = 300.0) -> HealthCheck:
    return HealthCheck(
        cabinet.slots,
        lambda kind, payload: cabinet.events.append((kind, payload)),
        cabinet.handoff(""),  # a commit or a rollback needs no repository
        cabinet.root / "data" / "update" / "reported.json",
        cabinet.clock,
        within_s,
    )


async def test_a_new_version_that_passes_its_health_check_is_committed(tmp_path: Path, releases: Releases) -> None:
    cabinet = await switched_to_1_1(tmp_path, releases)
    check = health(cabinet)
    judged = asyncio.ensure_future(check.run())
    for what in ("frame", "selftest", "sync"):
        await asyncio.sleep(0)
        assert not judged.done()
        check.ok(what)
    assert await judged == "1.1.0 committed"
    assert cabinet.slots.trial() is None and cabinet.running_version() == "1.1.0"
    assert cabinet.events == [("update.installed", {"version": "1.1.0", "previous": "1.0.0"})]
    assert "running slot-b" in cabinet.slots.boot()  # later starts keep it


async def test_a_new_version_that_never_syncs_is_rolled_back_and_reported_once(
    tmp_path: Path, releases: Releases
) -> None:
    cabinet = await switched_to_1_1(tmp_path, releases)
    restarts = cabinet.restarts
    check = health(cabinet, within_s=300)
    judged = asyncio.ensure_future(check.run())
    check.ok("frame")
    check.ok("selftest")
    await cabinet.clock.run(299)
    assert not judged.done()
    await cabinet.clock.run(2)
    assert await judged == "1.1.0 rolled back: no sync within 300 s"
    assert cabinet.slots.current() == "slot-a" and cabinet.running_version() == "1.0.0"
    assert cabinet.restarts == restarts + 1
    # the old version, started again, tells the cloud once
    old = health(cabinet)
    old.report_rollback()
    old.report_rollback()
    assert cabinet.events == [
        ("update.failed", {"version": "1.1.0", "running": "1.0.0", "reason": "no sync within 300 s"})
    ]
    assert await old.run() == "no update on trial"


async def test_a_failed_self_test_rolls_back_at_once(tmp_path: Path, releases: Releases) -> None:
    cabinet = await switched_to_1_1(tmp_path, releases)
    check = health(cabinet)
    check.ok("frame")
    check.fail("selftest", "lock: relay did not switch on")
    assert await check.run() == "1.1.0 rolled back: selftest: lock: relay did not switch on"
    assert cabinet.running_version() == "1.0.0"


async def test_a_new_version_that_cannot_start_is_switched_back_by_the_boot_check(
    tmp_path: Path, releases: Releases
) -> None:
    cabinet = await switched_to_1_1(tmp_path, releases)  # its first start counted
    for start in range(2, MAX_BOOTS + 1):
        assert f"start {start} of {MAX_BOOTS}" in cabinet.slots.boot()  # ... it crashes each time
    assert "rolled back to slot-a" in cabinet.slots.boot()
    assert cabinet.slots.current() == "slot-a" and cabinet.running_version() == "1.0.0"
    failure = cabinet.slots.failure()
    assert failure is not None and failure.reason == f"did not pass its health check in {MAX_BOOTS} starts"


async def test_no_update_while_a_version_is_on_trial(tmp_path: Path, releases: Releases) -> None:
    cabinet = await switched_to_1_1(tmp_path, releases)
    releases.release("1.2.0")
    cabinet.running = "1.1.0"
    async with serve(releases.served) as server, aiohttp.ClientSession() as session:
        outcome = await cabinet.updater(server.url, session).check()
    assert outcome.status == "up to date" and "on trial" in outcome.detail
    assert cabinet.slots.current() == "slot-b"
