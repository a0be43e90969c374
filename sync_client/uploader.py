"""Uploads the outbox to the cloud: batches bounded in count and bytes, signed, and marked
sent only on acknowledgement.

The cursor is the outbox itself: an event is unsent until the cloud acknowledged it, so a
restart resumes at the oldest unsent seq and the cloud's once-per-id store absorbs the
repeats. Failures back off exponentially with full jitter, capped, never shorter than the
cloud's Retry-After. An event the cloud refuses for good (a per-event rejection, or a 4xx
for a batch of that one event) goes to the dead-letter table instead of being retried forever.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from sync_client.backoff import Sleep, backoff_delay, wait_any
from sync_client.cloud_client import CloudClient, CloudRefused, CloudUnavailable
from sync_client.outbox import STORAGE_ERRORS, Outbox

# A batch of (seq, type, body) sent, and the cloud's answer to come.
InFlight = tuple[list[tuple[int, str, bytes]], asyncio.Future[object]]


log = logging.getLogger(__name__)
EVENTS_PATH = "v1/events"
DEFAULT_MAX_BATCH_BYTES = 1_000_000  # well under the cloud's 8 MiB body limit
PRUNE_EVERY_S = 3600.0


class UploadError(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class UploadStatus:
    online: bool = False
    last_success_at: float | None = None  # time.time()
    last_error: str | None = None
    consecutive_failures: int = 0
    sent_total: int = 0
    dead_letters: int = 0  # events refused for good, kept in the outbox's dead_letters
    last_dead_letter_reason: str | None = None
    acked_seq: int = 0  # the highest event seq the cloud acknowledged (the store marker)


class Uploader:
    def __init__(
        self,
        outbox: Outbox,
        cloud_url: str,
        key: bytes,
        *,
        batch_size: int = 200,
        max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 60.0,
        request_timeout_s: float = 10.0,
        max_in_flight: int = 2,
        retain_sent_s: float = 7 * 24 * 3600,
        client: CloudClient | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,  # the backoff's jitter
        linger_s: float = 0.0,
    ) -> None:
        if batch_size < 1 or max_batch_bytes < 1 or max_in_flight < 1:
            raise ValueError("batch_size, max_batch_bytes and max_in_flight must be at least 1")
        self.outbox = outbox
        # Time, injected (the firmware passes its clock's methods; tests a fake clock's).
        self._monotonic, self._wall, self._sleep = monotonic, wall, sleep
        self._rng = rng
        self.client = client or CloudClient(cloud_url, outbox.cabinet_id, key, request_timeout_s=request_timeout_s)
        self.batch_size = batch_size
        self.max_batch_bytes = max_batch_bytes
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        # Two batches in flight: the cloud stores one while the cabinet reads and sends the next.
        self.max_in_flight = max_in_flight
        self._stop: asyncio.Event | None = None
        # Acknowledged events stay this long (for the status screen and investigations), then go.
        self.retain_sent_s = retain_sent_s
        # After new events wake it, the uploader waits this long for the rest of the moment's events (a
        # sale's approval and unlock, its door closing and completion): one request and one commit
        # marking them sent, instead of one per event. Every commit is a write to the SD card.
        self.linger_s = linger_s
        self._pruned_at = float("-inf")
        self.status = UploadStatus(dead_letters=outbox.status().dead_letters)
        self._limit = batch_size  # shrinks while a refused batch is narrowed down to its culprit
        self._work = asyncio.Event()  # new events appended
        self._retry_now = asyncio.Event()  # the network came back: skip the rest of a backoff
        outbox.on_append(self._work.set)

    def link_lost(self) -> None:
        """The cabinet's network link is gone (the kernel says so): offline now, not at the next failed
        upload, and until the cloud answers again."""
        self.status.online = False

    def retry_now(self) -> None:
        self._retry_now.set()
        self._work.set()

    async def run(self, stop: asyncio.Event) -> None:
        self._stop = stop
        try:
            while not stop.is_set():
                self._work.clear()
                try:
                    sent = await self.upload_pending()
                except UploadError as exc:
                    await self._back_off(exc, stop)
                    continue
                except STORAGE_ERRORS as exc:
                    # Acknowledged but not marked sent: the cloud answers the resend with the same
                    # acknowledgement. Wait for the store to take writes again (an append means it does).
                    log.error("upload paused: the store cannot record acknowledgements", extra={"error": str(exc)})
                    await wait_any(stop, self._work, timeout=self.backoff_max_s)
                    continue
                if sent == 0:
                    self._prune()
                    woken = await wait_any(stop, self._work, timeout=PRUNE_EVERY_S, sleep=self._sleep)
                    if woken and self.linger_s > 0 and not stop.is_set():
                        await wait_any(stop, self._retry_now, timeout=self.linger_s, sleep=self._sleep)
        finally:
            await self.client.close()

    async def _back_off(self, exc: UploadError, stop: asyncio.Event) -> None:
        self.status.online = False
        self.status.last_error = str(exc)
        self.status.consecutive_failures += 1
        delay = backoff_delay(self.status.consecutive_failures, self.backoff_initial_s, self.backoff_max_s, self._rng)
        if exc.retry_after is not None:
            delay = max(delay, min(exc.retry_after, self.backoff_max_s))
        log.warning(
            "upload failed, retrying",
            extra={"error": str(exc), "delay_s": round(delay, 3), "failures": self.status.consecutive_failures},
        )
        self._retry_now.clear()
        await wait_any(stop, self._retry_now, timeout=delay, sleep=self._sleep)

    async def upload_pending(self) -> int:
        """Send the backlog, up to ``max_in_flight`` batches at once, until it is empty; returns how many
        events left it (acknowledged or dead-lettered). Raises UploadError when the rest should wait.

        Batches in flight are disjoint (each starts after the last seq already dispatched), and every
        answer is settled on its own: an acknowledgement is final whatever happens to the others."""
        done = await self._send_alarms_first()
        while True:
            in_flight: deque[InFlight] = deque()
            try:
                settled, narrowed = await self._pipeline(in_flight)
            finally:
                for _, request in in_flight:  # left only when cancelled; nothing was marked for them
                    request.cancel()
            done += settled
            if not narrowed:
                return done

    async def _send_alarms_first(self) -> int:
        """Alarms jump the queue: a forced door reaches the retailer before a backlog of heartbeats.
        A refusal is left to the ordinary pipeline, which narrows it down and dead-letters it."""
        alarms = self.outbox.pending_json(self._limit, self.max_batch_bytes, event_type="alarm")
        if not alarms:
            return 0
        try:
            return self._settle(alarms, await self._send(alarms))
        except CloudRefused:
            return 0

    async def _pipeline(self, in_flight: deque[InFlight]) -> tuple[int, bool]:
        """One pass over the backlog; returns (events settled, whether the batch size was narrowed)."""
        after, done, failure, narrowed = 0, 0, None, False
        while True:
            while failure is None and not narrowed and len(in_flight) < self.max_in_flight and not self._stopping():
                batch = self.outbox.pending_json(self._limit, self.max_batch_bytes, after_seq=after)
                if not batch:
                    break
                after = batch[-1][0]
                in_flight.append((batch, asyncio.ensure_future(self._send(batch))))
            if not in_flight:
                break
            batch, request = in_flight[0]
            try:
                done += self._settle(batch, await request)
            except UploadError as exc:
                failure = failure or exc
            except CloudRefused as exc:
                if exc.status in (401, 403) or len(batch) == 1:
                    try:
                        done += self._refused(batch, exc)
                    except UploadError as auth:
                        failure = failure or auth
                else:  # narrow down to the event the cloud cannot take
                    self._limit, narrowed = max(1, len(batch) // 2), True
            in_flight.popleft()
        if failure is not None:
            raise failure
        return done, narrowed

    def _prune(self) -> None:
        """At most once per PRUNE_EVERY_S, while idle: delete events acknowledged long enough ago."""
        if self._monotonic() - self._pruned_at >= PRUNE_EVERY_S:
            self._pruned_at = self._monotonic()
            pruned = self.outbox.prune_sent(self.retain_sent_s)
            if pruned:
                log.info("pruned sent events", extra={"pruned": pruned, "older_than_s": self.retain_sent_s})

    def _stopping(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    async def _send(self, batch: list[tuple[int, str, bytes]]) -> object:
        body = b'{"cabinet_id":"%s","events":[%s]}' % (
            self.outbox.cabinet_id.encode(),
            b",".join(text for _, _, text in batch),
        )
        try:
            return (await self.client.request("POST", EVENTS_PATH, raw=body)).body
        except CloudUnavailable as exc:
            raise UploadError(str(exc), exc.retry_after) from exc

    def _settle(self, batch: list[tuple[int, str, bytes]], answer: object) -> int:
        """Mark what the cloud acknowledged and dead-letter what it rejected for good."""
        answer = answer if isinstance(answer, dict) else {}
        sent_ids = [event_id for _, event_id, _ in batch]
        in_batch = set(sent_ids)
        acked = [i for i in answer.get("acked", []) if isinstance(i, str) and i in in_batch]
        dead = self._rejections(answer.get("rejected"), sent_ids)
        if not acked and not dead:
            raise UploadError("cloud acknowledged none of the batch")
        done = self.outbox.mark_sent(acked) + self._dead_letter(dead)
        acked_ids = set(acked)
        self.status.acked_seq = max([self.status.acked_seq, *(seq for seq, i, _ in batch if i in acked_ids)])
        self._succeeded(len(acked))
        log.info("uploaded", extra={"acked": len(acked), "dead_lettered": len(dead), "batch": len(batch)})
        return done

    def _refused(self, batch: list[tuple[int, str, bytes]], exc: CloudRefused) -> int:
        if exc.status in (401, 403):
            # The cabinet's key, id or clock, not the events: keep them all and retry.
            raise UploadError(str(exc)) from exc
        done = self._dead_letter({batch[0][1]: f"{exc.status}: {exc.reason}"})
        self._succeeded(0)
        return done

    def _succeeded(self, acked: int) -> None:
        self._limit = self.batch_size
        self.status.online = True
        self.status.last_success_at = self._wall()
        self.status.last_error = None
        self.status.consecutive_failures = 0
        self.status.sent_total += acked

    @staticmethod
    def _rejections(rejected: object, sent_ids: list[str]) -> dict[str, str]:
        """Per-event rejections in an answer, as id -> reason (an entry without a usable id is found by index)."""
        out: dict[str, str] = {}
        for entry in rejected if isinstance(rejected, list) else []:
            if not isinstance(entry, dict):
                continue
            event_id, index = entry.get("id"), entry.get("index")
            if not isinstance(event_id, str) and isinstance(index, int) and 0 <= index < len(sent_ids):
                event_id = sent_ids[index]
            if isinstance(event_id, str) and event_id in sent_ids:
                out[event_id] = str(entry.get("reason") or "rejected without a reason")
        return out

    def _dead_letter(self, rejections: dict[str, str]) -> int:
        if not rejections:
            return 0
        moved = self.outbox.dead_letter(rejections)
        self.status.dead_letters += moved
        self.status.last_dead_letter_reason = next(reversed(rejections.values()))
        log.error("cloud refused events for good; kept as dead letters", extra={"rejected": rejections})
        return moved
