"""`kiosk doctor`: check what stops a cabinet from running, and say what to do.

Each check prints ok, warn or FAIL with the next step. Access checks are made
for the service user (kiosk), not for whoever runs the command, because that
is who opens the devices when systemd starts the cabinet.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TextIO

from firmware.config import (
    Config,
    ConfigError,
    StorageSection,
    load_config,
    production_problems,
    production_warnings,
)
from firmware.technician.status import serial_ports
from firmware.technician.term import ProgressBar, paint, use_colour
from firmware.updater.installer import REQUEST
from sync_client.store.readonly import open_readonly

SERVICE_USER = "kiosk"
SERVICE_GROUPS = ("gpio", "dialout", "video", "input", "render")  # as hardware/rpi/install.sh makes them
DISK_WARN = 1 << 30  # 1 GiB
DISK_FAIL = 100 << 20  # below this SQLite may fail to commit a sale
MIN_YEAR = 2024  # a Pi without an RTC boots into the past until NTP answers

Level = Literal["ok", "warn", "FAIL"]


@dataclass
class Finding:
    check: str
    level: Level
    detail: str
    fix: str = ""  # the next step when not ok


@dataclass
class ServiceUser:
    name: str
    uid: int
    gids: set[int]
    groups: set[str]

    @classmethod
    def lookup(cls, name: str) -> ServiceUser | None:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            return None
        gids = set(os.getgrouplist(name, entry.pw_gid))
        names = set()
        for gid in gids:
            try:
                names.add(grp.getgrgid(gid).gr_name)
            except KeyError:
                pass
        return cls(name, entry.pw_uid, gids, names)

    def can(self, path: Path, write: bool = True) -> bool:
        """Whether this user may open ``path`` for reading (and writing), by its mode bits."""
        if self.uid == 0:
            return True
        st = path.stat()
        if st.st_uid == self.uid:
            bits = st.st_mode >> 6
        elif st.st_gid in self.gids:
            bits = st.st_mode >> 3
        else:
            bits = st.st_mode
        need = 0o4 | (0o2 if write else 0)
        return bits & need == need


@dataclass
class DoctorContext:
    config_path: Path
    data_dir: Path
    user: str = SERVICE_USER
    groups: tuple[str, ...] = SERVICE_GROUPS
    dev: Path = Path("/dev")  # where display and GPIO nodes are looked for
    config: Config | None = field(default=None, init=False)
    account: ServiceUser | None = field(default=None, init=False)


def _describe_owner(path: Path) -> str:
    st = path.stat()
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = str(st.st_uid)
    return f"owner {owner}, mode {stat.S_IMODE(st.st_mode):04o}"


# --- the checks ------------------------------------------------------------------
def check_user(ctx: DoctorContext) -> list[Finding]:
    ctx.account = ServiceUser.lookup(ctx.user)
    if ctx.account is None:
        return [
            Finding(
                "service user",
                "FAIL",
                f"no user {ctx.user!r}",
                "run hardware/rpi/install.sh (it creates the user and its groups)",
            )
        ]
    missing = [g for g in ctx.groups if g not in ctx.account.groups]
    if missing:
        return [
            Finding(
                "service user",
                "FAIL",
                f"{ctx.user} is not in {', '.join(missing)}",
                f"sudo usermod -aG {','.join(missing)} {ctx.user}, then restart the service",
            )
        ]
    return [Finding("service user", "ok", f"{ctx.user} is in {', '.join(ctx.groups)}")]


def check_config(ctx: DoctorContext) -> list[Finding]:
    try:
        ctx.config = load_config(ctx.config_path)
    except ConfigError as exc:
        return [
            Finding(
                "configuration",
                "FAIL",
                "; ".join(exc.problems[:3]) + (f" (and {len(exc.problems) - 3} more)" if len(exc.problems) > 3 else ""),
                f"kiosk config check {ctx.config_path} lists every problem",
            )
        ]
    problems = production_problems(ctx.config, str(ctx.config_path))
    if problems:
        return [Finding("configuration", "FAIL", "; ".join(problems), f"edit {ctx.config_path}")]
    warnings = production_warnings(ctx.config, str(ctx.config_path))
    if warnings:
        return [Finding("configuration", "warn", "; ".join(warnings), f"edit {ctx.config_path}")]
    return [Finding("configuration", "ok", f"{ctx.config_path}: cabinet {ctx.config.cabinet.id}")]


def check_data_dir(ctx: DoctorContext) -> list[Finding]:
    path = ctx.data_dir
    fix_all = f"sudo install -d -o {ctx.user} -g {ctx.user} -m 0700 {path}"
    if not path.is_dir():
        return [Finding("data dir", "FAIL", f"{path} does not exist", fix_all)]
    st = path.stat()
    if ctx.account is not None and st.st_uid != ctx.account.uid:
        return [
            Finding(
                "data dir",
                "FAIL",
                f"{path}: {_describe_owner(path)}, not owned by {ctx.user}",
                f"sudo chown -R {ctx.user}: {path}",
            )
        ]
    if stat.S_IMODE(st.st_mode) & 0o077:
        return [
            Finding(
                "data dir",
                "FAIL",
                f"{path}: {_describe_owner(path)}; others can read sales and keys",
                f"sudo chmod 700 {path}",
            )
        ]
    return [Finding("data dir", "ok", f"{path}: {_describe_owner(path)}")]


def check_key_file(ctx: DoctorContext) -> list[Finding]:
    if ctx.config is None:  # the configuration's own line says why
        return [Finding("key file", "warn", "unknown without a configuration", "fix the configuration first")]
    if not ctx.config.cabinet.key_file:
        return [
            Finding(
                "key file",
                "warn",
                "no cabinet.key_file configured: nothing to check",
                "set cabinet.key_file and provision the key",
            )
        ]
    path = Path(ctx.config.cabinet.key_file)
    if not path.exists():
        return [Finding("key file", "FAIL", f"{path} does not exist", "provision the cabinet's key into it")]
    st = path.stat()
    if ctx.account is not None and st.st_uid != ctx.account.uid:
        return [
            Finding(
                "key file",
                "FAIL",
                f"{path}: {_describe_owner(path)}, not owned by {ctx.user}",
                f"sudo chown {ctx.user}: {path}",
            )
        ]
    if stat.S_IMODE(st.st_mode) & 0o077:
        return [
            Finding(
                "key file", "FAIL", f"{path}: {_describe_owner(path)}; the key must be 0600", f"sudo chmod 600 {path}"
            )
        ]
    from sync_client.keyfile import (
        parse_key,  # the same check the runtime makes at start
    )

    try:
        parse_key(path.read_text(), path)
    except PermissionError:
        return [
            Finding(
                "key file",
                "warn",
                f"{path}: {_describe_owner(path)}; cannot read it to check the key",
                "run kiosk doctor with sudo",
            )
        ]
    except (ValueError, UnicodeDecodeError) as exc:
        return [Finding("key file", "FAIL", str(exc), "provision the cabinet's key again")]
    return [Finding("key file", "ok", f"{path}: {_describe_owner(path)}")]


def check_serial_ports(ctx: DoctorContext) -> list[Finding]:
    if ctx.config is None:
        return []
    findings = []
    for name, port in serial_ports(ctx.config):
        path = Path(port)
        label = f"serial {name}"
        if not path.exists():
            findings.append(
                Finding(
                    label,
                    "FAIL",
                    f"{port} is not there",
                    "plug the device in; ls -l /dev/kiosk-*; fill its serial number into "
                    "/etc/udev/rules.d/99-kiosk.rules (udevadm info --attribute-walk)",
                )
            )
        elif not stat.S_ISCHR(path.stat().st_mode):
            findings.append(
                Finding(label, "FAIL", f"{port} is not a serial device", f"point {name}.port at the device's /dev node")
            )
        elif ctx.account is not None and not ctx.account.can(path):
            findings.append(
                Finding(
                    label,
                    "FAIL",
                    f"{port} ({path.resolve()}): {_describe_owner(path)}; {ctx.user} cannot open it",
                    f'the udev rule must set GROUP="dialout", MODE="0660"; sudo usermod -aG dialout {ctx.user}',
                )
            )
        else:
            findings.append(Finding(label, "ok", f"{port} -> {path.resolve()}"))
    return findings


def _device_check(ctx: DoctorContext, label: str, pattern: str, level: Level, missing: str, fix: str) -> Finding:
    nodes = sorted(ctx.dev.glob(pattern))
    if not nodes:
        return Finding(label, level, missing, fix)
    blocked = [n for n in nodes if ctx.account is not None and not ctx.account.can(n)]
    if blocked:
        return Finding(
            label,
            "FAIL",
            f"{ctx.user} cannot open {', '.join(map(str, blocked))}",
            f"check the groups of {ctx.user} (video, render, input, gpio)",
        )
    return Finding(label, "ok", ", ".join(str(n) for n in nodes))


def check_devices(ctx: DoctorContext) -> list[Finding]:
    findings = [
        _device_check(
            ctx,
            "display",
            "dri/card*",
            "FAIL",
            "no KMS/DRM display device (/dev/dri/card*)",
            "check the screen's cable; config.txt needs dtoverlay=vc4-kms-v3d",
        ),
        _device_check(
            ctx,
            "touch input",
            "input/event*",
            "warn",
            "no input devices (/dev/input/event*)",
            "check the touchscreen's USB or DSI cable",
        ),
    ]
    if ctx.config is None or ctx.config.lock.pin_factory != "mock":
        findings.append(
            _device_check(
                ctx,
                "GPIO",
                "gpiochip*",
                "FAIL",
                "no GPIO chip (/dev/gpiochip*)",
                "this does not look like a Raspberry Pi",
            )
        )
    return findings


def check_disk(ctx: DoctorContext) -> list[Finding]:
    path = ctx.data_dir
    while not path.exists() and path != path.parent:
        path = path.parent
    free = shutil.disk_usage(path).free
    text = f"{free / 2**30:.1f} GiB free on {path}"
    if free < DISK_FAIL:
        return [
            Finding(
                "disk space",
                "FAIL",
                text,
                f"free space now: sudo journalctl --vacuum-size=100M; old snapshots in {ctx.data_dir}/snapshots",
            )
        ]
    if free < DISK_WARN:
        return [Finding("disk space", "warn", text, "less than 1 GiB: plan a larger SD card or clean up")]
    return [Finding("disk space", "ok", text)]


def check_store(ctx: DoctorContext) -> list[Finding]:
    """Can the cabinet record a sale: the store is there, is the one it had, can be written, has its reserve."""
    from firmware.storage import DB_NAME
    from sync_client.store_marker import (
        MarkerError,
        StoreIdentity,
        marker_path,
        mismatch,
        read_identity,
        read_marker,
    )

    db = ctx.data_dir / DB_NAME
    marker_file = marker_path(db)
    accept = f"find out what happened to it, then: kiosk store accept-new --data-dir {ctx.data_dir}"
    findings = []
    try:
        marker = read_marker(marker_file)
        found = StoreIdentity(None, 0)
        if db.exists():
            conn = open_readonly(db)
            try:
                found = read_identity(conn)
            finally:
                conn.close()
        fault = mismatch(marker, found, db)
    except MarkerError as exc:
        fault = str(exc)
    except OSError as exc:  # not readable, not a SQLite file, damaged: named by open_readonly
        return [Finding("store", "FAIL", str(exc), f"move {db} aside for support; the cabinet starts a new store")]
    if fault:
        findings.append(Finding("store", "FAIL", f"not selling: {fault}", accept))
    if not db.exists():
        return findings or [Finding("store", "ok", f"{db}: no store yet (made at the first start)")]
    reserve = (ctx.config.storage if ctx.config else StorageSection()).reserve_mb
    free_mb = shutil.disk_usage(db.parent).free / 2**20
    if os.statvfs(db.parent).f_flag & os.ST_RDONLY:
        findings.append(
            Finding(
                "store",
                "FAIL",
                f"{db}: the filesystem is mounted read-only: no sale can be recorded",
                "check the SD card (dmesg), then remount read-write or replace it",
            )
        )
    elif ctx.account is not None and not (ctx.account.can(db) and ctx.account.can(db.parent)):
        findings.append(
            Finding(
                "store",
                "FAIL",
                f"{db}: {_describe_owner(db)}; {ctx.user} cannot write it: no sale can be recorded",
                f"sudo chown -R {ctx.user}: {db.parent}",
            )
        )
    elif free_mb < reserve:
        findings.append(
            Finding(
                "store",
                "FAIL",
                f"{db}: {free_mb:.0f} MB free, below the reserve of {reserve:g} MB "
                "(storage.reserve_mb): payment is not offered",
                f"free space now: sudo journalctl --vacuum-size=100M; old snapshots in {ctx.data_dir}/snapshots",
            )
        )
    return findings or [Finding("store", "ok", f"{db}: writable, {free_mb:.0f} MB free (reserve {reserve:g} MB)")]


def _ntp_synchronised() -> bool | None:
    if not shutil.which("timedatectl"):
        return None
    try:
        out = subprocess.run(
            ["timedatectl", "show", "--property=NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            check=False,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = out.stdout.strip()
    return {"yes": True, "no": False}.get(value) if out.returncode == 0 else None


def check_clock(
    ctx: DoctorContext, now: float | None = None, synchronised: Callable[[], bool | None] | None = None
) -> list[Finding]:
    now = time.time() if now is None else now
    synchronised = synchronised or _ntp_synchronised
    year = time.gmtime(now).tm_year
    if year < MIN_YEAR:
        return [
            Finding(
                "clock",
                "FAIL",
                f"the clock says {time.strftime('%Y-%m-%d', time.gmtime(now))}",
                "connect the network so NTP can set it, or: sudo timedatectl set-time 'YYYY-MM-DD HH:MM'",
            )
        ]
    synced = synchronised()
    if synced is None:
        return [
            Finding(
                "clock",
                "warn",
                f"{year}; cannot tell whether NTP has synchronised it (no timedatectl)",
                "check the time by hand: date -u",
            )
        ]
    if not synced:
        return [
            Finding(
                "clock",
                "warn",
                "not synchronised with NTP: event times may drift",
                "check the network, then: systemctl status systemd-timesyncd",
            )
        ]
    return [Finding("clock", "ok", "synchronised with NTP")]


def _systemctl(verb: str, unit: str) -> str:
    """systemctl's one-word answer about ``unit``, or what it said instead (e.g. no systemd running)."""
    try:
        result = subprocess.run(["systemctl", verb, unit], capture_output=True, text=True, check=False, timeout=5)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    said = result.stderr.strip().splitlines()
    return result.stdout.strip() or f"unknown ({said[0] if said else 'no answer'})"


