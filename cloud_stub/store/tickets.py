"""Repair tickets and the console's repair board."""

from __future__ import annotations

from typing import Any

from cloud_stub.sqldb import Conn, reads
from cloud_stub.store.base import StoreBase, _limit, _now, _values
from cloud_stub.store.errors import Conflict, NotFound
from cloud_stub.store.records import TICKET_STATUSES
from sync_client.schema import utc_iso

_TICKET_FIELDS = (
    "ticket_id",
    "cabinet_id",
    "device",
    "detail",
    "name",
    "phone",
    "category",
    "status",
    "dropped_off_at",
    "collected_at",
    "returned_at",
    "in_repair_at",
    "handed_back_at",
    "updated_at",
)
_TICKET_COLUMNS = ", ".join(_TICKET_FIELDS)
# The repair messages of a retailer's tickets not sent yet (the repair board's "to notify").
_TO_NOTIFY = (
    "FROM notification_outbox n JOIN cabinets c ON c.id = n.cabinet_id "
    "JOIN repair_tickets t ON t.cabinet_id = n.cabinet_id AND t.ticket_id = n.ticket_id "
    "WHERE c.retailer = ? AND n.sent_at IS NULL"
)


def _ticket_changed(conn: Conn, cabinet_id: str, ticket_id: str, status: str, at: str, by: str) -> None:
    """Record who moved the ticket, and the message its customer is owed about it."""
    conn.execute(
        "INSERT INTO ticket_changes (cabinet_id, ticket_id, status, at, by) VALUES (?, ?, ?, ?, ?)",
        (cabinet_id, ticket_id, status, at, by),
    )
    conn.execute(
        "INSERT INTO notification_outbox (cabinet_id, ticket_id, status, created_at) VALUES (?, ?, ?, ?)",
        (cabinet_id, ticket_id, status, at),
    )


