"""Pulls the cabinet's configuration from the cloud and keeps the last good one.

GET /v1/config with If-None-Match (the applied ETag and the last refused one, so neither is
downloaded again); a 200 is validated whole, then stored in the cabinet DB together with
its ``config.applied`` event in one transaction. A document that fails validation is
refused whole: the cached one stays, and a ``config.rejected`` event carries the reason to
the cloud through the outbox (so the report survives being offline). Boot reads the cache,
so a cabinet without network works from its last good configuration.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sync_client.backoff import Sleep
from sync_client.cabinet_config import CabinetConfig, ConfigInvalid, content_warnings, parse_config
from sync_client.cloud_client import CloudClient, CloudRefused, CloudUnavailable
from sync_client.cloud_poll import CloudPoller
from sync_client.outbox import Outbox
from sync_client.store.config_cache import ConfigCacheRepo

log = logging.getLogger(__name__)
CONFIG_PATH = "v1/config"
MAX_REPORTED_WARNINGS = 50


@dataclass(frozen=True)
class PullResult:
    outcome: str  # "applied" | "unchanged" | "rejected" | "none" (the cloud has no config yet)
    config: CabinetConfig | None
    reason: str | None = None


class ConfigSync(CloudPoller):
    def __init__(
        self,
        outbox: Outbox,
        client: CloudClient,
        on_applied: Callable[[CabinetConfig], None] | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__(self.pull, "configuration pull failed", interval_s=60.0, sleep=sleep)
        self.outbox = outbox
        self.client = client
        self._listeners: list[Callable[[CabinetConfig], None]] = [on_applied] if on_applied else []
        self.cache = ConfigCacheRepo(outbox)

    def on_applied(self, callback: Callable[[CabinetConfig], None]) -> None:
        """Call ``callback(config)`` after a new configuration is committed."""
        self._listeners.append(callback)

    def current(self) -> CabinetConfig | None:
        """The last good configuration (from the local cache; no network), or None before the first one."""
        cached = self.cache.current()
        return parse_config(json.loads(cached.document)) if cached else None

    def current_etag(self) -> str | None:
        cached = self.cache.current()
        return cached.etag if cached else None

    async def pull(self) -> PullResult:
        """One conditional GET; raises CloudUnavailable / CloudRefused when there is no usable answer."""
        known = self.cache.known_etags()
        headers = {"If-None-Match": ", ".join(known)} if known else {}
        try:
            reply = await self.client.request("GET", CONFIG_PATH, headers=headers, ok=(200, 304))
        except CloudRefused as exc:
            if exc.status == 404:
                return PullResult("none", self.current(), exc.reason)
            raise
        if reply.status == 304:
            return PullResult("unchanged", self.current())
        etag = reply.headers.get("ETag", "")
        if not etag:
            raise CloudUnavailable("GET /v1/config answered 200 without an ETag")
        try:
            config = parse_config(reply.body)
        except ConfigInvalid as exc:
            return self._refuse(etag, reply.body, exc)
        with self.outbox.transaction() as tx:
            self.cache.apply(tx, config.version, etag, json.dumps(reply.body, sort_keys=True))
            # what the retailer has yet to translate travels with the acceptance (bounded)
            warnings = [w[:300] for w in content_warnings(config)[:MAX_REPORTED_WARNINGS]]
            tx.append("config.applied", {"version": config.version, "etag": etag, "warnings": warnings})
        log.info("configuration applied", extra={"version": config.version, "etag": etag})
        for callback in self._listeners:
            callback(config)
        return PullResult("applied", config)

    def _refuse(self, etag: str, body: object, exc: ConfigInvalid) -> PullResult:
        version = body.get("version") if isinstance(body, dict) else None
        version = version if isinstance(version, int) and not isinstance(version, bool) else None
        reason = "; ".join(exc.problems)[:2000]
        with self.outbox.transaction() as tx:
            self.cache.refuse(tx, etag, version, reason)
            tx.append("config.rejected", {"version": version, "etag": etag, "reason": reason})
        log.error(
            "configuration refused; keeping the last good one",
            extra={"version": version, "etag": etag, "reason": reason},
        )
        return PullResult("rejected", self.current(), reason)
