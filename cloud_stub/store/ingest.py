"""Storing the cabinets' event batches (and the read models kept in the same transaction), request nonces, and reading
raw events back."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from typing import Any

from cloud_stub import event_partitions
from cloud_stub.sqldb import Conn, Cursor, Row, reads
from cloud_stub.store.base import StoreBase, _now
from cloud_stub.store.callbacks import _add_callback, _without_personal_data
from cloud_stub.store.commands import _ROLLOUT_OUTCOMES, _apply_rollout_events
from cloud_stub.store.counters import _Tally
from cloud_stub.store.errors import NonceUsed
from cloud_stub.store.fleet import _STATUS_EVENTS, _apply_status_events
from cloud_stub.store.funnel import _FUNNEL_EVENTS, _apply_funnel_event, _count_sold, _funnel_keys
from cloud_stub.store.phone import _add_receipt, _apply_form_event
from cloud_stub.store.records import TICKET_STATUSES, Admission, StoreResult
from cloud_stub.store.sales import _SALE_EVENTS, SaleRows, _apply_sale_event
from cloud_stub.store.tickets import _ticket_changed
from sync_client.schema import Event, dumps, utc_iso

_EXPORT_PAGE = 500


# What makes an event's content: a resend under the same id must match these exactly.
_CONTENT = ("seq", "type", "schema_version", "wall_time", "mono_time", "payload")


def _content(row: Row) -> dict[str, Any]:
    return {k: json.loads(row[k]) if k == "payload" else row[k] for k in _CONTENT}


def _event_content(event: Event) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "type": event.type,
        "schema_version": event.schema_version,
        "wall_time": event.wall_time,
        "mono_time": event.mono_time,
        "payload": event.payload,
    }


def _claim_nonce(conn: Conn, cabinet_id: str, nonce: str, seen_at: float, keep_s: float) -> Cursor:
    """Record the cabinet's request nonce: the answer has a row if it was new, none if the cabinet used it
    already. Its own nonces older than ``keep_s`` are forgotten first (by the index on cabinet and age): never
    the whole fleet's, which every request of every cabinet would delete at once, each waiting for the others'
    locks on the same rows."""
    conn.execute("DELETE FROM nonces WHERE cabinet_id = ? AND seen_at < ?", (cabinet_id, seen_at - keep_s))
    return conn.execute(
        "INSERT INTO nonces (cabinet_id, nonce, seen_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING nonce",
        (cabinet_id, nonce, seen_at),
    )


class IngestMixin(StoreBase):
    """Storing the cabinets' event batches (and the read models kept in the same transaction), request nonces, and
    reading raw events back."""

    def store_events(
        self,
        cabinet_id: str,
        events: Sequence[Event],
        *,
        now: float | None = None,
        nonce: str | None = None,
        nonce_keep_s: float = 0.0,
    ) -> StoreResult:
        """Store each event id once, all in one transaction, and mark the cabinet as just synced. With ``nonce``
        (the upload's request nonce) the same transaction claims it as ``remember_nonce`` does, so that an upload
        is one commit: NonceUsed, and nothing stored, if the cabinet used it within ``nonce_keep_s``."""
        for event in events:
            if event.cabinet_id != cabinet_id:
                raise ValueError(f"event {event.id} belongs to {event.cabinet_id!r}, not {cabinet_id!r}")
        received_at = utc_iso(_now(now))
        callbacks = {e.id: e for e in events if e.type == "callback.requested"}
        events = [_without_personal_data(e) for e in events]
        acked: list[str] = []
        conflicts: list[str] = []
        changed: dict[str, list[str]] = {}
        new: dict[str, Event] = {}
        # Prepared: an upload's ~25 statements are the same texts every time (parsed and planned once by the
        # server, which parsing literals again per upload had made the cloud's largest CPU cost).
        with self._db.write(prepared=True) as conn, conn.pipeline():
            # The cabinet's row is held until this commits: another node storing a batch of the same cabinet
            # (a retry through another node) waits, then finds these events stored. Its read models are
            # the cabinet's own rows, so they are folded by one transaction at a time as well.
            # Everything the upload reads first goes out at once and is answered in one wait (PostgreSQL's
            # pipeline): the cabinet's row, its nonce, which of the events are stored, and their sales' rows.
            found = conn.execute("SELECT retailer FROM cabinets WHERE id = ? FOR NO KEY UPDATE", (cabinet_id,))
            claimed = _claim_nonce(conn, cabinet_id, nonce, _now(now), nonce_keep_s) if nonce is not None else None
            stored = conn.execute(
                f"SELECT id, cabinet_id, {', '.join(_CONTENT)} FROM events WHERE id IN "
                f"({event_partitions.maybe_stored(conn)})",
                (json.dumps([e.id for e in events]),),
            )
            sales = SaleRows(conn, cabinet_id, [(e.type, e.payload) for e in events])
            cabinet = found.fetchone()
            retailer = cabinet["retailer"] if cabinet is not None else None
            if claimed is not None and claimed.fetchone() is None:
                raise NonceUsed(f"cabinet {cabinet_id!r} used nonce {nonce!r} already")
            held = {row["id"]: row for row in stored}
            for event in events:
                row = held.get(event.id)
                if row is None and event.id not in new:
                    new[event.id] = event
                    acked.append(event.id)
                    continue
                if row is not None and row["cabinet_id"] != cabinet_id:
                    if event.id not in conflicts:
                        conflicts.append(event.id)
                    continue
                before = _content(row) if row is not None else _event_content(new[event.id])
                differs = [k for k, v in _event_content(event).items() if dumps(before[k]) != dumps(v)]
                if differs:
                    changed[event.id] = differs
                    self._record_conflict(conn, cabinet_id, before, event, differs, received_at)
                elif event.id not in acked:  # the same id twice is acked once
                    acked.append(event.id)
            if changed:
                if nonce is not None:  # a signed request: a sign of life (see remember_nonce)
                    conn.execute("UPDATE cabinets SET last_seen_at = ? WHERE id = ?", (received_at, cabinet_id))
                return StoreResult(acked=[], stored=0, conflicts=[], changed=changed)
            event_partitions.add_event_ids(conn, list(new))
            conn.executemany(
                "INSERT INTO events (id, cabinet_id, seq, type, schema_version, wall_time, mono_time, payload,"
                " received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        e.id,
                        cabinet_id,
                        e.seq,
                        e.type,
                        e.schema_version,
                        e.wall_time,
                        e.mono_time,
                        dumps(e.payload).decode(),
                        received_at,
                    )
                    for e in new.values()
                ],
            )
            keys, tally = _funnel_keys(cabinet_id, retailer), _Tally()
            for event in new.values():
                if event.type == "pickup.completed":
                    self._collect_order(conn, cabinet_id, event.payload["order_id"], received_at)
                elif event.type == "repair.ticket":
                    self._apply_ticket_event(conn, cabinet_id, event)
                elif event.type in _SALE_EVENTS:
                    if event.type == "sale.completed":  # before the sales row says so: a sale counts once
                        row = sales.current(event.payload["sale_id"])
                        _count_sold(tally, row, keys, event.wall_time, event.payload)
                    _apply_sale_event(conn, sales, event.type, event.wall_time, event.payload)
                if event.type in ("form.offered", "form.closed"):
                    _apply_form_event(conn, cabinet_id, event, _now(now))
                if event.type == "payment.approved" and "receipt_token" in event.payload:
                    _add_receipt(conn, cabinet_id, event.payload)
                if event.id in callbacks:
                    _add_callback(conn, cabinet_id, callbacks[event.id], received_at)
                if event.type in _FUNNEL_EVENTS:
                    for key in keys:
                        _apply_funnel_event(tally, key, event.type, event.wall_time, event.payload)
            _apply_status_events(
                conn,
                cabinet_id,
                [(e.seq, e.type, e.wall_time, e.payload) for e in new.values() if e.type in _STATUS_EVENTS],
            )
            _apply_rollout_events(conn, cabinet_id, [e for e in new.values() if e.type in _ROLLOUT_OUTCOMES], _now(now))
            sales.roll_up(tally, retailer)
            tally.write(conn)  # last: the rows its fleet shares (see _Tally)
            if nonce is None:
                conn.execute("UPDATE cabinets SET last_sync_at = ? WHERE id = ?", (received_at, cabinet_id))
            else:  # a signed request: a sign of life as well (see remember_nonce)
                conn.execute(
                    "UPDATE cabinets SET last_sync_at = ?, last_seen_at = ? WHERE id = ?",
                    (received_at, received_at, cabinet_id),
                )
        return StoreResult(acked=acked, stored=len(new), conflicts=conflicts)

    @staticmethod
    def _record_conflict(
        conn: Conn, cabinet_id: str, stored: dict[str, Any], event: Event, differs: list[str], at: str
    ) -> None:
        received = _event_content(event)
        conn.execute(
            "INSERT INTO event_conflicts (cabinet_id, event_id, received_sha256, differs, stored, received, first_at,"
            " last_at, times) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT(cabinet_id, event_id, received_sha256)"
            " DO UPDATE SET last_at = excluded.last_at, times = event_conflicts.times + 1",
            (
                cabinet_id,
                event.id,
                hashlib.sha256(dumps(received)).hexdigest(),
                json.dumps(differs),
                dumps(stored).decode(),
                dumps(received).decode(),
                at,
                at,
            ),
        )

    @reads
    def event_conflicts(self, cabinet_id: str) -> list[dict[str, Any]]:
        """The cabinet's refused resends of stored events, newest first: what was stored, what came, and when."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM event_conflicts WHERE cabinet_id = ? ORDER BY last_at DESC, event_id", (cabinet_id,)
            ).fetchall()
        return [
            {
                "event_id": r["event_id"],
                "differs": json.loads(r["differs"]),
                "stored": json.loads(r["stored"]),
                "received": json.loads(r["received"]),
                "first_at": r["first_at"],
                "last_at": r["last_at"],
                "times": r["times"],
            }
            for r in rows
        ]

    def _collect_order(self, conn: Conn, cabinet_id: str, order_id: str, at: str) -> None:
        """A collected order leaves the configuration the cabinets download."""
        if conn.execute(
            "UPDATE pickup_orders SET collected_at = ? WHERE order_id = ? AND cabinet_id = ? AND collected_at IS NULL",
            (at, order_id, cabinet_id),
        ).rowcount:
            self._bump_config(conn, cabinet_id, at)

    @staticmethod
    def _apply_ticket_event(conn: Conn, cabinet_id: str, event: Event) -> None:
        """The first event of a ticket creates it; a later one moves it forward only (events may arrive late,
        after the retailer's own update). The status is checked by the API before storing."""
        p = event.payload
        status = p["status"]
        row = conn.execute(
            "SELECT status FROM repair_tickets WHERE cabinet_id = ? AND ticket_id = ?", (cabinet_id, p["ticket_id"])
        ).fetchone()
        if row is None:
            conn.execute(
                f"INSERT INTO repair_tickets (cabinet_id, ticket_id, device, detail, name, phone, category,"
                f" status, {status}_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    cabinet_id,
                    p["ticket_id"],
                    p["device"],
                    p["detail"],
                    p.get("name"),
                    p.get("phone"),
                    p.get("category"),
                    status,
                    event.wall_time,
                    event.wall_time,
                ),
            )
        elif TICKET_STATUSES.index(status) > TICKET_STATUSES.index(row["status"]):
            conn.execute(
                f"UPDATE repair_tickets SET status = ?, {status}_at = ?, updated_at = ? "
                "WHERE cabinet_id = ? AND ticket_id = ?",
                (status, event.wall_time, event.wall_time, cabinet_id, p["ticket_id"]),
            )
        else:
            return
        _ticket_changed(conn, cabinet_id, p["ticket_id"], status, event.wall_time, "cabinet")

    def remember_nonce(self, cabinet_id: str, nonce: str, *, keep_s: float, now: float | None = None) -> bool:
        """Record a request nonce; False if this cabinet already used it. Forgets its nonces older than keep_s."""
        seen_at = _now(now)
        with self._db.write(prepared=True) as conn:  # every signed request's: the same statements each time
            # Every signed request (a poll too) is a sign of life: the console's online state reads it. The
            # cabinet's row first, as an upload (store_events) takes it before the cabinet's nonces: a poll and
            # an upload of one cabinet at once wait for each other in that one order.
            conn.execute("UPDATE cabinets SET last_seen_at = ? WHERE id = ?", (utc_iso(seen_at), cabinet_id))
            return _claim_nonce(conn, cabinet_id, nonce, seen_at, keep_s).fetchone() is not None

    @reads
    def admission(self, cabinet_id: str, nonce: str, *, keep_s: float, now: float | None = None) -> Admission | None:
        """What a signed request's check reads, in one statement: the cabinet's key, and whether it used ``nonce``
        within ``keep_s`` (a replay is refused before its body is read). None: no such cabinet. Only a look: the
        nonce is claimed by the request's own write (store_events' ``nonce``, or remember_nonce)."""
        with self._db.read(prepared=True) as conn:
            row = conn.execute(
                "SELECT key, EXISTS (SELECT 1 FROM nonces WHERE cabinet_id = ? AND nonce = ? AND seen_at >= ?) AS used"
                " FROM cabinets WHERE id = ?",
                (cabinet_id, nonce, _now(now) - keep_s, cabinet_id),
            ).fetchone()
        return Admission(bytes.fromhex(row["key"]), bool(row["used"])) if row else None

    def export_events(self) -> Iterator[dict[str, Any]]:
        """Every stored event (its fields plus received_at), ordered by cabinet then seq.

        Reads in pages so a large store neither fills memory nor holds the lock while the caller works.
        """
        after: tuple[str, int, str] = ("", -1, "")
        while True:
            with self._db.read() as conn:
                rows = conn.execute(
                    "SELECT * FROM events WHERE (cabinet_id, seq, id) > (?, ?, ?) ORDER BY cabinet_id, seq, id LIMIT ?",
                    (*after, _EXPORT_PAGE),
                ).fetchall()
            for row in rows:
                record = dict(row)
                record["payload"] = json.loads(record["payload"])
                yield record
            if len(rows) < _EXPORT_PAGE:
                return
            last = rows[-1]
            after = (last["cabinet_id"], last["seq"], last["id"])

    @reads
    def events_of(self, cabinet_id: str, types: Sequence[str], *, limit: int = 1000) -> list[dict[str, Any]]:
        """The cabinet's events of these types, oldest first, at most the newest ``limit``."""
        marks = ", ".join("?" * len(types))
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT * FROM (SELECT * FROM events WHERE cabinet_id = ? AND type IN ({marks}) "
                f"ORDER BY seq DESC LIMIT ?) newest ORDER BY seq",
                (cabinet_id, *types, limit),
            ).fetchall()
        return [{**dict(r), "payload": json.loads(r["payload"])} for r in rows]

    @reads
    def count_events(self) -> int:
        with self._db.read() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
