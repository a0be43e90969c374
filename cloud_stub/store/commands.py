"""Commands queued for the cabinets, and rollouts of signed releases."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from cloud_stub.sqldb import Conn, Row, reads
from cloud_stub.store.base import StoreBase, _now
from cloud_stub.store.errors import NotFound
from cloud_stub.store.records import ROLLOUT_REPORT_WITHIN_S
from sync_client.schema import Event, utc_iso

_ROLLOUT_OUTCOMES = {"update.installed": "installed", "update.failed": "failed"}


def _apply_rollout_events(conn: Conn, cabinet_id: str, events: Sequence[Event], now: float) -> None:
    """A cabinet's update outcomes into the running rollouts of that version; a rollout whose failures reach
    its limit pauses itself."""
    for event in events:
        version = event.payload.get("version")
        touched = conn.execute(
            "SELECT t.rollout_id, r.retailer FROM rollout_cabinets t JOIN rollouts r ON r.id = t.rollout_id "
            "WHERE t.cabinet_id = ? AND t.outcome IS NULL AND r.version = ?",
            (cabinet_id, version),
        ).fetchall()
        for row in touched:
            conn.execute(
                "UPDATE rollout_cabinets SET outcome = ? WHERE rollout_id = ? AND cabinet_id = ?",
                (_ROLLOUT_OUTCOMES[event.type], row["rollout_id"], cabinet_id),
            )
            failed, limit = conn.execute(
                "SELECT (SELECT COUNT(*) FROM rollout_cabinets WHERE rollout_id = r.id AND outcome = 'failed'), "
                "r.failure_limit FROM rollouts r WHERE r.id = ?",
                (row["rollout_id"],),
            ).fetchone()
            if failed >= limit:
                reason = f"{failed} failed updates (limit {limit})"
                _pause_rollout(conn, row["retailer"], row["rollout_id"], reason, now)


def _pause_rollout(conn: Conn, retailer: str, rollout_id: str, reason: str, now: float) -> bool:
    paused = conn.execute(
        "UPDATE rollouts SET state = 'paused', paused_reason = ? WHERE id = ? AND retailer = ? AND state = 'running'",
        (reason, rollout_id, retailer),
    ).rowcount
    if paused:
        conn.execute(
            "UPDATE commands SET expires_at = ? WHERE acked_at IS NULL AND expires_at > ? AND id IN "
            "(SELECT command_id FROM rollout_cabinets WHERE rollout_id = ? AND outcome IS NULL)",
            (utc_iso(now), utc_iso(now), rollout_id),
        )
    return bool(paused)


def _command(row: Row) -> dict[str, Any]:
    return {**dict(row), "args": json.loads(row["args"])}


class CommandsMixin(StoreBase):
    """Commands queued for the cabinets, and rollouts of signed releases."""

    # --- commands -----------------------------------------------------------------------
    def add_command(
        self,
        cabinet_id: str,
        kind: str,
        args: dict[str, Any],
        *,
        ttl_s: float | None = None,
        now: float | None = None,
        created_by: str | None = None,
    ) -> str:
        """Queue a command valid for ``ttl_s`` (default: its kind's, COMMAND_TTL_S)."""
        with self._db.write() as conn:
            return self._insert_command(conn, cabinet_id, kind, args, ttl_s, _now(now), created_by)

    # --- rollouts of signed releases ----------------------------------------------------------
    def start_rollout(
        self,
        retailer: str,
        version: str,
        cabinet_ids: Sequence[str],
        failure_limit: int,
        *,
        now: float | None = None,
        created_by: str | None = None,
        report_within_s: int = ROLLOUT_REPORT_WITHIN_S,
    ) -> str:
        """A rollout of ``version`` to the retailer's ``cabinet_ids``: an update_check naming it queued for each,
        in one transaction; a cabinet that has not reported ``report_within_s`` later counts as timed out.
        ValueError names a cabinet that is not the retailer's, or a bad limit."""
        if failure_limit < 1:
            raise ValueError(f"failure_limit: expected at least 1, got {failure_limit}")
        if report_within_s < 1:
            raise ValueError(f"report_within_s: expected at least 1, got {report_within_s}")
        if not cabinet_ids:
            raise ValueError("cabinets: the rollout names none")
        rollout_id, created = str(uuid.uuid4()), _now(now)
        with self._db.write() as conn:
            own = {r["id"] for r in conn.execute("SELECT id FROM cabinets WHERE retailer = ?", (retailer,))}
            strangers = sorted(set(cabinet_ids) - own)
            if strangers:
                raise ValueError(f"cabinets: not this retailer's: {', '.join(strangers)}")
            conn.execute(
                "INSERT INTO rollouts (id, retailer, version, failure_limit, state, created_at, created_by, "
                "report_within_s) VALUES (?, ?, ?, ?, 'running', ?, ?, ?)",
                (rollout_id, retailer, version, failure_limit, utc_iso(created), created_by, report_within_s),
            )
            due = utc_iso(created + report_within_s)
            for cabinet_id in sorted(set(cabinet_ids)):
                command_id = self._insert_command(
                    conn, cabinet_id, "update_check", {"version": version}, None, created, created_by
                )
                conn.execute(
                    "INSERT INTO rollout_cabinets (rollout_id, cabinet_id, command_id, due_at) VALUES (?, ?, ?, ?)",
                    (rollout_id, cabinet_id, command_id, due),
                )
        return rollout_id

    @reads
    def rollouts_of(self, retailer: str, *, now: float | None = None) -> list[dict[str, Any]]:
        """The retailer's rollouts, newest first, each with its state (running, paused, or finished: every cabinet
        reported), its cabinets' counts (installed, failed, waiting, timed out: not reported by its due time) and
        the ids of those timed out. A timed-out cabinet is not a
        failure (silence is mostly a cabinet offline; a bad version reports its rollback), and a late report
        still counts."""
        at = utc_iso(_now(now))
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT r.id, r.version, r.failure_limit, r.state, r.paused_reason, r.created_at, r.created_by, "
                "r.report_within_s, COUNT(t.cabinet_id) AS cabinets, "
                "SUM(CASE WHEN t.outcome = 'installed' THEN 1 ELSE 0 END) AS installed, "
                "SUM(CASE WHEN t.outcome = 'failed' THEN 1 ELSE 0 END) AS failed "
                "FROM rollouts r LEFT JOIN rollout_cabinets t ON t.rollout_id = r.id WHERE r.retailer = ? "
                "GROUP BY r.id, r.version, r.failure_limit, r.state, r.paused_reason, r.created_at, r.created_by, "
                "r.report_within_s ORDER BY r.created_at DESC, r.id",
                (retailer,),
            ).fetchall()
            silent = conn.execute(
                "SELECT t.rollout_id, t.cabinet_id FROM rollout_cabinets t JOIN rollouts r ON r.id = t.rollout_id "
                "WHERE r.retailer = ? AND t.outcome IS NULL AND t.due_at <= ? ORDER BY t.cabinet_id",
                (retailer, at),
            ).fetchall()
        timed_out: dict[str, list[str]] = {}
        for row in silent:
            timed_out.setdefault(row["rollout_id"], []).append(row["cabinet_id"])
        listed = []
        for r in rows:
            late = timed_out.get(r["id"], [])
            waiting = r["cabinets"] - r["installed"] - r["failed"] - len(late)
            # every cabinet has reported: nothing is left to pause (a late report after a time-out still counts)
            state = "finished" if r["state"] == "running" and waiting == 0 and not late else r["state"]
            listed.append(
                {**dict(r), "state": state, "waiting": waiting, "timed_out": len(late), "timed_out_cabinets": late}
            )
        return listed

    def pause_rollout(self, retailer: str, rollout_id: str, reason: str, *, now: float | None = None) -> bool:
        """Pause a running rollout: its update_check commands not yet answered expire now (a cabinet that
        gets one refuses it as expired). False when it is not the retailer's or not running."""
        with self._db.write() as conn:
            return _pause_rollout(conn, retailer, rollout_id, reason, _now(now))

    def resume_rollout(self, retailer: str, rollout_id: str, *, now: float | None = None) -> int:
        """Run a paused rollout again: a new update_check for each of its cabinets that has not reported; how
        many were queued (0 also when it is not the retailer's or not paused)."""
        created = _now(now)
        with self._db.write() as conn:
            row = conn.execute(
                "SELECT version, report_within_s FROM rollouts WHERE id = ? AND retailer = ? AND state = 'paused'",
                (rollout_id, retailer),
            ).fetchone()
            if row is None:
                return 0
            conn.execute("UPDATE rollouts SET state = 'running', paused_reason = NULL WHERE id = ?", (rollout_id,))
            waiting = conn.execute(
                "SELECT cabinet_id FROM rollout_cabinets WHERE rollout_id = ? AND outcome IS NULL ORDER BY cabinet_id",
                (rollout_id,),
            ).fetchall()
            for target in waiting:
                command_id = self._insert_command(
                    conn, target["cabinet_id"], "update_check", {"version": row["version"]}, None, created
                )
                conn.execute(  # a new command, a new time to report by
                    "UPDATE rollout_cabinets SET command_id = ?, due_at = ? WHERE rollout_id = ? AND cabinet_id = ?",
                    (command_id, utc_iso(created + row["report_within_s"]), rollout_id, target["cabinet_id"]),
                )
        return len(waiting)

    @reads
    def command(self, command_id: str) -> dict[str, Any] | None:
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM commands WHERE id = ?", (command_id,)).fetchone()
        return _command(row) if row else None

    @reads
    def pending_commands(self, cabinet_id: str) -> list[dict[str, Any]]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM commands WHERE cabinet_id = ? AND acked_at IS NULL ORDER BY created_at, id",
                (cabinet_id,),
            ).fetchall()
        return [_command(r) for r in rows]

    def deliver_commands(self, cabinet_id: str, *, now: float | None = None) -> list[dict[str, Any]]:
        """The cabinet's pending commands as its poll takes them; the first hand-over is noted (delivered_at)."""
        with self._db.write() as conn:
            conn.execute(
                "UPDATE commands SET delivered_at = ? "
                "WHERE cabinet_id = ? AND acked_at IS NULL AND delivered_at IS NULL",
                (utc_iso(_now(now)), cabinet_id),
            )
            rows = conn.execute(
                "SELECT * FROM commands WHERE cabinet_id = ? AND acked_at IS NULL ORDER BY created_at, id",
                (cabinet_id,),
            ).fetchall()
        return [_command(r) for r in rows]

    @reads
    def commands_of(self, retailer: str, *, cabinet_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The retailer's newest commands (only ``cabinet_id``'s if given), newest first."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT m.* FROM commands m JOIN cabinets c ON c.id = m.cabinet_id WHERE c.retailer = ? "
                "AND (? IS NULL OR m.cabinet_id = ?) ORDER BY m.created_at DESC, m.id LIMIT ?",
                (retailer, cabinet_id, cabinet_id, limit),
            ).fetchall()
        return [_command(r) for r in rows]

    def ack_command(self, command_id: str, result: str, *, now: float | None = None) -> dict[str, Any]:
        """Record the cabinet's acknowledgement once; a repeated ack changes nothing and gets the same record."""
        with self._db.write() as conn:
            conn.execute(
                "UPDATE commands SET acked_at = ?, result = ? WHERE id = ? AND acked_at IS NULL",
                (utc_iso(_now(now)), result, command_id),
            )
            # A phone's form leaves the queue once the cabinet has it: its ticket keeps what the retailer needs.
            conn.execute(
                "UPDATE commands SET args = '{}' WHERE id = ? AND kind IN ('repair_form', 'callback_form')",
                (command_id,),
            )
            row = conn.execute("SELECT * FROM commands WHERE id = ?", (command_id,)).fetchone()
        if row is None:
            raise NotFound(f"no command {command_id!r}")
        return _command(row)
