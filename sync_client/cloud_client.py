"""Signed HTTP requests from the cabinet to the cloud, with the answers sorted into
"try again later" (CloudUnavailable) and "the cloud said no" (CloudRefused).

Every part of the cabinet that talks to the cloud (uploader, configuration,
commands, scan-to-pay) goes through one ``CloudClient`` and so one session.
"""
from __future__ import annotations

import email.utils
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from sync_client.schema import dumps, sign_request

# Statuses worth retrying: the request may succeed later without any change on our side.
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


class CloudUnavailable(Exception):
    """No usable answer (network, timeout, 5xx, 429, garbled body): retry with backoff."""

    def __init__(self, message: str, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


class CloudRefused(Exception):
    """A definite 4xx answer with the cloud's reason; retrying the same request will not help."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"cloud answered {status}: {reason}")
        self.status = status
        self.reason = reason


@dataclass
class Reply:
    status: int
    body: Any                     # parsed JSON, or None for an empty body (e.g. 304)
    headers: CIMultiDict[str] = field(default_factory=CIMultiDict)     # case-insensitive, like HTTP


class CloudClient:
    """One signed session to the cloud for one cabinet. Opens its session lazily inside the running loop."""

    def __init__(self, cloud_url: str, cabinet_id: str, key: bytes, *, request_timeout_s: float = 10.0) -> None:
        self.base = URL(cloud_url.rstrip("/") + "/")
        self.cabinet_id = cabinet_id
        self.key = key
        self.timeout = aiohttp.ClientTimeout(total=request_timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def url(self, path: str) -> URL:
        return self.base.join(URL(path.lstrip("/")))

    async def request(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
                      headers: dict[str, str] | None = None, ok: tuple[int, ...] = (200,)) -> Reply:
        """Send a signed request. ``body`` is encoded as JSON unless ``raw`` bytes are given.

        Returns the reply when its status is in ``ok``; raises CloudRefused for other 4xx and
        CloudUnavailable for everything that may go better later.
        """
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        data = raw if raw is not None else (dumps(body) if body is not None else b"")
        url = self.url(path)
        signed = sign_request(self.key, self.cabinet_id, method, url.path, data)
        if data:
            signed["Content-Type"] = "application/json"
        try:
            async with self._session.request(method, url, data=data, headers={**signed, **(headers or {})}) as resp:
                text = await resp.text()
                status, reply_headers = resp.status, CIMultiDict(resp.headers)
        except (TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
            raise CloudUnavailable(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc
        except UnicodeDecodeError as exc:
            raise CloudUnavailable(f"cloud answer is not text: {exc}") from exc
        parsed = _parse(text)
        if status in ok:
            if text and parsed is _GARBLED:
                raise CloudUnavailable(f"cloud answered {status} with a body that is not JSON: {text[:120]!r}",
                                       status=status)
            return Reply(status, None if parsed is _GARBLED else parsed, reply_headers)
        reason = parsed.get("error") if isinstance(parsed, dict) and isinstance(parsed.get("error"), str) else text
        if status in RETRYABLE or status >= 500 or status < 400:
            raise CloudUnavailable(f"cloud answered {status}: {reason[:200]}",
                                   parse_retry_after(reply_headers.get("Retry-After")), status)
        raise CloudRefused(status, reason[:500] or f"HTTP {status}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


_GARBLED = object()


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
