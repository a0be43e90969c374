"""Notifications to customers (repair updates and pickup codes from the notification outbox) through a provider.

``Provider.deliver`` sends one message or raises ``DeliveryFailed``. ``LogProvider`` only logs (development);
``HttpProvider`` POSTs JSON to an SMS gateway or webhook, signed: ``X-Signature: sha256=<hex>`` is the
HMAC-SHA256 under the shared secret of ``<X-Timestamp>.<body>``, so the receiver can check who sent it and
refuse a replay. ``Notifier`` takes the due messages from the store, delivers each, and records the outcome:
delivered, retried after a doubling backoff, or failed for good after ``max_attempts``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

from cloud_stub.core import Core

log = logging.getLogger("cloud_stub.notify")


@dataclass(frozen=True)
class Notification:
    id: int
    kind: str  # "repair" (a ticket's change) or "pickup" (an online order's pickup code)
    phone: str
    ticket_id: str
    status: str
    cabinet_id: str
    order_id: str | None = None  # kind pickup: the order, its code, what to collect and until when
    pickup_code: str | None = None
    sku: str | None = None
    expires_at: str | None = None

    @classmethod
    def of(cls, row: dict[str, Any]) -> Notification:
        """From a row of ``Store.due_notifications``."""
        fields = ("order_id", "pickup_code", "sku", "expires_at")
        pickup = {k: row[k] for k in fields} if row["kind"] == "pickup" else {}
        return cls(row["id"], row["kind"], row["phone"], row["ticket_id"], row["status"], row["cabinet_id"], **pickup)

    def body(self) -> dict[str, Any]:
        body = {"id": self.id, "kind": self.kind, "to": self.phone, "cabinet_id": self.cabinet_id}
        if self.kind == "pickup":
            return {
                **body,
                "order_id": self.order_id,
                "pickup_code": self.pickup_code,
                "sku": self.sku,
                "expires_at": self.expires_at,
            }
        return {**body, "ticket_id": self.ticket_id, "status": self.status}


class DeliveryFailed(Exception):
    """The provider did not take the message; ``permanent``: retrying cannot help (e.g. refused as invalid)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Provider(Protocol):
    async def deliver(self, notification: Notification) -> None: ...


class LogProvider:
    """Development: the message goes to the log, nowhere else."""

    async def deliver(self, notification: Notification) -> None:
        log.info("notification %s", json.dumps(notification.body()))


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class HttpProvider:
    """An SMS gateway or webhook: one signed JSON POST per message; 2xx is delivered, 4xx (but 408 and 429)
    is refused for good, anything else is retried."""

    def __init__(
        self, url: str, secret: bytes, *, timeout_s: float = 10.0, now: Callable[[], float] = time.time
    ) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"notification url: expected an http(s) address, got {url[:80]!r}")
        if len(secret) < 16:
            raise ValueError("notification secret: expected at least 16 bytes")
        self.url, self.secret, self.timeout_s = url, secret, timeout_s
        self._now = now

    async def deliver(self, notification: Notification) -> None:
        body = json.dumps(notification.body()).encode()
        timestamp = str(int(self._now()))
        headers = {
            "Content-Type": "application/json",
            "X-Timestamp": timestamp,
            "X-Signature": signature(self.secret, timestamp, body),
        }
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as session,
                session.post(self.url, data=body, headers=headers) as answer,
            ):
                if 200 <= answer.status < 300:
                    return
                permanent = 400 <= answer.status < 500 and answer.status not in (408, 429)
                raise DeliveryFailed(f"HTTP {answer.status}", permanent=permanent)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from None


@dataclass(frozen=True)
class Backoff:
    first_s: float = 30.0
    max_s: float = 3600.0
    max_attempts: int = 8

    def after(self, attempts: int) -> float:
        """Seconds before the next try once ``attempts`` tries failed."""
        return min(self.first_s * 2.0 ** (attempts - 1), self.max_s)


class Notifier:
    """Delivers the notification outbox through ``provider``: ``run_once`` for what is due now, ``run`` forever."""

    def __init__(self, core: Core, provider: Provider, backoff: Backoff = Backoff(), poll_s: float = 5.0) -> None:
        self.core, self.provider, self.backoff, self.poll_s = core, provider, backoff, poll_s

    async def run_once(self) -> int:
        """Try every due message once; returns how many were delivered."""
        core = self.core
        delivered = 0
        for row in await core.db(core.store.due_notifications, now=core.now()):
            if not row["phone"]:  # nobody to tell: failed for good, and said so
                await core.db(
                    core.store.notification_tried, row["id"], delivered=False, error="no phone", retry_at=None
                )
                continue
            note = Notification.of(row)
            try:
                await self.provider.deliver(note)
            except DeliveryFailed as exc:
                attempts = row["attempts"] + 1
                final = exc.permanent or attempts >= self.backoff.max_attempts
                retry_at = None if final else core.now() + self.backoff.after(attempts)
                log.warning("notification %d: attempt %d failed: %s", note.id, attempts, exc)
                await core.db(
                    core.store.notification_tried, note.id, delivered=False, error=str(exc)[:200], retry_at=retry_at
                )
                continue
            await core.db(
                core.store.notification_tried, note.id, delivered=True, error=None, retry_at=None, now=core.now()
            )
            delivered += 1
        return delivered

    async def run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # a store or provider bug must not end the deliveries for good
                log.exception("notification delivery round failed")
            await asyncio.sleep(self.poll_s)
