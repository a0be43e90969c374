"""Scan-to-pay payments, the providers' notifications, and each retailer's payment provider."""

from __future__ import annotations

import json
import uuid
from typing import Any

from cloud_stub.sqldb import reads
from cloud_stub.store.base import StoreBase, _now
from cloud_stub.store.errors import Conflict, NotFound
from cloud_stub.store.sales import _paid_by_provider
from sync_client.schema import utc_iso

# What the provider may tell about a payment, besides its status (move_payment, note_payment).
_PAYMENT_DETAILS = frozenset(
    {"provider_ref", "qr_text", "method_detail", "paid_late_at", "refunded_at", "refunded_by", "queried_at"}
)
# A payment just expired is still asked about for this long: the shopper may have paid in its last second.
PAYMENT_CATCH_UP_S = 600


def _payment_details(details: dict[str, Any]) -> tuple[str, list[Any]]:
    """The ``col = ?, `` assignments (ending in a comma) and their values; an unknown column is a bug."""
    unknown = set(details) - _PAYMENT_DETAILS
    if unknown:
        raise ValueError(f"not a payment detail: {sorted(unknown)}")
    return "".join(f"{column} = ?, " for column in details), list(details.values())


class PaymentsMixin(StoreBase):
    """Scan-to-pay payments, the providers' notifications, and each retailer's payment provider."""

    # --- scan-to-pay ----------------------------------------------------------------------
    def create_payment(
        self,
        cabinet_id: str,
        sale_id: str,
        amount_cents: int,
        currency: str,
        expires_at: float,
        *,
        provider: str = "simulator",
        now: float | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """A pending payment for the sale at ``provider``; the same sale again returns the existing one
        (created=False)."""
        at = utc_iso(_now(now))
        # The id is the merchant's order number at the provider: WeChat Pay takes 6 to 32 letters and digits.
        with self._db.write() as conn:
            cursor = conn.execute(
                "INSERT INTO payments (id, cabinet_id, sale_id, amount_cents, currency, status, created_at, expires_at,"
                " updated_at, provider) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)"
                " ON CONFLICT(cabinet_id, sale_id) DO NOTHING",
                (uuid.uuid4().hex, cabinet_id, sale_id, amount_cents, currency, at, expires_at, at, provider),
            )
            row = conn.execute(
                "SELECT * FROM payments WHERE cabinet_id = ? AND sale_id = ?", (cabinet_id, sale_id)
            ).fetchone()
        if (row["amount_cents"], row["currency"]) != (amount_cents, currency):
            raise Conflict(f"sale {sale_id!r} already has a payment of {row['amount_cents']} {row['currency']}")
        return dict(row), cursor.rowcount == 1

    def payment(self, payment_id: str, *, now: float | None = None) -> dict[str, Any] | None:
        """The payment, moved to ``expired`` first if it is pending past its expiry."""
        with self._db.write() as conn:
            conn.execute(
                "UPDATE payments SET status = 'expired', updated_at = ? WHERE id = ? AND status = 'pending' "
                "AND expires_at < ?",
                (utc_iso(_now(now)), payment_id, _now(now)),
            )
            row = conn.execute("SELECT * FROM payments WHERE id = ?", (payment_id,)).fetchone()
        return dict(row) if row else None

    @reads
    def payment_for_sale(self, cabinet_id: str, sale_id: str, *, now: float | None = None) -> dict[str, Any] | None:
        """The cabinet's payment for the sale (expired first if due), or None if it never asked for one."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT id FROM payments WHERE cabinet_id = ? AND sale_id = ?", (cabinet_id, sale_id)
            ).fetchone()
        return self.payment(row["id"], now=now) if row else None

    def move_payment(
        self,
        payment_id: str,
        from_status: str,
        to_status: str,
        *,
        details: dict[str, Any] | None = None,
        now: float | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Change the status if it is ``from_status`` (and, if pending, not expired), with ``details`` (other
        columns of _PAYMENT_DETAILS) in the same update; returns the record as it is afterwards and whether this
        call changed it."""
        current = self.payment(payment_id, now=now)
        if current is None:
            raise NotFound(f"no payment {payment_id!r}")
        columns, values = _payment_details(details or {})
        with self._db.write() as conn:
            changed = (
                conn.execute(
                    f"UPDATE payments SET {columns}status = ?, updated_at = ? WHERE id = ? AND status = ?",
                    (*values, to_status, utc_iso(_now(now)), payment_id, from_status),
                ).rowcount
                == 1
            )
            row = conn.execute("SELECT * FROM payments WHERE id = ?", (payment_id,)).fetchone()
            _paid_by_provider(conn, row)
            return dict(row), changed

    def note_payment(self, payment_id: str, details: dict[str, Any]) -> dict[str, Any]:
        """Record what the provider said of a payment (columns of _PAYMENT_DETAILS) without moving its status."""
        columns, values = _payment_details(details)
        with self._db.write() as conn:
            conn.execute(f"UPDATE payments SET {columns.rstrip(', ')} WHERE id = ?", (*values, payment_id))
            row = conn.execute("SELECT * FROM payments WHERE id = ?", (payment_id,)).fetchone()
            if row is not None:
                _paid_by_provider(conn, row)
        if row is None:
            raise NotFound(f"no payment {payment_id!r}")
        return dict(row)

    @reads
    def payments_to_catch_up(self, *, queried_before: float, now: float) -> list[dict[str, Any]]:
        """Payments at a real provider to ask about: pending ones (or just expired: paid in the last moment)
        not asked since ``queried_before``, and those paid after they were cancelled or expired whose automatic
        refund is not done yet."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM payments WHERE provider <> 'simulator' AND ("
                "(status IN ('pending', 'expired') AND expires_at > ? AND (queried_at IS NULL OR queried_at < ?))"
                " OR (paid_late_at IS NOT NULL AND status <> 'refunded')) ORDER BY created_at LIMIT 100",
                (now - PAYMENT_CATCH_UP_S, queried_before),
            ).fetchall()
        return [dict(r) for r in rows]

    @reads
    def payments_of(self, retailer: str, *, limit: int = 100) -> list[dict[str, Any]]:
        """The retailer's scan-to-pay payments, newest first."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT p.* FROM payments p JOIN cabinets c ON c.id = p.cabinet_id WHERE c.retailer = ? "
                "ORDER BY p.created_at DESC, p.id LIMIT ?",
                (retailer, limit),
            ).fetchall()
        return [dict(r) for r in rows]

    def record_notification(
        self, provider: str, notification_id: str, payment_id: str, status: str, *, now: float | None = None
    ) -> bool:
        """Remember a verified notification; False if it was seen before (a duplicate)."""
        with self._db.write() as conn:
            return (
                conn.execute(
                    "INSERT INTO payment_notifications (provider, notification_id, payment_id, status, received_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (provider, notification_id) DO NOTHING",
                    (provider, notification_id, payment_id, status, utc_iso(_now(now))),
                ).rowcount
                == 1
            )

    def set_payment_provider(
        self, retailer: str, provider: str, settings: dict[str, Any], sealed_secrets: bytes, by: str, *, now: float
    ) -> None:
        """The retailer's provider and credentials (the secrets already sealed by the caller)."""
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO payment_providers (retailer, provider, settings, sealed_secrets, updated_at, updated_by) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (retailer) DO UPDATE SET provider = excluded.provider, "
                "settings = excluded.settings, sealed_secrets = excluded.sealed_secrets, "
                "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                (retailer, provider, json.dumps(settings), sealed_secrets, utc_iso(now), by),
            )

    @reads
    def payment_provider(self, retailer: str) -> dict[str, Any] | None:
        """The retailer's provider record (settings parsed, secrets still sealed), or None: the simulator."""
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM payment_providers WHERE retailer = ?", (retailer,)).fetchone()
        if row is None:
            return None
        return {**dict(row), "settings": json.loads(row["settings"]), "sealed_secrets": bytes(row["sealed_secrets"])}
