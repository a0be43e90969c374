"""From `kiosk-cloud release` to the cabinet running the new version: the release tool as a command, the cloud
serving the repository under /updates/, the cabinet's updater switching slots, and the "cabinet process"
(the program in ``current``) started again by its boot check as systemd would."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import aiohttp

from cloud_stub.server import start_cloud
from cloud_stub.store import SqliteCloudStore
from firmware.updater.health import HealthCheck
from firmware.updater.service import Release, VenvInstaller
from firmware.updater.slots import Slots
from tests.updater.rig import LOCKBOARD, Cabinet, install_running, make_wheel

REPO = Path(__file__).resolve().parents[2]


def kiosk_cloud(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cloud_stub.cli", *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=60
    )


def start_cabinet(slots: Slots) -> str:
    """What systemd does: the boot check (ExecStartPre, the system's Python, this one file), then the program
    in ``current`` (ExecStart); returns what the program says its version is."""
    boot = subprocess.run(
        [sys.executable, "-I", str(REPO / "firmware/updater/slots.py"), str(slots.root)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert boot.stdout.strip()
    program = subprocess.run(
        [sys.executable, "-c", "import kiosk_probe; print(kiosk_probe.VERSION)"],
        env={"PYTHONPATH": str(slots.root / "current" / "site")},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return program.stdout.strip()


async def test_a_release_cut_with_the_tool_reaches_the_cabinet_which_restarts_into_it(tmp_path: Path) -> None:
    publisher = tmp_path / "publisher"
    keys = {role: publisher / "keys" / f"{role}.pem" for role in ("root", "targets", "online")}
    keys["root"].parent.mkdir(parents=True)
    repo = publisher / "repo"
    result = kiosk_cloud(
        "release", "init", "--repo", repo, "--root-key", keys["root"], "--targets-key", keys["targets"],
        "--online-key", keys["online"],
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "move" in result.stdout and "offline" in result.stdout
    assert keys["root"].stat().st_mode & 0o777 == 0o600

    def release(version: str) -> subprocess.CompletedProcess[str]:
        wheel = make_wheel(publisher / "dist", version)
        return kiosk_cloud(
            "release", "add", version, "--repo", repo, "--wheel", wheel, "--targets-key", keys["targets"],
            "--online-key", keys["online"],
        )  # fmt: skip

    assert release("1.0.0").returncode == 0
    older = release("0.9.0")
    assert older.returncode == 1
    assert "version: 0.9.0 is not newer than the latest release 1.0.0" in older.stderr

    # the cabinet as installed: 1.0.0 in slot-a, trusting the repository's first root
    cabinet = Cabinet(tmp_path / "cabinet", repo, "1.0.0")
    install_running(cabinet.slots, publisher / "dist" / "kiosk_probe-1.0.0-py3-none-any.whl", "1.0.0")
    assert start_cabinet(cabinet.slots) == "1.0.0"

    assert release("1.1.0").returncode == 0
    store = SqliteCloudStore(tmp_path / "cloud.db")
    runner, url = await start_cloud(store, updates_dir=repo)
    try:
        async with aiohttp.ClientSession() as session:
            outcome = await cabinet.updater(f"{url}/updates", session).check()
    finally:
        await runner.cleanup()
        store.close()
    assert outcome.status == "switched", outcome
    assert cabinet.restarts == 1

    assert start_cabinet(cabinet.slots) == "1.1.0"  # systemd starts `current` again: the new version
    check = HealthCheck(
        cabinet.slots,
        lambda kind, payload: cabinet.events.append((kind, payload)),
        cabinet.handoff(""),
        cabinet.root / "data" / "update" / "reported.json",
        cabinet.clock,
    )
    for what in ("selftest", "frame", "sync"):
        check.ok(what)
    assert await check.run() == "1.1.0 committed"
    assert start_cabinet(cabinet.slots) == "1.1.0"
    assert cabinet.events == [("update.installed", {"version": "1.1.0", "previous": "1.0.0"})]


def test_the_real_slot_installer_makes_a_venv_with_the_wheel_offline(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "dist", "2.0.0")
    slot = tmp_path / "slot-b"
    VenvInstaller().install(Release("2.0.0", wheel, LOCKBOARD), slot)
    said = subprocess.run(
        [str(slot / "bin" / "python"), "-c", "import kiosk_probe; print(kiosk_probe.VERSION)"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        cwd=tmp_path,
        env={},
    )
    assert said.stdout.strip() == "2.0.0"
    assert sorted(p.name for p in (slot / "lockboard").iterdir()) == ["controller.py", "main.py", "protocol.py"]

    # the next release goes into the other slot as a copy of this environment (its dependencies: here one
    # module only this environment has) with the new wheel over it
    (site,) = slot.glob("lib/python*/site-packages")
    (site / "dependency_only_here.py").write_text("HERE = True\n")
    (slot / ".kiosk-release").write_text('{"version": "2.0.0"}')
    newer = make_wheel(tmp_path / "dist", "2.1.0", body="import dependency_only_here\n")
    other = tmp_path / "slot-a"
    VenvInstaller(clone_from=slot).install(Release("2.1.0", newer, LOCKBOARD), other)
    shutil.rmtree(slot)  # nothing of the new slot may point into the old one
    said = subprocess.run(
        [str(other / "bin" / "python"), "-c", "import kiosk_probe, sys; print(kiosk_probe.VERSION, sys.prefix)"],
        capture_output=True, text=True, timeout=30, check=True, cwd=tmp_path, env={},
    )  # fmt: skip
    assert said.stdout.split() == ["2.1.0", str(other)]
    assert not (other / ".kiosk-release").exists()
