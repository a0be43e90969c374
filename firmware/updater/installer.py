"""The privileged half of an update: the only code that writes the slots.

The cabinet's process (the service user ``kiosk``) downloads and verifies a release through TUF into its own
staging directory (``DATA_DIR/update``) and writes a request there (``request.json``); it cannot write
``/opt/kiosk``. This installer runs as root (``kiosk-updater.service``, started by ``kiosk-updater.path`` when
the request appears), and trusts nothing the cabinet's process wrote: it refreshes its own TUF metadata (kept
in its own state directory, from the root provisioned at install time), copies each staged file the signed
index names into a directory of its own, checks the copy's length and SHA-256 against the signed targets, and
only then installs into the other slot, switches ``current`` and restarts the cabinet. A compromised cabinet
process can at worst ask for a signed, newer release, commit the version on trial, or roll it back.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, cast

from tuf.api import exceptions as tuf_errors
from tuf.api.metadata import TargetFile  # type: ignore[attr-defined]
from tuf.ngclient import FetcherInterface  # type: ignore[attr-defined]
from tuf.ngclient import Updater as TufUpdater  # type: ignore[attr-defined]

from firmware.updater.service import INDEX, Release, SlotInstaller, VenvInstaller, newer_release, refusal
from firmware.updater.slots import SLOTS, Failure, Slots, write_durably

REQUEST = "request.json"
MAX_REQUEST = 4096  # bytes: a request is a few fields
Action = Literal["install", "commit", "rollback"]
ACTIONS: tuple[Action, ...] = ("install", "commit", "rollback")


@dataclass(frozen=True)
class Request:
    """What the cabinet's process asks of the installer."""

    action: Action
    version: str
    reason: str = ""  # a rollback's


class InstallRefused(Exception):
    """A request the installer will not carry out, naming why."""


