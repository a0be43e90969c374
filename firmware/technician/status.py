"""`kiosk status`: one screen of what a technician asks first.

Is the service running, which devices are there and which are faulty, is the
cabinet getting its events to the cloud, were there alarms. Everything comes
from the configuration, the device nodes, systemd, and the cabinet's SQLite
database opened read-only (the running cabinet keeps writing to it).
"""

from __future__ import annotations

import calendar
import json
import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from firmware.config import Config, ConfigError, load_config
from firmware.technician.term import paint
from sync_client.schema import utc_iso
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
class Alarm:
    wall_time: str
    kind: str
    detail: str


@dataclass
class SyncState:
    pending: int = 0
    oldest_pending: str | None = None
    last_sent: str | None = None
    dead_letters: int | None = None  # None: no dead-letter table in this database


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
    gpio_present = None if lock.pin_factory == "mock" else any(Path("/dev").glob("gpiochip*"))
    lines = [
        DeviceLine("lock", f"GPIO{lock.relay_pin} relay, GPIO{lock.door_pin} door ({lock.pin_factory})", gpio_present)
    ]
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


def open_readonly(path: Path) -> sqlite3.Connection:
    """The cabinet's database, read-only; raises OSError naming the file when it cannot be read."""
    if not os.access(path.parent, os.R_OK | os.X_OK) or (path.exists() and not os.access(path, os.R_OK)):
        raise PermissionError(f"{path}: not readable by this user (run with sudo)")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no database yet (the cabinet has not run with this data dir)")
    # With the cabinet running, its -wal and -shm files exist and a read-only reader shares them.
    # Without them, a reader would create both, owned by whoever runs this (root under sudo),
    # and the service user could then not open its own database: read the file as immutable.
    running = path.with_name(path.name + "-wal").exists()
    conn = sqlite3.connect(f"file:{path}?mode=ro" + ("" if running else "&immutable=1"), uri=True, timeout=5.0)
    try:
        conn.execute("SELECT 1 FROM events LIMIT 1")
    except sqlite3.Error as exc:
        conn.close()
        raise OSError(f"{path}: cannot read the events table: {exc}") from None
    return conn


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def read_sync(conn: sqlite3.Connection) -> SyncState:
    pending, oldest = conn.execute("SELECT count(*), min(wall_time) FROM events WHERE sent_at IS NULL").fetchone()
    (last_sent,) = conn.execute("SELECT max(sent_at) FROM events").fetchone()
    dead = None
    for table in sorted(t for t in _tables(conn) if t.startswith("dead_letter")):
        dead = (dead or 0) + conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    return SyncState(pending=pending, oldest_pending=oldest, last_sent=last_sent, dead_letters=dead)


def read_config_version(conn: sqlite3.Connection) -> str | None:
    """The configuration pulled from the cloud, if this database caches one: its version (or ETag),
    when it was applied, and how many versions the cabinet refused."""
    tables = _tables(conn)
    if "config" not in tables:
        return None
    columns = [row[1] for row in conn.execute('PRAGMA table_info("config")')]
    row = None
    for column in ("version", "etag"):
        if column in columns:
            applied = "applied_at" if "applied_at" in columns else "NULL"
            row = conn.execute(f'SELECT "{column}", {applied} FROM config ORDER BY rowid DESC LIMIT 1').fetchone()
            break
    else:
        if {"key", "value"} <= set(columns):
            row = conn.execute(
                "SELECT value, NULL FROM config WHERE key IN ('version', 'etag') ORDER BY key = 'version' DESC LIMIT 1"
            ).fetchone()
    if row is None or row[0] is None:
        return None
    text = str(row[0]) + (f", applied {row[1]}" if row[1] else "")
    if "config_refused" in tables:
        refused = conn.execute("SELECT count(*) FROM config_refused").fetchone()[0]
        if refused:
            text += f"; {refused} refused"
            if {"reason", "refused_at"} <= {r[1] for r in conn.execute('PRAGMA table_info("config_refused")')}:
                latest = conn.execute("SELECT reason FROM config_refused ORDER BY refused_at DESC LIMIT 1")
                text += f", latest: {latest.fetchone()[0]}"
    return text


def read_faults(conn: sqlite3.Connection) -> dict[str, tuple[str, str]]:
    """Devices faulty now: those in the last heartbeat's fault list, and any reported since."""
    heartbeat = conn.execute(
        "SELECT seq, payload FROM events WHERE type = 'heartbeat' ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    since_seq, still = (heartbeat[0], set(json.loads(heartbeat[1]).get("faults", []))) if heartbeat else (0, set())
    faults: dict[str, tuple[str, str]] = {}
    for seq, wall, payload in conn.execute(
        "SELECT seq, wall_time, payload FROM events WHERE type = 'device.fault' ORDER BY seq"
    ):
        fault = json.loads(payload)
        if seq > since_seq or fault["device"] in still:
            faults[fault["device"]] = (wall, fault["detail"])
    for device in still - faults.keys():
        faults[device] = ("", "reported by the last heartbeat")
    return faults


def read_alarms(conn: sqlite3.Connection, now: float) -> tuple[list[Alarm], int]:
    rows = conn.execute(
        "SELECT wall_time, payload FROM events WHERE type = 'alarm' ORDER BY seq DESC LIMIT ?", (RECENT_ALARMS,)
    ).fetchall()
    alarms = [Alarm(wall, json.loads(p).get("kind", "?"), json.loads(p).get("detail", "")) for wall, p in rows]
    (last_day,) = conn.execute(
        "SELECT count(*) FROM events WHERE type = 'alarm' AND wall_time >= ?", (utc_iso(now - 86400),)
    ).fetchone()
    return alarms, last_day


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
            report.alarms, report.alarms_24h = read_alarms(conn, now)
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

    row("devices", "" if report.devices else "(configuration not readable)")
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
    return "\n".join(lines) + "\n"
