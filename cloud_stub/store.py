"""The cloud's storage: retailers and their cabinets, the events cabinets sent, the nonces
they used, configuration documents, pickup orders, queued commands, scan-to-pay payments,
repair tickets (from the cabinets' events and the retailers' updates) and door snapshots.

``CloudStore`` is the interface the web app uses. ``SqlCloudStore`` implements it once, on either
database through ``cloud_stub/sqldb.py``'s thin connection adapter: ``SqliteCloudStore`` (the default,
one file, one writer thread) and ``PostgresCloudStore`` (``postgresql://…``, a connection pool; several
``kiosk-cloud serve`` nodes may share it). The SQL sticks to what both engines share (``?`` placeholders,
``INSERT … ON CONFLICT``, partial indexes, no rowid, no SQLite-only functions: times and days are computed
in Python); lists of ids travel as one JSON parameter read with ``json_each`` (``jsonb_array_elements_text``
in PostgreSQL). The schema's history is ``MIGRATIONS`` at the end of this file: a change is a new one.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import logging
import os
import re
import secrets
import sqlite3
import time
import uuid
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from cloud_stub import event_partitions, sqldb
from cloud_stub.event_partitions import RetentionPolicy, RetentionResult
from cloud_stub.sqldb import SQLITE, Conn, Database, Row, reads
from sync_client.cabinet_config import ConfigInvalid, hand_off_links, link_code, parse_config
from sync_client.schema import COMMAND_TTL_S, Event, dumps, parse_utc_iso, utc_iso

KEY_BYTES = 32
_INTEGRITY = sqldb.integrity_errors()
MIN_KEY_BYTES = 32
# 32 random bytes hold about 30 different values (fewer than 20 is a chance below 1e-12); a key with
# fewer was typed, patterned or left at zero.
MIN_DISTINCT_KEY_BYTES = 20
# Cabinet ids travel in an HTTP header and in file names on the cabinet: keep them plain.
CABINET_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
RETAILER_RE = re.compile(r"[A-Za-z0-9._ -]{1,64}")
_EXPORT_PAGE = 500
log = logging.getLogger("cloud_stub")
# A repair ticket's life, in order: the cabinet reports the drop-off, the store collects the vehicle from
# the cabinet, repairs it, returns it to the cabinet, and the owner takes it back. A status only moves forward.
TICKET_STATUSES = ("dropped_off", "collected", "in_repair", "returned", "handed_back")
# An online order ends collected (the cabinet's pickup.completed), or by the retailer's hand: cancelled or expired.
ORDER_ENDINGS = ("cancelled", "expired")
# a rollout's cabinet that has not reported its update this long after its command counts as timed out
ROLLOUT_REPORT_WITHIN_S = 24 * 3600


class CloudStoreError(Exception):
    """The store cannot do what was asked; the message says why."""


class CabinetExistsError(CloudStoreError):
    """``add_cabinet`` for an id that is already registered."""


class InvalidToken(CloudStoreError):
    pass


class WeakKey(ValueError):
    """A cabinet key too short or too regular to be a random one."""


class NotFound(CloudStoreError):
    """The record asked for does not exist (for this cabinet or retailer)."""


class Conflict(CloudStoreError):
    """The request contradicts what is stored (e.g. the same sale id with another amount)."""


class NonceUsed(CloudStoreError):
    """``store_events`` with a request nonce the cabinet used already: a replay; nothing was stored."""


@dataclass(frozen=True)
class Admission:
    """What a signed request's check reads of its cabinet (``admission``)."""

    key: bytes  # the cabinet's: checks the request's signature and signs the answer
    nonce_used: bool  # the request's nonce was claimed already (within the time nonces are kept)


@dataclass(frozen=True)
class StoreResult:
    """What ``store_events`` did with one batch."""

    acked: list[str]  # ids now held for this cabinet: newly stored and already stored alike
    stored: int  # how many of the acked ids were new
    conflicts: list[str]  # ids already held for a *different* cabinet: not stored, not acked
    # ids this cabinet already sent with other content -> the fields that differ. When any, nothing of the
    # batch is stored (acked and stored are empty) and each is recorded in event_conflicts.
    changed: dict[str, list[str]] = field(default_factory=dict)


