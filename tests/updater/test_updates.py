"""The cabinet's updater against a real loopback HTTP server serving a repository made by the release tool:
a newer release is downloaded only while idle, verified, installed into the other slot and switched to; the
attacks TUF exists for are refused with their reason and the running version stays."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from cloud_stub.releases import Expiry, generate_key
from tests.updater.rig import Cabinet, Releases, install_running, serve


@pytest.fixture
def releases(tmp_path: Path) -> Releases:
    releases = Releases(tmp_path / "publisher")
    releases.release("1.0.0")
    return releases


def cabinet_running(tmp_path: Path, releases: Releases, version: str = "1.0.0") -> Cabinet:
    cabinet = Cabinet(tmp_path / "cabinet", releases.served, version)
    wheel = next((releases.root / "dist").glob(f"kiosk_probe-{version}-*.whl"))
    install_running(cabinet.slots, wheel, version)
    return cabinet


def assert_still_running_the_old(cabinet: Cabinet) -> None:
    assert cabinet.slots.current() == "slot-a"
    assert cabinet.running_version() == "1.0.0"
    assert cabinet.slots.trial() is None
    assert cabinet.restarts == 0


async def test_a_newer_release_is_verified_installed_into_the_other_slot_and_switched_to(
    tmp_path: Path, releases: Releases
) -> None:
    cabinet = cabinet_running(tmp_path, releases)
    releases.release("1.1.0")
    async with serve(releases.served) as server, aiohttp.ClientSession() as session:
        updater = cabinet.updater(server.url, session)
        outcome = await updater.check()
    assert outcome.status == "switched", outcome
    assert cabinet.slots.current() == "slot-b"
    assert cabinet.running_version() == "1.1.0"
    assert (cabinet.slots.path("slot-b") / "site" / "kiosk_probe.py").read_text().startswith("VERSION = '1.1.0'")
    # the lock board's firmware came the same way, byte for byte
    for name in ("protocol.py", "controller.py", "main.py"):
        shipped = (Path("firmware/lockboard") / name).read_bytes()
        assert (cabinet.slots.path("slot-b") / "lockboard" / name).read_bytes() == shipped
    trial = cabinet.slots.trial()
    assert trial is not None and (trial.version, trial.previous) == ("1.1.0", "slot-a")
    assert cabinet.restarts == 1
    # the download's progress, in bytes, reached the wheel's whole length
    wheel_steps = [p for p in cabinet.progress if p.step.startswith("download kiosk_probe-1.1.0")]
    assert wheel_steps and wheel_steps[-1].fraction == 1.0 and wheel_steps[-1].unit == "bytes"
    # the service menu's software row said which release was coming and how far, then nothing more
    assert " (1.1.0: 100%)" in cabinet.notes
    assert all(note.startswith(" (1.1.0: ") for note in cabinet.notes if note)
    assert updater.note() == ""


async def test_nothing_newer_is_up_to_date_and_nothing_is_downloaded_twice(tmp_path: Path, releases: Releases) -> None:
    cabinet = cabinet_running(tmp_path, releases)
    async with serve(releases.served) as server, aiohttp.ClientSession() as session:
        outcome = await cabinet.updater(server.url, session).check()
    assert outcome.status == "up to date" and "1.0.0" in outcome.detail
    assert not any(path.endswith(".whl") for path, _ in server.requests)
    assert_still_running_the_old(cabinet)


async def test_the_download_waits_while_a_shopper_is_at_the_cabinet(tmp_path: Path, releases: Releases) -> None:
    cabinet = cabinet_running(tmp_path, releases)
    releases.release("1.1.0")
    cabinet.busy[0] = True
    asked = 0

    def may_download() -> bool:
        nonlocal asked
        asked += 1
        if asked == 20:  # the shopper leaves after the updater has asked 20 times
            cabinet.busy[0] = False
        return not cabinet.busy[0]

    async with serve(releases.served, lambda: cabinet.busy[0]) as server, aiohttp.ClientSession() as session:
        updater = cabinet.updater(server.url, session)
        updater.may_download = may_download
        outcome = await updater.check()
    assert outcome.status == "switched"
    assert asked > 20
    assert server.requests and not any(busy for _, busy in server.requests), server.requests


async def test_a_tampered_target_is_refused_and_the_old_version_stays(tmp_path: Path, releases: Releases) -> None:
    cabinet = cabinet_running(tmp_path, releases)
    releases.release("1.1.0")
    (wheel,) = (releases.served / "targets" / "1.1.0").glob("*.whl")
    wheel.write_bytes(wheel.read_bytes().replace(b"VERSION", b"EVILVER"))  # same length, other bytes
    async with serve(releases.served) as server, aiohttp.ClientSession() as session:
        outcome = await cabinet.updater(server.url, session).check()
    assert outcome.status == "refused"
    assert "does not match its signed length and hash" in outcome.detail
    assert cabinet.events == [("update.refused", {"version": None, "reason": outcome.detail})]
    assert_still_running_the_old(cabinet)


async def test_metadata_older_than_seen_is_refused_rollback_attack(tmp_path: Path, releases: Releases) -> None:
    cabinet = Cabinet(tmp_path / "cabinet", releases.served, "1.1.0")
    install_running(cabinet.slots, next((releases.root / "dist").glob("*1.0.0*.whl")), "1.1.0")
    old_metadata = tmp_path / "old-metadata"
    shutil.copytree(releases.served / "metadata", old_metadata)
    releases.release("1.1.0")  # the cabinet runs it already: it sees this state and stays
    async with serve(releases.served) as server, aiohttp.ClientSession() as session:
        assert (await cabinet.updater(server.url, session).check()).status == "up to date"
    # the attacker serves the repository as it was before (validly signed, but older)
    shutil.rmtree(releases.served / "metadata")
    shutil.copytree(old_metadata, releases.served / "metadata")
    async with serve(releases.served) as server, aiohttp.ClientSession() as session:
        outcome = await cabinet.updater(server.url, session).check()
    assert outcome.status == "refused"
    assert "rollback" in outcome.detail and "timestamp" in outcome.detail


async def test_an_older_release_is_never_installed(tmp_path: Path, releases: Releases) -> None:
    releases.release("1.1.0")
    cabinet = Cabinet(tmp_path / "cabinet", releases.served, "2.0.0")
    install_running(cabinet.slots, next((releases.root / "dist").glob("*1.0.0*.whl")), "2.0.0")
    async with serve(releases.served) as server, aiohttp.ClientSession() as session:
        outcome = await cabinet.updater(server.url, session).check()
    assert outcome.status == "up to date"
    assert cabinet.slots.current() == "slot-a" and cabinet.slots.trial() is None


async def test_expired_metadata_is_refused_freeze_attack(tmp_path: Path) -> None:
    # a repository whose timestamp was signed two days ago for a day: served as it is (frozen)
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    releases = Releases(tmp_path / "publisher", Expiry(timestamp=timedelta(days=1)), now=two_days_ago)
    releases.release("1.0.0")
    releases.release("1.1.0")
    cabinet = cabinet_running(tmp_path, releases)
    async with serve(releases.served) as server, aiohttp.ClientSession() as session:
        outcome = await cabinet.updater(server.url, session).check()
    assert outcome.status == "refused"
    assert "freeze" in outcome.detail and "timestamp" in outcome.detail
    assert_still_running_the_old(cabinet)


async def test_targets_from_another_snapshot_are_refused_mix_and_match(tmp_path: Path, releases: Releases) -> None:
    cabinet = cabinet_running(tmp_path, releases)
    metadata = releases.served / "metadata"
    releases.release("1.1.0")
    releases.release("1.2.0")
    # the snapshot names targets version 4; the attacker serves version 3's (a valid, signed, other set)
    snapshot = json.loads((metadata / "timestamp.json").read_text())["signed"]["meta"]["snapshot.json"]["version"]
    wanted = json.loads((metadata / f"{snapshot}.snapshot.json").read_text())["signed"]["meta"]["targets.json"]
    shutil.copyfile(metadata / f"{wanted['version'] - 1}.targets.json", metadata / f"{wanted['version']}.targets.json")
    async with serve(releases.served) as server, aiohttp.ClientSession() as session:
        outcome = await cabinet.updater(server.url, session).check()
    assert outcome.status == "refused"
    assert "another snapshot" in outcome.detail and "targets" in outcome.detail
    assert_still_running_the_old(cabinet)


async def test_an_unreachable_server_is_a_failure_not_a_refusal(tmp_path: Path, releases: Releases) -> None:
    cabinet = cabinet_running(tmp_path, releases)
    async with serve(releases.served) as server:
        url = server.url  # the server is gone once the block ends
    async with aiohttp.ClientSession() as session:
        outcome = await cabinet.updater(url, session).check()
    assert outcome.status == "failed" and "not reachable" in outcome.detail
    assert cabinet.events == []
    assert_still_running_the_old(cabinet)


async def test_a_rotated_online_key_is_followed_and_the_old_one_is_refused_afterwards(
    tmp_path: Path, releases: Releases
) -> None:
    cabinet = cabinet_running(tmp_path, releases)
    async with serve(releases.served) as server, aiohttp.ClientSession() as session:
        assert (await cabinet.updater(server.url, session).check()).status == "up to date"
        old_online = releases.online_key
        releases.online_key = generate_key(releases.root / "keys" / "online-2.pem")
        new_online = {"timestamp": releases.online_key, "snapshot": releases.online_key}
        assert releases.repo.rotate_root(releases.root_key, new_online) == 2  # offline root signs root v2
        releases.release("1.1.0")
        outcome = await cabinet.updater(server.url, session).check()
        assert outcome.status == "switched", outcome
        assert json.loads((tmp_path / "cabinet/data/update/metadata/root.json").read_text())["signed"]["version"] == 2
        # the old online key, stolen, signs a timestamp: the cabinet trusts root v2 now and refuses it
        releases.repo.refresh(old_online)
        cabinet.slots.commit()
        cabinet.running = "1.1.0"
        outcome = await cabinet.updater(server.url, session).check()
    assert outcome.status == "refused" and "not signed by the trusted keys" in outcome.detail


async def test_without_auto_the_schedule_only_refreshes_and_a_rollout_installs_the_version_it_names(
    tmp_path: Path, releases: Releases
) -> None:
    cabinet = cabinet_running(tmp_path, releases)
    releases.release("1.1.0")
    releases.release("1.2.0")
    async with serve(releases.served) as server, aiohttp.ClientSession() as session:
        updater = cabinet.updater(server.url, session)
        outcome = await updater.check(None)  # what a scheduled check does with auto = false
        assert outcome.status == "up to date" and "waits for a rollout" in outcome.detail
        assert not any(path.endswith(".whl") for path, _ in server.requests)
        assert cabinet.slots.trial() is None
        outcome = await updater.check("1.1.0")  # the rollout's update_check names 1.1.0, not the latest
    assert outcome.status == "switched" and cabinet.running_version() == "1.1.0"
