"""The cabinet's updater: check, download through TUF into the staging directory, and hand the verified release
to the installer (``installer.py``, root: it alone writes the slots, installs, switches and restarts); and the
slot installers it uses.

Trust comes from the root metadata provisioned at install time (``/etc/kiosk/update-root.json``); the client
keeps the newest metadata it has verified in ``DATA_DIR/update/metadata`` so that older metadata is refused
later (rollback) and expired metadata too (freeze). A release is the index ``releases.json`` (the newest
version and its files), the wheel, its dependencies' wheels and the lock board's files, each a TUF target with
a signed length and hash.
A version not newer than the running one is never installed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple, Protocol

import aiohttp
from packaging.version import InvalidVersion, Version
from tuf.api import exceptions as tuf_errors
from tuf.ngclient import Updater as TufUpdater  # type: ignore[attr-defined]

from firmware.clock import Clock
from firmware.updater.fetch import LoopFetcher
from firmware.updater.slots import Slots
from sync_client.progress import Progress, ProgressSink

log = logging.getLogger(__name__)

INDEX = "releases.json"
SLOT_FILES = {".kiosk-release", ".kiosk-source", "lockboard"}  # a slot's own, beside its environment
LATEST = "latest"  # check(): install the newest release
Report = Callable[[str, dict[str, Any]], None]  # (event type, payload): appended to the outbox
Status = Literal["up to date", "switched", "refused", "failed"]


@dataclass(frozen=True)
class Outcome:
    status: Status
    detail: str
    version: str | None = None


@dataclass(frozen=True)
class Release:
    version: str
    wheel: Path
    lockboard: list[Path]
    wheels: list[Path] = field(default_factory=list)  # its dependencies' wheels (the release's wheelhouse)


class Listed(NamedTuple):
    """A release as the index lists it: target names."""

    version: str
    wheel: str
    lockboard: list[str]
    wheels: list[str]  # the dependencies' wheels, ``wheels/<file>``: shared by releases, so fetched once


@dataclass(frozen=True)
class UpdateSource:
    base_url: str  # e.g. https://cloud.example/updates: metadata/ and targets/ under it
    trusted_root: Path  # the root metadata provisioned at install time
    cache_dir: Path  # DATA_DIR/update: verified metadata and downloaded targets


class Requests(Protocol):
    """The hand-off to the root installer (``installer.Handoff``): a request file it takes and removes."""

    def install(self, release: Release) -> None: ...

    def pending(self) -> bool: ...

    def withdraw(self) -> None: ...


class SlotInstaller(Protocol):
    def install(self, release: Release, slot: Path) -> None:
        """Put ``release`` into the empty directory ``slot``; raise on any failure."""


class UnpackInstaller:
    """The wheel unpacked into ``slot/site`` (a directory on PYTHONPATH), the lock board's files into
    ``slot/lockboard``: what the tests install, since a pip install into a venv takes seconds."""

    def install(self, release: Release, slot: Path) -> None:
        for path in [*release.wheels, release.wheel]:
            with zipfile.ZipFile(path) as wheel:
                wheel.extractall(slot / "site")
        _copy_lockboard(release, slot)


class VenvInstaller:
    """A virtual environment in ``slot`` with the wheel installed offline from the downloaded file, nothing
    taken from the network. The environment is a copy of the running slot's (``clone_from``: its dependencies,
    which install.sh installed there), the wheel then installed over it, which also rewrites the commands'
    interpreter lines to the new slot; without one, a new environment that sees the system's site-packages.
    A release that brings new or newer dependencies ships their wheels (``release.wheels``): pip then resolves
    the wheel's requirements offline against them and what the environment already has."""

    def __init__(self, clone_from: Path | None = None, python: str = sys.executable) -> None:
        self.clone_from = clone_from
        self.python = python

    def install(self, release: Release, slot: Path) -> None:
        source = self.clone_from
        if source is not None and (source / "pyvenv.cfg").exists():

            def slot_own(directory: str, names: list[str]) -> set[str]:  # the slot's, not its environment's
                return SLOT_FILES & set(names) if Path(directory) == source else set()

            shutil.copytree(source, slot, symlinks=True, dirs_exist_ok=True, ignore=slot_own)
        else:
            subprocess.run([self.python, "-m", "venv", "--system-site-packages", str(slot)], check=True, timeout=300)
        pip = [str(slot / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-index"]
        if release.wheels:
            links = sorted({str(path.parent) for path in release.wheels})
            # the wheel's requirements from the wheelhouse; those the environment meets already are kept
            finds = [arg for link in links for arg in ("--find-links", link)]
            subprocess.run([*pip, *finds, str(release.wheel)], check=True, timeout=600)
        else:
            subprocess.run([*pip, "--no-deps", "--force-reinstall", str(release.wheel)], check=True, timeout=600)
        _copy_lockboard(release, slot)


def _copy_lockboard(release: Release, slot: Path) -> None:
    (slot / "lockboard").mkdir()
    for path in release.lockboard:
        shutil.copyfile(path, slot / "lockboard" / path.name)


def newer_release(data: bytes, running: str, wanted: str | None = None) -> Listed | None:
    """The files of the index's latest release (or of ``wanted``, the version a rollout
    names) when it is newer than ``running``; ValueError naming the field at fault. The index is signed, but
    parsed as the outside bytes it is."""
    try:
        current = Version(running)
    except InvalidVersion:
        raise ValueError(f"the running version {running!r} is not a version number: not updated") from None
    try:
        index = json.loads(data)
    except ValueError as exc:
        raise ValueError(f"{INDEX}: not JSON ({exc})") from None
    latest = index.get("latest") if isinstance(index, dict) else None
    if latest is None and wanted is None:
        return None
    if wanted is not None:
        latest = wanted
    try:
        newest = Version(latest) if isinstance(latest, str) else None
    except InvalidVersion:
        newest = None
    if newest is None:
        raise ValueError(f"{INDEX}: latest: {latest!r} is not a version number")
    if newest <= current:
        return None
    releases = index.get("releases") if isinstance(index, dict) else None
    entry = releases.get(latest) if isinstance(releases, dict) else None
    boards = entry.get("lockboard") if isinstance(entry, dict) else None
    if not (isinstance(entry, dict) and isinstance(entry.get("wheel"), str) and isinstance(boards, list)) or not all(
        isinstance(name, str) for name in boards
    ):
        raise ValueError(f"{INDEX}: releases.{latest}: expected {{wheel: name, lockboard: [names]}}")
    wheels = entry.get("wheels", [])  # releases published before wheelhouses have none
    if not isinstance(wheels, list) or not all(isinstance(name, str) for name in wheels):
        raise ValueError(f"{INDEX}: releases.{latest}.wheels: expected a list of names, got {wheels!r}")
    return Listed(str(latest), entry["wheel"], list(boards), list(wheels))


def refusal(exc: Exception) -> str:
    """What a TUF refusal means, for the technician and the cloud."""
    if isinstance(exc, tuf_errors.LengthOrHashMismatchError):
        return f"a downloaded file does not match its signed length and hash (tampered): {exc}"
    if isinstance(exc, tuf_errors.BadVersionNumberError):
        return f"metadata older than the cabinet has already seen, or from another snapshot (rollback): {exc}"
    if isinstance(exc, tuf_errors.ExpiredMetadataError):
        return f"metadata past its expiry (freeze): {exc}"
    if isinstance(exc, tuf_errors.UnsignedMetadataError):
        return f"metadata not signed by the trusted keys: {exc}"
    return f"{type(exc).__name__}: {exc}"


@dataclass
class Updater:
    source: UpdateSource
    slots: Slots  # read only: the installer writes them
    handoff: Requests  # a verified release to the installer (installer.Handoff)
    running_version: str
    may_download: Callable[[], bool]  # no journey under way, the door shut (read on the loop)
    session: aiohttp.ClientSession
    report: Report
    clock: Clock
    auto: bool = True  # a scheduled check installs the latest (False: only what a rollout names)
    idle_poll_s: float = 1.0
    # how long the installer may leave a hand-off untaken before the updater gives up on it, reports it and
    # checks again on its schedule (the path unit starts the installer within seconds when enabled)
    handoff_s: float = 900.0
    on_progress: ProgressSink | None = None  # told of each chunk too (the service menu redraws)
    progress: Progress | None = field(default=None, init=False)  # for the service menu
    last: Outcome | None = field(default=None, init=False)
    downloading: str | None = field(default=None, init=False)  # the release whose files are coming
    untaken: str | None = field(default=None, init=False)  # the release the installer last left waiting
    _poked: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _stop: asyncio.Event | None = field(default=None, init=False)
    _wanted: str | None = field(default=None, init=False)  # what the cloud asked for, until checked

    def note(self) -> str:
        """For the service menu's software row, after the running version: `` (1.1.0: 38%)`` while a release
        downloads (digits only: the same in every language), `` (kiosk-updater?)`` after the
        installer left it untaken, else nothing."""
        if self.downloading is not None and self.progress is not None:
            return f" ({self.downloading}: {self.progress.fraction:.0%})"
        if self.untaken is not None:  # until a later hand-off; the unit to look at, a name in every language
            return " (kiosk-updater?)"
        return ""

    def poke(self, version: str | None = None) -> None:
        """Check now and install ``version`` (a rollout's), or the latest (the cloud's ``update_check``)."""
        self._wanted = version or LATEST
        self._poked.set()

    async def run(self, stop: asyncio.Event, every_s: float) -> None:
        """Check at start, every ``every_s`` and when poked, until ``stop`` (which also ends a download)."""
        self._stop = stop
        stopping = asyncio.ensure_future(stop.wait())
        stopping.add_done_callback(lambda _: self._poked.set())
        try:
            while not stop.is_set():
                self._poked.clear()
                wanted, self._wanted = self._wanted, None
                # on schedule: the latest only when installing on its own is allowed, else just the metadata
                install = wanted if wanted is not None else (LATEST if self.auto else None)
                outcome = await self.check(install)
                if outcome.status == "switched" and await self._taken(outcome, stop):
                    return
                await self.clock.wait(self._poked, every_s)
        finally:
            stopping.cancel()

    async def _taken(self, handed: Outcome, stop: asyncio.Event) -> bool:
        """Wait for the installer to restart the cabinet (``stop``) for at most ``handoff_s``; True when it did,
        or took the request without restarting (it logs why). A request still untaken then is withdrawn, so that
        an installer started later (the path unit enabled at last) cannot restart the cabinet at a moment the
        cabinet did not choose (a shopper at it) for a release it has given up on; the failure is reported and
        the schedule (or the cloud's update_check) tries again."""
        if await self.clock.wait(stop, self.handoff_s):
            return True
        if not self.handoff.pending():
            log.warning("the installer took %s but has not restarted the cabinet: checking again", handed.version)
            return False
        self.handoff.withdraw()
        minutes = f"{self.handoff_s / 60:g} min"
        reason = f"the installer did not take the request within {minutes}: is kiosk-updater.path enabled?"
        self.report("update.failed", {"version": handed.version, "running": self.running_version, "reason": reason})
        self.untaken = handed.version
        self.last = Outcome("failed", f"{handed.version}: {reason}", handed.version)
        log.error("update %s: %s", handed.version, reason)
        return False

    async def check(self, install: str | None = LATEST) -> Outcome:
        """Refresh the metadata; install ``install`` (a version, or LATEST) when newer than the running one
        (None: only refresh, so that the trusted metadata keeps up with the repository)."""
        async with self._lock:
            self.last = await self._check(install)
            log.info("update check: %s", self.last.detail, extra={"status": self.last.status})
            return self.last

    async def _check(self, install: str | None) -> Outcome:
        if self.slots.trial() is not None:
            return Outcome("up to date", "a version is on trial: no update until it is committed or rolled back")
        fetcher = LoopFetcher(asyncio.get_running_loop(), self.session, self.may_download, self._show, self.idle_poll_s)
        try:
            release = await asyncio.to_thread(self._download, fetcher, install)
        except tuf_errors.DownloadError as exc:
            return Outcome("failed", f"update server not reachable: {exc}")
        except (tuf_errors.RepositoryError, ValueError) as exc:
            reason = refusal(exc)
            self.report("update.refused", {"version": None, "reason": reason})
            return Outcome("refused", reason)
        finally:
            self.progress, self.downloading = None, None
        if release is None and install is None:
            return Outcome("up to date", "metadata refreshed; an install waits for a rollout (update_check)")
        if release is None:
            return Outcome("up to date", f"{self.running_version} is the newest release asked for")
        self.untaken = None
        try:
            await asyncio.to_thread(self.handoff.install, release)
        except OSError as exc:
            reason = f"handing to the installer: {exc}"
            self.report(
                "update.failed", {"version": release.version, "running": self.running_version, "reason": reason}
            )
            return Outcome("failed", f"{release.version}: {reason}", release.version)
        # the installer checks the files again, installs, switches and restarts this process
        log.warning("update %s verified and handed to the installer", release.version)
        return Outcome(
            "switched", f"{release.version} handed to the installer; it restarts the cabinet", release.version
        )

    # --- on the worker thread --------------------------------------------------------------
    def _download(self, fetcher: LoopFetcher, install: str | None) -> Release | None:
        """Refresh the metadata and fetch the newest release's files, verified; None when nothing is newer."""
        metadata_dir = self.source.cache_dir / "metadata"
        targets_dir = self.source.cache_dir / "targets"
        metadata_dir.mkdir(parents=True, exist_ok=True)
        targets_dir.mkdir(parents=True, exist_ok=True)
        local_root = metadata_dir / "root.json"
        bootstrap = (local_root if local_root.exists() else self.source.trusted_root).read_bytes()
        tuf = TufUpdater(
            str(metadata_dir),
            f"{self.source.base_url}/metadata/",
            str(targets_dir),
            f"{self.source.base_url}/targets/",
            fetcher,
            bootstrap=bootstrap,
        )
        tuf.refresh()
        if install is None:
            return None
        index = self._fetch(tuf, fetcher, INDEX, targets_dir).read_bytes()
        newer = newer_release(index, self.running_version, None if install == LATEST else install)
        if newer is None:
            return None
        self.downloading = newer.version

        def fetch(name: str) -> Path:
            return self._fetch(tuf, fetcher, name, targets_dir)

        return Release(
            newer.version, fetch(newer.wheel), [fetch(n) for n in newer.lockboard], [fetch(n) for n in newer.wheels]
        )

    @staticmethod
    def _fetch(tuf: TufUpdater, fetcher: LoopFetcher, name: str, targets_dir: Path) -> Path:
        info = tuf.get_targetinfo(name)
        if info is None:
            raise ValueError(f"{INDEX}: names {name!r}, which the signed targets do not list")
        path = targets_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        cached = tuf.find_cached_target(info, str(path))
        if cached is not None:
            return Path(cached)
        fetcher.expect = (name.rpartition("/")[2], info.length)
        return Path(tuf.download_target(info, str(path)))

    def _show(self, progress: Progress) -> None:
        self.progress = progress
        if self.on_progress is not None:
            self.on_progress(progress)