class TicketsMixin(StoreBase):
    """Repair tickets and the console's repair board."""

    # --- repair tickets -------------------------------------------------------------------
    @reads
    def repair_tickets(self, cabinet_id: str, status: str | None = None) -> list[dict[str, Any]]:
        """The cabinet's tickets (only those in ``status`` if given), oldest drop-off first."""
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {_TICKET_COLUMNS} FROM repair_tickets WHERE cabinet_id = ? AND (? IS NULL OR status = ?) "
                "ORDER BY COALESCE(dropped_off_at, updated_at), ticket_id",
                (cabinet_id, status, status),
            ).fetchall()
        return [dict(r) for r in rows]

    @reads
    def find_ticket(self, retailer: str, ticket_id: str) -> list[dict[str, Any]]:
        """The tickets with this id on the retailer's cabinets (ids are per cabinet, so maybe several)."""
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {', '.join('t.' + f for f in _TICKET_FIELDS)} FROM repair_tickets t "
                "JOIN cabinets c ON c.id = t.cabinet_id WHERE c.retailer = ? AND t.ticket_id = ? ORDER BY t.cabinet_id",
                (retailer, ticket_id),
            ).fetchall()
        return [dict(r) for r in rows]

    def move_ticket(
        self, cabinet_id: str, ticket_id: str, to_status: str, *, by: str = "api", now: float | None = None
    ) -> dict[str, Any]:
        """Move the ticket one step forward to ``to_status``; Conflict from any other status, NotFound if none."""
        stage = TICKET_STATUSES.index(to_status)  # ValueError for a status that is not in the lifecycle
        at = utc_iso(_now(now))
        with self._db.write() as conn:
            moved = (
                stage > 0
                and conn.execute(
                    f"UPDATE repair_tickets SET status = ?, {to_status}_at = ?, updated_at = ? "
                    "WHERE cabinet_id = ? AND ticket_id = ? AND status = ?",
                    (to_status, at, at, cabinet_id, ticket_id, TICKET_STATUSES[stage - 1]),
                ).rowcount
                == 1
            )
            if moved:
                _ticket_changed(conn, cabinet_id, ticket_id, to_status, at, by)
            row = conn.execute(
                f"SELECT {_TICKET_COLUMNS} FROM repair_tickets WHERE cabinet_id = ? AND ticket_id = ?",
                (cabinet_id, ticket_id),
            ).fetchone()
        if row is None:
            raise NotFound(f"ticket_id: no ticket {ticket_id!r} on cabinet {cabinet_id!r}")
        if not moved:
            current = TICKET_STATUSES.index(row["status"])
            then = (
                f"it can only move to {TICKET_STATUSES[current + 1]}"
                if current + 1 < len(TICKET_STATUSES)
                else "that is its last status"
            )
            raise Conflict(f"status: ticket {ticket_id!r} is {row['status']}; {then}")
        return dict(row)

    # --- the console: the repair board ----------------------------------------------------------------
    @reads
    def tickets_of(self, retailer: str, *, handed_back_limit: int = -1) -> list[dict[str, Any]]:
        """The retailer's repair tickets, oldest drop-off first, each with its ``changes`` (oldest first): those
        handed back only the ``handed_back_limit`` handed back last (all by default: -1), as the history grows."""
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {', '.join('t.' + f for f in _TICKET_FIELDS)} FROM repair_tickets t "
                "JOIN cabinets c ON c.id = t.cabinet_id WHERE c.retailer = :retailer AND (t.status != 'handed_back' "
                "OR (t.cabinet_id, t.ticket_id) IN (SELECT b.cabinet_id, b.ticket_id FROM repair_tickets b "
                "JOIN cabinets k ON k.id = b.cabinet_id "
                "WHERE k.retailer = :retailer AND b.status = 'handed_back' "
                "ORDER BY b.handed_back_at DESC, b.cabinet_id, b.ticket_id LIMIT :limit)) "
                "ORDER BY COALESCE(t.dropped_off_at, t.updated_at), t.cabinet_id, t.ticket_id",
                {"retailer": retailer, "limit": _limit(handed_back_limit)},
            ).fetchall()
            table, params = _values("t", ("cabinet_id", "ticket_id"), [(r["cabinet_id"], r["ticket_id"]) for r in rows])
            changes = (
                conn.execute(
                    f"WITH {table} SELECT h.cabinet_id, h.ticket_id, h.status, h.at, h.by FROM t "
                    "JOIN ticket_changes h ON h.cabinet_id = t.cabinet_id AND h.ticket_id = t.ticket_id "
                    f"ORDER BY h.at, h.{conn.insert_order}",
                    params,
                ).fetchall()
                if rows
                else []
            )
        tickets = {(r["cabinet_id"], r["ticket_id"]): {**dict(r), "changes": []} for r in rows}
        for change in changes:
            ticket = tickets.get((change["cabinet_id"], change["ticket_id"]))
            if ticket is not None:
                ticket["changes"].append({k: change[k] for k in ("status", "at", "by")})
        return list(tickets.values())

    @reads
    def notifications_of(self, retailer: str, *, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """Messages to the customers of the retailer's repair tickets not sent yet, oldest first (a page of
        ``limit`` from ``offset``): the ticket, the change to tell, the customer's name and phone."""
        page, args = (" LIMIT ? OFFSET ?", (retailer, limit, offset)) if limit is not None else ("", (retailer,))
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT n.id, n.cabinet_id, n.ticket_id, n.status, n.created_at, t.name, t.phone "
                f"{_TO_NOTIFY} ORDER BY n.id{page}",
                args,
            ).fetchall()
        return [dict(r) for r in rows]

    @reads
    def notification_count(self, retailer: str) -> int:
        """How many ``notifications_of`` lists."""
        with self._db.read() as conn:
            return int(conn.execute(f"SELECT COUNT(*) {_TO_NOTIFY}", (retailer,)).fetchone()[0])
