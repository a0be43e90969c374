"""`kiosk status`: one screen of what a technician asks first.

Is the service running, which devices are there and which are faulty, is the
cabinet getting its events to the cloud, were there alarms. Everything comes
from the configuration, the device nodes, systemd, and the cabinet's SQLite
database opened read-only (the running cabinet keeps writing to it).
"""

from __future__ import annotations

import calendar
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from firmware.config import Config, ConfigError, load_config, production_problems
from firmware.technician.term import paint
from sync_client.store.readonly import (
    Alarm,
    SyncState,
    open_readonly,
    read_alarms,
    read_config_version,
    read_faults,
    read_sync,
)
from sync_client.store_marker import MarkerError, StoreIdentity, marker_path, mismatch, read_identity, read_marker

UNIT = "kiosk.service"
DB_NAME = "cabinet.db"
RECENT_ALARMS = 5


@dataclass
class DeviceLine:
    name: str
    where: str  # port, pins or backend
    present: bool | None  # None: nothing on the filesystem to look for
    fault: str | None = None  # last reported fault, if not yet recovered


@dataclass
class StatusReport:
    config_path: Path
    data_dir: Path
    cabinet_id: str | None = None
    cloud_url: str | None = None
    config_problem: str | None = None
    config_version: str | None = None
    service: str | None = None  # None: no systemd here
    devices: list[DeviceLine] = field(default_factory=list)
    faults: dict[str, tuple[str, str]] = field(default_factory=dict)  # device -> (since, detail)
    sync: SyncState | None = None
    db_problem: str | None = None
    store_problem: str | None = None  # the store vanished or was replaced: the cabinet does not sell
    alarms: list[Alarm] = field(default_factory=list)
    alarms_24h: int = 0
    network: list[str] | None = None
    disk_free: int | None = None

    def problems(self) -> list[str]:
        """What is missing or wrong, by the row that says it; empty when the cabinet looks fine."""
        found = ["config"] if self.config_problem else []
        found += [d.name for d in self.devices if d.present is False or d.fault]
        found += [name for name in self.faults if name not in {d.name for d in self.devices}]
        found += ["store"] if self.store_problem else []
        found += ["database"] if self.db_problem else []
        if self.service is not None and not self.service.startswith("active"):
            found.append("service")
        return found


# --- the pieces ----------------------------------------------------------------
def serial_ports(config: Config) -> list[tuple[str, str]]:
    """(section, port) for every configured device that talks over a serial port."""
    ports = []
    for name in vars(config):
        section = getattr(config, name)
        port = getattr(section, "port", "")
        if port and getattr(section, "backend", None) not in ("sim", "none"):
            ports.append((name, port))
    return ports


def configured_devices(config: Config) -> list[DeviceLine]:
    lock = config.lock
    if lock.backend == "lockboard":  # the board drives the relay and reads the door: no GPIO of the Pi's
        lines = [DeviceLine("lock", f"lock board on {lock.board_port}", Path(lock.board_port).exists())]
    else:
        gpio_present = None if lock.pin_factory == "mock" else any(Path("/dev").glob("gpiochip*"))
        tamper = f", GPIO{lock.tamper_pin} tamper" if lock.tamper_pin else ""
        where = f"GPIO{lock.relay_pin} relay, GPIO{lock.door_pin} door{tamper} ({lock.pin_factory})"
        lines = [DeviceLine("lock", where, gpio_present)]
    lines += [DeviceLine(name, port, Path(port).exists()) for name, port in serial_ports(config)]
    camera = config.camera.backend
    if camera == "picamera":
        lines.append(DeviceLine("camera", "picamera", any(Path("/dev").glob("media*"))))
    elif camera == "opencv":
        device = config.camera.device
        lines.append(DeviceLine("camera", device, Path(device).exists() if device.startswith("/") else None))
    elif camera == "sim":
        lines.append(DeviceLine("camera", "sim", None))
    return lines


