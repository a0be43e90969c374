"""Retailers, cabinets and their enrollment and keys; the console's users, sessions, sign-in failures and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

from cloud_stub import sqldb
from cloud_stub.sqldb import Conn, reads
from cloud_stub.store.base import StoreBase, _now
from cloud_stub.store.errors import CabinetExistsError, CloudStoreError, Conflict, InvalidToken, NotFound, WeakKey
from sync_client.schema import utc_iso

KEY_BYTES = 32
_INTEGRITY = sqldb.integrity_errors()
MIN_KEY_BYTES = 32
# 32 random bytes hold about 30 different values (fewer than 20 is a chance below 1e-12); a key with
# fewer was typed, patterned or left at zero.
MIN_DISTINCT_KEY_BYTES = 20
# Cabinet ids travel in an HTTP header and in file names on the cabinet: keep them plain.
CABINET_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
RETAILER_RE = re.compile(r"[A-Za-z0-9._ -]{1,64}")


def check_key(key: bytes) -> None:
    """WeakKey unless ``key`` looks like the random key it must be: long enough and not one byte repeated
    or a short pattern (an all-zero key from a blank key file, a typed password)."""
    if len(key) < MIN_KEY_BYTES:
        raise WeakKey(
            f"key: {len(key)} bytes; a cabinet key is at least {MIN_KEY_BYTES} random bytes "
            f"({2 * MIN_KEY_BYTES} hex digits)"
        )
    distinct = len(set(key))
    if distinct == 1:
        raise WeakKey(f"key: every byte is {key[0]:02x}; a cabinet key must be random")
    if distinct < MIN_DISTINCT_KEY_BYTES:
        raise WeakKey(
            f"key: only {distinct} different byte values in {len(key)} bytes (a random key has about "
            f"{len(key) - len(key) ** 2 // 512}); it is too regular to be a random key"
        )


def check_cabinet_id(cabinet_id: str) -> None:
    if not isinstance(cabinet_id, str) or not CABINET_ID_RE.fullmatch(cabinet_id):
        raise ValueError(f"cabinet id {cabinet_id!r}: use 1-64 characters from A-Z a-z 0-9 . _ : -")


_USER_COLUMNS = "id, retailer, email, role, created_at, created_by, password_hash IS NOT NULL AS active"
_API_TOKEN_COLUMNS = "id, retailer, label, created_at, created_by, revoked_at"


def new_api_token() -> str:
    return secrets.token_hex(32)  # hex: read out and typed by people, never taken for an option ("-...")


def _token_hash(token: str) -> str:
    # Tokens are 256 random bits, so a plain hash is enough (no dictionary to attack).
    return hashlib.sha256(token.encode()).hexdigest()


class AccountsMixin(StoreBase):
    """Retailers, cabinets and their enrollment and keys; the console's users, sessions, sign-in failures and API
    tokens."""

    # --- retailers and cabinets ---------------------------------------------------------
    def add_retailer(self, name: str, *, now: float | None = None) -> str:
        """Register a retailer and return its API token (shown once: only its hash is kept)."""
        if not isinstance(name, str) or not RETAILER_RE.fullmatch(name):
            raise ValueError(f"retailer name {name!r}: use 1-64 characters from A-Z a-z 0-9 . _ - and spaces")
        token = new_api_token()
        at = utc_iso(_now(now))
        try:
            with self._db.write() as conn:
                conn.execute(
                    "INSERT INTO retailers (name, token_sha256, created_at) VALUES (?, ?, ?)",
                    (name, _token_hash(token), at),
                )
                conn.execute(
                    "INSERT INTO api_tokens (id, retailer, label, token_sha256, created_at) VALUES (?, ?, ?, ?, ?)",
                    (f"initial:{name}", name, "initial", _token_hash(token), at),
                )
        except _INTEGRITY:
            raise CloudStoreError(f"retailer {name!r} is already registered") from None
        return token

    @reads
    def retailer_for_token(self, token: str) -> str | None:
        """The retailer whose API token this is, unless it was revoked (or rotated)."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT retailer FROM api_tokens WHERE token_sha256 = ? AND revoked_at IS NULL", (_token_hash(token),)
            ).fetchone()
        return row["retailer"] if row else None

    @reads
    def has_retailer(self, name: str) -> bool:
        with self._db.read() as conn:
            return conn.execute("SELECT 1 FROM retailers WHERE name = ?", (name,)).fetchone() is not None

    @reads
    def cabinets_of(self, retailer: str) -> list[dict[str, Any]]:
        """The retailer's cabinets with their last sync and the configuration version in force."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT c.id, c.created_at, c.last_sync_at, g.version AS config_version FROM cabinets c "
                "LEFT JOIN configs g ON g.cabinet_id = c.id WHERE c.retailer = ? ORDER BY c.id",
                (retailer,),
            ).fetchall()
        return [dict(r) for r in rows]

    def add_cabinet(self, cabinet_id: str, retailer: str | None = None, *, now: float | None = None) -> bytes:
        """Register a new cabinet and return its fresh 32-byte key; CabinetExistsError if already registered."""
        check_cabinet_id(cabinet_id)
        key = secrets.token_bytes(KEY_BYTES)
        try:
            with self._db.write() as conn:
                self._check_retailer(conn, retailer)
                conn.execute(
                    "INSERT INTO cabinets (id, key, retailer, created_at) VALUES (?, ?, ?, ?)",
                    (cabinet_id, key.hex(), retailer, utc_iso(_now(now))),
                )
        except _INTEGRITY:
            raise CabinetExistsError(f"cabinet {cabinet_id!r} is already registered") from None
        return key

    def add_enroll_token(self, retailer: str, ttl_s: float, *, now: float | None = None) -> str:
        """A one-time token with which a technician's `kiosk provision` registers a cabinet for ``retailer``."""
        token = secrets.token_hex(24)  # hex: typed after --enroll-token, so it must never start with "-"
        at = _now(now)
        with self._db.write() as conn:
            self._check_retailer(conn, retailer)
            conn.execute(
                "INSERT INTO enroll_tokens (token_sha256, retailer, created_at, expires_at) VALUES (?, ?, ?, ?)",
                (_token_hash(token), retailer, utc_iso(at), at + ttl_s),
            )
        return token

    def enroll(self, token: str, cabinet_id: str, key: bytes, *, now: float | None = None) -> str:
        """Register ``cabinet_id`` with the key it made itself, spending the token; returns the retailer.
        InvalidToken for a wrong, used or expired token; CabinetExistsError when the id is taken."""
        check_cabinet_id(cabinet_id)
        check_key(key)
        at = _now(now)
        with self._db.write() as conn:
            # The token's row stays locked until this commits: another node's enroll with it waits, then finds
            # it used.
            row = conn.execute(
                "SELECT retailer, expires_at, used_at FROM enroll_tokens WHERE token_sha256 = ? FOR UPDATE",
                (_token_hash(token),),
            ).fetchone()
            if row is None or row["used_at"] is not None or row["expires_at"] <= at:
                raise InvalidToken("the enrollment token is wrong, already used or expired")
            taken = CabinetExistsError(f"cabinet {cabinet_id!r} is already registered")
            if conn.execute("SELECT 1 FROM cabinets WHERE id = ?", (cabinet_id,)).fetchone():
                raise taken
            try:
                conn.execute(
                    "INSERT INTO cabinets (id, key, retailer, created_at) VALUES (?, ?, ?, ?)",
                    (cabinet_id, key.hex(), row["retailer"], utc_iso(at)),
                )
            except _INTEGRITY:  # another node registered the id since the SELECT (it sees no uncommitted row)
                raise taken from None  # rolled back: this token stays unspent
            conn.execute(
                "UPDATE enroll_tokens SET used_at = ?, cabinet_id = ? WHERE token_sha256 = ?",
                (utc_iso(at), cabinet_id, _token_hash(token)),
            )
            return str(row["retailer"])

    def set_cabinet_key(
        self, cabinet_id: str, key: bytes, retailer: str | None = None, *, now: float | None = None
    ) -> None:
        """Register the cabinet with this key, or replace the key of a registered one (keeps its events)."""
        check_cabinet_id(cabinet_id)
        check_key(key)
        with self._db.write() as conn:
            self._check_retailer(conn, retailer)
            conn.execute(
                "INSERT INTO cabinets (id, key, retailer, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET key = excluded.key, "
                "retailer = COALESCE(excluded.retailer, cabinets.retailer)",
                (cabinet_id, key.hex(), retailer, utc_iso(_now(now))),
            )

    @reads
    def cabinet_key(self, cabinet_id: str) -> bytes | None:
        with self._db.read() as conn:
            row = conn.execute("SELECT key FROM cabinets WHERE id = ?", (cabinet_id,)).fetchone()
        return bytes.fromhex(row["key"]) if row else None

    @reads
    def cabinet(self, cabinet_id: str) -> dict[str, Any] | None:
        """The cabinet's record without its key (for status views and tests)."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT id, retailer, created_at, last_sync_at FROM cabinets WHERE id = ?", (cabinet_id,)
            ).fetchone()
        return dict(row) if row else None

    # --- the console: users, sessions, sign-in failures, API tokens ---------------------------------
    def add_user(
        self,
        retailer: str,
        email: str,
        role: str,
        *,
        password_hash: str | None = None,
        invite_sha256: str | None = None,
        invite_expires_at: float | None = None,
        created_by: str | None = None,
        now: float | None = None,
    ) -> dict[str, Any]:
        """A user of the retailer's console: with a password (the first owner), or invited (a one-time token's
        hash, the password chosen when the link is opened). CloudStoreError if the email is taken."""
        user_id = str(uuid.uuid4())
        try:
            with self._db.write() as conn:
                self._check_retailer(conn, retailer)
                conn.execute(
                    "INSERT INTO users (id, retailer, email, role, password_hash, invite_sha256, invite_expires_at,"
                    " created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        user_id,
                        retailer,
                        email,
                        role,
                        password_hash,
                        invite_sha256,
                        invite_expires_at,
                        utc_iso(_now(now)),
                        created_by,
                    ),
                )
        except _INTEGRITY:
            raise CloudStoreError(f"email {email!r} already has an account") from None
        user = self.user(user_id)
        assert user is not None
        return user

    @reads
    def user(self, user_id: str) -> dict[str, Any] | None:
        with self._db.read() as conn:
            row = conn.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", (user_id,)).fetchone()
        return dict(row) if row else None

    @reads
    def user_by_email(self, email: str) -> dict[str, Any] | None:
        with self._db.read() as conn:
            row = conn.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE email = ?", (email,)).fetchone()
        return dict(row) if row else None

    @reads
    def users_of(self, retailer: str) -> list[dict[str, Any]]:
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {_USER_COLUMNS} FROM users WHERE retailer = ? ORDER BY email", (retailer,)
            ).fetchall()
        return [dict(r) for r in rows]

    def remove_user(self, retailer: str, user_id: str) -> None:
        """Delete the retailer's user and every session of theirs; NotFound if not the retailer's."""
        with self._db.write() as conn:
            if not conn.execute("DELETE FROM users WHERE id = ? AND retailer = ?", (user_id, retailer)).rowcount:
                raise NotFound(f"no user {user_id!r} at retailer {retailer!r}")

    @reads
    def user_for_invite(self, invite_sha256: str, *, now: float | None = None) -> dict[str, Any] | None:
        """The invited user whose link this is, while it is unused and not expired."""
        with self._db.read() as conn:
            row = conn.execute(
                f"SELECT {_USER_COLUMNS} FROM users WHERE invite_sha256 = ? AND invite_expires_at > ?",
                (invite_sha256, _now(now)),
            ).fetchone()
        return dict(row) if row else None

    def accept_invite(self, invite_sha256: str, password_hash: str, *, now: float | None = None) -> dict[str, Any]:
        """Set the invited user's password and spend the link; NotFound for a wrong, used or expired link."""
        with self._db.write() as conn:
            row = conn.execute(
                "SELECT id FROM users WHERE invite_sha256 = ? AND invite_expires_at > ?", (invite_sha256, _now(now))
            ).fetchone()
            if row is None:
                raise NotFound("the invitation link is wrong, already used or expired")
            if not conn.execute(
                "UPDATE users SET password_hash = ?, invite_sha256 = NULL, invite_expires_at = NULL "
                "WHERE id = ? AND invite_sha256 = ?",
                (password_hash, row["id"], invite_sha256),
            ).rowcount:  # spent meanwhile by another node
                raise NotFound("the invitation link is wrong, already used or expired")
        user = self.user(row["id"])
        assert user is not None
        return user

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        """Replace a user's hash (a rehash with stronger parameters at sign-in)."""
        with self._db.write() as conn:
            conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))

    @reads
    def password_hash(self, user_id: str) -> str | None:
        with self._db.read() as conn:
            row = conn.execute("SELECT password_hash FROM users WHERE id = ?", (user_id,)).fetchone()
        return row["password_hash"] if row else None

    def add_session(
        self, id_sha256: str, user_id: str | None, csrf_token: str, ttl_s: float, *, now: float | None = None
    ) -> None:
        """Store a session (by its id's hash) and forget the expired ones."""
        at = _now(now)
        with self._db.write() as conn:
            conn.execute("DELETE FROM sessions WHERE expires_at <= ?", (at,))
            conn.execute(
                "INSERT INTO sessions (id_sha256, user_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                (id_sha256, user_id, csrf_token, at, at + ttl_s),
            )

    @reads
    def session(self, id_sha256: str, *, now: float | None = None) -> dict[str, Any] | None:
        """The live session with this id's hash and its user's record (user None before sign-in)."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT s.user_id, s.csrf_token, s.expires_at, u.retailer, u.email, u.role FROM sessions s "
                "LEFT JOIN users u ON u.id = s.user_id WHERE s.id_sha256 = ? AND s.expires_at > ?",
                (id_sha256, _now(now)),
            ).fetchone()
        return dict(row) if row else None

    def delete_session(self, id_sha256: str) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM sessions WHERE id_sha256 = ?", (id_sha256,))

    def add_login_failure(self, subjects: Sequence[str], *, keep_s: float, now: float | None = None) -> None:
        """Record a failed sign-in against each subject; failures older than ``keep_s`` are forgotten."""
        at = _now(now)
        with self._db.write() as conn:
            conn.execute("DELETE FROM login_failures WHERE at < ?", (at - keep_s,))
            conn.executemany("INSERT INTO login_failures (subject, at) VALUES (?, ?)", [(s, at) for s in subjects])

    @reads
    def login_failures(self, subject: str, *, since: float) -> list[float]:
        """When the subject's failed sign-ins since ``since`` happened, oldest first."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT at FROM login_failures WHERE subject = ? AND at >= ? ORDER BY at", (subject, since)
            ).fetchall()
        return [float(r["at"]) for r in rows]

    def clear_login_failures(self, subject: str) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM login_failures WHERE subject = ?", (subject,))

    def add_api_token(
        self, retailer: str, label: str, *, created_by: str | None = None, now: float | None = None
    ) -> tuple[dict[str, Any], str]:
        """A new API token for the retailer: its record and the token itself (shown once, only its hash kept)."""
        token, token_id = new_api_token(), str(uuid.uuid4())
        with self._db.write() as conn:
            self._check_retailer(conn, retailer)
            conn.execute(
                "INSERT INTO api_tokens (id, retailer, label, token_sha256, created_at, created_by) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (token_id, retailer, label, _token_hash(token), utc_iso(_now(now)), created_by),
            )
        return self._api_token(retailer, token_id), token

    @reads
    def api_tokens_of(self, retailer: str) -> list[dict[str, Any]]:
        """The retailer's tokens, live ones first, newest first (never the tokens themselves)."""
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {_API_TOKEN_COLUMNS} FROM api_tokens WHERE retailer = ? "
                "ORDER BY revoked_at IS NOT NULL, created_at DESC, id",
                (retailer,),
            ).fetchall()
        return [dict(r) for r in rows]

    def revoke_api_token(self, retailer: str, token_id: str, *, now: float | None = None) -> dict[str, Any]:
        """Revoke the retailer's token (again: no change); NotFound if it is not the retailer's."""
        with self._db.write() as conn:
            self._revoke(conn, retailer, token_id, utc_iso(_now(now)))
        return self._api_token(retailer, token_id)

    def rotate_api_token(
        self, retailer: str, token_id: str, *, created_by: str | None = None, now: float | None = None
    ) -> tuple[dict[str, Any], str]:
        """Revoke a live token and issue its replacement under the same label, in one transaction."""
        token, new_id, at = new_api_token(), str(uuid.uuid4()), utc_iso(_now(now))
        with self._db.write() as conn:
            label = self._revoke(conn, retailer, token_id, at, live_only=True)
            conn.execute(
                "INSERT INTO api_tokens (id, retailer, label, token_sha256, created_at, created_by) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (new_id, retailer, label, _token_hash(token), at, created_by),
            )
        return self._api_token(retailer, new_id), token

    @staticmethod
    def _revoke(conn: Conn, retailer: str, token_id: str, at: str, *, live_only: bool = False) -> str:
        row = conn.execute(
            "SELECT label, revoked_at FROM api_tokens WHERE id = ? AND retailer = ?", (token_id, retailer)
        ).fetchone()
        if row is None:
            raise NotFound(f"no API token {token_id!r} at retailer {retailer!r}")
        if live_only and row["revoked_at"] is not None:
            raise Conflict(f"API token {row['label']!r} is revoked; create a new one instead")
        conn.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (at, token_id))
        return str(row["label"])

    def _api_token(self, retailer: str, token_id: str) -> dict[str, Any]:
        with self._db.read() as conn:
            row = conn.execute(
                f"SELECT {_API_TOKEN_COLUMNS} FROM api_tokens WHERE id = ? AND retailer = ?", (token_id, retailer)
            ).fetchone()
        if row is None:
            raise NotFound(f"no API token {token_id!r} at retailer {retailer!r}")
        return dict(row)