def _systemd_running() -> bool:
    """Whether this machine runs systemd (sd_booted's test): a container may have systemctl without it."""
    return shutil.which("systemctl") is not None and Path("/run/systemd/system").is_dir()


def check_service(ctx: DoctorContext) -> list[Finding]:
    if not shutil.which("systemctl"):
        return [Finding("service", "warn", "no systemctl here", "run the cabinet under systemd on the Pi")]
    enabled, active = _systemctl("is-enabled", "kiosk.service"), _systemctl("is-active", "kiosk.service")
    if enabled != "enabled":
        return [
            Finding(
                "service",
                "warn",
                f"kiosk.service is {enabled}",
                "run hardware/rpi/install.sh, or: sudo systemctl enable kiosk.service",
            )
        ]
    if active != "active":
        return [
            Finding(
                "service",
                "warn",
                f"kiosk.service is {active}",
                "sudo systemctl start kiosk.service; then journalctl -u kiosk -e",
            )
        ]
    return [Finding("service", "ok", "kiosk.service is enabled and active")]


def check_updates(ctx: DoctorContext, now: float | None = None) -> list[Finding]:
    """Signed updates need the root installer, which kiosk-updater.path starts when the cabinet writes its
    request: a disabled path unit, or a request waiting longer than the updater waits, means no update ever
    installs (the updater withdraws the request and reports it; this says where to look)."""
    section = ctx.config.updates if ctx.config is not None else None
    if section is None or not section.root:
        return [Finding("updates", "ok", "signed updates off (no [updates] root)")]
    findings: list[Finding] = []
    request = ctx.data_dir / "update" / REQUEST
    try:
        waited = (time.time() if now is None else now) - request.stat().st_mtime
    except FileNotFoundError:
        waited = None
    if waited is not None and waited > section.handoff_s:
        findings.append(
            Finding(
                "update request",
                "FAIL",
                f"{request} has waited {waited / 60:.0f} min for the installer (it takes it within seconds)",
                "sudo systemctl enable --now kiosk-updater.path; then journalctl -u kiosk-updater -e",
            )
        )
    if not _systemd_running():
        findings.append(
            Finding(
                "updater unit",
                "warn",
                "no systemd running here: cannot tell whether kiosk-updater.path is enabled",
                "on the Pi: systemctl is-enabled kiosk-updater.path",
            )
        )
        return findings
    enabled = _systemctl("is-enabled", "kiosk-updater.path")
    if enabled != "enabled":
        findings.append(
            Finding(
                "updater unit",
                "FAIL",
                f"kiosk-updater.path is {enabled}: updates download but are never installed",
                "run hardware/rpi/install.sh, or: sudo systemctl enable --now kiosk-updater.path",
            )
        )
    return findings or [Finding("updates", "ok", "kiosk-updater.path is enabled; no request waiting too long")]


