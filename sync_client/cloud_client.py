"""Signed HTTP requests from the cabinet to the cloud, with the answers sorted into
"try again later" (CloudUnavailable) and "the cloud said no" (CloudRefused).

Every answer must carry the cloud's signature over the request's own nonce (schema.verify_answer);
one that does not is CloudUntrusted (a CloudUnavailable: nothing of it is used) and is reported to
``on_untrusted``, e.g. an ``UntrustedAnswerAlarm`` that records it in the outbox.

Every part of the cabinet that talks to the cloud (uploader, configuration,
commands, scan-to-pay) goes through one ``CloudClient`` and so one session.
"""

from __future__ import annotations

import email.utils
import json
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from sync_client.outbox import Outbox, OutboxFull, StorageFull
from sync_client.schema import HDR_NONCE, AnswerSignatureError, dumps, sign_request, verify_answer

log = logging.getLogger(__name__)

# Statuses worth retrying: the request may succeed later without any change on our side.
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


class CloudUnavailable(Exception):
    """No usable answer (network, timeout, 5xx, 429, garbled body): retry with backoff."""

    def __init__(self, message: str, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


class CloudUntrusted(CloudUnavailable):
    """An answer without a valid signature for this request: forged, altered or replayed on the way.
    Nothing of it is believed (not even its status); the request is retried like any outage."""


class CloudRefused(Exception):
    """A definite 4xx answer with the cloud's reason; retrying the same request will not help."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"cloud answered {status}: {reason}")
        self.status = status
        self.reason = reason


@dataclass
class Reply:
    status: int
    body: Any  # parsed JSON, or None for an empty body (e.g. 304)
    cloud_time: float  # the cloud's clock when it answered (unix seconds; signed)
    headers: CIMultiDict[str] = field(default_factory=CIMultiDict)  # case-insensitive, like HTTP


class CloudClient:
    """One signed session to the cloud for one cabinet. Opens its session lazily inside the running loop."""

    def __init__(
        self,
        cloud_url: str,
        cabinet_id: str,
        key: bytes,
        *,
        request_timeout_s: float = 10.0,
        ca_file: str | None = None,
        on_untrusted: Callable[[CloudUntrusted], None] | None = None,
    ) -> None:
        """``ca_file``: a PEM bundle to verify the cloud's TLS certificate against instead of the
        system's; certificates are always verified."""
        self.base = URL(cloud_url.rstrip("/") + "/")
        self.cabinet_id = cabinet_id
        self.key = key
        self.timeout = aiohttp.ClientTimeout(total=request_timeout_s)
        self.ssl = ssl.create_default_context(cafile=ca_file) if ca_file else True
        self.on_untrusted = on_untrusted
        self._session: aiohttp.ClientSession | None = None

    def url(self, path: str) -> URL:
        return self.base.join(URL(path.lstrip("/")))

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> Reply:
        """Send a signed request. ``body`` is encoded as JSON unless ``raw`` bytes are given.

        Returns the reply when its status is in ``ok``; raises CloudRefused for other 4xx,
        CloudUntrusted for an answer not signed for this request, and CloudUnavailable for
        everything that may go better later.
        """
        data = raw if raw is not None else (dumps(body) if body is not None else b"")
        status, reply_headers, raw_answer, cloud_time = await self._exchange(method, path, data, headers)
        try:
            text = raw_answer.decode()
        except UnicodeDecodeError as exc:
            raise CloudUnavailable(f"cloud answer is not text: {exc}") from exc
        parsed = _parse(text)
        if status in ok:
            if text and parsed is _GARBLED:
                raise CloudUnavailable(
                    f"cloud answered {status} with a body that is not JSON: {text[:120]!r}", status=status
                )
            return Reply(status, None if parsed is _GARBLED else parsed, cloud_time, reply_headers)
        raise _failure(status, reply_headers, text)

    async def download(self, path: str, max_bytes: int) -> bytes:
        """A signed GET of a file (not JSON) of at most ``max_bytes``: its bytes when the cloud answers 200.
        A longer answer is cut off and refused (CloudRefused 413: the same request will not get shorter)."""
        status, headers, answer, _ = await self._exchange("GET", path, b"", None, max_bytes)
        if status == 200:
            return answer
        raise _failure(status, headers, answer.decode(errors="replace"))

    async def _exchange(
        self, method: str, path: str, data: bytes, headers: dict[str, str] | None, max_bytes: int | None = None
    ) -> tuple[int, CIMultiDict[str], bytes, float]:
        """Send one signed request; the answer's status, headers, body and the cloud's signed clock."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        url = self.url(path)
        signed = sign_request(self.key, self.cabinet_id, method, url.path, data)
        if data:
            signed["Content-Type"] = "application/json"
        try:
            async with self._session.request(
                method, url, data=data, headers={**signed, **(headers or {})}, ssl=self.ssl
            ) as resp:
                raw_answer = await resp.read() if max_bytes is None else await _read_bounded(resp, max_bytes)
                status, reply_headers = resp.status, CIMultiDict(resp.headers)
        except (TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
            raise CloudUnavailable(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc
        cloud_time = self._verify(method, url.path, signed[HDR_NONCE], status, reply_headers, raw_answer)
        return status, reply_headers, raw_answer, cloud_time

    def _verify(self, method: str, path: str, nonce: str, status: int, headers: CIMultiDict[str], body: bytes) -> float:
        """The cloud's signed clock; CloudUntrusted (reported to ``on_untrusted``) when the answer is not the
        cloud's answer to this very request."""
        try:
            return verify_answer(self.key, nonce, status, headers, body)
        except AnswerSignatureError as exc:
            untrusted = CloudUntrusted(
                f"{method} {path}: cloud answered {status} without a valid signature: {exc}", status=status
            )
        if self.on_untrusted is not None:
            self.on_untrusted(untrusted)
        raise untrusted

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class UntrustedAnswerAlarm:
    """Records answers the cabinet refused as ``alarm`` events (kind ``cloud_answer_forged``), at most one
    per ``min_interval_s``: a hostile network answering every request could otherwise fill the outbox.
    The next alarm counts the refusals held back in between."""

    KIND = "cloud_answer_forged"

    def __init__(
        self, outbox: Outbox, *, min_interval_s: float = 600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.outbox = outbox
        self.min_interval_s = min_interval_s
        self.clock = clock
        self._last: float | None = None
        self.held_back = 0

    def __call__(self, error: CloudUntrusted) -> None:
        now = self.clock()
        if self._last is not None and now - self._last < self.min_interval_s:
            self.held_back += 1
            return
        detail = str(error)[:500]
        if self.held_back:
            detail += f" ({self.held_back} more refused since the last alarm)"
        try:
            self.outbox.append("alarm", {"kind": self.KIND, "detail": detail})
        except (OutboxFull, StorageFull) as exc:  # keep counting; the next alarm carries the number
            log.error("cannot record a refused cloud answer", extra={"error": str(exc)})
            self.held_back += 1
            return
        log.error("cloud answer refused", extra={"detail": detail})
        self._last, self.held_back = now, 0


_GARBLED = object()


async def _read_bounded(resp: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """The answer's body, refused (CloudRefused 413) as soon as it is longer than ``max_bytes``."""
    if (resp.content_length or 0) > max_bytes:
        raise CloudRefused(413, f"the answer is {resp.content_length} bytes, over the {max_bytes} byte limit")
    body = bytearray()
    async for chunk in resp.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > max_bytes:
            raise CloudRefused(413, f"the answer is over the {max_bytes} byte limit")
    return bytes(body)


def _failure(status: int, headers: CIMultiDict[str], text: str) -> CloudUnavailable | CloudRefused:
    """What an answer with a status the caller did not expect means: try again later, or the cloud said no."""
    parsed = _parse(text)
    error = parsed.get("error") if isinstance(parsed, dict) else None
    reason = error if isinstance(error, str) else text
    if status in RETRYABLE or status >= 500 or status < 400:
        return CloudUnavailable(
            f"cloud answered {status}: {reason[:200]}", parse_retry_after(headers.get("Retry-After")), status
        )
    return CloudRefused(status, reason[:500] or f"HTTP {status}")


def _parse(text: str) -> Any:
    if not text:
        return _GARBLED
    try:
        return json.loads(text)
    except ValueError:
        return _GARBLED


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After as seconds to wait: delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
