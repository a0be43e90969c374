"""The consumer pages (cloud_stub/consumer): QR hand-off links, scans, phone forms, receipts, repair status, the
locator, notifications."""

from __future__ import annotations

import json
import re
from typing import Any

from cloud_stub.sqldb import Conn, Row, reads
from cloud_stub.store.base import StoreBase, _now, log
from cloud_stub.store.tickets import _TICKET_COLUMNS
from sync_client.cabinet_config import ConfigInvalid, hand_off_links, link_code, parse_config
from sync_client.schema import Event, utc_iso

PHONE_FORMS = ("repair", "callback")  # the forms a phone may fill in for a cabinet (each has a <form>_form command)
PHONE_FORM_MAX_S = 600.0
_FORM_OPEN = "token = ? AND expires_s > ? AND submitted_at IS NULL AND closed_at IS NULL"
_FORM_SELECT = (
    "SELECT token, cabinet_id, form, opened_at IS NOT NULL AS opened, sku, consent_version, consent FROM phone_forms"
)


def _phone_form(row: Row) -> dict[str, Any]:
    return {**dict(row), "opened": bool(row["opened"]), "consent": json.loads(row["consent"])}


def _apply_form_event(conn: Conn, cabinet_id: str, event: Event, received_s: float) -> None:
    p = event.payload
    if event.type == "form.closed":
        conn.execute(
            "UPDATE phone_forms SET closed_at = ? WHERE token = ? AND cabinet_id = ?",
            (utc_iso(received_s), p["token"], cabinet_id),
        )
    elif p["form"] in PHONE_FORMS:
        valid_s = min(max(float(p["valid_s"]), 0.0), PHONE_FORM_MAX_S)
        conn.execute(
            "INSERT INTO phone_forms (token, cabinet_id, form, expires_s, sku, consent_version, consent)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (token) DO NOTHING",
            (
                p["token"],
                cabinet_id,
                p["form"],
                received_s + valid_s,
                p.get("sku", ""),
                p.get("consent_version", ""),
                json.dumps(p.get("consent", {}), ensure_ascii=False),
            ),
        )


def _derive_link_codes(conn: Conn, cabinet_id: str, version: int, document: dict[str, Any]) -> None:
    """The cabinet's QR hand-off code table, rebuilt from its configuration (which the caller validated)."""
    key = conn.execute("SELECT key FROM cabinets WHERE id = ?", (cabinet_id,)).fetchone()["key"]
    try:
        config = parse_config({**document, "version": version, "pickup_orders": []})
    except ConfigInvalid as exc:  # a caller that skipped validation: no links rather than wrong ones
        log.warning("cabinet %s: configuration v%d gives no QR links: %s", cabinet_id, version, exc)
        config = None
    conn.execute("DELETE FROM link_codes WHERE cabinet_id = ?", (cabinet_id,))
    conn.executemany(
        "INSERT INTO link_codes (code, cabinet_id, kind, sku, variant_sku, target) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (code) DO NOTHING",
        [
            (
                link_code(bytes.fromhex(key), cabinet_id, h.kind, h.sku, h.variant_sku),
                cabinet_id,
                h.kind,
                h.sku,
                h.variant_sku,
                h.target,
            )
            for h in (hand_off_links(config) if config else ())
        ],
    )


def _add_receipt(conn: Conn, cabinet_id: str, payload: dict[str, Any]) -> None:
    """A receipt token (validated with its event) names its sale from now on."""
    conn.execute(
        "INSERT INTO receipts (token, cabinet_id, sale_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (payload["receipt_token"], cabinet_id, payload["sale_id"]),
    )


