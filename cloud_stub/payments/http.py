"""What the providers that call out to a payment service share: the merchant's credentials, the notification URL,
the clock and the timeout, and one HTTP call whose silence or 5xx means the provider is unreachable."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta, timezone
from typing import Any, Generic, TypeVar

import aiohttp

from cloud_stub.payments.provider import ProviderUnreachable

MerchantT = TypeVar("MerchantT")
# Beijing time: WeChat Pay's RFC 3339 examples are in +08:00, and Alipay's timestamps and time_expire are too
CHINA = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]


class HttpProvider(Generic[MerchantT]):
    """The base of a PaymentProvider for one merchant; ``notify_url`` is where the provider posts notifications."""

    def __init__(
        self,
        merchant: MerchantT,
        notify_url: str,
        *,
        now: Callable[[], float] = time.time,
        timeout_s: float = 10.0,
    ) -> None:
        self.merchant = merchant
        self.notify_url = notify_url
        self.now = now
        self.timeout_s = timeout_s

    async def _send(self, what: str, method: str, url: str, **request: Any) -> Reply:
        """The reply to one request (``request``: aiohttp's data=, json=, headers=); ProviderUnreachable, named
        ``what``, when there is none or it is a 5xx."""
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as session,
                session.request(method, url, **request) as reply,
            ):
                sent = Reply(reply.status, await reply.read(), dict(reply.headers))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ProviderUnreachable(f"{what}: {exc or type(exc).__name__}") from None
        if sent.status >= 500:
            raise ProviderUnreachable(f"{what}: HTTP {sent.status}")
        return sent
