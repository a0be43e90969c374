"""How a provider's emulator sends its notifications: POST to the merchant's URL, again on the provider's
schedule until the merchant's answer says it took it, each attempt kept for the tests to read. Each attempt's
body and headers are made anew (a BTCPay redelivery has its own delivery id and signature)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

Attempt = Callable[[int], tuple[bytes, dict[str, str]]]  # attempt number -> (body, headers)


@dataclass(frozen=True)
class Delivery:
    """One attempt to deliver a notification: which, the how-many-th, and what came of it."""

    order: str  # the merchant's order number (Alipay, WeChat Pay) or invoice id (BTCPay) it is about
    notification_id: str
    attempt: int
    status: int | None  # the merchant's HTTP status; None: no answer
    accepted: bool
    error: str = ""


class Notifier:
    """Sends notifications in the background; ``stop`` cancels those still being retried."""

    def __init__(self, retries_s: tuple[float, ...], timeout_s: float = 5.0) -> None:
        self.retries_s = retries_s
        self.timeout_s = timeout_s
        self.deliveries: list[Delivery] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def send(
        self,
        url: str,
        order: str,
        notification_id: str,
        attempt_of: Attempt,
        accepted: Callable[[int, bytes], bool],
    ) -> None:
        async def deliver() -> None:
            timeout = aiohttp.ClientTimeout(total=self.timeout_s)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                for attempt, wait_s in enumerate((0.0, *self.retries_s), start=1):
                    await asyncio.sleep(wait_s)  # the provider's own schedule (the tests shorten it)
                    body, headers = attempt_of(attempt)
                    try:
                        async with session.post(url, data=body, headers=headers) as reply:
                            status, answer = reply.status, await reply.read()
                    except (aiohttp.ClientError, TimeoutError) as exc:
                        error = str(exc) or type(exc).__name__
                        self.deliveries.append(Delivery(order, notification_id, attempt, None, False, error))
                        continue
                    took = accepted(status, answer)
                    self.deliveries.append(Delivery(order, notification_id, attempt, status, took))
                    if took:
                        return

        task = asyncio.get_running_loop().create_task(deliver())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
