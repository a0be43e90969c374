"""What a real cabinet lacks before it can start selling, and its hardware id.

`kiosk run` asks this before it opens any device: a cabinet without its key, not enrolled with the cloud,
or with a configuration a real cabinet cannot run on, shows the technician-needed screen
(firmware/runtime.py: run_technician_needed) instead of exiting, so systemd does not restart it every few
seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from firmware.config import (
    PLACEHOLDER_MARKER,
    Config,
    ConfigError,
    ConfigProblem,
    load_config,
    production_problem_details,
)
from kiosk_ui.i18n import setup_detail
from kiosk_ui.view import SetupDetail, SetupNeed
from sync_client.keyfile import KeyFileError, load_key

# The Pi's board serial number (device tree; /proc/cpuinfo on older kernels), else the OS's machine id.
SERIAL_FILES = (Path("/sys/firmware/devicetree/base/serial-number"), Path("/proc/device-tree/serial-number"))
CPUINFO = Path("/proc/cpuinfo")
MACHINE_ID = Path("/etc/machine-id")


@dataclass(frozen=True)
class Need:
    need: SetupNeed
    problem: ConfigProblem  # the first (a path, the configuration's problem)
    more: int = 0  # further problems, listed by kiosk config check

    @property
    def detail(self) -> str:
        """As the technician's tools say it, in English (the journal, systemctl status)."""
        return setup_detail(self.view(), "en")

    def view(self) -> SetupDetail:
        """For the technician-needed screen, which says it in its language."""
        p = self.problem
        return SetupDetail(p.text, p.where, p.key, p.what, p.params, self.more)


@dataclass(frozen=True)
class SetupCheck:
    config: Config  # the one read, or the defaults (screen size) when it could not be read
    needs: tuple[Need, ...]

    def summary(self) -> str:
        """One line for the journal and systemctl status: ``technician needed: no key; not enrolled``."""
        words = {"key": "no cabinet key", "enrolment": "not enrolled with the cloud", "config": "configuration"}
        return "technician needed: " + "; ".join(f"{words[n.need]} ({n.detail})" for n in self.needs)


def check_setup(path: Path, cloud_override: str | None = None) -> SetupCheck:
    """Read the configuration at ``path`` and say what stops a real cabinet from starting on it."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        return SetupCheck(Config(), (_first(exc.details),))
    where = str(path)
    needs = []
    key_file = config.cabinet.key_file
    if not key_file:
        needs.append(Need("key", ConfigProblem.of(where, "cabinet.key_file", "unset")))
    elif not Path(key_file).exists():
        needs.append(Need("key", ConfigProblem.of("", "", "key_absent", file=key_file)))
    else:
        try:
            load_key(key_file)
        except (KeyFileError, OSError) as exc:
            needs.append(Need("key", ConfigProblem.of("", "", "key_unusable", error=exc)))
    cloud = cloud_override or config.sync.cloud_url
    if not cloud:
        needs.append(Need("enrolment", ConfigProblem.of(where, "sync.cloud_url", "unset")))
    elif PLACEHOLDER_MARKER in cloud.upper():
        needs.append(Need("enrolment", ConfigProblem.of(where, "sync.cloud_url", "cloud_placeholder", cloud=cloud)))
    said = {"key": "cabinet.key_file", "enrolment": "sync.cloud_url"}
    covered = {said[n.need] for n in needs}  # said above, in the technician's words
    rest = [p for p in production_problem_details(config, where) if p.key not in covered]
    if rest:
        needs.append(_first(rest))
    return SetupCheck(config, tuple(needs))


def _first(problems: list[ConfigProblem]) -> Need:
    return Need("config", problems[0], more=len(problems) - 1)


def hardware_id(
    serial_files: tuple[Path, ...] = SERIAL_FILES, cpuinfo: Path = CPUINFO, machine_id: Path = MACHINE_ID
) -> str:
    """The id this machine is known by before it has a cabinet id: ``RPI-<board serial>`` on a Raspberry Pi,
    ``MID-<machine id>`` elsewhere, ``unknown`` when neither can be read."""
    for path in serial_files:
        try:
            serial = path.read_bytes().strip(b"\0\n ").decode("ascii")
        except (OSError, UnicodeDecodeError):
            continue
        if serial:
            return f"RPI-{serial}"
    try:
        match = re.search(r"^Serial\s*:\s*([0-9a-fA-F]+)$", cpuinfo.read_text(), re.MULTILINE)
    except OSError:
        match = None
    if match and match.group(1).strip("0"):
        return f"RPI-{match.group(1)}"
    try:
        machine = machine_id.read_text().strip()
    except OSError:
        machine = ""
    return f"MID-{machine}" if machine else "unknown"
