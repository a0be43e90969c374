"""Media (pictures and videos) a retailer uploads for the cabinets."""

from __future__ import annotations

import hashlib
from typing import Any

from cloud_stub.sqldb import reads
from cloud_stub.store.base import StoreBase, _now
from sync_client.schema import utc_iso

_MEDIA_COLUMNS = "retailer, sha256, kind, content_type, bytes, name, created_at, created_by"


class MediaMixin(StoreBase):
    """Media (pictures and videos) a retailer uploads for the cabinets."""

    # --- media ---------------------------------------------------------------------------------
    def put_media(
        self,
        retailer: str,
        kind: str,
        content_type: str,
        name: str,
        content: bytes,
        *,
        created_by: str | None = None,
        now: float | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Store the retailer's media file under its SHA-256 (validation is the caller's); the record and
        whether it is new (the same content again keeps the first upload's record)."""
        digest = hashlib.sha256(content).hexdigest()
        with self._db.write() as conn:
            self._check_retailer(conn, retailer)
            created = (
                conn.execute(
                    "INSERT INTO media (retailer, sha256, kind, content_type, bytes, name, content, created_at, "
                    "created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(retailer, sha256) DO NOTHING",
                    (retailer, digest, kind, content_type, len(content), name, content, utc_iso(_now(now)), created_by),
                ).rowcount
                == 1
            )
            row = conn.execute(
                f"SELECT {_MEDIA_COLUMNS} FROM media WHERE retailer = ? AND sha256 = ?", (retailer, digest)
            ).fetchone()
        return dict(row), created

    @reads
    def media_of(self, retailer: str) -> list[dict[str, Any]]:
        """The retailer's media (without their content), newest first."""
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {_MEDIA_COLUMNS} FROM media WHERE retailer = ? ORDER BY created_at DESC, sha256", (retailer,)
            ).fetchall()
        return [dict(r) for r in rows]

    @reads
    def media_content(self, retailer: str, sha256: str) -> tuple[dict[str, Any], bytes] | None:
        """One of the retailer's media and its bytes; None when the retailer has none with this hash."""
        with self._db.read() as conn:
            row = conn.execute(
                f"SELECT {_MEDIA_COLUMNS}, content FROM media WHERE retailer = ? AND sha256 = ?", (retailer, sha256)
            ).fetchone()
        if row is None:
            return None
        record = dict(row)
        return record, bytes(record.pop("content"))