class CloudStore(Protocol):
    """Storage behind the cloud endpoint. Implementations must be safe to call from any one thread
    at a time; the web app calls them from a single worker thread. Records are plain dicts."""

    # retailers and cabinets
    def add_retailer(self, name: str, *, now: float | None = None) -> str: ...
    def retailer_for_token(self, token: str) -> str | None: ...
    def add_cabinet(self, cabinet_id: str, retailer: str | None = None, *, now: float | None = None) -> bytes: ...
    def add_enroll_token(self, retailer: str, ttl_s: float, *, now: float | None = None) -> str: ...
    def enroll(self, token: str, cabinet_id: str, key: bytes, *, now: float | None = None) -> str: ...
    def set_cabinet_key(
        self, cabinet_id: str, key: bytes, retailer: str | None = None, *, now: float | None = None
    ) -> None: ...
    def cabinet_key(self, cabinet_id: str) -> bytes | None: ...
    def cabinet(self, cabinet_id: str) -> dict[str, Any] | None: ...
    def cabinets_of(self, retailer: str) -> list[dict[str, Any]]: ...
    # events and request nonces
    def store_events(
        self,
        cabinet_id: str,
        events: Sequence[Event],
        *,
        now: float | None = None,
        nonce: str | None = None,
        nonce_keep_s: float = 0.0,
    ) -> StoreResult: ...
    def remember_nonce(self, cabinet_id: str, nonce: str, *, keep_s: float, now: float | None = None) -> bool: ...
    def admission(
        self, cabinet_id: str, nonce: str, *, keep_s: float, now: float | None = None
    ) -> Admission | None: ...
    def events_of(self, cabinet_id: str, types: Sequence[str], *, limit: int = 1000) -> list[dict[str, Any]]: ...
    def event_conflicts(self, cabinet_id: str) -> list[dict[str, Any]]: ...
    def export_events(self) -> Iterator[dict[str, Any]]: ...
    def count_events(self) -> int: ...
    # configuration and pickup orders (an order change bumps the configuration's version)
    def config(self, cabinet_id: str) -> tuple[int, dict[str, Any]] | None: ...
    def put_config(self, cabinet_id: str, document: dict[str, Any], *, now: float | None = None) -> int: ...
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
    ) -> str: ...
    def open_orders(self, cabinet_id: str) -> list[dict[str, Any]]: ...
    def orders_of(self, retailer: str, *, cabinet_id: str | None = None, limit: int = 500) -> list[dict[str, Any]]: ...
    def orders_page(
        self,
        retailer: str,
        *,
        now_iso: str,
        state: str | None = None,
        cabinet_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]: ...
    def end_order(self, retailer: str, order_id: str, ending: str, by: str, *, now: float | None = None) -> None: ...
    # commands
    def add_command(
        self,
        cabinet_id: str,
        kind: str,
        args: dict[str, Any],
        *,
        ttl_s: float | None = None,
        now: float | None = None,
        created_by: str | None = None,
    ) -> str: ...
    def command(self, command_id: str) -> dict[str, Any] | None: ...
    def pending_commands(self, cabinet_id: str) -> list[dict[str, Any]]: ...
    def deliver_commands(self, cabinet_id: str, *, now: float | None = None) -> list[dict[str, Any]]: ...
    def commands_of(self, retailer: str, *, cabinet_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]: ...
    def ack_command(self, command_id: str, result: str, *, now: float | None = None) -> dict[str, Any]: ...
    # rollouts of signed releases
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
    ) -> str: ...
    def rollouts_of(self, retailer: str, *, now: float | None = None) -> list[dict[str, Any]]: ...
    def pause_rollout(self, retailer: str, rollout_id: str, reason: str, *, now: float | None = None) -> bool: ...
    def resume_rollout(self, retailer: str, rollout_id: str, *, now: float | None = None) -> int: ...
    # scan-to-pay
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
    ) -> tuple[dict[str, Any], bool]: ...
    def payment(self, payment_id: str, *, now: float | None = None) -> dict[str, Any] | None: ...
    def payment_for_sale(self, cabinet_id: str, sale_id: str, *, now: float | None = None) -> dict[str, Any] | None: ...
    def move_payment(
        self,
        payment_id: str,
        from_status: str,
        to_status: str,
        *,
        details: dict[str, Any] | None = None,
        now: float | None = None,
    ) -> tuple[dict[str, Any], bool]: ...
    def note_payment(self, payment_id: str, details: dict[str, Any]) -> dict[str, Any]: ...
    def payments_to_catch_up(self, *, queried_before: float, now: float) -> list[dict[str, Any]]: ...
    def payments_of(self, retailer: str, *, limit: int = 100) -> list[dict[str, Any]]: ...
    def record_notification(
        self, provider: str, notification_id: str, payment_id: str, status: str, *, now: float | None = None
    ) -> bool: ...
    def set_payment_provider(
        self, retailer: str, provider: str, settings: dict[str, Any], sealed_secrets: bytes, by: str, *, now: float
    ) -> None: ...
    def payment_provider(self, retailer: str) -> dict[str, Any] | None: ...
    # repair tickets (created and moved forward by repair.ticket events in store_events)
    def repair_tickets(self, cabinet_id: str, status: str | None = None) -> list[dict[str, Any]]: ...
    def find_ticket(self, retailer: str, ticket_id: str) -> list[dict[str, Any]]: ...
    def move_ticket(
        self, cabinet_id: str, ticket_id: str, to_status: str, *, by: str = "api", now: float | None = None
    ) -> dict[str, Any]: ...
    def tickets_of(self, retailer: str, *, handed_back_limit: int = -1) -> list[dict[str, Any]]: ...
    def notifications_of(self, retailer: str, *, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]: ...
    def notification_count(self, retailer: str) -> int: ...
    # storefronts, stock levels and restock lines (the console's stock pages)
    def add_storefront(self, retailer: str, name: str, address: str, *, now: float | None = None) -> str: ...
    def storefronts_of(self, retailer: str) -> list[dict[str, Any]]: ...
    def set_cabinet_storefront(self, retailer: str, cabinet_id: str, storefront_id: str | None) -> None: ...
    def cabinet_storefronts(self, retailer: str) -> dict[str, str | None]: ...
    def stock_levels_of(self, retailer: str) -> dict[str, dict[str, Any]]: ...
    def set_stock_level(
        self, retailer: str, sku: str, threshold: int, target: int, by: str, *, now: float | None = None
    ) -> None: ...
    def add_restock_line(
        self, retailer: str, cabinet_id: str, items: Sequence[dict[str, Any]], by: str, *, now: float | None = None
    ) -> str: ...
    def restock_lines_of(self, retailer: str, *, closed_since: str) -> list[dict[str, Any]]: ...
    def events_after(
        self, cabinet_id: str, seq: int, types: Sequence[str], *, limit: int = 1000
    ) -> list[dict[str, Any]]: ...
    def close_restock_line(
        self, retailer: str, line_id: str, closed_at: str, closed_by: str | None, result: Sequence[dict[str, Any]]
    ) -> None: ...
    # door snapshots (thumbnails)
    def put_snapshot(
        self, cabinet_id: str, name: str, taken_at: str, jpeg: bytes, *, now: float | None = None
    ) -> bool: ...
    def snapshots_of(self, cabinet_id: str, *, limit: int = 100, before: str | None = None) -> list[dict[str, Any]]: ...
    def snapshot(self, cabinet_id: str, name: str) -> bytes | None: ...
    def snapshots_taken(self, cabinet_id: str, *, since: str, until: str, limit: int = 12) -> list[dict[str, Any]]: ...
    # the console's alarms
    def alarms_of(
        self,
        retailer: str,
        *,
        state: str | None = None,
        cabinet_id: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[dict[str, Any]]: ...
    def alarm_count(self, retailer: str, *, state: str | None = None, cabinet_id: str | None = None) -> int: ...
    def snapshots_around(
        self, retailer: str, windows: Sequence[tuple[str, str, str]], *, limit: int = 12
    ) -> list[list[dict[str, Any]]]: ...
    def alarms_mark(self, retailer: str) -> str: ...
    def handle_alarm(
        self, retailer: str, event_id: str, action: str, by: str, *, now: float | None = None
    ) -> dict[str, Any]: ...
    # the retailer console (cloud_stub/console)
    def has_retailer(self, name: str) -> bool: ...
    def fleet_page(
        self,
        retailer: str,
        *,
        online_since: str,
        state: str | None = None,
        search: str | None = None,
        cabinet_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]: ...
    def stock_of(
        self, retailer: str, *, cabinet_id: str | None = None, cabinet_ids: Sequence[str] | None = None
    ) -> list[dict[str, Any]]: ...
    def counted_cabinets(self, retailer: str, *, limit: int, offset: int = 0) -> tuple[list[str], int]: ...
    def product_cabinets(self, retailer: str) -> dict[str, str]: ...
    def short_cabinets(
        self, retailer: str, *, default_threshold: int, limit: int, offset: int = 0
    ) -> tuple[list[str], int]: ...
    def cabinet_ids(self, retailer: str, *, limit: int = -1, offset: int = 0) -> tuple[list[str], int]: ...
    def configs_of(
        self, retailer: str, *, cabinet_ids: Sequence[str] | None = None
    ) -> dict[str, tuple[int, dict[str, Any]] | None]: ...
    def sales_summary(
        self,
        retailer: str,
        *,
        since_day: str,
        until_day: str,
        period: str = "day",
        cabinet_id: str | None = None,
        sku: str | None = None,
    ) -> dict[str, list[dict[str, Any]]]: ...
    def sales_page(
        self,
        retailer: str,
        *,
        since_day: str,
        until_day: str,
        cabinet_id: str | None = None,
        sku: str | None = None,
        after: tuple[str, str, str] | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]: ...
    def sale_skus(self, retailer: str) -> list[str]: ...
    def sales_of(
        self, cabinet_id: str, *, limit: int = 10_000, since_day: str = "", until_day: str | None = None
    ) -> list[dict[str, Any]]: ...
    def stock_counts(self, cabinet_id: str) -> list[dict[str, Any]]: ...
    def refund_cases(
        self,
        retailer: str,
        *,
        cabinet_id: str | None = None,
        sale_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[dict[str, Any]]: ...
    def refund_count(self, retailer: str) -> int: ...
    def request_refund(
        self, retailer: str, cabinet_id: str, sale_id: str, *, requested_by: str, now: float | None = None
    ) -> dict[str, Any]: ...
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
    ) -> dict[str, Any]: ...
    def user(self, user_id: str) -> dict[str, Any] | None: ...
    def user_by_email(self, email: str) -> dict[str, Any] | None: ...
    def users_of(self, retailer: str) -> list[dict[str, Any]]: ...
    def remove_user(self, retailer: str, user_id: str) -> None: ...
    def user_for_invite(self, invite_sha256: str, *, now: float | None = None) -> dict[str, Any] | None: ...
    def accept_invite(self, invite_sha256: str, password_hash: str, *, now: float | None = None) -> dict[str, Any]: ...
    def set_password_hash(self, user_id: str, password_hash: str) -> None: ...
    def password_hash(self, user_id: str) -> str | None: ...
    def add_session(
        self, id_sha256: str, user_id: str | None, csrf_token: str, ttl_s: float, *, now: float | None = None
    ) -> None: ...
    def session(self, id_sha256: str, *, now: float | None = None) -> dict[str, Any] | None: ...
    def delete_session(self, id_sha256: str) -> None: ...
    def add_login_failure(self, subjects: Sequence[str], *, keep_s: float, now: float | None = None) -> None: ...
    def login_failures(self, subject: str, *, since: float) -> list[float]: ...
    def clear_login_failures(self, subject: str) -> None: ...
    def add_api_token(
        self, retailer: str, label: str, *, created_by: str | None = None, now: float | None = None
    ) -> tuple[dict[str, Any], str]: ...
    def api_tokens_of(self, retailer: str) -> list[dict[str, Any]]: ...
    def revoke_api_token(self, retailer: str, token_id: str, *, now: float | None = None) -> dict[str, Any]: ...
    def rotate_api_token(
        self, retailer: str, token_id: str, *, created_by: str | None = None, now: float | None = None
    ) -> tuple[dict[str, Any], str]: ...
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
    ) -> tuple[dict[str, Any], bool]: ...
    def media_of(self, retailer: str) -> list[dict[str, Any]]: ...
    def media_content(self, retailer: str, sha256: str) -> tuple[dict[str, Any], bytes] | None: ...
    # the consumer pages (cloud_stub/consumer)
    def link(self, code: str) -> dict[str, Any] | None: ...
    def links_of(self, cabinet_id: str) -> list[dict[str, Any]]: ...
    def record_scan(
        self, cabinet_id: str, code: str, kind: str, sku: str, variant_sku: str, *, now: float | None = None
    ) -> None: ...
    def scan_counts(self, cabinet_id: str) -> list[dict[str, Any]]: ...
    def receipt(self, token: str) -> dict[str, Any] | None: ...
    def phone_form(self, token: str, *, now: float | None = None) -> dict[str, Any] | None: ...
    def open_phone_form(self, token: str, *, now: float | None = None) -> dict[str, Any] | None: ...
    def submit_phone_form(self, token: str, args: dict[str, Any], *, now: float | None = None) -> bool: ...
    def ticket_status(self, ticket_id: str, phone_end: str) -> list[dict[str, Any]]: ...
    def listed_cabinets(self) -> list[dict[str, Any]]: ...
    def due_notifications(self, *, now: float | None = None, limit: int = 50) -> list[dict[str, Any]]: ...
    def notification_tried(
        self,
        notification_id: int,
        *,
        delivered: bool,
        error: str | None,
        retry_at: float | None,
        now: float | None = None,
    ) -> None: ...
    def notification(self, notification_id: int) -> dict[str, Any] | None: ...
    def funnel(
        self, retailer: str, *, since_day: str, until_day: str, cabinet_id: str | None = None
    ) -> dict[str, list[dict[str, Any]]]: ...
    # call-backs for the manufacturer's customer service (stored at ingest of callback.requested)
    def callbacks_of(
        self,
        retailer: str,
        *,
        state: str | None = None,
        phone: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[dict[str, Any]]: ...
    def callback_count(self, retailer: str, *, state: str | None = None, phone: str | None = None) -> int: ...
    def callback(self, retailer: str, request_id: str) -> dict[str, Any] | None: ...
    def follow_up_callback(
        self, retailer: str, request_id: str, state: str, note: str, by: str, *, now: float | None = None
    ) -> bool: ...
    def delete_callback(self, retailer: str, request_id: str) -> bool: ...
    def purge_callbacks(self, *, now: float | None = None) -> int: ...
    # raw events' retention (cloud_stub/event_partitions.py)
    def maintain_events(self, *, now: float | None = None) -> list[str]: ...
    def purge_events(
        self, policy: RetentionPolicy, *, now: float | None = None, dry_run: bool = False
    ) -> RetentionResult: ...
    def purge_events_step(self, policy: RetentionPolicy, *, now: float) -> RetentionResult | None: ...
    def close(self) -> None: ...


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


_SCHEMA = """
CREATE TABLE IF NOT EXISTS retailers (
    name TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,   -- the token itself is shown once and never stored
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS enroll_tokens (
    token_sha256 TEXT PRIMARY KEY,       -- one-time: the token is shown once and never stored
    retailer TEXT NOT NULL REFERENCES retailers(name),
    created_at TEXT NOT NULL,
    expires_at REAL NOT NULL,
    used_at TEXT,
    cabinet_id TEXT
);
CREATE TABLE IF NOT EXISTS cabinets (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL,               -- hex
    retailer TEXT,
    created_at TEXT NOT NULL,        -- ISO 8601 UTC
    last_sync_at TEXT
);
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,             -- UUID chosen by the cabinet: the idempotency key
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    wall_time TEXT NOT NULL,
    mono_time REAL NOT NULL,
    payload TEXT NOT NULL,           -- JSON
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_cabinet_seq ON events(cabinet_id, seq, id);
CREATE INDEX IF NOT EXISTS events_by_cabinet_type ON events(cabinet_id, type, seq);
-- The same event id sent again by its cabinet with other content: refused, and kept here for the retailer.
CREATE TABLE IF NOT EXISTS event_conflicts (
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    event_id TEXT NOT NULL,
    received_sha256 TEXT NOT NULL,   -- of the refused content: a resend of it counts, not repeats
    differs TEXT NOT NULL,           -- JSON list of the fields that differ
    stored TEXT NOT NULL,            -- JSON: the event as stored
    received TEXT NOT NULL,          -- JSON: the event as refused
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    times INTEGER NOT NULL,
    PRIMARY KEY (cabinet_id, event_id, received_sha256)
);
CREATE TABLE IF NOT EXISTS nonces (
    cabinet_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    seen_at REAL NOT NULL,           -- unix seconds: only ever compared, never shown
    PRIMARY KEY (cabinet_id, nonce)
);
CREATE INDEX IF NOT EXISTS nonces_by_age ON nonces(seen_at);
CREATE TABLE IF NOT EXISTS configs (
    cabinet_id TEXT PRIMARY KEY REFERENCES cabinets(id),
    version INTEGER NOT NULL,        -- bumped by every edit and every pickup order change
    document TEXT NOT NULL,          -- JSON without version and pickup_orders
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pickup_orders (
    order_id TEXT PRIMARY KEY,
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    sku TEXT NOT NULL,
    code_hash TEXT NOT NULL,         -- scrypt of the pickup code; the code itself went to the buyer
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    collected_at TEXT
);
CREATE INDEX IF NOT EXISTS open_orders ON pickup_orders(cabinet_id) WHERE collected_at IS NULL;
-- The console's list of a retailer's orders: each cabinet's (a partial index cannot serve every order).
CREATE INDEX IF NOT EXISTS orders_by_cabinet ON pickup_orders(cabinet_id, created_at);
CREATE TABLE IF NOT EXISTS commands (
    id TEXT PRIMARY KEY,
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    kind TEXT NOT NULL,
    args TEXT NOT NULL,              -- JSON
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,        -- the cabinet refuses it after this, by the cloud's signed clock
    acked_at TEXT,
    result TEXT
);
CREATE INDEX IF NOT EXISTS pending_commands ON commands(cabinet_id, created_at) WHERE acked_at IS NULL;
-- A signed release rolled out to some of a retailer's cabinets (issue 18): each gets an update_check command
-- naming the version; it pauses itself once failure_limit of them have reported update.failed.
CREATE TABLE IF NOT EXISTS rollouts (
    id TEXT PRIMARY KEY,
    retailer TEXT NOT NULL REFERENCES retailers(name),
    version TEXT NOT NULL,
    failure_limit BIGINT NOT NULL,
    state TEXT NOT NULL,             -- running or paused
    paused_reason TEXT,
    created_at TEXT NOT NULL,
    created_by TEXT,
    report_within_s BIGINT NOT NULL DEFAULT 86400  -- a cabinet silent this long after its command: timed out
);
CREATE TABLE IF NOT EXISTS rollout_cabinets (
    rollout_id TEXT NOT NULL REFERENCES rollouts(id),
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    command_id TEXT,                 -- the newest update_check queued for it
    outcome TEXT,                    -- installed or failed (NULL: not reported yet)
    due_at TEXT,                     -- its report is due by then (the command queued + report_within_s)
    PRIMARY KEY (rollout_id, cabinet_id)
);
CREATE TABLE IF NOT EXISTS payments (
    id TEXT PRIMARY KEY,
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    sale_id TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'expired', 'cancelled', 'refunded')),
    created_at TEXT NOT NULL,
    expires_at REAL NOT NULL,        -- unix seconds
    updated_at TEXT NOT NULL,
    UNIQUE (cabinet_id, sale_id)
);
-- Scan-to-pay providers (issue 17): a retailer's provider, its public settings, and its secrets sealed with the
-- server's key (AES-GCM, cloud_stub/payments/credentials.py): never stored, answered or sent to a cabinet in clear.
CREATE TABLE IF NOT EXISTS payment_providers (
    retailer TEXT PRIMARY KEY REFERENCES retailers(name),
    provider TEXT NOT NULL,              -- wechatpay (later alipay, btcpay); none configured: the simulator
    settings TEXT NOT NULL,              -- JSON: the public settings (merchant and app ids, key serials, base URL)
    sealed_secrets BLOB NOT NULL,        -- nonce + AES-GCM ciphertext of the JSON secrets
    updated_at TEXT NOT NULL,
    updated_by TEXT
);
-- Each verified notification of a provider once: a duplicate is acknowledged and changes nothing.
CREATE TABLE IF NOT EXISTS payment_notifications (
    provider TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    status TEXT NOT NULL,                -- what it said happened: paid, closed, refunded
    received_at TEXT NOT NULL,
    PRIMARY KEY (provider, notification_id)
);
CREATE TABLE IF NOT EXISTS repair_tickets (
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    ticket_id TEXT NOT NULL,         -- chosen by the cabinet: unique per cabinet, not across the fleet
    device TEXT NOT NULL,
    detail TEXT NOT NULL,
    name TEXT,
    phone TEXT,
    category TEXT,
    status TEXT NOT NULL,            -- one of TICKET_STATUSES (checked by the callers; the list grew)
    -- when each status was reached: the cabinet's clock for its events, the cloud's for a retailer's update
    dropped_off_at TEXT,
    collected_at TEXT,
    returned_at TEXT,
    in_repair_at TEXT,
    handed_back_at TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (cabinet_id, ticket_id)
);
CREATE TABLE IF NOT EXISTS snapshots (
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    name TEXT NOT NULL,              -- 20261125T174005-opened-<sale_id|none>.jpg, as on the cabinet
    taken_at TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    jpeg BLOB NOT NULL,              -- a thumbnail: small enough to live in the database
    received_at TEXT NOT NULL,
    PRIMARY KEY (cabinet_id, name)
);
-- The retailer console (cloud_stub/console): people who sign in, their sessions, the API tokens they manage.
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    retailer TEXT NOT NULL REFERENCES retailers(name),
    email TEXT NOT NULL UNIQUE,          -- lower-cased: the sign-in name across all retailers
    role TEXT NOT NULL CHECK (role IN ('owner', 'staff', 'technician')),
    password_hash TEXT,                  -- argon2id; NULL until an invited user has chosen a password
    invite_sha256 TEXT UNIQUE,           -- the one-time invitation link's token (shown once, never stored)
    invite_expires_at REAL,
    created_at TEXT NOT NULL,
    created_by TEXT
);
CREATE INDEX IF NOT EXISTS users_by_retailer ON users(retailer, email);
CREATE TABLE IF NOT EXISTS sessions (
    id_sha256 TEXT PRIMARY KEY,          -- the cookie holds the id; a copy of the database does not sign anyone in
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,  -- NULL: not signed in yet (holds the sign-in form's token)
    csrf_token TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions(expires_at);
CREATE TABLE IF NOT EXISTS login_failures (
    subject TEXT NOT NULL,               -- "account:<email>" or "ip:<address>"
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_by_subject ON login_failures(subject, at);
CREATE TABLE IF NOT EXISTS api_tokens (
    id TEXT PRIMARY KEY,
    retailer TEXT NOT NULL REFERENCES retailers(name),
    label TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    created_by TEXT,                     -- the user's email, or NULL for the token `retailer add` printed
    revoked_at TEXT
);
-- The console's sales read model: one row per sale, kept by store_events from the money events and the
-- refund_needed alarm (in any order: alarms are uploaded first), so the sales and refunds pages read this
-- table and never scan raw events. Days are UTC (the fleet spans time zones), weeks start on Monday.
CREATE TABLE IF NOT EXISTS sales (
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    sale_id TEXT NOT NULL,
    sku TEXT,
    variant_sku TEXT,                    -- the unit paid for (the product's own SKU when it has no variants)
    amount_cents INTEGER,
    currency TEXT,
    method TEXT,                         -- terminal (ZVT) or qr (scan-to-pay)
    method_detail TEXT,                  -- how, where the terminal said: stripe, chip, contactless, wallet
    card TEXT,                           -- the card's brand or name as the terminal named it
    receipt_no TEXT,                     -- the terminal's receipt, or the scan-to-pay payment id
    approved_at TEXT,
    completed_at TEXT,                   -- the door opened and closed: the money is kept
    day TEXT,                            -- completed_at's UTC day, YYYY-MM-DD
    week TEXT,                           -- the Monday of that day's week, YYYY-MM-DD
    unclaimed_at TEXT,                   -- paid, the door never opened: the money goes back
    recorded_late INTEGER NOT NULL DEFAULT 0,  -- an approval the cabinet's failing store wrote late
    reversed_at TEXT,                    -- payment.reversed: the money is back (settled)
    refund_flagged_at TEXT,              -- the newest refund_needed alarm: the cabinet could not give it back
    refund_detail TEXT,
    refund_command_id TEXT,              -- the newest refund an owner asked for from the console
    refund_requested_by TEXT,
    PRIMARY KEY (cabinet_id, sale_id)
);
CREATE INDEX IF NOT EXISTS sales_to_give_back ON sales(cabinet_id, unclaimed_at)
    WHERE unclaimed_at IS NOT NULL OR recorded_late = 1;
-- The sales pages' speed (issue 14). The CSV pages through the completed sales in the order it writes them,
-- the whole fleet's or one cabinet's (the totals come from the rollup below, so the old per-day index goes).
DROP INDEX IF EXISTS sales_by_day;
CREATE INDEX IF NOT EXISTS sales_by_completion
    ON sales(completed_at, cabinet_id, sale_id, day, sku, variant_sku, amount_cents, currency, method)
    WHERE completed_at IS NOT NULL;  -- covering: the export reads the index alone
CREATE INDEX IF NOT EXISTS sales_of_cabinet_by_completion ON sales(cabinet_id, completed_at, sale_id)
    WHERE completed_at IS NOT NULL;
-- The refunds list's order, so that a page of it is read from the index.
CREATE INDEX IF NOT EXISTS sales_to_give_back_in_order
    ON sales(COALESCE(unclaimed_at, approved_at), sale_id, cabinet_id)
    WHERE unclaimed_at IS NOT NULL OR recorded_late = 1;
-- The daily rollup of the completed sales, kept with the sales read model in the same transaction: a count and
-- a sum per UTC day, cabinet, product, variant (the product's own SKU when it has none) and currency, an
-- unknown fact stored as ''; and the same without the product (each cabinet's totals) and without the cabinet
-- (the whole fleet's chart and products). The sales page adds up hundreds or a few thousand of these rows
-- instead of a row per sale; weeks are folded from days.
CREATE TABLE IF NOT EXISTS sales_daily (
    retailer TEXT NOT NULL,
    cabinet_id TEXT NOT NULL,
    day TEXT NOT NULL,
    sku TEXT NOT NULL,
    variant_sku TEXT NOT NULL,
    currency TEXT NOT NULL,
    count INTEGER NOT NULL,
    cents INTEGER NOT NULL,
    PRIMARY KEY (retailer, cabinet_id, day, sku, variant_sku, currency)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sales_cabinet_daily (
    retailer TEXT NOT NULL,
    cabinet_id TEXT NOT NULL,
    day TEXT NOT NULL,
    currency TEXT NOT NULL,
    count INTEGER NOT NULL,
    cents INTEGER NOT NULL,
    -- the day last: the totals per cabinet come out of the key's order with no sorting (a cabinet's days
    -- outside the range are skipped over, a few hundred a year)
    PRIMARY KEY (retailer, cabinet_id, currency, day)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sales_fleet_daily (
    retailer TEXT NOT NULL,
    day TEXT NOT NULL,
    sku TEXT NOT NULL,
    variant_sku TEXT NOT NULL,
    currency TEXT NOT NULL,
    count INTEGER NOT NULL,
    cents INTEGER NOT NULL,
    PRIMARY KEY (retailer, day, sku, variant_sku, currency)
) WITHOUT ROWID;
-- The same per way to pay (method, and how where the terminal said: chip, contactless, wallet), per cabinet and
-- product so that every filter of the sales page applies to it too.
CREATE TABLE IF NOT EXISTS sales_method_daily (
    retailer TEXT NOT NULL,
    cabinet_id TEXT NOT NULL,
    day TEXT NOT NULL,
    sku TEXT NOT NULL,
    method TEXT NOT NULL,
    method_detail TEXT NOT NULL,
    currency TEXT NOT NULL,
    count INTEGER NOT NULL,
    cents INTEGER NOT NULL,
    PRIMARY KEY (retailer, day, method, method_detail, cabinet_id, sku, currency)
) WITHOUT ROWID;
-- Media a retailer uploaded (ads, product pictures, narrations), named by content; its cabinets download them.
CREATE TABLE IF NOT EXISTS media (
    retailer TEXT NOT NULL REFERENCES retailers(name),
    sha256 TEXT NOT NULL,                -- of the content: what a configuration names ("sha256:<hex>")
    kind TEXT NOT NULL CHECK (kind IN ('image', 'video', 'audio')),
    content_type TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    name TEXT NOT NULL,                  -- the uploaded file's name, for people
    content BLOB NOT NULL,               -- bounded by kind (sync_client.cabinet_config.MAX_MEDIA_BYTES)
    created_at TEXT NOT NULL,
    created_by TEXT,
    PRIMARY KEY (retailer, sha256)
);
-- Stock and restock (the console's stock pages): the retailer's storefronts (each cabinet is restocked from
-- one), the low-stock threshold and target level per product, and the day's restock lines per cabinet.
CREATE TABLE IF NOT EXISTS storefronts (
    id TEXT PRIMARY KEY,
    retailer TEXT NOT NULL REFERENCES retailers(name),
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS stock_levels (
    retailer TEXT NOT NULL REFERENCES retailers(name),
    sku TEXT NOT NULL,                   -- a product's SKU: its variants share its threshold and target
    threshold INTEGER NOT NULL,          -- fewer than this left is low
    target INTEGER NOT NULL,             -- a restock brings each variant up to this
    updated_at TEXT NOT NULL,
    updated_by TEXT,
    PRIMARY KEY (retailer, sku)
);
CREATE TABLE IF NOT EXISTS restock_lines (
    id TEXT PRIMARY KEY,
    retailer TEXT NOT NULL REFERENCES retailers(name),
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    storefront_id TEXT,                  -- who brings it (NULL: the cabinet has no storefront yet)
    items TEXT NOT NULL,                 -- JSON [{sku, product_sku, count, bring, expected}]
    planned_at TEXT NOT NULL,
    planned_by TEXT,
    planned_seq INTEGER NOT NULL,        -- the cabinet's newest event then: the restock after it closes the line
    closed_at TEXT,                      -- the cabinet's time of the restock
    closed_by TEXT,                      -- who restocked ("card:…", "pin"), as the cabinet recorded it
    result TEXT                          -- JSON [{sku, expected, recorded, difference}]
);
CREATE INDEX IF NOT EXISTS open_restock_lines ON restock_lines(retailer, cabinet_id) WHERE closed_at IS NULL;
-- Repairs: each status change with who made it, and the customer messages waiting for a notification provider.
CREATE TABLE IF NOT EXISTS ticket_changes (
    cabinet_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    status TEXT NOT NULL,
    at TEXT NOT NULL,
    by TEXT NOT NULL                     -- "cabinet" for the drop-off, else the console user's email or "api"
);
CREATE INDEX IF NOT EXISTS ticket_changes_by_ticket ON ticket_changes(cabinet_id, ticket_id, at);
CREATE TABLE IF NOT EXISTS notification_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cabinet_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    status TEXT NOT NULL,                -- the change to tell the customer about
    created_at TEXT NOT NULL,
    sent_at TEXT                         -- NULL: to notify (no provider sends them yet)
);
-- Alarms (events of type 'alarm') as the retailer's people handle them: acknowledged, then resolved, by whom.
CREATE TABLE IF NOT EXISTS alarm_handling (
    event_id TEXT PRIMARY KEY REFERENCES events(id),
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    acknowledged_at TEXT,
    acknowledged_by TEXT,                -- the user's email
    resolved_at TEXT,
    resolved_by TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alarm_handling_by_cabinet ON alarm_handling(cabinet_id, updated_at);
-- The fleet page's read model: one row per cabinet, kept in the transaction that stores its events (and by
-- put_config, set_stock_level, handle_alarm), so the fleet page reads a page of rows and never scans events.
CREATE TABLE IF NOT EXISTS cabinet_status (
    cabinet_id TEXT PRIMARY KEY REFERENCES cabinets(id),
    heartbeat_seq INTEGER,               -- the newest heartbeat (by the cabinet's seq): what it reported then
    heartbeat_at TEXT,
    backlog INTEGER,                     -- unsent events then (NULL: the cabinet does not report it)
    software TEXT,
    faults TEXT NOT NULL DEFAULT '[]',   -- JSON list
    applied_seq INTEGER,                 -- the newest config.applied
    applied_at TEXT,
    applied_version INTEGER,
    rejected_seq INTEGER,                -- the newest config.rejected
    rejected_at TEXT,
    rejected TEXT,                       -- JSON: its payload
    open_alarms INTEGER NOT NULL DEFAULT 0,  -- alarms nobody acknowledged yet
    sales_day TEXT,                      -- the newest UTC day (YYYY-MM-DD) with a completed sale
    sales_count INTEGER NOT NULL DEFAULT 0,  -- that day's sales
    sales_totals TEXT NOT NULL DEFAULT '{}', -- JSON {currency: cents} of that day
    stock_low INTEGER NOT NULL DEFAULT 0,    -- units with fewer left than their product's threshold (not out)
    stock_out INTEGER NOT NULL DEFAULT 0,    -- units with none left
    stock_short TEXT NOT NULL DEFAULT '[]',  -- JSON [[sku, count]] of those, by sku
    place_address TEXT,                  -- the configuration's place
    place_lat REAL,
    place_lon REAL,
    update_seq BIGINT,                   -- the newest update.installed / update.failed / update.refused
    update_state TEXT,                   -- installed, failed (rolled back) or refused (by TUF)
    update_version TEXT,                 -- the version it was about (NULL: a refusal before one was known)
    update_detail TEXT                   -- installed: the version before; failed, refused: the reason
);
-- The newest count of each unit a cabinet reported (stock.changed, restock.recorded), and the units of its
-- configuration (a variant's product, whose threshold applies).
CREATE TABLE IF NOT EXISTS stock_counts (
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    sku TEXT NOT NULL,
    count INTEGER NOT NULL,
    as_of TEXT NOT NULL,                 -- the cabinet's time of the count
    seq INTEGER NOT NULL,                -- of the event that set it: an older event arriving late changes nothing
    PRIMARY KEY (cabinet_id, sku)
);
CREATE TABLE IF NOT EXISTS cabinet_units (
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    sku TEXT NOT NULL,                   -- a variant's, or a product's without variants
    product_sku TEXT NOT NULL,
    PRIMARY KEY (cabinet_id, sku)
);
CREATE INDEX IF NOT EXISTS cabinets_by_retailer ON cabinets(retailer, id);
-- The token each retailer got from `kiosk-cloud retailer add` is its first API token (revocable like any other).
INSERT INTO api_tokens (id, retailer, label, token_sha256, created_at)
    SELECT 'initial:' || name, name, 'initial', token_sha256, created_at FROM retailers WHERE true
    ON CONFLICT DO NOTHING;
"""
# (table, column, definition): commands queued before expiries existed count as long expired.
_ADDED_COLUMNS = (
    ("commands", "expires_at", "TEXT NOT NULL DEFAULT '1970-01-01T00:00:00.000Z'"),
    ("cabinets", "last_seen_at", "TEXT"),  # the last signed request of any kind (a poll too): is it online
    ("cabinets", "storefront_id", "TEXT"),  # the storefront that restocks it
    ("pickup_orders", "created_by", "TEXT"),  # the console user's email (NULL: through the API)
    ("pickup_orders", "reference", "TEXT"),  # the retailer's own note: the customer, the web shop's order number
    ("pickup_orders", "ended_at", "TEXT"),  # cancelled or expired by the retailer: its code leaves the config
    ("pickup_orders", "ended_as", "TEXT"),  # one of ORDER_ENDINGS
    ("pickup_orders", "ended_by", "TEXT"),
    ("repair_tickets", "in_repair_at", "TEXT"),
    ("repair_tickets", "handed_back_at", "TEXT"),
    ("commands", "delivered_at", "TEXT"),  # first handed to the cabinet by its command poll
    ("cabinet_status", "update_seq", "BIGINT"),  # signed updates (issue 18): the newest update.* event
    ("cabinet_status", "update_state", "TEXT"),
    ("cabinet_status", "update_version", "TEXT"),
    ("cabinet_status", "update_detail", "TEXT"),
    ("commands", "created_by", "TEXT"),  # the console user's email (NULL: through the API)
    ("rollouts", "report_within_s", "BIGINT NOT NULL DEFAULT 86400"),  # rollout timeouts (issue 18)
    ("rollout_cabinets", "due_at", "TEXT"),
    # the consumer side's notification provider (cloud_stub/consumer/notify.py): its delivery state
    ("notification_outbox", "delivery", "TEXT NOT NULL DEFAULT 'pending'"),  # pending, delivered or failed
    ("notification_outbox", "attempts", "INTEGER NOT NULL DEFAULT 0"),
    ("notification_outbox", "next_attempt_at", "REAL NOT NULL DEFAULT 0"),  # unix seconds
    ("notification_outbox", "last_error", "TEXT"),
    # pickup codes notified (issue 15): an order's optional phone, and its code in the outbox until delivered
    ("pickup_orders", "phone", "TEXT"),  # normalised (sync_client.schema.normalise_phone); NULL: not notified
    ("notification_outbox", "kind", "TEXT NOT NULL DEFAULT 'repair'"),  # repair (a ticket's change) or pickup
    ("notification_outbox", "order_id", "TEXT"),  # kind pickup: the order (ticket_id is '' then)
    ("notification_outbox", "pickup_code", "TEXT"),  # kind pickup: the code, cleared once delivered or failed
    # scan-to-pay through real providers (issue 17)
    ("payments", "provider", "TEXT NOT NULL DEFAULT 'simulator'"),  # who was asked for the QR code
    ("payments", "provider_ref", "TEXT"),  # the provider's own id (WeChat Pay's transaction_id once paid)
    ("payments", "qr_text", "TEXT"),  # what the cabinet draws (WeChat Pay's code_url); NULL: the simulator's page
    ("payments", "method_detail", "TEXT"),  # how the shopper paid, as the provider says (e.g. wechatpay:BALANCE)
    ("payments", "paid_late_at", "TEXT"),  # paid at the provider after it was cancelled or expired here: refunded
    ("payments", "refunded_at", "TEXT"),
    ("payments", "refunded_by", "TEXT"),  # the cabinet, a console user's email, "api" or "auto" (paid late)
    ("payments", "queried_at", "REAL"),  # unix seconds: the provider was last asked (a late notification)
    # how the shopper paid, as the card terminal said (issue 17)
    ("sales", "method_detail", "TEXT"),
    ("sales", "card", "TEXT"),
    # footfall (issue 15): people counted by the cabinet's camera, the funnel's first two steps
    ("funnel_days", "passers", "BIGINT NOT NULL DEFAULT 0"),
    ("funnel_days", "stoppers", "BIGINT NOT NULL DEFAULT 0"),
    # a call-back continued on the phone (issue 15): its product and the consent the cabinet shows
    ("phone_forms", "sku", "TEXT NOT NULL DEFAULT ''"),
    ("phone_forms", "consent_version", "TEXT NOT NULL DEFAULT ''"),
    ("phone_forms", "consent", "TEXT NOT NULL DEFAULT '{}'"),
)
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


# An alarm's state in the console: open until acknowledged, then resolved.
ALARM_STATES = ("open", "acknowledged", "resolved")
# An order's state as the console shows it: collected (a fact from the cabinet) wins over an ending.
ORDER_STATES = ("open", "collected", "cancelled", "expired")
_ORDER_STATE_SQL = {
    "open": "o.collected_at IS NULL AND o.ended_as IS NULL AND o.expires_at > :now",
    "collected": "o.collected_at IS NOT NULL",
    "cancelled": "o.collected_at IS NULL AND o.ended_as = 'cancelled'",
    "expired": "o.collected_at IS NULL AND (o.ended_as = 'expired' OR (o.ended_as IS NULL AND o.expires_at <= :now))",
}
# stock_of's choice of cabinets: one (?, ?) or a JSON list of ids (?, ?), or all.
_ONLY_CABINETS = "(? IS NULL OR c.id = ?) AND (? IS NULL OR c.id IN (SELECT value FROM json_each(?)))"
_ALARM_STATE_SQL = {
    "open": "h.acknowledged_at IS NULL",
    "acknowledged": "h.acknowledged_at IS NOT NULL AND h.resolved_at IS NULL",
    "resolved": "h.resolved_at IS NOT NULL",
}
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


class SqlCloudStore:
    """``CloudStore`` on a ``Database``: SQLite (``SqliteCloudStore``) or PostgreSQL (``PostgresCloudStore``).

    Every method is one transaction. What must happen once when several processes share one PostgreSQL
    rests on the database: unique keys with ``ON CONFLICT``, updates conditioned on the state they change
    (a token or ack spent once), and row locks taken first where a transaction reads before it writes (an
    ingest holds its cabinet's row; see ``store_events``).
    """

    def __init__(self, db: Database, *, migrate: bool = True) -> None:
        """``migrate``: apply pending migrations (a new, empty database is always created at the newest
        version); without it a database that needs them is refused (``MigrationsPending``)."""
        self._db = db
        self.workers = db.workers
        self.readers = db.readers
        try:
            with db.read() as conn:
                new = not sqldb.has_tables(conn)
            todo = sqldb.pending(db, MIGRATIONS)
            if todo and not (migrate or new):
                raise MigrationsPending(todo)
            self.created = new  # made here, at the newest version
            self.migrated = sqldb.migrate(db, todo)
        except BaseException:
            db.close()
            raise

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

    def _check_retailer(self, conn: Conn, retailer: str | None) -> None:
        if (
            retailer is not None
            and conn.execute("SELECT 1 FROM retailers WHERE name = ?", (retailer,)).fetchone() is None
        ):
            raise CloudStoreError(f"no retailer {retailer!r}; add it first with `kiosk-cloud retailer add {retailer}`")

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
        with self._db.write(prepared=True) as conn:
            # The cabinet's row is held until this commits: another node storing a batch of the same cabinet
            # (a retry through another node) waits, then finds these events stored. Its read models are
            # the cabinet's own rows, so they are folded by one transaction at a time as well.
            found = conn.execute("SELECT retailer FROM cabinets WHERE id = ? FOR NO KEY UPDATE", (cabinet_id,))
            cabinet = found.fetchone()
            retailer = cabinet["retailer"] if cabinet is not None else None
            if nonce is not None and not _claim_nonce(conn, cabinet_id, nonce, _now(now), nonce_keep_s):
                raise NonceUsed(f"cabinet {cabinet_id!r} used nonce {nonce!r} already")
            # One look-up for the whole batch, then one executemany: a batch of 1000 is one round of work.
            held = {
                row["id"]: row
                for row in conn.execute(
                    f"SELECT id, cabinet_id, {', '.join(_CONTENT)} FROM events WHERE id IN "
                    "(SELECT value FROM json_each(?))",
                    (json.dumps(event_partitions.maybe_stored(conn, [e.id for e in events])),),
                )
            }
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
                        _count_sold(conn, tally, cabinet_id, keys, event.wall_time, event.payload)
                    _apply_sale_event(conn, tally, retailer, cabinet_id, event.type, event.wall_time, event.payload)
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

    @staticmethod
    def _bump_config(conn: Conn, cabinet_id: str, at: str) -> None:
        conn.execute("UPDATE configs SET version = version + 1, updated_at = ? WHERE cabinet_id = ?", (at, cabinet_id))

    def remember_nonce(self, cabinet_id: str, nonce: str, *, keep_s: float, now: float | None = None) -> bool:
        """Record a request nonce; False if this cabinet already used it. Forgets its nonces older than keep_s."""
        seen_at = _now(now)
        with self._db.write(prepared=True) as conn:  # every signed request's: the same statements each time
            # Every signed request (a poll too) is a sign of life: the console's online state reads it. The
            # cabinet's row first, as an upload (store_events) takes it before the cabinet's nonces: a poll and
            # an upload of one cabinet at once wait for each other in that one order.
            conn.execute("UPDATE cabinets SET last_seen_at = ? WHERE id = ?", (utc_iso(seen_at), cabinet_id))
            return _claim_nonce(conn, cabinet_id, nonce, seen_at, keep_s)

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

    @staticmethod
    def _insert_command(
        conn: Conn,
        cabinet_id: str,
        kind: str,
        args: dict[str, Any],
        ttl_s: float | None,
        created: float,
        created_by: str | None = None,  # the console user's email (None: through the API)
    ) -> str:
        command_id = str(uuid.uuid4())
        expires = created + (COMMAND_TTL_S[kind][0] if ttl_s is None else ttl_s)
        conn.execute(
            "INSERT INTO commands (id, cabinet_id, kind, args, created_at, expires_at, created_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (command_id, cabinet_id, kind, dumps(args).decode(), utc_iso(created), utc_iso(expires), created_by),
        )
        return command_id

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

    # --- snapshots -------------------------------------------------------------------------
    def put_snapshot(self, cabinet_id: str, name: str, taken_at: str, jpeg: bytes, *, now: float | None = None) -> bool:
        """Store the cabinet's snapshot once; True if new. The same bytes again change nothing (a retry);
        other bytes under a stored name are a Conflict."""
        digest = hashlib.sha256(jpeg).hexdigest()
        with self._db.write() as conn:
            created = (
                conn.execute(
                    "INSERT INTO snapshots (cabinet_id, name, taken_at, bytes, sha256, jpeg, received_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(cabinet_id, name) DO NOTHING",
                    (cabinet_id, name, taken_at, len(jpeg), digest, jpeg, utc_iso(_now(now))),
                ).rowcount
                == 1
            )
            stored = conn.execute(
                "SELECT sha256 FROM snapshots WHERE cabinet_id = ? AND name = ?", (cabinet_id, name)
            ).fetchone()["sha256"]
        if stored != digest:
            raise Conflict(f"name: {name!r} is already stored with other content")
        return created

    @reads
    def snapshots_of(self, cabinet_id: str, *, limit: int = 100, before: str | None = None) -> list[dict[str, Any]]:
        """The cabinet's snapshots, newest first (names sort by time), at most ``limit``, older than ``before``."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT name, taken_at, bytes, received_at FROM snapshots WHERE cabinet_id = ? AND (? IS NULL OR "
                "name < ?) ORDER BY name DESC LIMIT ?",
                (cabinet_id, before, before, limit),
            ).fetchall()
        return [dict(r) for r in rows]

    @reads
    def snapshot(self, cabinet_id: str, name: str) -> bytes | None:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT jpeg FROM snapshots WHERE cabinet_id = ? AND name = ?", (cabinet_id, name)
            ).fetchone()
        return bytes(row["jpeg"]) if row else None

    @reads
    def snapshots_taken(self, cabinet_id: str, *, since: str, until: str, limit: int = 12) -> list[dict[str, Any]]:
        """The cabinet's snapshots taken from ``since`` to ``until`` (ISO UTC), oldest first."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT name, taken_at, bytes FROM snapshots WHERE cabinet_id = ? AND taken_at >= ? AND taken_at <= ? "
                "ORDER BY taken_at, name LIMIT ?",
                (cabinet_id, since, until, limit),
            ).fetchall()
        return [dict(r) for r in rows]

    # --- the console: alarms and their handling -------------------------------------------------------
    @reads
    def alarms_of(
        self,
        retailer: str,
        *,
        state: str | None = None,
        cabinet_id: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """The retailer's alarms (in ``state``, of ``cabinet_id`` if given), newest first, ``limit`` from
        ``offset``: the event's id, cabinet, kind, detail and wall time (``at``), who acknowledged and resolved it
        and when."""
        where = _ALARM_STATE_SQL[state] if state else "1 = 1"
        with self._db.read() as conn:
            rows = conn.execute(
                # The retailer's cabinets as a list, so that each is one look-up in events_by_cabinet_type.
                "SELECT e.id, e.cabinet_id, e.wall_time AS at, e.payload, h.acknowledged_at, h.acknowledged_by, "
                "h.resolved_at, h.resolved_by FROM events e LEFT JOIN alarm_handling h ON h.event_id = e.id "
                "WHERE e.cabinet_id IN (SELECT id FROM cabinets WHERE retailer = ? AND (? IS NULL OR id = ?)) "
                f"AND e.type = 'alarm' AND {where} ORDER BY e.wall_time DESC, e.id LIMIT ? OFFSET ?",
                (retailer, cabinet_id, cabinet_id, limit, offset),
            ).fetchall()
        alarms = []
        for row in rows:
            payload = json.loads(row["payload"])
            alarm = {k: row[k] for k in row.keys() if k != "payload"}
            alarms.append({**alarm, "kind": payload.get("kind", ""), "detail": payload.get("detail", "")})
        return alarms

    @reads
    def alarm_count(self, retailer: str, *, state: str | None = None, cabinet_id: str | None = None) -> int:
        """How many alarms ``alarms_of`` lists on all its pages."""
        where = _ALARM_STATE_SQL[state] if state else "1 = 1"
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM events e LEFT JOIN alarm_handling h ON h.event_id = e.id "
                "WHERE e.cabinet_id IN (SELECT id FROM cabinets WHERE retailer = ? AND (? IS NULL OR id = ?)) "
                f"AND e.type = 'alarm' AND {where}",
                (retailer, cabinet_id, cabinet_id),
            ).fetchone()
        return int(row[0])

    @reads
    def snapshots_around(
        self, retailer: str, windows: Sequence[tuple[str, str, str]], *, limit: int = 12
    ) -> list[list[dict[str, Any]]]:
        """For each (cabinet id, since, until): the snapshots ``snapshots_taken`` gives, in one query (a page of
        alarms); none for a cabinet that is not the retailer's."""
        if not windows:
            return []
        table, params = _values("w", ("i", "cabinet_id", "since", "until"), [(i, *w) for i, w in enumerate(windows)])
        with self._db.read() as conn:
            rows = conn.execute(
                f"WITH {table} SELECT w.i, s.name, s.taken_at, s.bytes FROM w "
                "JOIN snapshots s ON s.cabinet_id = w.cabinet_id AND s.taken_at >= w.since AND s.taken_at <= w.until "
                "JOIN cabinets c ON c.id = s.cabinet_id AND c.retailer = ? ORDER BY w.i, s.taken_at, s.name",
                (*params, retailer),
            ).fetchall()
        found: list[list[dict[str, Any]]] = [[] for _ in windows]
        for row in rows:
            if len(found[row["i"]]) < limit:
                found[row["i"]].append({"name": row["name"], "taken_at": row["taken_at"], "bytes": row["bytes"]})
        return found

    @reads
    def alarms_mark(self, retailer: str) -> str:
        """Changes when one of the retailer's alarms arrives or is handled, or a snapshot arrives (an alarm's photo
        comes after it): what the live alarms page watches."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT (SELECT COUNT(*) FROM events WHERE type = 'alarm' AND cabinet_id IN "
                "(SELECT id FROM cabinets WHERE retailer = ?)), (SELECT MAX(updated_at) || ':' || COUNT(*) "
                "FROM alarm_handling WHERE cabinet_id IN (SELECT id FROM cabinets WHERE retailer = ?)), "
                "(SELECT COUNT(*) FROM snapshots WHERE cabinet_id IN (SELECT id FROM cabinets WHERE retailer = ?))",
                (retailer, retailer, retailer),
            ).fetchone()
        return f"{row[0]}/{row[1]}/{row[2]}"

    def handle_alarm(
        self, retailer: str, event_id: str, action: str, by: str, *, now: float | None = None
    ) -> dict[str, Any]:
        """``action`` "acknowledge" (an open alarm) or "resolve" (an acknowledged one) by user ``by``. NotFound
        for an alarm not among the retailer's; Conflict when its state does not allow it."""
        at = utc_iso(_now(now))
        with self._db.write() as conn:
            row = conn.execute(
                "SELECT e.cabinet_id, h.acknowledged_by, h.resolved_by FROM events e JOIN cabinets c "
                "ON c.id = e.cabinet_id LEFT JOIN alarm_handling h ON h.event_id = e.id "
                "WHERE e.id = ? AND e.type = 'alarm' AND c.retailer = ?",
                (event_id, retailer),
            ).fetchone()
            if row is None:
                raise NotFound(f"no alarm {event_id!r}")
            if action == "acknowledge":
                if row["acknowledged_by"] is not None:
                    raise Conflict(f"alarm {event_id!r} was already acknowledged by {row['acknowledged_by']}")
                if not conn.execute(
                    "INSERT INTO alarm_handling (event_id, cabinet_id, acknowledged_at, acknowledged_by, updated_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
                    (event_id, row["cabinet_id"], at, by, at),
                ).rowcount:  # another node's acknowledgement came first
                    raise Conflict(f"alarm {event_id!r} was already acknowledged")
                _recount_open_alarms(conn, [row["cabinet_id"]])
            elif action == "resolve":
                if row["acknowledged_by"] is None or row["resolved_by"] is not None:
                    state = "still open" if row["acknowledged_by"] is None else f"resolved by {row['resolved_by']}"
                    raise Conflict(f"alarm {event_id!r} is {state}")
                conn.execute(
                    "UPDATE alarm_handling SET resolved_at = ?, resolved_by = ?, updated_at = ? WHERE event_id = ?",
                    (at, by, at, event_id),
                )
            else:
                raise ValueError(f"action: expected acknowledge or resolve, got {action!r}")
        return {"event_id": event_id, "action": action, "by": by, "at": at}

    # --- the console: the fleet at a glance ---------------------------------------------------------
    @reads
    def fleet_page(
        self,
        retailer: str,
        *,
        online_since: str,
        state: str | None = None,
        search: str | None = None,
        cabinet_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of the retailer's cabinets by id from the fleet's read model, and how many there are in all:
        only those in ``state`` (FLEET_STATES; offline: no signed request since ``online_since``), whose id or
        address holds ``search`` (any case), or ``cabinet_id``. Each is the cabinet's record (``last_seen_at``,
        ``config_version``) with its ``cabinet_status`` row (JSON columns decoded, defaults when it has none)."""
        if state not in (None, *FLEET_STATES):
            raise ValueError(f"state: expected one of {', '.join(FLEET_STATES)}, got {state!r}")
        where = _FLEET_STATE_SQL[state] if state else "1 = 1"
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT c.id, c.created_at, c.last_seen_at, g.version AS config_version, {_STATUS_READ}, "
                "COUNT(*) OVER () AS total FROM cabinets c LEFT JOIN cabinet_status s ON s.cabinet_id = c.id "
                "LEFT JOIN configs g ON g.cabinet_id = c.id WHERE c.retailer = :retailer "
                "AND (:cabinet_id IS NULL OR c.id = :cabinet_id) "
                "AND (:search IS NULL OR instr(lower(c.id), :search) > 0 "
                f"OR instr(lower(COALESCE(s.place_address, '')), :search) > 0) AND {where} "
                "ORDER BY c.id LIMIT :limit OFFSET :offset",
                {
                    "retailer": retailer,
                    "cabinet_id": cabinet_id,
                    "search": search.lower() if search else None,
                    "online_since": online_since,
                    "limit": limit,
                    "offset": offset,
                },
            ).fetchall()
        total = rows[0]["total"] if rows else 0
        return [_status_record(r) for r in rows], total

    @reads
    def configs_of(
        self, retailer: str, *, cabinet_ids: Sequence[str] | None = None
    ) -> dict[str, tuple[int, dict[str, Any]] | None]:
        """cabinet id -> its configuration (version, document) as ``config`` gives it, for every cabinet of the
        retailer (only those of ``cabinet_ids`` if given) in one query (None: none yet), by id."""
        only = json.dumps(list(cabinet_ids)) if cabinet_ids is not None else None
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT c.id, g.version, g.document FROM cabinets c LEFT JOIN configs g ON g.cabinet_id = c.id "
                f"WHERE c.retailer = ? AND {_ONLY_CABINETS} ORDER BY c.id",
                (retailer, None, None, only, only),
            ).fetchall()
        return {r["id"]: (r["version"], json.loads(r["document"])) if r["document"] else None for r in rows}

    @reads
    def stock_of(
        self, retailer: str, *, cabinet_id: str | None = None, cabinet_ids: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """The retailer's cabinets (only ``cabinet_id`` or those of ``cabinet_ids`` if given) by id: ``id``,
        ``config_version`` and ``document`` (the configuration in force, None without one) and ``stock``
        (sku -> {count, as_of}: the newest count of each unit)."""
        only = json.dumps(list(cabinet_ids)) if cabinet_ids is not None else None
        with self._db.read() as conn:
            cabinets = {
                r["id"]: {
                    "id": r["id"],
                    "config_version": r["version"],
                    "document": json.loads(r["document"]) if r["document"] else None,
                    "stock": {},
                }
                for r in conn.execute(
                    "SELECT c.id, g.version, g.document FROM cabinets c LEFT JOIN configs g ON g.cabinet_id = c.id "
                    f"WHERE c.retailer = ? AND {_ONLY_CABINETS} ORDER BY c.id",
                    (retailer, cabinet_id, cabinet_id, only, only),
                )
            }
            counts = conn.execute(
                "SELECT s.cabinet_id, s.sku, s.count, s.as_of FROM stock_counts s "
                f"JOIN cabinets c ON c.id = s.cabinet_id WHERE c.retailer = ? AND {_ONLY_CABINETS}",
                (retailer, cabinet_id, cabinet_id, only, only),
            ).fetchall()
        for row in counts:
            cabinets[row["cabinet_id"]]["stock"][row["sku"]] = {"count": row["count"], "as_of": row["as_of"]}
        return list(cabinets.values())

    @reads
    def counted_cabinets(self, retailer: str, *, limit: int, offset: int = 0) -> tuple[list[str], int]:
        """A page of the retailer's cabinets whose configuration counts units (the stock page's), by id, and how
        many there are in all."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT c.id, COUNT(*) OVER () AS total FROM cabinets c WHERE c.retailer = ? "
                "AND EXISTS (SELECT 1 FROM cabinet_units u WHERE u.cabinet_id = c.id) ORDER BY c.id LIMIT ? OFFSET ?",
                (retailer, _limit(limit), offset),
            ).fetchall()
        return [r["id"] for r in rows], rows[0]["total"] if rows else 0

    @reads
    def product_cabinets(self, retailer: str) -> dict[str, str]:
        """product sku -> one cabinet whose configuration sells it (the first by id), for every product of the
        retailer's configurations: where a product's name can be read."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT u.product_sku, MIN(u.cabinet_id) AS cabinet_id FROM cabinet_units u "
                "JOIN cabinets c ON c.id = u.cabinet_id WHERE c.retailer = ? GROUP BY u.product_sku",
                (retailer,),
            ).fetchall()
        return {r["product_sku"]: r["cabinet_id"] for r in rows}

    @reads
    def short_cabinets(
        self, retailer: str, *, default_threshold: int, limit: int, offset: int = 0
    ) -> tuple[list[str], int]:
        """A page of the retailer's cabinets with a unit of their configuration out or under its product's
        threshold (``default_threshold`` where none is set) and no open restock line, by id, and how many in all."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT c.id, COUNT(*) OVER () AS total FROM cabinets c WHERE c.retailer = :retailer "
                "AND NOT EXISTS (SELECT 1 FROM restock_lines r WHERE r.retailer = c.retailer "
                "AND r.cabinet_id = c.id AND r.closed_at IS NULL) "
                "AND EXISTS (SELECT 1 FROM cabinet_units u JOIN stock_counts s ON s.cabinet_id = u.cabinet_id "
                "AND s.sku = u.sku LEFT JOIN stock_levels l ON l.retailer = c.retailer AND l.sku = u.product_sku "
                "WHERE u.cabinet_id = c.id AND (s.count <= 0 OR s.count < COALESCE(l.threshold, :threshold))) "
                "ORDER BY c.id LIMIT :limit OFFSET :offset",
                {"retailer": retailer, "threshold": default_threshold, "limit": limit, "offset": offset},
            ).fetchall()
        return [r["id"] for r in rows], rows[0]["total"] if rows else 0

    @reads
    def cabinet_ids(self, retailer: str, *, limit: int = -1, offset: int = 0) -> tuple[list[str], int]:
        """A page of the retailer's cabinet ids in order (all of them by default), and how many there are."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT id, COUNT(*) OVER () AS total FROM cabinets WHERE retailer = ? ORDER BY id LIMIT ? OFFSET ?",
                (retailer, _limit(limit), offset),
            ).fetchall()
        return [r["id"] for r in rows], rows[0]["total"] if rows else 0

    # --- the console: sales and refunds (the ``sales`` read model) ------------------------------------
    @reads
    def sales_summary(
        self,
        retailer: str,
        *,
        since_day: str,
        until_day: str,
        period: str = "day",
        cabinet_id: str | None = None,
        sku: str | None = None,
    ) -> dict[str, list[dict[str, Any]]]:
        """The retailer's completed sales from ``since_day`` to ``until_day`` (UTC days, both included; only
        ``cabinet_id``'s and ``sku``'s if given), counted and summed per currency: ``periods`` (per day or per
        week: its Monday), ``cabinets``, ``products`` (per sku and variant_sku) and ``methods`` (per method and
        method_detail). Read from the daily rollup: the whole fleet's days and products from its fleet-wide
        lines."""
        if period not in ("day", "week"):
            raise ValueError(f"period: expected day or week, got {period!r}")
        span = ("retailer = ? AND day >= ? AND day <= ?", (retailer, since_day, until_day))
        only = [(f"{c} = ?", v) for c, v in (("cabinet_id", cabinet_id), ("sku", sku)) if v is not None]
        # Per day and product: one cabinet's from its finest lines, the fleet's from the fleet's; per cabinet:
        # from the lines without the product unless one product is asked for.
        fine = "sales_daily" if cabinet_id is not None else "sales_fleet_daily"
        per_cabinet = "sales_daily" if sku is not None else "sales_cabinet_daily"
        queries = {
            "periods": (fine, "day AS period", "day"),
            "cabinets": (per_cabinet, "cabinet_id", "cabinet_id"),
            "products": (fine, "sku, variant_sku", "sku, variant_sku"),
            "methods": ("sales_method_daily", "method, method_detail", "method, method_detail"),
        }
        where = " AND ".join([span[0], *(w for w, _ in only)])
        params = (*span[1], *(v for _, v in only))
        with self._db.read() as conn:
            found = {
                name: [
                    # '' stands for a fact no event named (the rollup's key cannot hold NULL)
                    {k: (None if v == "" else v) for k, v in dict(r).items()}
                    for r in conn.execute(
                        f"SELECT {columns}, currency, SUM(count) AS count, SUM(cents) AS cents FROM {table} "
                        f"WHERE {where} GROUP BY {grouped}, currency ORDER BY {grouped}, currency",
                        params,
                    )
                ]
                for name, (table, columns, grouped) in queries.items()
            }
        if period == "week":
            found["periods"] = _by_week(found["periods"])
        return found

    @reads
    def sales_page(
        self,
        retailer: str,
        *,
        since_day: str,
        until_day: str,
        cabinet_id: str | None = None,
        sku: str | None = None,
        after: tuple[str, str, str] | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` of the completed sales the summary with the same filters counts, oldest first
        (ordered by completed_at, cabinet_id, sale_id), those after the key ``after`` only: the CSV export
        reads them page by page, each page found in the index without counting what came before."""
        next_day = (datetime.date.fromisoformat(until_day) + datetime.timedelta(days=1)).isoformat()
        # completed_at's own bounds let the index seek; day's keep the rows exactly those of the summary.
        lowest = max(since_day, after[0]) if after else since_day
        where = [
            "completed_at IS NOT NULL",
            "completed_at >= ?",
            "completed_at < ?",
            "day >= ?",
            "day <= ?",
            "k.id = cabinet_id",
            "k.retailer = ?",
        ]
        params: list[Any] = [lowest, next_day, since_day, until_day, retailer]
        for column, value in (("cabinet_id", cabinet_id), ("sku", sku)):
            if value is not None:
                where, params = [*where, f"{column} = ?"], [*params, value]
        if after is not None:
            where, params = [*where, "(completed_at, cabinet_id, sale_id) > (?, ?, ?)"], [*params, *after]
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT completed_at, cabinet_id, sale_id, sku, {_VARIANT} AS variant_sku, amount_cents, currency, "
                # CROSS JOIN: SQLite walks the sales in order and looks each cabinet up, rather than sorting
                f"method FROM sales CROSS JOIN cabinets k WHERE {' AND '.join(where)} "
                "ORDER BY completed_at, cabinet_id, sale_id LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [dict(r) for r in rows]

    @reads
    def sales_of(
        self,
        cabinet_id: str,
        *,
        limit: int = 10_000,
        since_day: str = "",
        until_day: str | None = None,
        before: tuple[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """The cabinet's sales from the sales read model (approved, completed or unclaimed), oldest first, at most
        the newest ``limit``: each with its facts, its status, when it was approved and when it ``began`` (a row a
        reversal or a refund alarm made alone is not a sale here). ``since_day``/``until_day`` (UTC, YYYY-MM-DD,
        included): only the sales begun (approved, else completed or unclaimed) on those days; ``before``: only
        those before the key (began, sale_id) of a sale, the next older page (read from the index: each page costs
        what it holds)."""
        # "~" sorts after every timestamp (text in byte order on both databases): no end
        until = (datetime.date.fromisoformat(until_day) + datetime.timedelta(days=1)).isoformat() if until_day else "~"
        older, params = "", [cabinet_id, since_day, until]
        if before is not None:
            older, params = f" AND ({_SALE_BEGUN}, sale_id) < (?, ?)", [*params, *before]
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT sale_id, sku, {_VARIANT} AS variant_sku, amount_cents, currency, method, method_detail, card,"
                f" approved_at, completed_at, unclaimed_at, {_SALE_BEGUN} AS began FROM sales WHERE cabinet_id = ?"
                f" AND {_SALE_BEGUN} >= ? AND {_SALE_BEGUN} < ?{older}"
                f" ORDER BY {_SALE_BEGUN} DESC, sale_id DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [{**dict(r), "status": _sale_status(r)} for r in reversed(rows)]

    @reads
    def stock_counts(self, cabinet_id: str) -> list[dict[str, Any]]:
        """The newest count of each unit the cabinet reported (stock.changed, restock.recorded), by sku."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT sku, count, as_of FROM stock_counts WHERE cabinet_id = ? ORDER BY sku", (cabinet_id,)
            ).fetchall()
        return [dict(r) for r in rows]

    @reads
    def sale_skus(self, retailer: str) -> list[str]:
        """The products the retailer's cabinets ever sold (the sales page's product filter)."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT DISTINCT sku FROM sales_fleet_daily WHERE retailer = ? AND sku != '' ORDER BY sku",
                (retailer,),
            ).fetchall()
        return [str(r["sku"]) for r in rows]

    @reads
    def refund_cases(
        self,
        retailer: str,
        *,
        cabinet_id: str | None = None,
        sale_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """The retailer's payments that go back (unclaimed sales, approvals recorded late), newest first, with
        what became of them: ``reversed_at``, ``refund_flagged_at``, the console's refund command (requested,
        acknowledged with its result, or expired) and the scan-to-pay payment's status. A page of ``limit``
        from ``offset`` on: it is picked from the index first, and only its rows are joined."""
        order = "COALESCE({0}unclaimed_at, {0}approved_at) DESC, {0}sale_id DESC, {0}cabinet_id DESC"
        where, params = [_TO_GIVE_BACK, "k.id = cabinet_id", "k.retailer = ?"], [retailer]
        for column, value in (("cabinet_id", cabinet_id), ("sale_id", sale_id)):
            if value is not None:
                where, params = [*where, f"{column} = ?"], [*params, value]
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {_REFUND_COLUMNS}, c.created_at AS refund_requested_at, c.acked_at AS refund_acked_at, "
                "c.result AS refund_result, c.expires_at AS refund_expires_at, p.status AS payment_status "
                # CROSS JOIN: SQLite walks the cases in the index's order and looks each cabinet up
                f"FROM (SELECT sales.* FROM sales CROSS JOIN cabinets k WHERE {' AND '.join(where)} "
                f"ORDER BY {order.format('')} LIMIT ? OFFSET ?) s "
                "LEFT JOIN commands c ON c.id = s.refund_command_id "
                "LEFT JOIN payments p ON p.cabinet_id = s.cabinet_id AND p.sale_id = s.sale_id "
                f"ORDER BY {order.format('s.')}",
                (*params, limit, offset),
            ).fetchall()
        return [dict(r) for r in rows]

    @reads
    def refund_count(self, retailer: str) -> int:
        """How many payments of the retailer's go back (the refunds list's length), counted in the index."""
        with self._db.read() as conn:
            row = conn.execute(
                f"SELECT COUNT(*) AS n FROM sales WHERE {_TO_GIVE_BACK} "
                "AND cabinet_id IN (SELECT id FROM cabinets WHERE retailer = ?)",
                (retailer,),
            ).fetchone()
        return int(row["n"])

    def request_refund(
        self, retailer: str, cabinet_id: str, sale_id: str, *, requested_by: str, now: float | None = None
    ) -> dict[str, Any]:
        """Queue a ``refund`` command for the retailer's unclaimed sale and note who asked; NotFound if it is not
        theirs, Conflict when it is already settled or a refund is still waiting for the cabinet."""
        at = _now(now)
        with self._db.write() as conn:
            row = conn.execute(
                "SELECT s.reversed_at, c.acked_at, c.expires_at FROM sales s "
                "JOIN cabinets k ON k.id = s.cabinet_id AND k.retailer = ? "
                "LEFT JOIN commands c ON c.id = s.refund_command_id "
                "WHERE s.cabinet_id = ? AND s.sale_id = ? AND (s.unclaimed_at IS NOT NULL OR s.recorded_late = 1) "
                "FOR UPDATE OF s",  # one refund at a time, whichever node the owners' requests reach
                (retailer, cabinet_id, sale_id),
            ).fetchone()
            if row is None:
                raise NotFound(f"no unclaimed sale {sale_id!r} on cabinet {cabinet_id!r} of retailer {retailer!r}")
            if row["reversed_at"] is not None:
                raise Conflict(f"sale {sale_id!r} is already settled")
            if row["expires_at"] is not None and row["acked_at"] is None and row["expires_at"] > utc_iso(at):
                raise Conflict(f"a refund of sale {sale_id!r} is already waiting for cabinet {cabinet_id!r}")
            command_id = self._insert_command(conn, cabinet_id, "refund", {"sale_id": sale_id}, None, at)
            conn.execute(
                "UPDATE sales SET refund_command_id = ?, refund_requested_by = ? WHERE cabinet_id = ? AND sale_id = ?",
                (command_id, requested_by, cabinet_id, sale_id),
            )
        [case] = self.refund_cases(retailer, cabinet_id=cabinet_id, sale_id=sale_id)
        return case

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

    # --- the shopper funnel (the funnel_* read model, kept at ingest) ---------------------------------
    @reads
    def funnel(
        self, retailer: str, *, since_day: str, until_day: str, cabinet_id: str | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """The retailer's shopper funnel from ``since_day`` to ``until_day`` (UTC days, both included; only
        ``cabinet_id``'s if given), read from the tables store_events keeps and the sales read model: ``days``
        (people who passed the cabinet and who stopped, counted by its camera; sessions, those that viewed a
        product, started a checkout, paid; sales completed), ``products`` (the same per product, with dwell,
        turns and narrations), ``exits`` (sessions per screen left from), ``ads`` (impressions and touches) and
        ``qr`` (scans per code)."""
        # The fleet's rows (kept under its shards' keys, added up here) or the cabinet's, if it is the retailer's.
        keys = [cabinet_id] if cabinet_id else [fleet_key(retailer, shard) for shard in range(FLEET_SHARDS)]
        where = f"cabinet_id IN ({', '.join('?' * len(keys))}) AND day >= ? AND day <= ?"
        where += " AND (? IS NULL OR ? IN (SELECT id FROM cabinets WHERE retailer = ?))"
        params = (*keys, since_day, until_day, cabinet_id, cabinet_id, retailer)
        scans = "cabinet_id IN (SELECT id FROM cabinets WHERE retailer = ?) AND day >= ? AND day <= ?"
        scans += " AND (? IS NULL OR cabinet_id = ?)"
        queries = {
            "days": (
                "SELECT day, SUM(passers) AS passers, SUM(stoppers) AS stoppers,"
                " SUM(sessions) AS sessions, SUM(viewed) AS viewed, SUM(checkouts) AS checkouts,"
                f" SUM(paid) AS paid, SUM(sold) AS sold FROM funnel_days WHERE {where} GROUP BY day ORDER BY day",
                params,
            ),
            "products": (
                "SELECT sku, SUM(views) AS views, SUM(dwell_s) AS dwell_s, SUM(turns) AS turns,"
                " SUM(narrations) AS narrations, SUM(variants) AS variants, SUM(checkouts) AS checkouts,"
                f" SUM(paid) AS paid, SUM(sold) AS sold FROM funnel_products WHERE {where} GROUP BY sku ORDER BY sku",
                params,
            ),
            "exits": (
                "SELECT left_at, SUM(sessions) AS sessions FROM funnel_exits"
                f" WHERE {where} GROUP BY left_at ORDER BY left_at",
                params,
            ),
            "ads": (
                "SELECT ad_id, SUM(impressions) AS impressions, SUM(touches) AS touches FROM funnel_ads"
                f" WHERE {where} GROUP BY ad_id ORDER BY ad_id",
                params,
            ),
            "qr": (
                "SELECT code, kind, sku, variant_sku, SUM(scans) AS scans FROM qr_scan_days"
                f" WHERE {scans} GROUP BY code, kind, sku, variant_sku ORDER BY code",
                (retailer, since_day, until_day, cabinet_id, cabinet_id),
            ),
        }
        with self._db.read() as conn:
            return {name: [dict(r) for r in conn.execute(sql, args)] for name, (sql, args) in queries.items()}

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

    def maintain_events(self, *, now: float | None = None) -> list[str]:
        """PostgreSQL: the coming months' partitions of ``events`` made (their names); SQLite: none needed."""
        with self._db.write() as conn:
            return event_partitions.ensure_partitions(conn, _now(now))

    def purge_events(
        self, policy: RetentionPolicy, *, now: float | None = None, dry_run: bool = False
    ) -> RetentionResult:
        """Raw events past ``policy``'s retention deleted (the read models folded them at ingest), step by step
        (``purge_events_step``); the coming months' partitions made first. ``dry_run``: only counted."""
        at = _now(now)
        if dry_run:
            analytics_before, money_before = policy.cutoffs(at)
            with self._db.read() as conn:
                return RetentionResult(
                    analytics=event_partitions.count_due(conn, analytics_before, analytics=True),
                    money=event_partitions.count_due(conn, money_before, analytics=False),
                    dropped=event_partitions.droppable(conn, analytics_before, money_before),
                )
        result = RetentionResult(created=self.maintain_events(now=at))
        while (step := self.purge_events_step(policy, now=at)) is not None:
            result.add(step)
        return result

    def purge_events_step(self, policy: RetentionPolicy, *, now: float) -> RetentionResult | None:
        """One transaction of the retention (what ingest waits for at most, on SQLite's single worker too):
        on PostgreSQL the oldest month's list past its class's retention dropped whole, else a batch of the
        analytics past theirs, else of the other events past theirs. None: nothing was due."""
        analytics_before, money_before = policy.cutoffs(now)
        with self._db.write() as conn:
            due = event_partitions.droppable(conn, analytics_before, money_before)
            if due:
                rows = event_partitions.drop_partition(conn, due[0])
                if due[0].endswith("_analytics"):
                    return RetentionResult(analytics=rows, dropped=due[:1])
                return RetentionResult(money=rows, dropped=due[:1])
            if rows := event_partitions.delete_batch(conn, analytics_before, analytics=True):
                return RetentionResult(analytics=rows)
            if rows := event_partitions.delete_batch(conn, money_before, analytics=False):
                return RetentionResult(money=rows)
        return None

    def close(self) -> None:
        self._db.close()


class MigrationsPending(CloudStoreError):
    def __init__(self, todo: Sequence[sqldb.Migration]) -> None:
        names = ", ".join(f"{m.version} ({m.name})" for m in todo)
        super().__init__(f"the database needs migrations {names}: run `kiosk-cloud migrate` (or serve --migrate)")
        self.todo = list(todo)


# Read-only connections beside the writer: the retailer's pages and the device API's look-ups read on them.
SQLITE_READERS = 3


class SqliteCloudStore(SqlCloudStore):
    """``CloudStore`` on one SQLite file (WAL, synchronous=FULL: an acknowledged event is on disk).

    One writing connection guarded by a lock, so the object may be handed between threads, and ``readers``
    read-only ones (calls marked ``reads``); the CLI and another process (e.g. ``kiosk-cloud cabinet add``
    while ``serve`` runs) may share the file.
    """

    def __init__(self, path: str | Path, *, migrate: bool = True, readers: int = SQLITE_READERS) -> None:
        self.path = Path(path)
        # The file holds every cabinet's key: readable by its owner only. SQLite gives the -wal and -shm
        # files the database's own mode; the umask covers their creation here all the same.
        umask = os.umask(0o077)
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so one batch is one transaction.
            raw = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
            raw.row_factory = sqlite3.Row
            raw.execute("PRAGMA journal_mode=WAL")
            raw.execute("PRAGMA synchronous=FULL")
            raw.execute("PRAGMA foreign_keys=ON")
            raw.execute("PRAGMA cache_size=-65536")  # 64 MiB: the id index of a big fleet stays hot
            super().__init__(sqldb.SqliteDatabase(raw, path=self.path, readers=readers), migrate=migrate)
        except sqlite3.Error as exc:
            raise CloudStoreError(f"cannot open database {self.path}: {exc}") from None
        finally:
            os.umask(umask)
        self._owner_only()

    def _owner_only(self) -> None:
        """Tighten a database that an older version created readable by others."""
        for path in (self.path, *(self.path.with_name(self.path.name + s) for s in ("-wal", "-shm"))):
            try:
                mode = path.stat().st_mode
                if mode & 0o077:
                    path.chmod(mode & 0o700)
                    log.warning("database file %s was readable by others; now by its owner only", path)
            except FileNotFoundError:
                continue
            except PermissionError:
                log.warning("database file %s is readable by others and not ours to change", path)


class PostgresCloudStore(SqlCloudStore):
    """``CloudStore`` on PostgreSQL (``postgresql://…``): a connection pool; several nodes may share it."""

    def __init__(self, url: str, *, migrate: bool = True, pool_size: int = 8) -> None:
        self.url = url
        try:
            super().__init__(sqldb.PostgresDatabase(url, max_size=pool_size), migrate=migrate)
        except sqldb.database_errors() + (TimeoutError,) as exc:
            raise CloudStoreError(f"cannot open database {printable(url)}: {exc}") from None


def open_store(target: str | Path, *, migrate: bool = True) -> SqlCloudStore:
    """The store at ``target``: a ``postgresql://`` URL, else a SQLite file's path."""
    if sqldb.is_postgresql_url(str(target)):
        return PostgresCloudStore(str(target), migrate=migrate)
    return SqliteCloudStore(target, migrate=migrate)


def pending_migrations(target: str | Path) -> tuple[list[sqldb.Migration], bool]:
    """The migrations the database at ``target`` lacks, and whether it is new (holds no tables yet)."""
    if sqldb.is_postgresql_url(str(target)):
        db: Database = sqldb.PostgresDatabase(str(target), max_size=1)
    else:
        path = Path(target)
        if not path.exists():
            return list(MIGRATIONS), True
        db = sqldb.SqliteDatabase(sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10))
        db.raw.row_factory = sqlite3.Row
    try:
        with db.read() as conn:
            new = not sqldb.has_tables(conn)
        return sqldb.pending(db, MIGRATIONS), new
    finally:
        db.close()