CHECKS: list[tuple[str, Callable[[DoctorContext], list[Finding]]]] = [
    ("service user", check_user),
    ("configuration", check_config),
    ("data dir", check_data_dir),
    ("key file", check_key_file),
    ("store", check_store),
    ("serial ports", check_serial_ports),
    ("devices", check_devices),
    ("disk space", check_disk),
    ("clock", check_clock),
    ("service", check_service),
    ("updates", check_updates),
]


def run_checks(ctx: DoctorContext, progress: ProgressBar | None = None) -> list[Finding]:
    """Every check in order (later ones use what earlier ones found: the user, the configuration)."""
    findings: list[Finding] = []
    for label, check in CHECKS:
        if progress is not None:
            progress.step(label)
        try:
            findings.extend(check(ctx))
        except PermissionError as exc:  # e.g. the key file inside kiosk's 0700 data dir
            findings.append(Finding(label, "warn", f"cannot look: {exc}", "run kiosk doctor with sudo"))
    if progress is not None:
        progress.close()
    return findings


def format_findings(findings: list[Finding], colour: bool) -> str:
    width = max(len(f.check) for f in findings)
    lines = []
    for f in findings:
        lines.append(f"{paint(f.level.ljust(4), f.level, colour)}  {f.check.ljust(width)}  {f.detail}")
        if f.level != "ok" and f.fix:
            lines.append(f"{' ' * (6 + width)}  -> {f.fix}")
    counts = {level: sum(f.level == level for f in findings) for level in ("FAIL", "warn", "ok")}
    lines.append(", ".join(f"{n} {level}" for level, n in counts.items()))
    return "\n".join(lines) + "\n"


def doctor(ctx: DoctorContext, out: TextIO | None = None) -> int:
    """Run the checks, print them (to stdout by default); 1 if any FAILed."""
    out = out or sys.stdout
    findings = run_checks(ctx, ProgressBar(len(CHECKS), sys.stderr))
    out.write(format_findings(findings, use_colour(out)))
    return 1 if any(f.level == "FAIL" for f in findings) else 0