def parse_request(data: bytes) -> Request:
    """A request from its outside bytes; InstallRefused naming the field at fault."""
    if len(data) > MAX_REQUEST:
        raise InstallRefused(f"{REQUEST}: larger than {MAX_REQUEST} bytes")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InstallRefused(f"{REQUEST}: not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise InstallRefused(f"{REQUEST}: expected an object")
    action, version, reason = doc.get("action"), doc.get("version"), doc.get("reason", "")
    if action not in ACTIONS:
        raise InstallRefused(f"{REQUEST}: action: {action!r} is not one of {', '.join(ACTIONS)}")
    if not isinstance(version, str) or not version:
        raise InstallRefused(f"{REQUEST}: version: expected a version number, got {version!r}")
    if not isinstance(reason, str):
        raise InstallRefused(f"{REQUEST}: reason: expected text, got {reason!r}")
    return Request(cast(Action, action), version, reason)


@dataclass(frozen=True)
class Handoff:
    """The cabinet's side: requests written into its staging directory, for the installer."""

    staging: Path  # DATA_DIR/update

    def request(self, request: Request) -> None:
        self.staging.mkdir(parents=True, exist_ok=True)
        write_durably(self.staging / REQUEST, json.dumps(asdict(request)))

    def pending(self) -> bool:
        return (self.staging / REQUEST).exists()

    def withdraw(self) -> None:
        """Take back a request the installer has not taken (the cabinet gave up waiting)."""
        (self.staging / REQUEST).unlink(missing_ok=True)

    def install(self, release: Release) -> None:
        self.request(Request("install", release.version))

    def commit(self, version: str) -> None:
        self.request(Request("commit", version))

    def roll_back(self, version: str, reason: str) -> None:
        self.request(Request("rollback", version, reason))


@dataclass
class Installer:
    slots: Slots
    staging: Path  # the cabinet's DATA_DIR/update: request.json and targets/ (read, never trusted)
    state: Path  # the installer's own (root's): its TUF metadata and the verified copies
    url: str  # the release repository
    trusted_root: Path  # /etc/kiosk/update-root.json
    slot_installer: SlotInstaller
    restart: Callable[[], None]  # restart the cabinet's service
    fetcher: FetcherInterface | None = None
    owner: int = field(default_factory=os.geteuid)  # who alone may write the slots: the installer's user

    def handle(self) -> str:
        """Carry out the request waiting in the staging directory, if any; returns what was done. A request
        is removed whatever its outcome, so that a bad one is not retried for ever; a refused or failed install
        is recorded as a failure for the cabinet to report, and the cabinet restarted to report it."""
        path = self.staging / REQUEST
        try:
            data = _read_bounded(path, MAX_REQUEST)
        except FileNotFoundError:
            return "no request"
        try:
            request = parse_request(data)
            layout_check(self.slots, self.owner)
        except InstallRefused as exc:
            path.unlink(missing_ok=True)
            return f"refused: {exc}"
        try:
            done = self._carry_out(request)
        except (InstallRefused, tuf_errors.RepositoryError, tuf_errors.DownloadError, ValueError) as exc:
            reason = f"refused by the installer: {refusal(exc) if isinstance(exc, tuf_errors.RepositoryError) else exc}"
            done = self._failed(request, reason)
        except (OSError, subprocess.SubprocessError) as exc:
            done = self._failed(request, f"install: {exc}")
        path.unlink(missing_ok=True)
        return done

    def _carry_out(self, request: Request) -> str:
        if request.action == "commit":
            trial = self.slots.commit()
            return f"{trial.version} committed" if trial else "nothing on trial to commit"
        if request.action == "rollback":
            failure = self.slots.roll_back(request.reason or "rolled back by the cabinet's health check")
            if failure is None:
                return "nothing on trial to roll back"
            self.restart()
            return f"{failure.version} rolled back to {failure.running}"
        if self.slots.trial() is not None:
            raise InstallRefused("a version is on trial: no install until it is committed or rolled back")
        release = self._verified_release(request.version)
        if not (self.staging / REQUEST).exists():  # the cabinet gave up waiting while this verified, and said so
            return f"{release.version}: withdrawn by the cabinet; nothing installed"
        slot = self.slots.other()
        path = self.slots.clear(slot)
        self.slot_installer.install(release, path)
        self.slots.stamp(slot, release.version)
        self.slots.switch_to(slot, release.version)
        self.restart()
        return f"{release.version} installed in {slot}; restarting"

    def _failed(self, request: Request, reason: str) -> str:
        if request.action != "install":
            return reason
        running = self.slots.version(self.slots.current()) or "unknown"
        self.slots.record_failure(Failure(request.version, running, reason))
        self.restart()
        return reason

    def _verified_release(self, version: str) -> Release:
        """The release ``version`` from the staged files, each copied into the installer's own directory and
        checked against the targets metadata this installer verified itself."""
        metadata_dir, copies = self.state / "metadata", self.state / "verified"
        metadata_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(copies, ignore_errors=True)
        copies.mkdir(parents=True)
        local_root = metadata_dir / "root.json"
        tuf = TufUpdater(
            str(metadata_dir),
            f"{self.url}/metadata/",
            str(copies),
            f"{self.url}/targets/",
            self.fetcher,
            bootstrap=(local_root if local_root.exists() else self.trusted_root).read_bytes(),
        )
        tuf.refresh()
        running = self.slots.version(self.slots.current())
        if running is None:
            raise InstallRefused(f"{self.slots.path(self.slots.current())}: no release stamp; not updated")
        newer = newer_release(self._copy(tuf, INDEX, copies).read_bytes(), running, version)
        if newer is None:
            raise InstallRefused(f"{version} is not newer than the running {running}")

        def copy(name: str) -> Path:
            return self._copy(tuf, name, copies)

        return Release(version, copy(newer.wheel), [copy(n) for n in newer.lockboard], [copy(n) for n in newer.wheels])

    def _copy(self, tuf: TufUpdater, name: str, copies: Path) -> Path:
        info: TargetFile | None = tuf.get_targetinfo(name)
        if info is None:
            raise InstallRefused(f"{INDEX}: names {name!r}, which the signed targets do not list")
        try:
            data = _read_bounded(self.staging / "targets" / name, info.length)
        except FileNotFoundError:
            raise InstallRefused(f"{name}: not staged") from None
        try:
            info.verify_length_and_hashes(data)
        except tuf_errors.LengthOrHashMismatchError:
            raise InstallRefused(f"{name}: the staged file does not match its signed length and hash") from None
        # the copy is what gets installed: the staged file may change after this check, the copy cannot
        copy = copies / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(data)
        return copy


def layout_check(slots: Slots, owner: int) -> None:
    """The slots, their directory and the link must be writable by ``owner`` alone: were the service user able
    to write them, it could change the program after this installer verified it."""
    paths = [slots.root, slots.current_link, *(slots.path(slot) for slot in SLOTS)]
    for path in paths:
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if info.st_uid != owner or (not stat.S_ISLNK(info.st_mode) and info.st_mode & 0o022):
            raise InstallRefused(
                f"{path}: owned by uid {info.st_uid}, mode {stat.filemode(info.st_mode)}: the slots must be writable "
                f"by uid {owner} alone (install.sh sets this up)"
            )


def _read_bounded(path: Path, limit: int) -> bytes:
    """At most ``limit + 1`` bytes (one more shows a file too long), never through a symlink: the directory
    is the service user's, who could point a name at any file or at an endless device."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InstallRefused(f"{path}: not a regular file")
        return file.read(limit + 1)


def restart(command: str) -> None:
    subprocess.run(shlex.split(command), check=True, timeout=60)


def parser() -> argparse.ArgumentParser:
    args = argparse.ArgumentParser(description="Install the update the cabinet's program asked for (as root).")
    args.add_argument("--config", type=Path, default=Path("/etc/kiosk/kiosk.toml"))
    args.add_argument("--data-dir", type=Path, default=Path("/var/lib/kiosk"))
    args.add_argument("--state-dir", type=Path, default=Path("/var/lib/kiosk-updater"))
    args.add_argument(
        "--restart", default="systemctl restart --no-block kiosk.service", help="command run after a switch"
    )
    return args


def main(argv: list[str] | None = None) -> int:
    """``kiosk-updater.service``: carry out the waiting request (as root)."""
    from firmware.config import load_config

    opts = parser().parse_args(argv)
    config = load_config(opts.config)
    section = config.updates
    if not section.root:
        print(f"{opts.config}: [updates] root is not set: signed updates are off", file=sys.stderr)
        return 1
    slots = Slots(Path(section.slots))
    installer = Installer(
        slots,
        opts.data_dir / "update",
        opts.state_dir,
        section.url or f"{config.sync.cloud_url.rstrip('/')}/updates",
        Path(section.root),
        VenvInstaller(clone_from=slots.path(slots.current())),
        lambda: restart(opts.restart),
    )
    print(installer.handle())
    return 0


if __name__ == "__main__":
    sys.exit(main())
