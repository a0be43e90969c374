"""Whether the cabinet may sell: its store must be able to record the sale.

Before a payment starts the store is checked (still the file it opened, a real
small commit, a free-space reserve); a store that failed at the money point,
or that vanished or was replaced since the last run, puts the cabinet out of
service until it works again (re-checked on a timer and at the next attempt)
or, for a replaced store, until a technician accepts it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sync_client.outbox import STORAGE_ERRORS, Outbox
from sync_client.store.readonly import open_readonly
from sync_client.store_marker import (
    MarkerError,
    StoreIdentity,
    StoreMarker,
    marker_path,
    mismatch,
    read_identity,
    read_marker,
    with_fault,
    write_marker,
)

log = logging.getLogger(__name__)
DB_NAME = "cabinet.db"


@dataclass
class StorageGuard:
    outbox: Outbox
    reserve_bytes: int
    marker_file: Path | None = None  # None: no marker kept (a store without a past, e.g. in tests)
    acked_seq: Callable[[], int] = lambda: 0  # the cloud's last acknowledged seq, from the uploader
    on_change: Callable[[], None] = lambda: None
    problem: str | None = None  # why the cabinet does not sell now; None: it does
    identity_fault: str | None = None  # a vanished or replaced store: stays until accepted
    held_alarms: list[dict[str, Any]] = field(default_factory=list)  # alarms the store could not take (yet)
    _saved: StoreMarker | None = None

    def check(self, probe: bool = True) -> bool:
        """Re-check the store now; True when a sale can be recorded. ``probe``: with a real small commit."""
        self._set(self.identity_fault or self.outbox.health(self.reserve_bytes, probe=probe).problem)
        return self.problem is None

    def failed(self, detail: str, kind: str = "storage_unavailable") -> None:
        """A commit failed where it mattered: out of service at once, and an alarm (kept if it cannot be written)."""
        self.problem = detail
        log.error("out of service: the store failed", extra={"detail": detail, "alarm": kind})
        self._alarm(kind, detail)
        self.on_change()

    def _set(self, problem: str | None, kind: str = "storage_unavailable") -> None:
        if problem == self.problem:
            return
        self.problem = problem
        if problem is None:
            log.warning("the store works again: selling", extra={"db": str(self.outbox.path)})
            self._flush_held()
        else:
            log.error("out of service: the store cannot record a sale", extra={"detail": problem})
            self._alarm(kind, problem)
        self.on_change()

    def _alarm(self, kind: str, detail: str) -> None:
        payload = {"kind": kind, "detail": detail}
        self._flush_held()
        try:
            self.outbox.append("alarm", payload)
        except STORAGE_ERRORS as exc:
            log.error("alarm not recorded: kept in memory until the store works", extra={**payload, "error": str(exc)})
            self.held_alarms.append(payload)

    def _flush_held(self) -> None:
        while self.held_alarms:
            try:
                self.outbox.append("alarm", self.held_alarms[0])
            except STORAGE_ERRORS:
                return
            self.held_alarms.pop(0)

    # --- the store's identity across runs -------------------------------------------
    def verify_identity(self, existed: bool) -> None:
        """At start: is this the store the cabinet had? ``existed``: the file was there before it was opened."""
        if self.marker_file is None:
            return
        found = StoreIdentity(self.outbox.store_id if existed else None, self.outbox.last_seq())
        try:
            marker = read_marker(self.marker_file)
        except MarkerError as exc:
            fault: str | None = str(exc)
            marker = None
        else:
            fault = mismatch(marker, found, self.outbox.path)
        if fault is None:
            self._saved = marker  # what the cloud acknowledged before this start is still true
            self.save_marker()
            return
        self.identity_fault = fault
        if marker is not None and marker.fault is None:
            write_marker(self.marker_file, with_fault(marker, fault))  # the next start knows it too
        log.critical(
            "the store is not the one this cabinet had: not selling",
            extra={"detail": fault, "accept": "kiosk store accept-new"},
        )
        self._set(fault, "store_replaced")

    def save_marker(self) -> None:
        """Record the store's identity and progress outside it (start-up, then periodically)."""
        if self.marker_file is None or self.identity_fault:
            return
        previous = self._saved.acked_seq if self._saved else 0
        marker = StoreMarker(self.outbox.store_id, self.outbox.last_seq(), max(previous, self.acked_seq()))
        if marker == self._saved:
            return
        try:
            write_marker(self.marker_file, marker)
        except OSError as exc:
            log.error("store marker not written", extra={"path": str(self.marker_file), "error": str(exc)})
            return
        self._saved = marker


def accept_new_store(data_dir: Path) -> str:
    """`kiosk store accept-new`: take the store now in ``data_dir`` as the cabinet's own. Returns what was done."""
    db = data_dir / DB_NAME
    marker = marker_path(db)
    if not db.exists():
        marker.unlink(missing_ok=True)
        return f"no store at {db}: the marker is removed; the next start creates a fresh store"
    conn = open_readonly(db)
    try:
        found = read_identity(conn)
    finally:
        conn.close()
    try:
        previous = read_marker(marker)
    except MarkerError:
        previous = None
    # The cloud's acknowledgements counted the old store's events: the new one starts its own count.
    write_marker(marker, StoreMarker(found.store_id or "", found.seq))
    st = data_dir.stat()
    os.chown(marker, st.st_uid, st.st_gid)  # the service user must replace it (sudo runs this as root)
    was = f" (was {previous.fault})" if previous and previous.fault else ""
    return f"accepted {db}: store {found.store_id or '(id given at next start)'}, events up to #{found.seq}{was}"
