"""The store's identity kept outside the store: a small JSON file beside the database.

It holds the store's id, the highest event sequence number known committed
(a lower bound: it is written at start-up and periodically, never inside a
money commit, so it costs the money path nothing) and the highest sequence
number the cloud acknowledged. At the next start a database that is missing,
has another store id, or holds fewer events than the marker says is not a
fresh start: something deleted, replaced or rolled back the cabinet's store.

The marker can only lag the database, never lead it, so "the database's last
seq is below the marker's" is a reliable sign of an older or emptier store.
A mismatch is written into the marker (``fault``), so it survives restarts
until a technician accepts the new store (``kiosk store accept-new``, or
deleting the marker file).
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import asdict, dataclass, replace
from pathlib import Path

MARKER_NAME = "store-marker.json"


class MarkerError(ValueError):
    """The marker file exists but cannot be read as a marker (the message names it)."""


@dataclass(frozen=True)
class StoreMarker:
    store_id: str
    seq: int  # events committed at least up to here
    acked_seq: int = 0  # the cloud acknowledged events up to here
    fault: str | None = None  # a mismatch found at a start, kept until accepted


@dataclass(frozen=True)
class StoreIdentity:
    """What the database on disk says about itself (None: there is no database file)."""

    store_id: str | None
    seq: int


def marker_path(db_path: Path) -> Path:
    return db_path.with_name(MARKER_NAME)


def read_marker(path: Path) -> StoreMarker | None:
    """The marker, or None when there is none; raises MarkerError for a damaged one."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (ValueError, UnicodeDecodeError) as exc:
        raise MarkerError(f"{path}: not a store marker ({exc}); delete it to accept the store as it is") from None
    counts = [data.get(key, 0) for key in ("seq", "acked_seq")] if isinstance(data, dict) else []
    if not (
        isinstance(data, dict)
        and isinstance(data.get("store_id"), str)
        and "seq" in data
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts)
        and isinstance(data.get("fault"), (str, type(None)))
    ):
        raise MarkerError(
            f"{path}: not a store marker (expected store_id, seq and acked_seq >= 0, fault); "
            "delete it to accept the store as it is"
        )
    return StoreMarker(store_id=data["store_id"], seq=counts[0], acked_seq=counts[1], fault=data.get("fault"))


def write_marker(path: Path, marker: StoreMarker) -> None:
    """Atomically: a power cut leaves the old marker or the new one, never half of one."""
    partial = path.with_name(path.name + ".part")
    with open(partial, "w") as fh:
        json.dump(asdict(marker), fh, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(partial, path)


def read_identity(conn: sqlite3.Connection) -> StoreIdentity:
    """The identity of the store behind ``conn`` (a technician's read-only connection)."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    store_id = (
        conn.execute("SELECT value FROM store_meta WHERE key = 'store_id'").fetchone()
        if "store_meta" in tables
        else None
    )
    seq = (
        conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
        if "sqlite_sequence" in tables
        else None
    )
    return StoreIdentity(store_id[0] if store_id else "", int(seq[0]) if seq else 0)


def mismatch(marker: StoreMarker | None, found: StoreIdentity, db_path: Path) -> str | None:
    """Why the database found is not the store the marker remembers; None when it is (or no marker)."""
    if marker is None:
        return None
    if marker.fault:
        return marker.fault
    if found.store_id is None:
        return (
            f"{db_path} is missing: the store {marker.store_id} with events up to #{marker.seq} "
            f"(the cloud acknowledged up to #{marker.acked_seq}) is gone"
        )
    if marker.store_id and found.store_id != marker.store_id:  # "": accepted before the store had an id
        return (
            f"{db_path} is another store ({found.store_id or 'without an id'}) than the one this cabinet "
            f"had ({marker.store_id}, events up to #{marker.seq}, cloud acknowledged up to #{marker.acked_seq})"
        )
    newest = max(marker.seq, marker.acked_seq)
    if found.seq < newest:
        return (
            f"{db_path} holds events only up to #{found.seq}, but this store had reached #{newest} "
            f"(cloud acknowledged up to #{marker.acked_seq}): an older copy or an emptied store"
        )
    return None


def with_fault(marker: StoreMarker, fault: str) -> StoreMarker:
    return replace(marker, fault=fault)
