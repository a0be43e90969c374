"""Uploads the outbox to the cloud: batches, signed, marked sent only on acknowledgement.

Retries with capped exponential backoff and full jitter; honours Retry-After.
"""
from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from dataclasses import dataclass
from typing import Callable

import aiohttp
from yarl import URL

from sync_client.outbox import Outbox
from sync_client.schema import dumps, sign_request

log = logging.getLogger(__name__)
EVENTS_PATH = "v1/events"


class UploadError(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class UploadStatus:
    online: bool = False
    last_success_at: float | None = None      # time.time()
    last_error: str | None = None
    consecutive_failures: int = 0
    sent_total: int = 0


def backoff_delay(failures: int, initial: float, cap: float, rng: Callable[[], float] = random.random) -> float:
    """Full jitter: uniform in [0, min(cap, initial * 2**(failures-1))]."""
    return rng() * min(cap, initial * 2 ** max(0, failures - 1))


class Uploader:
    def __init__(self, outbox: Outbox, cloud_url: str, key: bytes, *, batch_size: int = 200,
                 backoff_initial_s: float = 0.5, backoff_max_s: float = 60.0,
                 request_timeout_s: float = 10.0) -> None:
        self.outbox = outbox
        self.url = URL(cloud_url.rstrip("/") + "/") .join(URL(EVENTS_PATH))
        self.key = key
        self.batch_size = batch_size
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.timeout = aiohttp.ClientTimeout(total=request_timeout_s)
        self.status = UploadStatus()
        self._work = asyncio.Event()      # new events appended
        self._retry_now = asyncio.Event()  # the network came back: skip the rest of a backoff
        outbox.on_append(self._work.set)

    def retry_now(self) -> None:
        self._retry_now.set()
        self._work.set()

    async def run(self, stop: asyncio.Event) -> None:
        async with aiohttp.ClientSession(timeout=self.timeout) as session:
            while not stop.is_set():
                self._work.clear()
                try:
                    sent = await self.upload_batch(session)
                except UploadError as exc:
                    await self._back_off(exc, stop)
                    continue
                if sent == 0:
                    await _wait_any(stop, self._work)

    async def _back_off(self, exc: UploadError, stop: asyncio.Event) -> None:
        self.status.online = False
        self.status.last_error = str(exc)
        self.status.consecutive_failures += 1
        delay = backoff_delay(self.status.consecutive_failures, self.backoff_initial_s, self.backoff_max_s)
        if exc.retry_after is not None:
            delay = max(delay, min(exc.retry_after, self.backoff_max_s))
        log.warning("upload failed, retrying", extra={"error": str(exc), "delay_s": round(delay, 3),
                                                      "failures": self.status.consecutive_failures})
        self._retry_now.clear()
        try:
            await asyncio.wait_for(_wait_any(stop, self._retry_now), delay)
        except asyncio.TimeoutError:
            pass

    async def upload_batch(self, session: aiohttp.ClientSession) -> int:
        """Send one batch of pending events; returns how many the cloud acknowledged."""
        batch = self.outbox.pending(self.batch_size)
        if not batch:
            return 0
        body = dumps({"cabinet_id": self.outbox.cabinet_id, "events": [e.to_json() for e in batch]})
        headers = sign_request(self.key, self.outbox.cabinet_id, "POST", self.url.path, body)
        headers["Content-Type"] = "application/json"
        try:
            async with session.post(self.url, data=body, headers=headers) as response:
                text = await response.text()
                if response.status != 200:
                    raise UploadError(f"cloud answered {response.status}: {text[:200]}",
                                      _retry_after(response.headers.get("Retry-After")))
                answer = json.loads(text)
        except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as exc:
            raise UploadError(f"{type(exc).__name__}: {exc}") from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UploadError(f"cloud answer is not JSON: {exc}") from exc
        sent_ids = {e.id for e in batch}
        acked = [i for i in answer.get("acked", []) if i in sent_ids] if isinstance(answer, dict) else []
        for rejected in (answer.get("rejected") or []) if isinstance(answer, dict) else []:
            log.error("cloud rejected an event", extra={"rejected": rejected})
        if not acked:
            raise UploadError("cloud acknowledged none of the batch")
        self.outbox.mark_sent(acked)
        self.status = UploadStatus(online=True, last_success_at=time.time(),
                                   sent_total=self.status.sent_total + len(acked))
        log.info("uploaded", extra={"acked": len(acked), "batch": len(batch)})
        return len(acked)


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


async def _wait_any(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
