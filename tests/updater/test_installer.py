"""The privileged installer trusts nothing the cabinet's process wrote: it verifies the staged files against TUF
metadata it fetched and verified itself, refuses a request it should not carry out, and refuses to work on
slots another user could write. Real directories, a real repository made by the release tool, served over
loopback HTTP; only systemd and root are missing."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware.updater.health import HealthCheck
from firmware.updater.installer import REQUEST, Handoff, InstallRefused, Request, parse_request
from firmware.updater.service import UnpackInstaller
from tests.updater.rig import Cabinet, Releases, install_running, installer_for, make_wheel, serve

WHEEL_1_1 = "1.1.0/kiosk_probe-1.1.0-py3-none-any.whl"


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


async def staged(cabinet: Cabinet, url: str) -> Handoff:
    """The cabinet's process downloads and verifies 1.1.0 and writes its request; the installer has not run."""
    handoff = Handoff(cabinet.root / "data" / "update")
    async with aiohttp.ClientSession() as session:
        updater = cabinet.updater(url, session)
        updater.handoff = handoff
        outcome = await updater.check()
    assert outcome.status == "switched" and handoff.pending(), outcome
    return handoff


async def run_installer(cabinet: Cabinet, url: str) -> str:
    installer = installer_for(
        cabinet.slots, cabinet.root / "data", url, cabinet.trusted_root, cabinet._restart, UnpackInstaller()
    )
    return await asyncio.to_thread(installer.handle)  # the loopback server runs on this loop


def assert_still_1_0(cabinet: Cabinet) -> None:
    assert cabinet.slots.current() == "slot-a" and cabinet.running_version() == "1.0.0"
    assert cabinet.slots.version("slot-b") is None and cabinet.slots.trial() is None


async def test_a_staged_wheel_swapped_after_the_cabinet_verified_it_is_refused_and_reported(
    tmp_path: Path, releases: Releases
) -> None:
    cabinet = running_1_0(tmp_path, releases)
    async with serve(releases.served) as server:
        handoff = await staged(cabinet, server.url)
        # a compromised cabinet process puts its own program where the verified wheel was
        evil = make_wheel(tmp_path / "evil", "1.1.0", "import os  # the attacker's code\n")
        shutil.copyfile(evil, handoff.staging / "targets" / WHEEL_1_1)
        done = await run_installer(cabinet, server.url)
    assert "kiosk_probe-1.1.0-py3-none-any.whl: the staged file does not match its signed length and hash" in done
    assert_still_1_0(cabinet)
    assert not handoff.pending()  # not retried for ever
    assert cabinet.restarts == 1  # so that the running version reports it
    health = HealthCheck(
        cabinet.slots, lambda kind, payload: cabinet.events.append((kind, payload)), handoff,
        handoff.staging / "reported.json", cabinet.clock,
    )  # fmt: skip
    health.report_rollback()
    health.report_rollback()
    assert [(kind, payload["version"]) for kind, payload in cabinet.events] == [("update.failed", "1.1.0")]
    assert "does not match its signed length and hash" in cabinet.events[0][1]["reason"]


async def test_the_installer_verifies_with_its_own_metadata_not_the_cabinets(
    tmp_path: Path, releases: Releases
) -> None:
    cabinet = running_1_0(tmp_path, releases)
    async with serve(releases.served) as server:
        handoff = await staged(cabinet, server.url)
        shutil.rmtree(handoff.staging / "metadata")  # whatever the cabinet's process keeps there is not read
        done = await run_installer(cabinet, server.url)
    assert done == "1.1.0 installed in slot-b; restarting"
    assert cabinet.slots.current() == "slot-b" and cabinet.running_version() == "1.1.0"
    assert (tmp_path / "cabinet" / "installer" / "metadata" / "timestamp.json").exists()


@pytest.mark.parametrize(
    ("version", "reason"),
    [("9.9.9", "releases.json: releases.9.9.9: expected"), ("1.0.0", "1.0.0 is not newer than the running 1.0.0")],
)
async def test_a_request_for_an_unpublished_or_older_version_is_refused(
    tmp_path: Path, releases: Releases, version: str, reason: str
) -> None:
    cabinet = running_1_0(tmp_path, releases)
    async with serve(releases.served) as server:
        handoff = await staged(cabinet, server.url)
        handoff.request(Request("install", version))
        done = await run_installer(cabinet, server.url)
    assert reason in done
    assert_still_1_0(cabinet)


async def test_a_staged_file_that_is_a_symlink_is_not_followed(tmp_path: Path, releases: Releases) -> None:
    cabinet = running_1_0(tmp_path, releases)
    async with serve(releases.served) as server:
        handoff = await staged(cabinet, server.url)
        wheel = handoff.staging / "targets" / WHEEL_1_1
        wheel.unlink()
        wheel.symlink_to("/dev/zero")  # endless, and not the cabinet's to hand over
        done = await run_installer(cabinet, server.url)
    assert "install:" in done and "kiosk_probe-1.1.0-py3-none-any.whl" in done
    assert_still_1_0(cabinet)


async def test_slots_another_user_can_write_are_refused(tmp_path: Path, releases: Releases) -> None:
    cabinet = running_1_0(tmp_path, releases)
    cabinet.slots.path("slot-b").mkdir()
    cabinet.slots.path("slot-b").chmod(0o777)  # e.g. left writable for the service user by an old install.sh
    async with serve(releases.served) as server:
        handoff = await staged(cabinet, server.url)
        done = await run_installer(cabinet, server.url)
    assert done.startswith(f"refused: {cabinet.slots.path('slot-b')}: owned by uid")
    assert "must be writable by uid" in done
    assert cabinet.slots.current() == "slot-a" and cabinet.slots.version("slot-b") is None
    assert not handoff.pending()


def test_a_request_names_its_action_and_version() -> None:
    assert parse_request(b'{"action": "rollback", "version": "1.1.0", "reason": "no sync"}') == Request(
        "rollback", "1.1.0", "no sync"
    )
    with pytest.raises(InstallRefused, match=r"request.json: action: 'format' is not one of install, commit"):
        parse_request(b'{"action": "format", "version": "1.1.0"}')
    with pytest.raises(InstallRefused, match=r"request.json: version: expected a version number, got None"):
        parse_request(b'{"action": "install"}')
    with pytest.raises(InstallRefused, match=r"larger than 4096 bytes"):
        parse_request(b" " * 5000)
    assert REQUEST == "request.json"


@given(
    st.binary(max_size=300)
    | st.dictionaries(st.sampled_from(["action", "version", "reason", "x"]), st.none() | st.text(max_size=8)).map(
        lambda doc: json.dumps(doc).encode()
    )
)
def test_any_request_bytes_parse_or_are_refused_with_a_reason(data: bytes) -> None:
    try:
        request = parse_request(data)
    except InstallRefused as exc:
        assert str(exc).startswith("request.json: ")
    else:
        assert request.action in ("install", "commit", "rollback") and request.version
