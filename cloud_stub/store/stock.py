"""The console's storefronts, stock levels and restock lines."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from cloud_stub.sqldb import reads
from cloud_stub.store.base import StoreBase, _now
from cloud_stub.store.errors import Conflict, NotFound
from cloud_stub.store.fleet import _refresh_stock_status
from sync_client.schema import utc_iso


class StockMixin(StoreBase):
    """The console's storefronts, stock levels and restock lines."""

    # --- the console: storefronts, stock levels, restock lines ---------------------------------------
    def add_storefront(self, retailer: str, name: str, address: str, *, now: float | None = None) -> str:
        storefront_id = str(uuid.uuid4())
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO storefronts (id, retailer, name, address, created_at) VALUES (?, ?, ?, ?, ?)",
                (storefront_id, retailer, name, address, utc_iso(_now(now))),
            )
        return storefront_id

    @reads
    def storefronts_of(self, retailer: str) -> list[dict[str, Any]]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT id, name, address FROM storefronts WHERE retailer = ? ORDER BY name, id", (retailer,)
            ).fetchall()
        return [dict(r) for r in rows]

    def set_cabinet_storefront(self, retailer: str, cabinet_id: str, storefront_id: str | None) -> None:
        """The storefront that restocks the cabinet (None: none). NotFound unless both are the retailer's."""
        with self._db.write() as conn:
            if (
                storefront_id is not None
                and not conn.execute(
                    "SELECT 1 FROM storefronts WHERE id = ? AND retailer = ?", (storefront_id, retailer)
                ).fetchone()
            ):
                raise NotFound(f"storefront_id: no storefront {storefront_id!r} of retailer {retailer!r}")
            if not conn.execute(
                "UPDATE cabinets SET storefront_id = ? WHERE id = ? AND retailer = ?",
                (storefront_id, cabinet_id, retailer),
            ).rowcount:
                raise NotFound(f"cabinet_id: no cabinet {cabinet_id!r} of retailer {retailer!r}")

    @reads
    def cabinet_storefronts(self, retailer: str) -> dict[str, str | None]:
        """cabinet id -> its storefront's id (None: not set), for the retailer's cabinets."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT id, storefront_id FROM cabinets WHERE retailer = ? ORDER BY id", (retailer,)
            ).fetchall()
        return {r["id"]: r["storefront_id"] for r in rows}

    @reads
    def stock_levels_of(self, retailer: str) -> dict[str, dict[str, Any]]:
        """product sku -> {threshold, target, updated_at, updated_by} as the retailer set them."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT sku, threshold, target, updated_at, updated_by FROM stock_levels WHERE retailer = ?",
                (retailer,),
            ).fetchall()
        return {r["sku"]: dict(r) for r in rows}

    def set_stock_level(
        self, retailer: str, sku: str, threshold: int, target: int, by: str, *, now: float | None = None
    ) -> None:
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO stock_levels (retailer, sku, threshold, target, updated_at, updated_by) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(retailer, sku) DO UPDATE SET threshold = excluded.threshold, "
                "target = excluded.target, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                (retailer, sku, threshold, target, utc_iso(_now(now)), by),
            )
            cabinet_ids = [r["id"] for r in conn.execute("SELECT id FROM cabinets WHERE retailer = ?", (retailer,))]
            _refresh_stock_status(conn, cabinet_ids)  # the fleet's low-stock figures follow the new threshold

    def add_restock_line(
        self,
        retailer: str,
        cabinet_id: str,
        items: Sequence[dict[str, Any]],
        by: str,
        *,
        now: float | None = None,
    ) -> str:
        """Plan a restock of the retailer's cabinet (from its storefront); Conflict if one is open already.
        The line remembers the cabinet's newest event: the first restock after it closes the line."""
        line_id = str(uuid.uuid4())
        with self._db.write() as conn:
            cabinet = conn.execute(
                "SELECT storefront_id FROM cabinets WHERE id = ? AND retailer = ?", (cabinet_id, retailer)
            ).fetchone()
            if cabinet is None:
                raise NotFound(f"cabinet_id: no cabinet {cabinet_id!r} of retailer {retailer!r}")
            if conn.execute(
                "SELECT 1 FROM restock_lines WHERE retailer = ? AND cabinet_id = ? AND closed_at IS NULL",
                (retailer, cabinet_id),
            ).fetchone():
                raise Conflict(f"cabinet_id: cabinet {cabinet_id!r} already has an open restock line")
            seq = conn.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM events WHERE cabinet_id = ?", (cabinet_id,)
            ).fetchone()
            conn.execute(
                "INSERT INTO restock_lines (id, retailer, cabinet_id, storefront_id, items, planned_at, planned_by, "
                "planned_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    line_id,
                    retailer,
                    cabinet_id,
                    cabinet["storefront_id"],
                    json.dumps(list(items)),
                    utc_iso(_now(now)),
                    by,
                    seq[0],
                ),
            )
        return line_id

    @reads
    def restock_lines_of(self, retailer: str, *, closed_since: str) -> list[dict[str, Any]]:
        """The retailer's open restock lines and those closed from ``closed_since`` on (cabinet time), oldest first."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM restock_lines WHERE retailer = ? AND (closed_at IS NULL OR closed_at >= ?) "
                "ORDER BY planned_at, id",
                (retailer, closed_since),
            ).fetchall()
        return [
            {**dict(r), "items": json.loads(r["items"]), "result": json.loads(r["result"]) if r["result"] else None}
            for r in rows
        ]

    @reads
    def events_after(
        self, cabinet_id: str, seq: int, types: Sequence[str], *, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """The cabinet's events of these types after ``seq``, oldest first, at most ``limit``."""
        marks = ", ".join("?" * len(types))
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT * FROM events WHERE cabinet_id = ? AND seq > ? AND type IN ({marks}) ORDER BY seq LIMIT ?",
                (cabinet_id, seq, *types, limit),
            ).fetchall()
        return [{**dict(r), "payload": json.loads(r["payload"])} for r in rows]

    def close_restock_line(
        self, retailer: str, line_id: str, closed_at: str, closed_by: str | None, result: Sequence[dict[str, Any]]
    ) -> None:
        """Close an open line with what the restock recorded (a line closes once: a second call changes nothing)."""
        with self._db.write() as conn:
            conn.execute(
                "UPDATE restock_lines SET closed_at = ?, closed_by = ?, result = ? "
                "WHERE id = ? AND retailer = ? AND closed_at IS NULL",
                (closed_at, closed_by, json.dumps(list(result)), line_id, retailer),
            )
