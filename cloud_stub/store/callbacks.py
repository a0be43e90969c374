"""Call-backs: the follow-up queue and its retention."""

from __future__ import annotations

import dataclasses
from typing import Any

from cloud_stub.sqldb import Conn, reads
from cloud_stub.store.base import StoreBase, _now
from cloud_stub.store.records import CALLBACK_STATES
from sync_client.schema import Event, parse_utc_iso, utc_iso


def _callback_filter(retailer: str, state: str | None, phone: str | None) -> tuple[str, tuple[str, ...]]:
    """FROM and WHERE of the retailer's call-backs, in ``state`` and of ``phone`` when given."""
    sql = "FROM callbacks b JOIN cabinets c ON c.id = b.cabinet_id WHERE c.retailer = ?"
    args: tuple[str, ...] = (retailer,)
    for column, value in (("b.state", state), ("b.phone", phone)):
        if value is not None:
            sql, args = f"{sql} AND {column} = ?", (*args, value)
    return sql, args


DEFAULT_CALLBACK_RETENTION_DAYS = 30  # a cabinet whose configuration no longer names one
# What of a callback.requested event the events table keeps: nothing personal.
_CALLBACK_EVENT_KEPT = ("request_id", "sku", "consent_version", "language")


def _without_personal_data(event: Event) -> Event:
    """The event as the events table keeps it: a call-back's number and consent live only in ``callbacks``,
    which deletes them (a resend is compared in this form too, so it is still recognised as the same event)."""
    if event.type != "callback.requested":
        return event
    return dataclasses.replace(event, payload={k: event.payload[k] for k in _CALLBACK_EVENT_KEPT})


def _add_callback(conn: Conn, cabinet_id: str, event: Event, received_at: str) -> None:
    p = event.payload
    conn.execute(
        "INSERT INTO callbacks (request_id, cabinet_id, sku, phone, consent_text, consent_version, language,"
        " requested_at, requested_s, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(request_id) DO NOTHING",
        (
            p["request_id"],
            cabinet_id,
            p["sku"],
            p["phone"],
            p["consent_text"],
            p["consent_version"],
            p["language"],
            event.wall_time,
            parse_utc_iso(event.wall_time, "wall_time"),
            received_at,
        ),
    )


class CallbacksMixin(StoreBase):
    """Call-backs: the follow-up queue and its retention."""

    # --- call-backs: the follow-up queue (cloud_stub/console/callbacks.py) and their retention -------------
    @reads
    def callbacks_of(
        self,
        retailer: str,
        *,
        state: str | None = None,
        phone: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """The retailer's call-back requests (in ``state``, of ``phone``), newest first, each with its history
        (oldest first); a page of ``limit`` from ``offset``."""
        where, args = _callback_filter(retailer, state, phone)
        page, paged = (" LIMIT ? OFFSET ?", (limit, offset)) if limit is not None else ("", ())
        listed = f"{where} ORDER BY b.requested_s DESC, b.request_id{page}"
        with self._db.read() as conn:
            rows = conn.execute(f"SELECT b.* {listed}", (*args, *paged)).fetchall()
            history = conn.execute(  # of the requests listed only
                "SELECT request_id, at, by, state, note FROM callback_history"
                f" WHERE request_id IN (SELECT b.request_id {listed}) ORDER BY at, {conn.insert_order}",
                (*args, *paged),
            ).fetchall()
        found = {r["request_id"]: {**dict(r), "history": []} for r in rows}
        for h in history:
            found[h["request_id"]]["history"].append({k: h[k] for k in ("at", "by", "state", "note")})
        return list(found.values())

    @reads
    def callback_count(self, retailer: str, *, state: str | None = None, phone: str | None = None) -> int:
        """How many ``callbacks_of`` lists (without a page)."""
        where, args = _callback_filter(retailer, state, phone)
        with self._db.read() as conn:
            return int(conn.execute(f"SELECT COUNT(*) {where}", args).fetchone()[0])

    def callback(self, retailer: str, request_id: str) -> dict[str, Any] | None:
        return next((c for c in self.callbacks_of(retailer) if c["request_id"] == request_id), None)

    def follow_up_callback(
        self, retailer: str, request_id: str, state: str, note: str, by: str, *, now: float | None = None
    ) -> bool:
        """Move a request of the retailer's to ``state`` with a note, recording who and when; False when the
        retailer has no such request."""
        if state not in CALLBACK_STATES:
            raise ValueError(f"state: expected one of {CALLBACK_STATES}, got {state!r}")
        with self._db.write() as conn:
            moved = conn.execute(
                "UPDATE callbacks SET state = ? WHERE request_id = ?"
                " AND cabinet_id IN (SELECT id FROM cabinets WHERE retailer = ?)",
                (state, request_id, retailer),
            ).rowcount
            if moved:
                conn.execute(
                    "INSERT INTO callback_history (request_id, at, by, state, note) VALUES (?, ?, ?, ?, ?)",
                    (request_id, utc_iso(_now(now)), by, state, note),
                )
        return bool(moved)

    def delete_callback(self, retailer: str, request_id: str) -> bool:
        """Delete a request of the retailer's and its history (the shopper asked); False when there is none."""
        with self._db.write() as conn:
            return bool(
                conn.execute(
                    "DELETE FROM callbacks WHERE request_id = ?"
                    " AND cabinet_id IN (SELECT id FROM cabinets WHERE retailer = ?)",
                    (request_id, retailer),
                ).rowcount
            )

    def purge_callbacks(self, *, now: float | None = None) -> int:
        """Delete every request older than its cabinet's ``callback_retention_days`` (the configuration in
        force now; DEFAULT_CALLBACK_RETENTION_DAYS when it names none), with its history; returns how many."""
        with self._db.write() as conn:
            return conn.execute(
                "DELETE FROM callbacks WHERE request_id IN (SELECT b.request_id FROM callbacks b"
                " LEFT JOIN configs g ON g.cabinet_id = b.cabinet_id"
                " WHERE b.requested_s <= ? - 86400.0 * "
                f"coalesce({conn.json_number('g.document', 'callback_retention_days')}, ?))",
                (_now(now), DEFAULT_CALLBACK_RETENTION_DAYS),
            ).rowcount