class PhoneMixin(StoreBase):
    """The consumer pages (cloud_stub/consumer): QR hand-off links, scans, phone forms, receipts, repair status, the
    locator, notifications."""

    # --- the consumer pages (cloud_stub/consumer): QR hand-off, receipts, repair status, locator, notifications
    @reads
    def link(self, code: str) -> dict[str, Any] | None:
        """The hand-off a QR code names: cabinet_id, kind, sku, variant_sku, target."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT code, cabinet_id, kind, sku, variant_sku, target FROM link_codes WHERE code = ?", (code,)
            ).fetchone()
        return dict(row) if row else None

    @reads
    def links_of(self, cabinet_id: str) -> list[dict[str, Any]]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT code, cabinet_id, kind, sku, variant_sku, target FROM link_codes WHERE cabinet_id = ?"
                " ORDER BY kind, sku, variant_sku",
                (cabinet_id,),
            ).fetchall()
        return [dict(r) for r in rows]

    def record_scan(
        self, cabinet_id: str, code: str, kind: str, sku: str, variant_sku: str, *, now: float | None = None
    ) -> None:
        """One scan: its row (no personal data: no address, no agent) and its day's count, in one transaction."""
        at = utc_iso(_now(now))
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO qr_scans (cabinet_id, code, kind, sku, variant_sku, at) VALUES (?, ?, ?, ?, ?, ?)",
                (cabinet_id, code, kind, sku, variant_sku, at),
            )
            conn.execute(
                "INSERT INTO qr_scan_days (cabinet_id, day, code, kind, sku, variant_sku, scans)"
                " VALUES (?, ?, ?, ?, ?, ?, 1) ON CONFLICT (cabinet_id, day, code)"
                " DO UPDATE SET scans = qr_scan_days.scans + 1",
                (cabinet_id, at[:10], code, kind, sku, variant_sku),
            )

    @reads
    def phone_form(self, token: str, *, now: float | None = None) -> dict[str, Any] | None:
        """A form the cabinet offers on a phone (token, cabinet_id, form, opened, sku, consent_version and
        consent: {language: text} of a call-back), None when there is none to fill in now: unknown, lapsed,
        withdrawn at the cabinet or already submitted."""
        with self._db.read() as conn:
            row = conn.execute(f"{_FORM_SELECT} WHERE {_FORM_OPEN}", (token, _now(now))).fetchone()
        return _phone_form(row) if row else None

    def open_phone_form(self, token: str, *, now: float | None = None) -> dict[str, Any] | None:
        """The phone shows the form: the first time, the cabinet is told (a form_opened command). The form as
        ``phone_form`` gives it; None when it is not open to filling in."""
        with self._db.write() as conn:
            row = conn.execute(f"{_FORM_SELECT} WHERE {_FORM_OPEN} FOR UPDATE", (token, _now(now))).fetchone()
            if row is None:
                return None
            if not row["opened"]:
                conn.execute("UPDATE phone_forms SET opened_at = ? WHERE token = ?", (utc_iso(_now(now)), token))
                self._insert_command(conn, row["cabinet_id"], "form_opened", {"token": token}, None, _now(now))
            return _phone_form(row)

    def submit_phone_form(self, token: str, args: dict[str, Any], *, now: float | None = None) -> bool:
        """The filled-in form goes down to the cabinet (a repair_form command) and the link is used up, in
        one transaction: a second submission finds it used. False when the form is not open to filling in."""
        with self._db.write() as conn:
            row = conn.execute(
                f"SELECT cabinet_id, form FROM phone_forms WHERE {_FORM_OPEN} FOR UPDATE", (token, _now(now))
            ).fetchone()
            if row is None:
                return False
            conn.execute("UPDATE phone_forms SET submitted_at = ? WHERE token = ?", (utc_iso(_now(now)), token))
            self._insert_command(
                conn, row["cabinet_id"], f"{row['form']}_form", {"token": token, **args}, None, _now(now)
            )
            return True

    @reads
    def scan_counts(self, cabinet_id: str) -> list[dict[str, Any]]:
        """The cabinet's scans per UTC day and code (the funnel's QR figures)."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT day, code, kind, sku, variant_sku, scans FROM qr_scan_days WHERE cabinet_id = ?"
                " ORDER BY day, code",
                (cabinet_id,),
            ).fetchall()
        return [dict(r) for r in rows]

    @reads
    def receipt(self, token: str) -> dict[str, Any] | None:
        """The sale a receipt token names, as the sales read model has it (None until its approval arrived),
        with whether a refund the owner asked for was carried out."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT s.*, c.result AS refund_result, c.acked_at AS refund_acked_at FROM receipts r"
                " JOIN sales s ON s.cabinet_id = r.cabinet_id AND s.sale_id = r.sale_id"
                " LEFT JOIN commands c ON c.id = s.refund_command_id WHERE r.token = ?",
                (token,),
            ).fetchone()
        return dict(row) if row else None

    @reads
    def ticket_status(self, ticket_id: str, phone_end: str) -> list[dict[str, Any]]:
        """The tickets numbered ``ticket_id`` whose phone's digits end in ``phone_end``, each with its changes
        (status and time, oldest first; never who made them)."""
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {_TICKET_COLUMNS} FROM repair_tickets WHERE ticket_id = ? ORDER BY cabinet_id", (ticket_id,)
            ).fetchall()
            found = [dict(r) for r in rows if re.sub(r"\D", "", r["phone"] or "").endswith(phone_end)]
            for ticket in found:
                ticket["changes"] = [
                    dict(c)
                    for c in conn.execute(
                        "SELECT status, at FROM ticket_changes WHERE cabinet_id = ? AND ticket_id = ?"
                        f" ORDER BY at, {conn.insert_order}",
                        (ticket["cabinet_id"], ticket_id),
                    )
                ]
        return found

    @reads
    def listed_cabinets(self) -> list[dict[str, Any]]:
        """Every cabinet with a configuration (the locator lists those whose configuration has a place):
        id, retailer, last_seen_at and the document."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT c.id, c.retailer, c.last_seen_at, g.version, g.document FROM cabinets c"
                f" JOIN configs g ON g.cabinet_id = c.id WHERE {conn.json_text('g.document', 'place')} IS NOT NULL"
                " ORDER BY c.id"
            ).fetchall()
        return [{**dict(r), "document": json.loads(r["document"])} for r in rows]

    @reads
    def due_notifications(self, *, now: float | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Messages pending delivery whose next attempt is due: a ticket's change or an order's pickup code,
        with the customer's phone."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT n.id, n.kind, n.cabinet_id, n.ticket_id, n.status, n.created_at, n.attempts, t.name,"
                " COALESCE(t.phone, o.phone) AS phone, n.order_id, n.pickup_code, o.sku, o.expires_at"
                " FROM notification_outbox n LEFT JOIN repair_tickets t"
                " ON n.kind = 'repair' AND t.cabinet_id = n.cabinet_id AND t.ticket_id = n.ticket_id"
                " LEFT JOIN pickup_orders o ON n.kind = 'pickup' AND o.order_id = n.order_id"
                " WHERE n.delivery = 'pending' AND n.next_attempt_at <= ? ORDER BY n.id LIMIT ?",
                (_now(now), limit),
            ).fetchall()
        return [dict(r) for r in rows]

    def notification_tried(
        self,
        notification_id: int,
        *,
        delivered: bool,
        error: str | None,
        retry_at: float | None,
        now: float | None = None,
    ) -> None:
        """Record an attempt: delivered (sent_at set), to retry at ``retry_at``, or failed for good (None). A
        pickup code leaves the outbox once its message is delivered or failed."""
        delivery = "delivered" if delivered else "pending" if retry_at is not None else "failed"
        with self._db.write() as conn:
            conn.execute(
                "UPDATE notification_outbox SET attempts = attempts + 1, delivery = ?, last_error = ?,"
                " next_attempt_at = COALESCE(?, next_attempt_at), sent_at = CASE WHEN ? THEN ? ELSE sent_at END,"
                " pickup_code = CASE WHEN ? = 'pending' THEN pickup_code END WHERE id = ?",
                (delivery, error, retry_at, delivered, utc_iso(_now(now)), delivery, notification_id),
            )

    @reads
    def notification(self, notification_id: int) -> dict[str, Any] | None:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT id, kind, cabinet_id, ticket_id, order_id, pickup_code, status, delivery, attempts,"
                " last_error, sent_at FROM notification_outbox WHERE id = ?",
                (notification_id,),
            ).fetchone()
        return dict(row) if row else None
