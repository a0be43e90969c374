"""The technician's read-only view of a cabinet's store (``kiosk status``, ``kiosk doctor``, the store
identity check at start): opened without writing anything, whatever its schema version, and read
defensively, since it may be a store from any release (tables and columns are looked up first).
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sync_client.schema import utc_iso


@dataclass(frozen=True)
class Alarm:
    wall_time: str
    kind: str
    detail: str


@dataclass(frozen=True)
class SyncState:
    pending: int = 0
    oldest_pending: str | None = None
    last_sent: str | None = None
    dead_letters: int | None = None  # None: no dead-letter table in this database


def open_readonly(path: Path) -> sqlite3.Connection:
    """The cabinet's database, read-only; raises OSError naming the file when it cannot be read."""
    if not path.parent.exists():  # said before access: a missing directory is no permission problem
        raise FileNotFoundError(f"{path.parent}: not found (no data dir: hardware/rpi/install.sh makes it)")
    if not os.access(path.parent, os.R_OK | os.X_OK) or (path.exists() and not os.access(path, os.R_OK)):
        raise PermissionError(f"{path}: not readable by this user (run with sudo)")
    if not path.exists():
        raise FileNotFoundError(f"{path}: not found: no database yet (the cabinet has not run with this data dir)")
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


def read_alarms(conn: sqlite3.Connection, now: float, recent: int) -> tuple[list[Alarm], int]:
    """The last ``recent`` alarms, newest first, and how many were raised in the last 24 hours."""
    rows = conn.execute(
        "SELECT wall_time, payload FROM events WHERE type = 'alarm' ORDER BY seq DESC LIMIT ?", (recent,)
    ).fetchall()
    alarms = [Alarm(wall, json.loads(p).get("kind", "?"), json.loads(p).get("detail", "")) for wall, p in rows]
    (last_day,) = conn.execute(
        "SELECT count(*) FROM events WHERE type = 'alarm' AND wall_time >= ?", (utc_iso(now - 86400),)
    ).fetchone()
    return alarms, last_day
