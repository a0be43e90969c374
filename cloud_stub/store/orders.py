"""Configuration documents and pickup orders."""

from __future__ import annotations

import json
import uuid
from typing import Any

from cloud_stub.sqldb import reads
from cloud_stub.store.base import StoreBase, _now
from cloud_stub.store.errors import Conflict, NotFound
from cloud_stub.store.fleet import _set_config_facts
from cloud_stub.store.phone import _derive_link_codes
from cloud_stub.store.records import ORDER_ENDINGS
from sync_client.schema import dumps, utc_iso

_ORDER_STATE_SQL = {
    "open": "o.collected_at IS NULL AND o.ended_as IS NULL AND o.expires_at > :now",
    "collected": "o.collected_at IS NOT NULL",
    "cancelled": "o.collected_at IS NULL AND o.ended_as = 'cancelled'",
    "expired": "o.collected_at IS NULL AND (o.ended_as = 'expired' OR (o.ended_as IS NULL AND o.expires_at <= :now))",
}


class OrdersMixin(StoreBase):
    """Configuration documents and pickup orders."""

    # --- configuration and pickup orders ------------------------------------------------
    @reads
    def config(self, cabinet_id: str) -> tuple[int, dict[str, Any]] | None:
        with self._db.read() as conn:
            row = conn.execute("SELECT version, document FROM configs WHERE cabinet_id = ?", (cabinet_id,)).fetchone()
        return (row["version"], json.loads(row["document"])) if row else None

    def put_config(self, cabinet_id: str, document: dict[str, Any], *, now: float | None = None) -> int:
        """Store the cabinet's configuration (validation is the caller's); returns its new version."""
        at = utc_iso(_now(now))
        with self._db.write() as conn:
            if conn.execute("SELECT 1 FROM cabinets WHERE id = ?", (cabinet_id,)).fetchone() is None:
                raise NotFound(f"no cabinet {cabinet_id!r}")
            conn.execute(
                "INSERT INTO configs (cabinet_id, version, document, updated_at) VALUES (?, 1, ?, ?) "
                "ON CONFLICT(cabinet_id) DO UPDATE SET version = configs.version + 1, document = excluded.document, "
                "updated_at = excluded.updated_at",
                (cabinet_id, dumps(document).decode(), at),
            )
            _set_config_facts(conn, cabinet_id, document)
            version = int(conn.execute("SELECT version FROM configs WHERE cabinet_id = ?", (cabinet_id,)).fetchone()[0])
            _derive_link_codes(conn, cabinet_id, version, document)
            return version

    def add_order(
        self,
        cabinet_id: str,
        sku: str,
        code_hash: str,
        expires_at: str,
        *,
        created_by: str | None = None,
        reference: str | None = None,
        phone: str | None = None,
        pickup_code: str | None = None,
        now: float | None = None,
    ) -> str:
        """The order, and with a ``phone`` its ``pickup_code`` queued for the notification provider (the
        outbox keeps the code in clear only until it is delivered or given up)."""
        order_id = str(uuid.uuid4())
        at = utc_iso(_now(now))
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO pickup_orders (order_id, cabinet_id, sku, code_hash, expires_at, created_at, created_by,"
                " reference, phone) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (order_id, cabinet_id, sku, code_hash, expires_at, at, created_by, reference, phone),
            )
            if phone and pickup_code:
                conn.execute(
                    "INSERT INTO notification_outbox (cabinet_id, ticket_id, status, created_at, kind, order_id,"
                    " pickup_code) VALUES (?, '', 'pickup_code', ?, 'pickup', ?, ?)",
                    (cabinet_id, at, order_id, pickup_code),
                )
            self._bump_config(conn, cabinet_id, at)
        return order_id

    @reads
    def open_orders(self, cabinet_id: str) -> list[dict[str, Any]]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT order_id, sku, code_hash, expires_at FROM pickup_orders "
                "WHERE cabinet_id = ? AND collected_at IS NULL AND ended_at IS NULL ORDER BY created_at, order_id",
                (cabinet_id,),
            ).fetchall()
        return [dict(r) for r in rows]

    # --- the console: online orders ---------------------------------------------------------------
    @reads
    def orders_of(self, retailer: str, *, cabinet_id: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """The retailer's pickup orders (only ``cabinet_id``'s if given), newest first, without code hashes."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT o.order_id, o.cabinet_id, o.sku, o.expires_at, o.created_at, o.created_by, o.reference, "
                "o.collected_at, o.ended_at, o.ended_as, o.ended_by FROM pickup_orders o "
                "JOIN cabinets c ON c.id = o.cabinet_id WHERE c.retailer = ? AND (? IS NULL OR o.cabinet_id = ?) "
                "ORDER BY o.created_at DESC, o.order_id LIMIT ?",
                (retailer, cabinet_id, cabinet_id, limit),
            ).fetchall()
        return [dict(r) for r in rows]

    @reads
    def orders_page(
        self,
        retailer: str,
        *,
        now_iso: str,
        state: str | None = None,
        cabinet_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of ``orders_of``'s orders (only those in ``state`` at ``now_iso``: ORDER_STATES), and how many
        there are in all."""
        where = _ORDER_STATE_SQL[state] if state else "1 = 1"
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT o.order_id, o.cabinet_id, o.sku, o.expires_at, o.created_at, o.created_by, o.reference, "
                "o.collected_at, o.ended_at, o.ended_as, o.ended_by, COUNT(*) OVER () AS total FROM pickup_orders o "
                "JOIN cabinets c ON c.id = o.cabinet_id WHERE c.retailer = :retailer "
                f"AND (:cabinet_id IS NULL OR o.cabinet_id = :cabinet_id) AND {where} "
                "ORDER BY o.created_at DESC, o.order_id LIMIT :limit OFFSET :offset",
                {"retailer": retailer, "cabinet_id": cabinet_id, "now": now_iso, "limit": limit, "offset": offset},
            ).fetchall()
        total = rows[0]["total"] if rows else 0
        return [{k: r[k] for k in r.keys() if k != "total"} for r in rows], total

    def end_order(self, retailer: str, order_id: str, ending: str, by: str, *, now: float | None = None) -> None:
        """Cancel or expire an open order of the retailer: its code leaves the configuration (a new version).
        NotFound for another retailer's order; Conflict if it was collected or ended already."""
        if ending not in ORDER_ENDINGS:
            raise ValueError(f"ending: expected one of {', '.join(ORDER_ENDINGS)}, got {ending!r}")
        at = utc_iso(_now(now))
        with self._db.write() as conn:
            row = conn.execute(
                "SELECT o.cabinet_id FROM pickup_orders o JOIN cabinets c ON c.id = o.cabinet_id "
                "WHERE o.order_id = ? AND c.retailer = ?",
                (order_id, retailer),
            ).fetchone()
            if row is None:
                raise NotFound(f"order_id: no order {order_id!r} of retailer {retailer!r}")
            if not conn.execute(
                "UPDATE pickup_orders SET ended_at = ?, ended_as = ?, ended_by = ? "
                "WHERE order_id = ? AND collected_at IS NULL AND ended_at IS NULL",
                (at, ending, by, order_id),
            ).rowcount:
                raise Conflict(f"order_id: order {order_id!r} was already collected or ended")
            self._bump_config(conn, row["cabinet_id"], at)