def service_state(unit: str = UNIT) -> str | None:
    """``active (running) since …, 0 restarts: <STATUS= text>``, or None without systemd."""
    if not shutil.which("systemctl"):
        return None
    try:
        properties = "ActiveState,SubState,ActiveEnterTimestamp,NRestarts,StatusText,LoadState"
        out = subprocess.run(
            ["systemctl", "show", unit, f"--property={properties}"],
            capture_output=True,
            text=True,
            check=False,
            timeout=5,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    if not props.get("ActiveState"):
        return None
    if props.get("LoadState") == "not-found":
        return f"{unit} is not installed (run hardware/rpi/install.sh)"
    text = f"{props['ActiveState']} ({props.get('SubState', '?')})"
    if props.get("ActiveEnterTimestamp"):
        text += f" since {props['ActiveEnterTimestamp']}"
    if props.get("NRestarts"):
        text += f", {props['NRestarts']} restarts"
    if props.get("StatusText"):
        text += f": {props['StatusText']}"
    return text


def network_addresses() -> list[str] | None:
    """``eth0 UP 192.168.1.20/24`` for every interface but loopback; None without iproute2."""
    if not shutil.which("ip"):
        return None
    try:
        out = subprocess.run(
            ["ip", "-brief", "address", "show"], capture_output=True, text=True, check=False, timeout=5
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return [" ".join(line.split()) for line in out.splitlines() if line.split() and line.split()[0] != "lo"]


def collect_status(config_path: Path, data_dir: Path, now: float | None = None) -> StatusReport:
    now = time.time() if now is None else now
    report = StatusReport(config_path=config_path, data_dir=data_dir)
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        report.config_problem = exc.problems[0] + (
            f" (and {len(exc.problems) - 1} more: kiosk config check)" if len(exc.problems) > 1 else ""
        )
    else:
        problems = production_problems(config, str(config_path))
        if problems:
            report.config_problem = problems[0] + (
                f" (and {len(problems) - 1} more: kiosk config check)" if len(problems) > 1 else ""
            )
        report.cabinet_id = config.cabinet.id
        report.cloud_url = config.sync.cloud_url or "(local stub)"
        report.devices = configured_devices(config)
    report.service = service_state()
    found = StoreIdentity(None, 0)
    missing = False
    try:
        conn = open_readonly(data_dir / DB_NAME)
    except OSError as exc:
        report.db_problem = str(exc)
        missing = isinstance(exc, FileNotFoundError)
    else:
        try:
            found = read_identity(conn)
            report.sync = read_sync(conn)
            report.config_version = read_config_version(conn)
            report.faults = read_faults(conn)
            report.alarms, report.alarms_24h = read_alarms(conn, now, RECENT_ALARMS)
        except (sqlite3.Error, ValueError, KeyError) as exc:  # ValueError, KeyError: a payload not as written
            report.db_problem = f"{data_dir / DB_NAME}: cannot read it: {exc!r}"
        finally:
            conn.close()
    try:  # a store that exists but cannot be read is db_problem, not a missing one
        if report.db_problem is None or missing:
            report.store_problem = mismatch(read_marker(marker_path(data_dir / DB_NAME)), found, data_dir / DB_NAME)
    except MarkerError as exc:
        report.store_problem = str(exc)
    except PermissionError:
        pass  # db_problem already says: run with sudo
    for line in report.devices:
        if line.name in report.faults:
            line.fault = report.faults[line.name][1]
    report.network = network_addresses()
    try:
        report.disk_free = shutil.disk_usage(data_dir).free
    except OSError:
        report.disk_free = None
    return report


# --- the screen ------------------------------------------------------------------
def ago(wall_time: str | None, now: float) -> str:
    """``2026-11-25T16:39:53.123Z (5 min ago)``; ``never`` for None."""
    if not wall_time:
        return "never"
    try:
        then = calendar.timegm(time.strptime(wall_time[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return wall_time
    seconds = max(0.0, now - then)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{wall_time} ({seconds / size:.0f} {unit} ago)"
    return f"{wall_time} ({seconds:.0f} s ago)"


def gib(size: int) -> str:
    return f"{size / 2**30:.1f} GiB"


def format_status(report: StatusReport, colour: bool = False, now: float | None = None) -> str:
    now = time.time() if now is None else now
    lines: list[str] = []

    def row(label: str, text: str) -> None:
        lines.append(f"{paint(label.ljust(12), 'bold', colour)}{text}".rstrip())

    row("cabinet", report.cabinet_id or paint("unknown", "warn", colour))
    row("service", report.service or "unknown (no systemd here)")
    config_text = str(report.config_path)
    if report.config_version:
        config_text += f", cloud configuration version {report.config_version}"
    if report.config_problem:
        config_text += "  " + paint(f"problem: {report.config_problem}", "FAIL", colour)
    row("config", config_text)

    row("devices", "" if report.devices else "unknown without a configuration (see config)")
    width = max((len(d.name) for d in report.devices), default=0)
    where_width = max((len(d.where) for d in report.devices), default=0)
    for device in report.devices:
        if device.present is False or device.fault:
            state = paint("missing" if device.present is False else "FAIL", "FAIL", colour)
            state += f"  {device.fault}" if device.fault else ""
        else:
            state = paint("ok", "ok", colour)
        lines.append(f"  {device.name.ljust(width)}  {device.where.ljust(where_width)}  {state}")
    for name, (since, detail) in sorted(report.faults.items()):
        if name not in {d.name for d in report.devices}:
            since_text = f" (since {since})" if since else ""
            lines.append(f"  {name}  {paint('FAIL', 'FAIL', colour)}  {detail}{since_text}")

    if report.store_problem:
        row("store", paint(f"NOT SELLING: {report.store_problem}", "FAIL", colour))
        lines.append(f"  accept it once you know why: kiosk store accept-new --data-dir {report.data_dir}")
    row("sync", f"cloud {report.cloud_url}" if report.cloud_url else "")
    if report.db_problem:
        lines.append(f"  {paint(report.db_problem, 'warn', colour)}")
    elif report.sync is not None:
        sync = report.sync
        pending = f"{sync.pending} pending"
        if sync.pending:
            pending += f", oldest {ago(sync.oldest_pending, now)}"
        lines.append(f"  outbox      {paint(pending, 'warn' if sync.pending else 'ok', colour)}")
        lines.append(f"  last sent   {ago(sync.last_sent, now)}")
        if sync.dead_letters is not None:
            dead = paint(str(sync.dead_letters), "FAIL" if sync.dead_letters else "ok", colour)
            lines.append(f"  dead letters {dead}")
    if report.network is None:
        row("network", "unknown (no ip command)")
    else:
        row("network", "; ".join(report.network) or paint("no interfaces", "FAIL", colour))
    if report.disk_free is not None:
        row("disk", f"{gib(report.disk_free)} free on {report.data_dir}")
    if report.db_problem is None:
        if not report.alarms:
            row("alarms", paint("none", "ok", colour))
        else:
            row(
                "alarms",
                paint(f"{report.alarms_24h} in the last 24 h", "FAIL" if report.alarms_24h else "warn", colour)
                + f"; latest {len(report.alarms)}:",
            )
            for alarm in report.alarms:
                lines.append(f"  {alarm.wall_time}  {alarm.kind}: {alarm.detail}")
    problems = report.problems()
    if problems:
        row("problems", paint(", ".join(problems), "FAIL", colour) + "  (kiosk doctor says how to fix each)")
    else:
        row("problems", paint("none", "ok", colour))
    return "\n".join(lines) + "\n"
