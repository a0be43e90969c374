"""Door snapshots (thumbnails) and the console's alarms and their handling."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from cloud_stub.sqldb import reads
from cloud_stub.store.base import StoreBase, _now, _values
from cloud_stub.store.errors import Conflict, NotFound
from cloud_stub.store.fleet import _recount_open_alarms
from sync_client.schema import utc_iso

_ALARM_STATE_SQL = {
    "open": "h.acknowledged_at IS NULL",
    "acknowledged": "h.acknowledged_at IS NOT NULL AND h.resolved_at IS NULL",
    "resolved": "h.resolved_at IS NOT NULL",
}


class AlarmsMixin(StoreBase):
    """Door snapshots (thumbnails) and the console's alarms and their handling."""

    # --- snapshots -------------------------------------------------------------------------
    def put_snapshot(self, cabinet_id: str, name: str, taken_at: str, jpeg: bytes, *, now: float | None = None) -> bool:
        """Store the cabinet's snapshot once; True if new. The same bytes again change nothing (a retry);
        other bytes under a stored name are a Conflict."""
        digest = hashlib.sha256(jpeg).hexdigest()
        with self._db.write() as conn:
            created = (
                conn.execute(
                    "INSERT INTO snapshots (cabinet_id, name, taken_at, bytes, sha256, jpeg, received_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(cabinet_id, name) DO NOTHING",
                    (cabinet_id, name, taken_at, len(jpeg), digest, jpeg, utc_iso(_now(now))),
                ).rowcount
                == 1
            )
            stored = conn.execute(
                "SELECT sha256 FROM snapshots WHERE cabinet_id = ? AND name = ?", (cabinet_id, name)
            ).fetchone()["sha256"]
        if stored != digest:
            raise Conflict(f"name: {name!r} is already stored with other content")
        return created

    @reads
    def snapshots_of(self, cabinet_id: str, *, limit: int = 100, before: str | None = None) -> list[dict[str, Any]]:
        """The cabinet's snapshots, newest first (names sort by time), at most ``limit``, older than ``before``."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT name, taken_at, bytes, received_at FROM snapshots WHERE cabinet_id = ? AND (? IS NULL OR "
                "name < ?) ORDER BY name DESC LIMIT ?",
                (cabinet_id, before, before, limit),
            ).fetchall()
        return [dict(r) for r in rows]

    @reads
    def snapshot(self, cabinet_id: str, name: str) -> bytes | None:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT jpeg FROM snapshots WHERE cabinet_id = ? AND name = ?", (cabinet_id, name)
            ).fetchone()
        return bytes(row["jpeg"]) if row else None

    @reads
    def snapshots_taken(self, cabinet_id: str, *, since: str, until: str, limit: int = 12) -> list[dict[str, Any]]:
        """The cabinet's snapshots taken from ``since`` to ``until`` (ISO UTC), oldest first."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT name, taken_at, bytes FROM snapshots WHERE cabinet_id = ? AND taken_at >= ? AND taken_at <= ? "
                "ORDER BY taken_at, name LIMIT ?",
                (cabinet_id, since, until, limit),
            ).fetchall()
        return [dict(r) for r in rows]

    # --- the console: alarms and their handling -------------------------------------------------------
    @reads
    def alarms_of(
        self,
        retailer: str,
        *,
        state: str | None = None,
        cabinet_id: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """The retailer's alarms (in ``state``, of ``cabinet_id`` if given), newest first, ``limit`` from
        ``offset``: the event's id, cabinet, kind, detail and wall time (``at``), who acknowledged and resolved it
        and when."""
        where = _ALARM_STATE_SQL[state] if state else "1 = 1"
        with self._db.read() as conn:
            rows = conn.execute(
                # The retailer's cabinets as a list, so that each is one look-up in events_by_cabinet_type.
                "SELECT e.id, e.cabinet_id, e.wall_time AS at, e.payload, h.acknowledged_at, h.acknowledged_by, "
                "h.resolved_at, h.resolved_by FROM events e LEFT JOIN alarm_handling h ON h.event_id = e.id "
                "WHERE e.cabinet_id IN (SELECT id FROM cabinets WHERE retailer = ? AND (? IS NULL OR id = ?)) "
                f"AND e.type = 'alarm' AND {where} ORDER BY e.wall_time DESC, e.id LIMIT ? OFFSET ?",
                (retailer, cabinet_id, cabinet_id, limit, offset),
            ).fetchall()
        alarms = []
        for row in rows:
            payload = json.loads(row["payload"])
            alarm = {k: row[k] for k in row.keys() if k != "payload"}
            alarms.append({**alarm, "kind": payload.get("kind", ""), "detail": payload.get("detail", "")})
        return alarms

    @reads
    def alarm_count(self, retailer: str, *, state: str | None = None, cabinet_id: str | None = None) -> int:
        """How many alarms ``alarms_of`` lists on all its pages."""
        where = _ALARM_STATE_SQL[state] if state else "1 = 1"
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM events e LEFT JOIN alarm_handling h ON h.event_id = e.id "
                "WHERE e.cabinet_id IN (SELECT id FROM cabinets WHERE retailer = ? AND (? IS NULL OR id = ?)) "
                f"AND e.type = 'alarm' AND {where}",
                (retailer, cabinet_id, cabinet_id),
            ).fetchone()
        return int(row[0])

    @reads
    def snapshots_around(
        self, retailer: str, windows: Sequence[tuple[str, str, str]], *, limit: int = 12
    ) -> list[list[dict[str, Any]]]:
        """For each (cabinet id, since, until): the snapshots ``snapshots_taken`` gives, in one query (a page of
        alarms); none for a cabinet that is not the retailer's."""
        if not windows:
            return []
        table, params = _values("w", ("i", "cabinet_id", "since", "until"), [(i, *w) for i, w in enumerate(windows)])
        with self._db.read() as conn:
            rows = conn.execute(
                f"WITH {table} SELECT w.i, s.name, s.taken_at, s.bytes FROM w "
                "JOIN snapshots s ON s.cabinet_id = w.cabinet_id AND s.taken_at >= w.since AND s.taken_at <= w.until "
                "JOIN cabinets c ON c.id = s.cabinet_id AND c.retailer = ? ORDER BY w.i, s.taken_at, s.name",
                (*params, retailer),
            ).fetchall()
        found: list[list[dict[str, Any]]] = [[] for _ in windows]
        for row in rows:
            if len(found[row["i"]]) < limit:
                found[row["i"]].append({"name": row["name"], "taken_at": row["taken_at"], "bytes": row["bytes"]})
        return found

    @reads
    def alarms_mark(self, retailer: str) -> str:
        """Changes when one of the retailer's alarms arrives or is handled, or a snapshot arrives (an alarm's photo
        comes after it): what the live alarms page watches."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT (SELECT COUNT(*) FROM events WHERE type = 'alarm' AND cabinet_id IN "
                "(SELECT id FROM cabinets WHERE retailer = ?)), (SELECT MAX(updated_at) || ':' || COUNT(*) "
                "FROM alarm_handling WHERE cabinet_id IN (SELECT id FROM cabinets WHERE retailer = ?)), "
                "(SELECT COUNT(*) FROM snapshots WHERE cabinet_id IN (SELECT id FROM cabinets WHERE retailer = ?))",
                (retailer, retailer, retailer),
            ).fetchone()
        return f"{row[0]}/{row[1]}/{row[2]}"

    def handle_alarm(
        self, retailer: str, event_id: str, action: str, by: str, *, now: float | None = None
    ) -> dict[str, Any]:
        """``action`` "acknowledge" (an open alarm) or "resolve" (an acknowledged one) by user ``by``. NotFound
        for an alarm not among the retailer's; Conflict when its state does not allow it."""
        at = utc_iso(_now(now))
        with self._db.write() as conn:
            row = conn.execute(
                "SELECT e.cabinet_id, h.acknowledged_by, h.resolved_by FROM events e JOIN cabinets c "
                "ON c.id = e.cabinet_id LEFT JOIN alarm_handling h ON h.event_id = e.id "
                "WHERE e.id = ? AND e.type = 'alarm' AND c.retailer = ?",
                (event_id, retailer),
            ).fetchone()
            if row is None:
                raise NotFound(f"no alarm {event_id!r}")
            if action == "acknowledge":
                if row["acknowledged_by"] is not None:
                    raise Conflict(f"alarm {event_id!r} was already acknowledged by {row['acknowledged_by']}")
                if not conn.execute(
                    "INSERT INTO alarm_handling (event_id, cabinet_id, acknowledged_at, acknowledged_by, updated_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
                    (event_id, row["cabinet_id"], at, by, at),
                ).rowcount:  # another node's acknowledgement came first
                    raise Conflict(f"alarm {event_id!r} was already acknowledged")
                _recount_open_alarms(conn, [row["cabinet_id"]])
            elif action == "resolve":
                if row["acknowledged_by"] is None or row["resolved_by"] is not None:
                    state = "still open" if row["acknowledged_by"] is None else f"resolved by {row['resolved_by']}"
                    raise Conflict(f"alarm {event_id!r} is {state}")
                conn.execute(
                    "UPDATE alarm_handling SET resolved_at = ?, resolved_by = ?, updated_at = ? WHERE event_id = ?",
                    (at, by, at, event_id),
                )
            else:
                raise ValueError(f"action: expected acknowledge or resolve, got {action!r}")
        return {"event_id": event_id, "action": action, "by": by, "at": at}
