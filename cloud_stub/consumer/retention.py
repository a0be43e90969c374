"""Call-back requests are deleted when their retention ends: ``Retention.run_once`` deletes every request older
than its cabinet's ``callback_retention_days`` (``Store.purge_callbacks``), ``run`` does so every ``period_s``
while the server runs, on the server's clock (``core.now``, which tests inject). ``every`` is that schedule,
shared with the raw events' retention (cloud_stub/event_retention.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from cloud_stub.core import Core

log = logging.getLogger("cloud_stub.retention")
PERIOD_S = 3600.0  # a request outlives its retention by at most this


async def every(period_s: float, round_: Callable[[], Awaitable[object]], what: str) -> None:
    """``round_`` now and then every ``period_s``, until cancelled."""
    while True:
        try:
            await round_()
        except Exception:  # a store error must not end the deletions for good: the next round tries again
            log.exception("%s round failed", what)
        await asyncio.sleep(period_s)


@dataclass
class Retention:
    core: Core
    period_s: float = PERIOD_S

    async def run_once(self) -> int:
        deleted = await self.core.db(self.core.store.purge_callbacks, now=self.core.now())
        if deleted:
            log.info("call-back requests deleted at the end of their retention", extra={"count": deleted})
        return deleted

    async def run(self) -> None:
        await every(self.period_s, self.run_once, "call-back retention")
