"""A release repository made with the release tool, served over loopback HTTP, and a cabinet's slots."""

from __future__ import annotations

import asyncio
import shutil
import zipfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from cloud_stub.releases import Expiry, Repository, generate_key
from firmware.clock import FakeClock
from firmware.updater.installer import Handoff, Installer
from firmware.updater.service import SlotInstaller, UnpackInstaller, Updater, UpdateSource
from firmware.updater.slots import Slots
from sync_client.progress import Progress

REPO = Path(__file__).resolve().parents[2]
LOCKBOARD = [REPO / "firmware" / "lockboard" / name for name in ("protocol.py", "controller.py", "main.py")]


def make_wheel(
    directory: Path, version: str, body: str = "", name: str = "kiosk_probe", requires: tuple[str, ...] = ()
) -> Path:
    """A real (tiny) wheel: the module ``name`` (``kiosk_probe``) saying its version, with the dist-info pip
    wants, requiring ``requires``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {requirement}\n" for requirement in requires)
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"{name}.py", f"VERSION = {version!r}\n{body}")
        wheel.writestr(f"{info}/METADATA", metadata)
        wheel.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        wheel.writestr(f"{info}/RECORD", "")
    return path


class Releases:
    """The publisher's side: keys and repository in ``root``."""

    def __init__(self, root: Path, expiry: Expiry | None = None, now: datetime | None = None) -> None:
        self.root = root
        keys = root / "keys"
        keys.mkdir(parents=True)
        self.root_key = generate_key(keys / "root.pem")
        self.targets_key = generate_key(keys / "targets.pem")
        self.online_key = generate_key(keys / "online.pem")
        self.repo = Repository(root / "repo", expiry or Expiry(), now)
        self.repo.init(self.root_key, self.targets_key, self.online_key)

    @property
    def served(self) -> Path:
        return self.root / "repo"

    def release(self, version: str, body: str = "") -> Path:
        wheel = make_wheel(self.root / "dist", version, body)
        self.repo.add_release(version, wheel, LOCKBOARD, self.targets_key, self.online_key)
        return wheel


@dataclass
class Served:
    url: str
    requests: list[tuple[str, bool]] = field(default_factory=list)  # (path, was the cabinet busy then)


@asynccontextmanager
async def serve(directory: Path, busy: Callable[[], bool] = lambda: False) -> AsyncIterator[Served]:
    """``directory`` as static files on 127.0.0.1, each request recorded (with ``busy()`` at that moment)."""
    served = Served("")

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        served.requests.append((request.path, busy()))
        return await handler(request)  # type: ignore[no-any-return]

    app = web.Application(middlewares=[record])
    app.router.add_static("/updates/", directory)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    served.url = f"http://{host}:{port}/updates"
    try:
        yield served
    finally:
        await runner.cleanup()


def install_running(slots: Slots, wheel: Path, version: str) -> None:
    """The version the cabinet runs now, as install.sh leaves it: in slot-a, ``current`` pointing at it."""
    slots.root.mkdir(parents=True, exist_ok=True)
    path = slots.path("slot-a")
    path.mkdir()
    with zipfile.ZipFile(wheel) as zipped:
        zipped.extractall(path / "site")
    slots.stamp("slot-a", version)
    (slots.root / "current").symlink_to("slot-a")


class InProcess(Handoff):
    """The request written as in production, then the installer run at once, as kiosk-updater.path starts it
    (here as the test's user, in the test's process: everything but systemd and root)."""

    def __init__(self, installer: Installer) -> None:
        super().__init__(installer.staging)
        self.installer = installer
        self.done: list[str] = []

    def request(self, request: Any) -> None:
        super().request(request)
        self.done.append(self.installer.handle())


def installer_for(
    slots: Slots, data: Path, url: str, trusted_root: Path, restart: Callable[[], None], slot: SlotInstaller
) -> Installer:
    return Installer(slots, data / "update", data.parent / "installer", url, trusted_root, slot, restart)


@dataclass
class Cabinet:
    """The cabinet's side: its slots under ``root/opt``, its data under ``root/data``, the trusted root
    provisioned from the repository's first root."""

    root: Path
    repo: Path  # the repository as published: its first root is provisioned
    running: str
    restarts: int = 0
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    progress: list[Progress] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # the service menu's software row at each chunk
    busy: list[bool] = field(default_factory=lambda: [False])
    clock: FakeClock = field(default_factory=FakeClock)

    def __post_init__(self) -> None:
        self.slots = Slots(self.root / "opt")
        self.trusted_root = self.root / "etc" / "update-root.json"
        self.trusted_root.parent.mkdir(parents=True)
        shutil.copyfile(self.repo / "metadata" / "1.root.json", self.trusted_root)

    def handoff(self, url: str, installer: SlotInstaller | None = None) -> InProcess:
        data = self.root / "data"
        return InProcess(
            installer_for(self.slots, data, url, self.trusted_root, self._restart, installer or UnpackInstaller())
        )

    def updater(self, url: str, session: aiohttp.ClientSession, installer: SlotInstaller | None = None) -> Updater:
        self.installs = self.handoff(url, installer)
        updater = Updater(
            UpdateSource(url, self.trusted_root, self.root / "data" / "update"),
            self.slots,
            self.installs,
            self.running,
            lambda: not self.busy[0],
            session,
            lambda kind, payload: self.events.append((kind, payload)),
            self.clock,
            idle_poll_s=0.001,
        )

        def shown(progress: Progress) -> None:
            self.progress.append(progress)
            self.notes.append(updater.note())

        updater.on_progress = shown
        return updater

    def _restart(self) -> None:
        self.restarts += 1

    def running_version(self) -> str | None:
        """What ``current`` holds whole."""
        return self.slots.version(self.slots.current())


async def settle() -> None:
    await asyncio.sleep(0)
