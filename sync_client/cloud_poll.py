"""Asking the cloud again and again: the poll loop shared by the configuration and the command inbox."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sync_client.backoff import Sleep, poll_forever
from sync_client.cloud_client import CloudRefused, CloudUnavailable
from sync_client.outbox import STORAGE_ERRORS

log = logging.getLogger(__name__)


class CloudPoller:
    """Runs ``step`` every interval (at once when poked), backing off with full jitter while the cloud is
    away or refuses; ``last_error`` is the last failure, None after a success."""

    def __init__(
        self, step: Callable[[], Awaitable[object]], failure: str, *, interval_s: float, sleep: Sleep = asyncio.sleep
    ) -> None:
        self._step = step
        self._sleep = sleep  # the interval and the backoff wait on it (the firmware passes its clock's)
        self._failure = failure  # the log line of a failed poll
        self._interval_s = interval_s
        self._poke = asyncio.Event()
        self.last_error: str | None = None

    def poke(self) -> None:
        """Poll now instead of at the next interval (after an upload, a ``refresh_config`` command)."""
        self._poke.set()

    async def run(
        self,
        stop: asyncio.Event,
        *,
        interval_s: float | None = None,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 300.0,
    ) -> None:
        """Poll until ``stop``; ``interval_s`` overrides the interval given at construction."""
        await poll_forever(
            self._step,
            stop,
            self._poke,
            interval_s=self._interval_s if interval_s is None else interval_s,
            backoff_initial_s=backoff_initial_s,
            backoff_max_s=backoff_max_s,
            errors=(CloudUnavailable, CloudRefused, *STORAGE_ERRORS),  # a full disk: try again later
            on_result=self._note,
            sleep=self._sleep,
        )

    def _note(self, error: Exception | None) -> None:
        self.last_error = None if error is None else str(error)
        if error is not None:
            log.warning(self._failure, extra={"error": str(error)})