def printable(target: str | Path) -> str:
    """A database's name for messages and logs: a URL without its password."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", str(target))


# The consumer pages' tables: QR hand-off codes derived from each saved configuration, every scan and its
# day's count (the funnel reads the counts), and receipt tokens the cabinets put in payment.approved.
_CONSUMER_SCHEMA = """
CREATE TABLE IF NOT EXISTS link_codes (
    code TEXT PRIMARY KEY,               -- sync_client.cabinet_config.link_code: an HMAC under the cabinet's key
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    kind TEXT NOT NULL,                  -- product, store or repair
    sku TEXT NOT NULL,                   -- '' when not about a product
    variant_sku TEXT NOT NULL,
    target TEXT NOT NULL                 -- where a scan is sent
);
CREATE INDEX IF NOT EXISTS link_codes_by_cabinet ON link_codes(cabinet_id);
CREATE TABLE IF NOT EXISTS qr_scans (
    cabinet_id TEXT NOT NULL,
    code TEXT NOT NULL,                  -- the link's code, or 'receipt' for a receipt opened
    kind TEXT NOT NULL,
    sku TEXT NOT NULL,
    variant_sku TEXT NOT NULL,
    at TEXT NOT NULL                     -- nothing about who scanned: no address, no browser
);
CREATE TABLE IF NOT EXISTS qr_scan_days (
    cabinet_id TEXT NOT NULL,
    day TEXT NOT NULL,                   -- UTC, YYYY-MM-DD
    code TEXT NOT NULL,
    kind TEXT NOT NULL,
    sku TEXT NOT NULL,
    variant_sku TEXT NOT NULL,
    scans INTEGER NOT NULL,
    PRIMARY KEY (cabinet_id, day, code)
);
-- "Continue on your phone": a form the cabinet offers (form.offered) until it lapses, is withdrawn at the
-- cabinet (form.closed) or is submitted (then its values go down as a command).
CREATE TABLE IF NOT EXISTS phone_forms (
    token TEXT PRIMARY KEY,              -- sync_client.schema.FORM_TOKEN_RE: 128 random bits the cabinet made
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    form TEXT NOT NULL,                  -- one of PHONE_FORMS
    expires_s REAL NOT NULL,             -- received + valid_s (at most PHONE_FORM_MAX_S), by the cloud's clock
    opened_at TEXT,
    submitted_at TEXT,
    closed_at TEXT,
    sku TEXT NOT NULL DEFAULT '',        -- a call-back's product
    consent_version TEXT NOT NULL DEFAULT '',  -- a call-back's consent as the cabinet shows it
    consent TEXT NOT NULL DEFAULT '{}'   -- JSON {language: text}
);
CREATE TABLE IF NOT EXISTS receipts (
    token TEXT PRIMARY KEY,              -- sync_client.schema.RECEIPT_TOKEN_RE: 128 random bits
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    sale_id TEXT NOT NULL,
    UNIQUE (cabinet_id, sale_id)
);
-- Call-backs (callback.requested): the only copy of the shopper's number (the events table keeps the event
-- without it), deleted with its history when its retention ends or on request.
CREATE TABLE IF NOT EXISTS callbacks (
    request_id TEXT PRIMARY KEY,
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    sku TEXT NOT NULL,
    phone TEXT NOT NULL,                 -- sync_client.schema.normalise_phone's form
    consent_text TEXT NOT NULL,          -- as the cabinet's screen showed it
    consent_version TEXT NOT NULL,
    language TEXT NOT NULL,
    requested_at TEXT NOT NULL,          -- the cabinet's wall time
    requested_s REAL NOT NULL,           -- the same, unix seconds: the retention counts from it
    received_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'new'    -- one of CALLBACK_STATES
);
CREATE INDEX IF NOT EXISTS callbacks_by_cabinet ON callbacks(cabinet_id, requested_s);
CREATE TABLE IF NOT EXISTS callback_history (
    request_id TEXT NOT NULL REFERENCES callbacks(request_id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    by TEXT NOT NULL,                    -- the console user's email
    state TEXT NOT NULL,                 -- the state it was moved to (or kept)
    note TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS callback_history_by_request ON callback_history(request_id, at);
"""
CALLBACK_STATES = ("new", "called", "closed")
# The repair messages of a retailer's tickets not sent yet (the repair board's "to notify").
_TO_NOTIFY = (
    "FROM notification_outbox n JOIN cabinets c ON c.id = n.cabinet_id "
    "JOIN repair_tickets t ON t.cabinet_id = n.cabinet_id AND t.ticket_id = n.ticket_id "
    "WHERE c.retailer = ? AND n.sent_at IS NULL"
)


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


# The events the sales read model is kept from; an alarm only when it is refund_needed.
_SALE_EVENTS = frozenset({"payment.approved", "sale.completed", "sale.unclaimed", "payment.reversed", "alarm"})
_SALE_FACTS = ("sku", "variant_sku", "amount_cents", "currency", "method", "method_detail", "card", "receipt_no")
# The unit sold: a product without variants (or a sale from before them) names none, and is its own.
_VARIANT = "COALESCE(variant_sku, sku)"


def _apply_sale_event(
    conn: Conn, tally: _Tally, retailer: str | None, cabinet_id: str, kind: str, at: str, payload: dict[str, Any]
) -> None:
    """Fold one event into its sale's row of the read model (created by whichever event comes first), and its
    share of the rollup into ``tally`` (``retailer``: the cabinet's)."""
    sale_id = payload.get("sale_id")
    if not isinstance(sale_id, str) or kind == "alarm" and payload.get("kind") != "refund_needed":
        return
    row: dict[str, Any] = {k: payload.get(k) for k in _SALE_FACTS}  # an event without a fact leaves it as it is
    if kind == "payment.approved":
        row.update(approved_at=at, recorded_late=int(payload.get("recorded_late") is True))
    elif kind == "sale.completed":
        row.update(completed_at=at, day=at[:10], week=week_of(at[:10]))
    elif kind == "sale.unclaimed":
        row["unclaimed_at"] = at
    elif kind == "payment.reversed":
        row["reversed_at"] = at
    else:
        row.update(refund_flagged_at=at, refund_detail=str(payload.get("detail", "")))
    if row["method"] == "qr" and row["method_detail"] is None:  # the provider's word, if it was paid already
        paid = conn.execute(
            f"SELECT {_PAID_BY} FROM payments WHERE cabinet_id = ? AND sale_id = ? AND status IN ('paid', 'refunded')",
            (cabinet_id, sale_id),
        ).fetchone()
        row["method_detail"] = paid[0] if paid else None
    columns = ", ".join(row)
    # What an event says wins over nothing, never over what another event said (they agree on the facts).
    updates = ", ".join(
        f"{c} = CASE WHEN excluded.{c} > sales.{c} THEN excluded.{c} ELSE sales.{c} END"
        if c == "recorded_late"
        else f"{c} = COALESCE(excluded.{c}, sales.{c})"
        for c in row
    )
    before = conn.execute(
        f"SELECT {_ROLLED} FROM sales WHERE cabinet_id = ? AND sale_id = ?", (cabinet_id, sale_id)
    ).fetchone()
    after = conn.execute(
        f"INSERT INTO sales (cabinet_id, sale_id, {columns}) VALUES (?, ?, {', '.join('?' * len(row))}) "
        f"ON CONFLICT (cabinet_id, sale_id) DO UPDATE SET {updates} RETURNING {_ROLLED}",
        (cabinet_id, sale_id, *row.values()),
    ).fetchone()
    _roll_up(tally, retailer, cabinet_id, _sale_counted(before), _sale_counted(after))


# When a sale began: its approval, else what became of it (a row a reversal or refund alarm made alone has neither).
_SALE_BEGUN = "COALESCE(approved_at, completed_at, unclaimed_at)"


def _sale_status(row: Row) -> str:
    """What became of a sale: the later of completed and unclaimed, else approved."""
    ends = [
        (at, status) for at, status in ((row["completed_at"], "completed"), (row["unclaimed_at"], "unclaimed")) if at
    ]
    return max(ends)[1] if ends else "approved"


# The fleet's read model (cabinet_status, stock_counts, cabinet_units): what each event changes in it.
_COUNT_EVENTS = ("stock.changed", "restock.recorded")
_UPDATE_EVENTS = {"update.installed": "installed", "update.failed": "failed", "update.refused": "refused"}
_STATUS_EVENTS = frozenset(
    {"heartbeat", "config.applied", "config.rejected", "alarm", "sale.completed", *_COUNT_EVENTS, *_UPDATE_EVENTS}
)
DEFAULT_STOCK_THRESHOLD = 2  # fewer than this left is low, for a product without a threshold of its own
FLEET_STATES = ("offline", "alarms", "low_stock")
_FLEET_STATE_SQL = {
    "offline": "(c.last_seen_at IS NULL OR c.last_seen_at < :online_since)",
    "alarms": "s.open_alarms > 0",
    "low_stock": "s.stock_low + s.stock_out > 0",
}
_FOLDED = (
    "heartbeat_seq",
    "heartbeat_at",
    "backlog",
    "software",
    "faults",
    "applied_seq",
    "applied_at",
    "applied_version",
    "rejected_seq",
    "rejected_at",
    "rejected",
    "open_alarms",
    "sales_day",
    "sales_count",
    "sales_totals",
    "update_seq",
    "update_state",
    "update_version",
    "update_detail",
)
_STATUS_COLUMNS = (*_FOLDED, "stock_low", "stock_out", "stock_short", "place_address", "place_lat", "place_lon")
_STATUS_READ = ", ".join(f"s.{c}" for c in _STATUS_COLUMNS)
# A cabinet without a status row yet (no event, no configuration) reads as these.
_STATUS_DEFAULTS = {"faults": "[]", "open_alarms": 0, "sales_count": 0, "sales_totals": "{}", "stock_low": 0}
_STATUS_DEFAULTS |= {"stock_out": 0, "stock_short": "[]"}


def _paid_by_provider(conn: Conn, payment: Row) -> None:
    """A paid scan-to-pay payment names how it was paid (the provider's detail, else the provider) on its sale,
    and moves the sale's share of the rollup with it: a provider may say so after the cabinet's events came."""
    if payment["status"] not in ("paid", "refunded"):
        return
    paid_by = payment["method_detail"] or payment["provider"]
    key = (payment["cabinet_id"], payment["sale_id"])
    before = conn.execute(f"SELECT {_ROLLED} FROM sales WHERE cabinet_id = ? AND sale_id = ? AND method = 'qr'", key)
    was = before.fetchone()
    if was is None or was["method_detail"] == paid_by:
        return
    now = conn.execute(
        f"UPDATE sales SET method_detail = ? WHERE cabinet_id = ? AND sale_id = ? RETURNING {_ROLLED}", (paid_by, *key)
    ).fetchone()
    cabinet = conn.execute("SELECT retailer FROM cabinets WHERE id = ?", (payment["cabinet_id"],)).fetchone()
    tally = _Tally()
    _roll_up(
        tally, cabinet["retailer"] if cabinet else None, payment["cabinet_id"], _sale_counted(was), _sale_counted(now)
    )
    tally.write(conn)


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


def _newer(seq: int, than: int | None) -> bool:
    return than is None or seq > than


def _apply_status_events(conn: Conn, cabinet_id: str, events: Sequence[tuple[int, str, str, dict[str, Any]]]) -> None:
    """Fold the cabinet's new events (seq, type, wall time, payload) into its status row and stock counts. The
    newest event by seq wins (a late upload of an older one changes nothing); the day's sales are those of the
    newest UTC day with a sale (the cabinet's clock)."""
    if not events:
        return
    conn.execute("INSERT INTO cabinet_status (cabinet_id) VALUES (?) ON CONFLICT DO NOTHING", (cabinet_id,))
    row = dict(
        conn.execute(
            f"SELECT {', '.join(_FOLDED)} FROM cabinet_status WHERE cabinet_id = ? FOR UPDATE", (cabinet_id,)
        ).fetchone()
    )
    totals: dict[str, int] = json.loads(row["sales_totals"])
    counts: dict[str, tuple[int, int, str]] = {}  # sku -> (seq, count, at)
    for seq, kind, at, payload in events:
        if kind == "heartbeat" and _newer(seq, row["heartbeat_seq"]):
            backlog, software = payload.get("backlog"), payload.get("software")
            row.update(
                heartbeat_seq=seq,
                heartbeat_at=at,
                backlog=backlog if isinstance(backlog, int) else None,
                software=software if isinstance(software, str) else None,
                faults=json.dumps([str(f) for f in payload.get("faults", [])]),
            )
        elif kind == "config.applied" and _newer(seq, row["applied_seq"]):
            row.update(applied_seq=seq, applied_at=at, applied_version=payload.get("version"))
        elif kind == "config.rejected" and _newer(seq, row["rejected_seq"]):
            row.update(rejected_seq=seq, rejected_at=at, rejected=dumps(payload).decode())
        elif kind == "alarm":
            row["open_alarms"] += 1  # a new alarm is never acknowledged yet
        elif kind == "sale.completed" and at[:10] >= (row["sales_day"] or ""):
            if at[:10] != row["sales_day"]:
                row.update(sales_day=at[:10], sales_count=0)
                totals = {}
            row["sales_count"] += 1
            currency, cents = payload.get("currency"), payload.get("amount_cents")
            if isinstance(currency, str) and isinstance(cents, int):
                totals[currency] = totals.get(currency, 0) + cents
        elif kind in _UPDATE_EVENTS and _newer(seq, row["update_seq"]):
            detail = payload.get("previous") if kind == "update.installed" else payload.get("reason")
            row.update(update_seq=seq, update_state=_UPDATE_EVENTS[kind], update_version=payload.get("version"))
            row["update_detail"] = str(detail) if detail is not None else None
        elif kind in _COUNT_EVENTS and isinstance(payload.get("sku"), str) and isinstance(payload.get("count"), int):
            if _newer(seq, counts.get(payload["sku"], (None,))[0]):
                counts[payload["sku"]] = (seq, payload["count"], at)
    row["sales_totals"] = json.dumps(totals, sort_keys=True)
    conn.execute(
        f"UPDATE cabinet_status SET {', '.join(f'{c} = :{c}' for c in _FOLDED)} WHERE cabinet_id = :cabinet_id",
        {**row, "cabinet_id": cabinet_id},
    )
    if counts:
        conn.executemany(
            "INSERT INTO stock_counts (cabinet_id, sku, count, as_of, seq) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (cabinet_id, sku) DO UPDATE SET count = excluded.count, as_of = excluded.as_of, "
            "seq = excluded.seq WHERE excluded.seq > stock_counts.seq",
            [(cabinet_id, sku, count, at, seq) for sku, (seq, count, at) in counts.items()],
        )
        _refresh_stock_status(conn, [cabinet_id])


def _refresh_stock_status(conn: Conn, cabinet_ids: Sequence[str]) -> None:
    """Recount the cabinets' low and out units: a unit is judged by its product's threshold (the retailer's
    stock level, else DEFAULT_STOCK_THRESHOLD); a unit its configuration does not list is its own product."""
    rows = conn.execute(
        "SELECT s.cabinet_id, s.sku, s.count, COALESCE(l.threshold, ?) AS threshold FROM stock_counts s "
        "JOIN cabinets c ON c.id = s.cabinet_id LEFT JOIN cabinet_units u ON u.cabinet_id = s.cabinet_id "
        "AND u.sku = s.sku LEFT JOIN stock_levels l ON l.retailer = c.retailer "
        "AND l.sku = COALESCE(u.product_sku, s.sku) WHERE s.cabinet_id IN (SELECT value FROM json_each(?)) "
        "ORDER BY s.cabinet_id, s.sku",
        (DEFAULT_STOCK_THRESHOLD, json.dumps(list(cabinet_ids))),
    ).fetchall()
    short: dict[str, list[tuple[str, int]]] = {cabinet_id: [] for cabinet_id in cabinet_ids}
    for row in rows:
        if row["count"] <= 0 or row["count"] < row["threshold"]:
            short[row["cabinet_id"]].append((row["sku"], row["count"]))
    conn.executemany(
        "INSERT INTO cabinet_status (cabinet_id, stock_low, stock_out, stock_short) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (cabinet_id) DO UPDATE SET stock_low = excluded.stock_low, stock_out = excluded.stock_out, "
        "stock_short = excluded.stock_short",
        [
            (cabinet_id, sum(c > 0 for _, c in units), sum(c <= 0 for _, c in units), json.dumps(units))
            for cabinet_id, units in short.items()
        ],
    )


def _recount_open_alarms(conn: Conn, cabinet_ids: Sequence[str]) -> None:
    conn.execute(
        "INSERT INTO cabinet_status (cabinet_id, open_alarms) SELECT j.value, (SELECT COUNT(*) FROM events e "
        "LEFT JOIN alarm_handling h ON h.event_id = e.id WHERE e.cabinet_id = j.value AND e.type = 'alarm' "
        "AND h.acknowledged_at IS NULL) FROM json_each(?) j WHERE true "
        "ON CONFLICT (cabinet_id) DO UPDATE SET open_alarms = excluded.open_alarms",
        (json.dumps(list(cabinet_ids)),),
    )


def _config_units(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(unit sku, product sku) of each unit the configuration counts, as the cabinet's own parser reads it."""
    try:
        config = parse_config({**document, "version": 1, "pickup_orders": []})
    except ConfigInvalid:  # stored documents were validated; one that no longer parses counts no units
        return []
    units = []
    for product in config.products:
        variants = product.sold_variants()
        units += [(v.sku, product.sku) for v in variants] if variants else [(product.sku, product.sku)]
    return units


def _set_config_facts(conn: Conn, cabinet_id: str, document: dict[str, Any]) -> None:
    """What the fleet's read model takes from a configuration: its units (whose product's threshold applies)
    and its place."""
    conn.execute("DELETE FROM cabinet_units WHERE cabinet_id = ?", (cabinet_id,))
    conn.executemany(
        "INSERT INTO cabinet_units (cabinet_id, sku, product_sku) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        [(cabinet_id, sku, product_sku) for sku, product_sku in _config_units(document)],
    )
    place: dict[str, Any] = document["place"] if isinstance(document.get("place"), dict) else {}
    conn.execute(
        "INSERT INTO cabinet_status (cabinet_id, place_address, place_lat, place_lon) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (cabinet_id) DO UPDATE SET place_address = excluded.place_address, "
        "place_lat = excluded.place_lat, place_lon = excluded.place_lon",
        (cabinet_id, place.get("address"), place.get("lat"), place.get("lon")),
    )
    _refresh_stock_status(conn, [cabinet_id])


def _status_record(row: Row) -> dict[str, Any]:
    """A fleet page row: the JSON columns decoded, a cabinet without a status row given the defaults."""
    record = {k: row[k] for k in row.keys() if k != "total"}
    for column, default in _STATUS_DEFAULTS.items():
        if record[column] is None:
            record[column] = default
    for column in ("faults", "sales_totals", "stock_short"):
        record[column] = json.loads(record[column])
    record["stock_short"] = [tuple(unit) for unit in record["stock_short"]]
    record["rejected"] = json.loads(record["rejected"]) if record["rejected"] else None
    return record


# --- the read models' counters, as an ingest adds to them ---------------------------------------------------
# A retailer's whole fleet has rows of its own in the funnel (funnel_*: under a fleet key in cabinet_id) and in
# the sales rollup (sales_fleet_daily), so that its pages read a few rows a day, not one per cabinet. Had the
# fleet one row per day (and product, ad...), every ingest of every cabinet of the retailer would update it: one
# row lock all of them queue on, on PostgreSQL with several nodes. So the fleet's rows are split in FLEET_SHARDS
# shards, a cabinet always adding to the same one (a stable hash of its id), and the reads add the shards up: 16
# rows where there was one, whatever the fleet's size (reading per-cabinet rows instead would cost the fleet's
# size: 5,000 rows a day). Changing FLEET_SHARDS needs a migration that moves the rows (as _fleet_shards did).
FLEET_SHARDS = 16


def fleet_shard(cabinet_id: str) -> int:
    """The shard of its fleet's rows a cabinet adds to (crc32: the same in every process and release)."""
    return zlib.crc32(cabinet_id.encode()) % FLEET_SHARDS


# Each counter table: its key and its counters (a row is created by the first addition to it).
_COUNTERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "funnel_days": (("cabinet_id", "day"), ("sessions", "viewed", "checkouts", "paid", "sold", "passers", "stoppers")),
    "funnel_products": (
        ("cabinet_id", "day", "sku"),
        ("views", "dwell_s", "turns", "narrations", "variants", "checkouts", "paid", "sold"),
    ),
    "funnel_exits": (("cabinet_id", "day", "left_at"), ("sessions",)),
    "funnel_ads": (("cabinet_id", "day", "ad_id"), ("impressions", "touches")),
}


@cache
def _counter_sql(table: str) -> tuple[str, str]:
    """The counter table's upsert (its key, then its counters) and the delete of a rollup line left at 0."""
    key, counters = _COUNTERS[table] if table in _COUNTERS else (dict(_ROLLUPS)[table], ("count", "cents"))
    columns = (*key, *counters)
    upsert = (
        f"INSERT INTO {table} AS t ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET " + ", ".join(f"{c} = t.{c} + excluded.{c}" for c in counters)
    )
    return upsert, f"DELETE FROM {table} WHERE {' AND '.join(f'{k} = ?' for k in key)} AND count = 0"


@dataclass
class _Tally:
    """What a transaction adds to the counters of the read models (the funnel's and the sales rollup's), summed
    per row in memory while it folds its events and written at its end by ``write``: one upsert per row however
    many events added to it (ten plays of an ad are one statement), in one order (table, then key) for every
    transaction. The only rows two uploads both write are these (their fleet shard's: everything else is their
    own cabinet's, under its row lock), taken after everything else and in that one order by both: they never
    wait for each other in a cycle, so PostgreSQL has no deadlock to break."""

    rows: dict[str, dict[tuple[Any, ...], list[Any]]] = field(default_factory=dict)

    def add(self, table: str, key: tuple[Any, ...], **counts: float) -> None:
        names = _COUNTERS[table][1] if table in _COUNTERS else ("count", "cents")
        row = self.rows.setdefault(table, {}).setdefault(key, [0] * len(names))
        for name, value in counts.items():
            row[names.index(name)] += value

    def write(self, conn: Conn) -> None:
        for table in sorted(self.rows):
            upsert, delete = _counter_sql(table)
            funnel = table in _COUNTERS  # a funnel row is made even by nothing (a day); a rollup line is not
            rows = [(key, counts) for key, counts in sorted(self.rows[table].items()) if funnel or any(counts)]
            conn.executemany(upsert, [(*key, *counts) for key, counts in rows])
            # A rollup line whose count dropped to nothing goes (a sale's share moved to another line).
            conn.executemany(delete, [key for key, counts in rows if not funnel and counts[0] < 0])
        self.rows.clear()


# --- the daily rollup of the completed sales (sales_daily, sales_cabinet_daily, sales_fleet_daily) -------
# How a scan-to-pay payment was paid: the provider's method detail, else the provider.
_PAID_BY = "COALESCE(method_detail, provider)"
_ROLLED = "completed_at, day, sku, variant_sku, currency, amount_cents, method, method_detail"
_ROLLED_KEY = ("retailer", "cabinet_id", "day", "sku", "variant_sku", "currency")
_ROLLED_LINE = (*_ROLLED_KEY, "method", "method_detail")
# Each rollup table and the part of the key it keeps, finest first.
_ROLLUPS = (
    ("sales_daily", _ROLLED_KEY),
    ("sales_cabinet_daily", ("retailer", "cabinet_id", "day", "currency")),
    ("sales_fleet_daily", ("retailer", "day", "sku", "variant_sku", "currency", "shard")),
    ("sales_method_daily", ("retailer", "cabinet_id", "day", "sku", "method", "method_detail", "currency")),
)
_SaleShare = tuple[tuple[str, str, str, str, str, str], int]


def _sale_counted(row: Row | None) -> _SaleShare | None:
    """What a sale's row adds to the rollup: its key (day, sku, variant, currency, method, method detail; ''
    for an unknown fact) and its cents; None while it is not completed."""
    if row is None or row["completed_at"] is None:
        return None
    sku = row["sku"] or ""
    key = (row["day"], sku, row["variant_sku"] or sku, row["currency"] or "", row["method"] or "")
    return (*key, row["method_detail"] or ""), row["amount_cents"] or 0


def _roll_up(
    tally: _Tally, retailer: str | None, cabinet_id: str, before: _SaleShare | None, after: _SaleShare | None
) -> None:
    """Move a sale's share of the rollup from what it was to what it is (an event may complete a sale or
    name a fact it lacked); a line whose count drops to nothing is removed when the tally is written."""
    if before == after or retailer is None:  # a cabinet of no retailer is on no page
        return
    shard = fleet_shard(cabinet_id)
    for share, sign in ((before, -1), (after, 1)):
        if share is None:
            continue
        (day, sku, variant, currency, method, detail), cents = share
        values = (retailer, cabinet_id, day, sku, variant, currency, method, detail, shard)
        line: dict[str, Any] = dict(zip((*_ROLLED_LINE, "shard"), values, strict=True))
        for table, key in _ROLLUPS:
            tally.add(table, tuple(line[k] for k in key), count=sign, cents=sign * cents)


_TO_GIVE_BACK = "(unclaimed_at IS NOT NULL OR recorded_late = 1)"  # the refunds list's rows
_REFUND_COLUMNS = ", ".join(
    "s." + c
    for c in (
        "cabinet_id",
        "sale_id",
        *_SALE_FACTS,
        "approved_at",
        "unclaimed_at",
        "recorded_late",
        "reversed_at",
        "refund_flagged_at",
        "refund_detail",
        "refund_command_id",
        "refund_requested_by",
    )
)


def _by_week(days: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-day lines (period, currency, count, cents) folded into their weeks (the Monday), in order."""
    weeks: dict[tuple[str, Any], dict[str, Any]] = {}
    for line in days:
        key = (week_of(line["period"]), line["currency"])
        into = weeks.setdefault(key, {"period": key[0], "currency": key[1], "count": 0, "cents": 0})
        into["count"] += line["count"]
        into["cents"] += line["cents"]
    return [weeks[k] for k in sorted(weeks, key=lambda k: (k[0], k[1] or ""))]


def week_of(day: str) -> str:
    """The Monday of the week ``day`` (YYYY-MM-DD) is in."""
    date = datetime.date.fromisoformat(day)
    return (date - datetime.timedelta(days=date.weekday())).isoformat()


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


def _command(row: Row) -> dict[str, Any]:
    return {**dict(row), "args": json.loads(row["args"])}


_USER_COLUMNS = "id, retailer, email, role, created_at, created_by, password_hash IS NOT NULL AS active"
_MEDIA_COLUMNS = "retailer, sha256, kind, content_type, bytes, name, created_at, created_by"
_API_TOKEN_COLUMNS = "id, retailer, label, created_at, created_by, revoked_at"


def new_api_token() -> str:
    return secrets.token_hex(32)  # hex: read out and typed by people, never taken for an option ("-...")


def _token_hash(token: str) -> str:
    # Tokens are 256 random bits, so a plain hash is enough (no dictionary to attack).
    return hashlib.sha256(token.encode()).hexdigest()


def _values(name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> tuple[str, list[Any]]:
    """A common table of literal rows, ``name(columns) AS (VALUES (?, …), …)``, and its parameters (for a
    WITH clause: one query for a page of keys, on either database). ``rows`` must not be empty."""
    row = f"({', '.join('?' * len(columns))})"
    return f"{name}({', '.join(columns)}) AS (VALUES {', '.join([row] * len(rows))})", [v for r in rows for v in r]


NO_LIMIT = 2**62  # LIMIT -1 is SQLite's "no limit"; PostgreSQL refuses a negative one


def _limit(limit: int) -> int:
    return NO_LIMIT if limit < 0 else limit


def _now(now: float | None) -> float:
    return time.time() if now is None else now


def _claim_nonce(conn: Conn, cabinet_id: str, nonce: str, seen_at: float, keep_s: float) -> bool:
    """Record the cabinet's request nonce; False if it used it already. Its own nonces older than ``keep_s`` are
    forgotten first (by the index on cabinet and age): never the whole fleet's, which every request of every
    cabinet would delete at once, each waiting for the others' locks on the same rows."""
    conn.execute("DELETE FROM nonces WHERE cabinet_id = ? AND seen_at < ?", (cabinet_id, seen_at - keep_s))
    cursor = conn.execute(
        "INSERT INTO nonces (cabinet_id, nonce, seen_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (cabinet_id, nonce, seen_at),
    )
    return cursor.rowcount == 1


# The shopper funnel's read model: per cabinet and UTC day (a session's day is its start's; an ad's plays count
# on the day of their last play; a sale on its completion's, as in the sales read model), kept by store_events
# from session.ended, ad.plays, ad.impression and sale.completed, so the funnel reads sums of a few rows per
# cabinet and day, never events or sales. The same rows are kept for the retailer's whole fleet under its shards'
# keys (fleet_key: "*<retailer>", "*<retailer>#1"...) in cabinet_id, so the fleet's funnel reads a few rows per
# day however many cabinets it has.
# Each event is counted once: only events new to the store reach it, in the transaction that stores them.
_FUNNEL_SCHEMA = """
CREATE TABLE IF NOT EXISTS funnel_days (
    cabinet_id TEXT NOT NULL,
    day TEXT NOT NULL,
    sessions INTEGER NOT NULL DEFAULT 0,     -- a first touch to an idle timeout
    viewed INTEGER NOT NULL DEFAULT 0,       -- sessions that opened a product's page
    checkouts INTEGER NOT NULL DEFAULT 0,    -- sessions that pressed buy
    paid INTEGER NOT NULL DEFAULT 0,         -- sessions whose payment was approved
    sold INTEGER NOT NULL DEFAULT 0,         -- sales completed that day (the sales read model's, counted once)
    passers BIGINT NOT NULL DEFAULT 0,       -- people who passed in front of the cabinet (footfall.counted)
    stoppers BIGINT NOT NULL DEFAULT 0,      -- of them, people who stopped in front of it
    PRIMARY KEY (cabinet_id, day)
);
CREATE TABLE IF NOT EXISTS funnel_products (
    cabinet_id TEXT NOT NULL,
    day TEXT NOT NULL,
    sku TEXT NOT NULL,
    views INTEGER NOT NULL DEFAULT 0,        -- sessions that opened its page
    dwell_s REAL NOT NULL DEFAULT 0,         -- time on its page, all sessions
    turns INTEGER NOT NULL DEFAULT 0,        -- drags of its 360° view
    narrations INTEGER NOT NULL DEFAULT 0,   -- narrations started
    variants INTEGER NOT NULL DEFAULT 0,     -- sessions that chose a variant
    checkouts INTEGER NOT NULL DEFAULT 0,
    paid INTEGER NOT NULL DEFAULT 0,
    sold INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (cabinet_id, day, sku)
);
CREATE TABLE IF NOT EXISTS funnel_exits (
    cabinet_id TEXT NOT NULL,
    day TEXT NOT NULL,
    left_at TEXT NOT NULL,                   -- the screen on show when the session ended
    sessions INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (cabinet_id, day, left_at)
);
CREATE TABLE IF NOT EXISTS funnel_ads (
    cabinet_id TEXT NOT NULL,
    day TEXT NOT NULL,
    ad_id TEXT NOT NULL,
    impressions INTEGER NOT NULL DEFAULT 0,  -- plays
    touches INTEGER NOT NULL DEFAULT 0,      -- sessions whose first touch came while it showed
    PRIMARY KEY (cabinet_id, day, ad_id)
);
"""
_FUNNEL_EVENTS = frozenset({"session.ended", "ad.plays", "ad.impression", "footfall.counted"})
FLEET = "*"  # a retailer's whole fleet is kept as more sets of rows, under "*<retailer>..." (no cabinet id has "*")


def fleet_key(retailer: str, shard: int) -> str:
    """The funnel key of a shard of the retailer's fleet (see FLEET_SHARDS): shard 0 keeps the key the fleet had
    before it had shards ("*<retailer>"), so that its rows from then stay as they were; the others are
    "*<retailer>#<shard>" ("#" is in no retailer's name)."""
    return f"{FLEET}{retailer}#{shard}" if shard else FLEET + retailer


def _funnel_keys(cabinet_id: str, retailer: str | None) -> tuple[str, ...]:
    """The funnel keys an event of the cabinet counts under: its own and its shard of its retailer's fleet."""
    return (cabinet_id, fleet_key(retailer, fleet_shard(cabinet_id))) if retailer else (cabinet_id,)


_STEP_RANK = {"touch": 0, "product": 1, "checkout": 2, "paid": 3}


def _apply_funnel_event(tally: _Tally, key: str, kind: str, at: str, payload: dict[str, Any]) -> None:
    """One new event into the funnel's counters under ``key`` (validated already: its fields are there and typed)."""
    if kind == "ad.impression":
        tally.add("funnel_ads", (key, at[:10], payload["ad_id"]), impressions=1)
    elif kind == "ad.plays":
        for play in payload["plays"]:
            tally.add("funnel_ads", (key, play["last_at"][:10], play["ad_id"]), impressions=play["count"])
    elif kind == "footfall.counted":  # an interval within one UTC day (the schema's check)
        day = payload["started_at"][:10]
        tally.add("funnel_days", (key, day), passers=payload["passers"], stoppers=payload["stoppers"])
    else:
        day, rank = payload["started_at"][:10], _STEP_RANK[payload["step"]]
        viewed = rank >= 1 or bool(payload["products"])
        tally.add(
            "funnel_days", (key, day), sessions=1, viewed=int(viewed), checkouts=int(rank >= 2), paid=int(rank >= 3)
        )
        for p in payload["products"]:
            tally.add(
                "funnel_products",
                (key, day, p["sku"]),
                views=1,
                dwell_s=p["dwell_s"],
                turns=p["turns"],
                narrations=p["narrations"],
                variants=int(p["variant"] is not None),
                checkouts=int(p["checkout"]),
                paid=int(p["payment"] == "approved"),
            )
        tally.add("funnel_exits", (key, day, payload["left_at"]), sessions=1)
        if payload["ad_id"] is not None:
            tally.add("funnel_ads", (key, day, payload["ad_id"]), touches=1)


def _count_sold(
    conn: Conn, tally: _Tally, cabinet_id: str, keys: tuple[str, ...], at: str, payload: dict[str, Any]
) -> None:
    """A sale completed, unless the sales read model has it completed already (the same sale told twice);
    counted under each of ``keys`` (the cabinet's and its fleet shard's)."""
    row = conn.execute(
        "SELECT completed_at, sku FROM sales WHERE cabinet_id = ? AND sale_id = ?", (cabinet_id, payload["sale_id"])
    ).fetchone()
    if row is not None and row["completed_at"] is not None:
        return
    # The product is named by this event or by an earlier one of the sale (payment.approved); a sale whose
    # product is not known yet counts for the day only.
    sku = payload.get("sku") or (row["sku"] if row is not None else None)
    day = at[:10]
    for key in keys:
        tally.add("funnel_days", (key, day), sold=1)
        if isinstance(sku, str):
            tally.add("funnel_products", (key, day, sku), sold=1)


def _backfill_funnel(conn: Conn) -> None:
    """The funnel of a database from before it (its tables empty): the completed sales of the sales read model
    as sold, then every stored session and ad play, as ingest would have counted them, under the cabinet's key
    and its retailer's fleet's (as it was then: one key, shard 0's)."""
    for key, sold in (("s.cabinet_id", "s.cabinet_id, s.day"), ("? || k.retailer", "k.retailer, s.day")):
        fleet = (FLEET,) if key.startswith("?") else ()
        sales = "FROM sales s JOIN cabinets k ON k.id = s.cabinet_id WHERE s.completed_at IS NOT NULL"
        if fleet:
            sales += " AND k.retailer IS NOT NULL"
        conn.execute(
            f"INSERT INTO funnel_days (cabinet_id, day, sold) SELECT {key}, s.day, COUNT(*) {sales} GROUP BY {sold}",
            fleet,
        )
        conn.execute(
            f"INSERT INTO funnel_products (cabinet_id, day, sku, sold) SELECT {key}, s.day, s.sku, COUNT(*) {sales}"
            f" AND s.sku IS NOT NULL GROUP BY {sold}, s.sku",
            fleet,
        )
    retailers = {r["id"]: r["retailer"] for r in conn.execute("SELECT id, retailer FROM cabinets")}
    types = ", ".join("?" * len(_FUNNEL_EVENTS))
    rows = conn.execute(
        f"SELECT cabinet_id, type, wall_time, payload FROM events WHERE type IN ({types}) ORDER BY cabinet_id, seq",
        sorted(_FUNNEL_EVENTS),
    )
    tally = _Tally()
    keys: tuple[str, ...] = ("",)
    for row in rows:  # read as written: a big store's events are never all in memory, nor all their sums
        if row["cabinet_id"] != keys[0]:  # each cabinet's sums written before the next's
            tally.write(conn)
            retailer = retailers.get(row["cabinet_id"])
            keys = (row["cabinet_id"], fleet_key(retailer, 0)) if retailer else (row["cabinet_id"],)
        payload = json.loads(row["payload"])
        for key in keys:
            _apply_funnel_event(tally, key, row["type"], row["wall_time"], payload)
    tally.write(conn)


# --- versioned migrations (cloud_stub/sqldb.py runs them) -------------------------------------------------
# A change of the schema from now on is a new Migration appended here, the same number on both databases
# (branch on conn.dialect where their SQL differs); the schema texts above stay as migration 1 made them.
def _has_table(conn: Conn, name: str) -> bool:
    if conn.dialect == SQLITE:
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    else:
        query = "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = ?"
    return conn.execute(query, (name,)).fetchone() is not None


def _baseline(conn: Conn) -> None:
    """The schema as it stood when migrations began (issue 16). On SQLite it also upgrades a database an
    earlier version made without them, as opening one always did: missing tables and columns added, the read
    models built from the stored events, the ticket statuses' old check dropped; no row is lost."""
    had_sales, had_status = (_has_table(conn, t) for t in ("sales", "cabinet_status"))
    had_rollup = _has_table(conn, "sales_daily") and _has_table(conn, "sales_method_daily")
    had_funnel = _has_table(conn, "funnel_days")
    for schema in (_SCHEMA, _CONSUMER_SCHEMA, _FUNNEL_SCHEMA):
        conn.script(schema)
    _add_missing_columns(conn)
    if conn.dialect != SQLITE:  # the insertion order SQLite's rowid gives (Conn.insert_order)
        for table in ("ticket_changes", "callback_history"):
            conn.script(f"ALTER TABLE {table} ADD COLUMN row_no BIGINT GENERATED ALWAYS AS IDENTITY")
        return
    if not had_sales:
        _backfill_sales(conn)
    if not had_status:
        _backfill_status(conn)
    if not had_sales or not had_rollup:  # a rebuilt read model: its rollup summed afresh too
        _backfill_sales_rollup(conn)
    if not had_funnel:  # after the sales read model: its completed sales count as sold
        _backfill_funnel(conn)
    _widen_ticket_statuses(conn)


def _add_missing_columns(conn: Conn) -> None:
    """Columns added since a table was first created; old rows get the default."""
    for table, column, definition in _ADDED_COLUMNS:
        if conn.dialect != SQLITE:
            conn.script(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {definition}")
        elif column not in {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")


def _backfill_sales(conn: Conn) -> None:
    """The sales read model of a database from before it: built once from the stored events."""
    rows = conn.execute(
        "SELECT cabinet_id, type, wall_time, payload FROM events WHERE type IN (SELECT value FROM json_each(?))"
        " ORDER BY cabinet_id, seq",
        (json.dumps(sorted(_SALE_EVENTS)),),
    ).fetchall()
    for row in rows:
        # no retailer given: nothing rolled up, the rollup is summed afresh from the read model afterwards
        _apply_sale_event(
            conn, _Tally(), None, row["cabinet_id"], row["type"], row["wall_time"], json.loads(row["payload"])
        )


def _backfill_status(conn: Conn) -> None:
    """The fleet's read model of a database from before it: built once from the configurations and the
    stored events (of the heartbeats and configuration reports only the newest count)."""
    for row in conn.execute("SELECT cabinet_id, document FROM configs").fetchall():
        _set_config_facts(conn, row["cabinet_id"], json.loads(row["document"]))
    cabinet_ids = [r["id"] for r in conn.execute("SELECT id FROM cabinets ORDER BY id").fetchall()]
    for cabinet_id in cabinet_ids:
        rows = conn.execute(
            "SELECT seq, type, wall_time, payload FROM events e WHERE cabinet_id = ? AND (type IN "
            "('sale.completed', 'stock.changed', 'restock.recorded') OR type IN "
            "('heartbeat', 'config.applied', 'config.rejected') AND seq = (SELECT MAX(x.seq) FROM events x "
            "WHERE x.cabinet_id = e.cabinet_id AND x.type = e.type)) ORDER BY seq",
            (cabinet_id,),
        ).fetchall()
        facts = [(r["seq"], r["type"], r["wall_time"], json.loads(r["payload"])) for r in rows]
        _apply_status_events(conn, cabinet_id, facts)
    _recount_open_alarms(conn, cabinet_ids)


def _backfill_sales_rollup(conn: Conn) -> None:
    """The daily rollup of a database from before it: summed once from the sales read model (which
    ``_backfill_sales`` may just have built, keeping the rollup as it went: hence the fresh start)."""
    for table, _ in _ROLLUPS:
        conn.execute(f"DELETE FROM {table}")
    conn.execute(
        f"INSERT INTO sales_daily ({', '.join(_ROLLED_KEY)}, count, cents) SELECT k.retailer, s.cabinet_id, "
        "s.day, COALESCE(s.sku, ''), COALESCE(s.variant_sku, s.sku, ''), COALESCE(s.currency, ''), COUNT(*), "
        "SUM(COALESCE(s.amount_cents, 0)) FROM sales s JOIN cabinets k ON k.id = s.cabinet_id "
        "WHERE s.completed_at IS NOT NULL AND k.retailer IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6"
    )
    conn.execute(
        "INSERT INTO sales_method_daily (retailer, cabinet_id, day, sku, method, method_detail, currency, "
        "count, cents) SELECT k.retailer, s.cabinet_id, s.day, COALESCE(s.sku, ''), COALESCE(s.method, ''), "
        "COALESCE(s.method_detail, ''), COALESCE(s.currency, ''), COUNT(*), SUM(COALESCE(s.amount_cents, 0)) "
        "FROM sales s JOIN cabinets k ON k.id = s.cabinet_id "
        "WHERE s.completed_at IS NOT NULL AND k.retailer IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7"
    )
    for table, key in _ROLLUPS[1:3]:  # the coarser ones from the finest (the fleet's: shard 0, until migration 3)
        columns = ", ".join(k for k in key if k != "shard")
        conn.execute(
            f"INSERT INTO {table} ({columns}, count, cents) SELECT {columns}, SUM(count), SUM(cents) "
            f"FROM sales_daily GROUP BY {columns}"
        )


def _widen_ticket_statuses(conn: Conn) -> None:
    """A database from before the repair board checked three ticket statuses in the table itself: rebuild
    the table without that check (the rows are copied as they are)."""
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'repair_tickets'").fetchone()
    if "CHECK (status IN" not in row["sql"]:
        return
    create = re.search(r"CREATE TABLE IF NOT EXISTS repair_tickets \(.*?\n\);", _SCHEMA, re.S)
    assert create is not None  # the statement is in this file
    conn.script(
        "ALTER TABLE repair_tickets RENAME TO repair_tickets_v1;\n"
        f"{create.group(0)}\nINSERT INTO repair_tickets ({_TICKET_COLUMNS}) "
        f"SELECT {_TICKET_COLUMNS} FROM repair_tickets_v1;\n"
        "DROP TABLE repair_tickets_v1;\n"
    )


# Migration 3: sales_fleet_daily remade with its shards, as sales_fleet_daily is declared from now on.
_SHARDED_FLEET_SALES = """
CREATE TABLE sales_fleet_daily (
    retailer TEXT NOT NULL,
    day TEXT NOT NULL,
    sku TEXT NOT NULL,
    variant_sku TEXT NOT NULL,
    currency TEXT NOT NULL,
    shard INTEGER NOT NULL DEFAULT 0,    -- fleet_shard() of the cabinets whose sales it counts
    count INTEGER NOT NULL,
    cents INTEGER NOT NULL,
    PRIMARY KEY (retailer, day, sku, variant_sku, currency, shard)
) WITHOUT ROWID;
"""


def _fleet_shards(conn: Conn) -> None:
    """Rows no two cabinets' uploads both write (see FLEET_SHARDS), and nonces forgotten per cabinet:
    - sales_fleet_daily gets a shard in its key, and its lines are summed again from sales_daily's (the same
      lines per cabinet: each cabinet's go to its shard, as its later sales will);
    - the funnel's fleet rows from before are shard 0's as they are (its key is the fleet's old one);
    - nonces are found by cabinet and age (``_claim_nonce``), no longer by age alone."""
    conn.script(
        "DROP INDEX IF EXISTS nonces_by_age;\n"
        "CREATE INDEX IF NOT EXISTS nonces_by_cabinet_age ON nonces(cabinet_id, seen_at);\n"
        "DROP TABLE sales_fleet_daily;\n"
        f"{_SHARDED_FLEET_SALES}"
        "CREATE TEMP TABLE cabinet_shards (cabinet_id TEXT PRIMARY KEY, shard INTEGER NOT NULL);\n"
    )
    cabinets = [r["cabinet_id"] for r in conn.execute("SELECT DISTINCT cabinet_id FROM sales_daily")]
    conn.executemany(
        "INSERT INTO cabinet_shards (cabinet_id, shard) VALUES (?, ?)", [(c, fleet_shard(c)) for c in cabinets]
    )
    conn.execute(
        "INSERT INTO sales_fleet_daily (retailer, day, sku, variant_sku, currency, shard, count, cents) "
        "SELECT d.retailer, d.day, d.sku, d.variant_sku, d.currency, c.shard, SUM(d.count), SUM(d.cents) "
        "FROM sales_daily d JOIN cabinet_shards c ON c.cabinet_id = d.cabinet_id GROUP BY 1, 2, 3, 4, 5, 6"
    )
    conn.script("DROP TABLE cabinet_shards;\n")


# Migration 4: the retailer API's sales of a cabinet, newest first, a page at a time: the page read from the
# index in its order, whatever the cabinet's history (sales_of; the expression as _SALE_BEGUN writes it).
_SALES_BY_BEGUN = (
    f"CREATE INDEX IF NOT EXISTS sales_of_cabinet_by_begun ON sales(cabinet_id, ({_SALE_BEGUN}), sale_id);"
)

MIGRATIONS: tuple[sqldb.Migration, ...] = (
    sqldb.Migration(1, "baseline", _baseline),
    sqldb.Migration(2, "events_by_month", lambda conn: event_partitions.partition_events(conn, time.time())),
    sqldb.Migration(3, "fleet_shards", _fleet_shards),
    sqldb.Migration(4, "sales_of_cabinet_by_begun", lambda conn: conn.script(_SALES_BY_BEGUN)),
)
