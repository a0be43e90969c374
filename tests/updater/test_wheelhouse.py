"""A release brings its dependencies: the release tool publishes the wheels of a wheelhouse as targets shared
by every release that has the same file, the cabinet downloads only those it does not have yet, and the
installer installs the new slot from them offline (pip, ``--no-index --find-links``). Tiny wheels built here,
no network beyond 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from cloud_stub.releases import ReleaseError
from firmware.updater.service import VenvInstaller
from tests.updater.rig import LOCKBOARD, Cabinet, Releases, install_running, make_wheel, serve

REPO = Path(__file__).resolve().parents[2]


def kiosk_cloud(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cloud_stub.cli", *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=60
    )


def run_in(slot: Path, code: str) -> str:
    """``code`` run by the slot's own interpreter, with nothing from this test's environment."""
    said = subprocess.run(
        [str(slot / "bin" / "python"), "-c", code], capture_output=True, text=True, timeout=60, cwd=slot, env={}
    )
    assert said.returncode == 0, said.stderr
    return said.stdout.strip()


async def update(cabinet: Cabinet, url: str) -> None:
    """One update with the real slot installer, as kiosk-updater.service makes it: a copy of the running slot's
    environment (when it is one) with the release installed over it."""
    async with aiohttp.ClientSession() as session:
        installer = VenvInstaller(clone_from=cabinet.slots.path(cabinet.slots.current()))
        outcome = await cabinet.updater(url, session, installer).check()
    assert outcome.status == "switched", (outcome, cabinet.installs.done)
    assert cabinet.installs.done[-1].endswith("; restarting"), cabinet.installs.done


async def test_releases_bring_new_dependencies_installed_offline_and_a_shared_wheel_is_downloaded_once(
    tmp_path: Path,
) -> None:
    publisher = Releases(tmp_path / "publisher")
    first = publisher.release("1.0.0")
    house = tmp_path / "wheelhouse"
    dep = make_wheel(house, "1.0", name="kiosk_dep")
    body = "import kiosk_dep\nDEP = kiosk_dep.VERSION\n"
    wheel = make_wheel(tmp_path / "dist", "1.1.0", body, requires=("kiosk-dep>=1.0",))
    repo, keys = publisher.repo, (publisher.targets_key, publisher.online_key)
    repo.add_release("1.1.0", wheel, LOCKBOARD, *keys, [dep])
    cabinet = Cabinet(tmp_path / "cabinet", publisher.served, "1.0.0")
    install_running(cabinet.slots, first, "1.0.0")

    async with serve(publisher.served) as server:
        await update(cabinet, server.url)
        assert cabinet.slots.current() == "slot-b"
        assert run_in(
            cabinet.slots.path("slot-b"), "import kiosk_probe; print(kiosk_probe.VERSION, kiosk_probe.DEP)"
        ) == ("1.1.0 1.0")
        cabinet.slots.commit()  # it passed its health check

        # 1.2.0 needs one more dependency; kiosk_dep 1.0 is the same file as before
        extra = make_wheel(house, "0.1", name="kiosk_extra")
        body = "import kiosk_dep, kiosk_extra\nDEP = kiosk_dep.VERSION + '+' + kiosk_extra.VERSION\n"
        newer = make_wheel(tmp_path / "dist", "1.2.0", body, requires=("kiosk-dep>=1.0", "kiosk-extra"))
        repo.add_release("1.2.0", newer, LOCKBOARD, *keys, [dep, extra])
        cabinet.running = "1.1.0"
        await update(cabinet, server.url)
    assert cabinet.slots.current() == "slot-a"
    slot = cabinet.slots.path("slot-a")
    assert run_in(slot, "import kiosk_probe; print(kiosk_probe.VERSION, kiosk_probe.DEP)") == "1.2.0 1.0+0.1"
    downloads = [path for path, _ in server.requests if "/targets/" in path]
    assert len([p for p in downloads if p.endswith(".kiosk_dep-1.0-py3-none-any.whl")]) == 1  # kept from 1.1.0
    assert len([p for p in downloads if p.endswith(".kiosk_extra-0.1-py3-none-any.whl")]) == 1
    index = repo.index()["releases"]
    assert index["1.2.0"]["wheels"] == [
        "wheels/kiosk_dep-1.0-py3-none-any.whl",
        "wheels/kiosk_extra-0.1-py3-none-any.whl",
    ]


def test_the_release_tool_takes_a_wheelhouse_and_refuses_a_rebuilt_wheel_under_a_published_name(
    tmp_path: Path,
) -> None:
    publisher = Releases(tmp_path / "publisher")
    keys = tmp_path / "publisher" / "keys"
    house = tmp_path / "wheelhouse"
    make_wheel(house, "1.0", name="kiosk_dep")
    wheel = make_wheel(tmp_path / "dist", "1.0.0", requires=("kiosk-dep",))

    def add(version: str, wheel: Path, wheelhouse: Path) -> subprocess.CompletedProcess[str]:
        return kiosk_cloud(
            "release", "add", version, "--repo", publisher.served, "--wheel", wheel, "--wheelhouse", wheelhouse,
            "--targets-key", keys / "targets.pem", "--online-key", keys / "online.pem",
        )  # fmt: skip

    done = add("1.0.0", wheel, house)
    assert done.returncode == 0, done.stderr
    assert publisher.repo.index()["releases"]["1.0.0"]["wheels"] == ["wheels/kiosk_dep-1.0-py3-none-any.whl"]

    make_wheel(house, "1.0", "CHANGED = True\n", name="kiosk_dep")  # rebuilt, same name, other bytes
    refused = add("1.1.0", make_wheel(tmp_path / "dist", "1.1.0"), house)
    assert refused.returncode == 1
    assert "kiosk_dep-1.0-py3-none-any.whl: a different file of this name was published before" in refused.stderr
    assert publisher.repo.index()["latest"] == "1.0.0"

    missing = add("1.1.0", make_wheel(tmp_path / "dist", "1.1.0"), tmp_path / "nowhere")
    assert missing.returncode == 1 and "nowhere: --wheelhouse is not a directory" in missing.stderr

    (house / "notes.whl").write_text("not a wheel")
    with pytest.raises(ReleaseError, match=r"notes.whl: not a wheel"):
        publisher.repo.add_release(
            "1.1.0", wheel, LOCKBOARD, publisher.targets_key, publisher.online_key, [house / "notes.whl"]
        )
