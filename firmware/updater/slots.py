"""Two installations side by side (A/B), the running one named by the ``current`` symlink, and the record of
an update on trial.

    /opt/kiosk/slot-a/   a virtual environment with one version
    /opt/kiosk/slot-b/   the other
    /opt/kiosk/current -> slot-a     what systemd runs (ExecStart=/opt/kiosk/current/bin/kiosk)
    /opt/kiosk/pending.json          an update switched to but not yet healthy: {version, slot, previous, boots}
    /opt/kiosk/failed.json           an update rolled back, for the old version to report

Every change is one atomic rename, so a power cut at any point leaves either the old version or the new one
whole: a slot counts as installed only once its stamp (``.kiosk-release``) is written, after its files;
``pending.json`` is written before the symlink is switched; ``current`` is switched with rename(2).

``boot()`` runs before every start of the service (ExecStartPre, as RAUC's and Mender's boot counters do in
the bootloader): a version on trial that has been started ``MAX_BOOTS`` times without passing its health
check is switched back. This file uses the standard library only, so the unit can run it with the system's
Python even when the new slot cannot start at all: ``python3 slots.py /opt/kiosk``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

SLOTS = ("slot-a", "slot-b")
STAMP = ".kiosk-release"
MAX_BOOTS = 3  # starts allowed to a version on trial before the boot check switches back


@dataclass(frozen=True)
class Trial:
    """An update switched to and not yet committed."""

    version: str
    slot: str
    previous: str  # the slot to go back to
    previous_version: str
    boots: int = 0


@dataclass(frozen=True)
class Failure:
    """An update rolled back: what the old version reports to the cloud at its next start."""

    version: str
    running: str  # the version running again
    reason: str


R = TypeVar("R", Trial, Failure)


class Slots:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.current_link = root / "current"
        self.pending_file = root / "pending.json"
        self.failed_file = root / "failed.json"

    # --- what is where ---------------------------------------------------------------------
    def current(self) -> str:
        """The slot ``current`` points at (``slot-a`` when there is no link yet: a fresh install)."""
        try:
            return os.readlink(self.current_link)
        except FileNotFoundError:
            return SLOTS[0]

    def other(self) -> str:
        return SLOTS[1] if self.current() == SLOTS[0] else SLOTS[0]

    def path(self, slot: str) -> Path:
        return self.root / slot

    def version(self, slot: str) -> str | None:
        """The version installed whole in ``slot``; None when it is empty or was cut short."""
        try:
            return str(json.loads((self.path(slot) / STAMP).read_text())["version"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def trial(self) -> Trial | None:
        return _read(self.pending_file, Trial)

    def failure(self) -> Failure | None:
        return _read(self.failed_file, Failure)

    # --- installing ------------------------------------------------------------------------
    def clear(self, slot: str) -> Path:
        """Empty ``slot`` for a new install: the stamp goes first, so a cut-short removal is never taken for
        an installed version."""
        if slot == self.current():
            raise ValueError(f"{slot}: is the running slot; an update installs into the other one")
        path = self.path(slot)
        (path / STAMP).unlink(missing_ok=True)
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def stamp(self, slot: str, version: str) -> None:
        """Mark ``slot`` as holding ``version`` whole: the last step of an install."""
        write_durably(self.path(slot) / STAMP, json.dumps({"version": version}))

    def switch_to(self, slot: str, version: str) -> Trial:
        """Put ``slot`` on trial: the record first, then the symlink. Returns the trial."""
        if self.version(slot) != version:
            raise ValueError(f"{slot}: does not hold {version} whole (its stamp says {self.version(slot)})")
        running = self.current()
        trial = Trial(version, slot, running, self.version(running) or "unknown")
        write_durably(self.pending_file, json.dumps(asdict(trial)))
        self._point_at(slot)
        return trial

    def commit(self) -> Trial | None:
        """The version on trial passed its health check: it stays. Returns the trial committed."""
        trial = self.trial()
        if trial is not None and trial.slot == self.current():
            _remove_durably(self.pending_file)
            return trial
        return None

    def roll_back(self, reason: str) -> Failure | None:
        """Go back to the slot the trial came from: the failure is recorded, then the link, then the trial
        dropped (a power cut in between repeats a step, never loses the way back)."""
        trial = self.trial()
        if trial is None:
            return None
        failure = Failure(trial.version, trial.previous_version, reason)
        write_durably(self.failed_file, json.dumps(asdict(failure)))
        self._point_at(trial.previous)
        _remove_durably(self.pending_file)
        return failure

    def record_failure(self, failure: Failure) -> None:
        """An update that never got as far as the switch (refused or failed by the installer), for the running
        version to report."""
        write_durably(self.failed_file, json.dumps(asdict(failure)))

    # --- the boot check --------------------------------------------------------------------
    def boot(self, max_boots: int = MAX_BOOTS) -> str:
        """Before each start: count the trial's boots and switch back once it has had ``max_boots``.
        Returns what it did, for the journal."""
        trial = self.trial()
        if trial is None:
            return f"running {self.current()}"
        if trial.slot != self.current():  # cut between writing the trial and switching: never switched
            _remove_durably(self.pending_file)
            return f"update to {trial.version} was cut short before the switch; running {self.current()}"
        if trial.boots >= max_boots:
            self.roll_back(f"did not pass its health check in {trial.boots} starts")
            return f"update to {trial.version} rolled back to {trial.previous} after {trial.boots} starts"
        counted = Trial(trial.version, trial.slot, trial.previous, trial.previous_version, trial.boots + 1)
        write_durably(self.pending_file, json.dumps(asdict(counted)))
        return f"{trial.version} on trial in {trial.slot}: start {counted.boots} of {max_boots}"

    def _point_at(self, slot: str) -> None:
        tmp = self.root / "current.tmp"
        tmp.unlink(missing_ok=True)
        os.symlink(slot, tmp)
        os.replace(tmp, self.current_link)
        _sync_dir(self.root)


def _read(path: Path, kind: type[R]) -> R | None:
    try:
        return kind(**json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as exc:
        # Half a record cannot be written (rename), so this is damage: say which file, act as if none.
        print(f"{path}: unreadable ({exc}); ignored", file=sys.stderr)
        return None


def write_durably(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    _sync_dir(path.parent)


def _remove_durably(path: Path) -> None:
    path.unlink(missing_ok=True)
    _sync_dir(path.parent)


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


if __name__ == "__main__":  # ExecStartPre: the boot check with the system's Python
    print(Slots(Path(sys.argv[1] if len(sys.argv) > 1 else "/opt/kiosk")).boot())
