"""Waiting between attempts: capped exponential backoff with full jitter, and waiting on events."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable


def backoff_delay(failures: int, initial: float, cap: float, rng: Callable[[], float] = random.random) -> float:
    """Full jitter: uniform in [0, min(cap, initial * 2**(failures-1))]."""
    return rng() * min(cap, initial * 2.0 ** max(0, failures - 1))


Sleep = Callable[[float], Awaitable[None]]  # e.g. asyncio.sleep, or an injected clock's sleep


async def wait_any(*events: asyncio.Event, timeout: float | None = None, sleep: Sleep = asyncio.sleep) -> bool:
    """Wait until one of ``events`` is set or ``timeout`` passes (on ``sleep``'s clock); True if an event
    was set."""
    waiters: list[asyncio.Future[object]] = [asyncio.ensure_future(e.wait()) for e in events]
    if timeout is not None:
        waiters.append(asyncio.ensure_future(sleep(timeout)))
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        return any(e.is_set() for e in events)
    finally:
        for w in waiters:
            w.cancel()


async def poll_forever(
    step: Callable[[], Awaitable[object]],
    stop: asyncio.Event,
    poke: asyncio.Event,
    *,
    interval_s: float,
    backoff_initial_s: float,
    backoff_max_s: float,
    errors: tuple[type[Exception], ...],
    on_result: Callable[[Exception | None], None],
    sleep: Sleep = asyncio.sleep,
) -> None:
    """Run ``step`` every ``interval_s`` (at once when ``poke`` is set) until ``stop``; after a failure
    of one of ``errors`` wait with backoff instead. ``on_result`` hears each outcome (None: success)."""
    failures = 0
    while not stop.is_set():
        poke.clear()
        try:
            await step()
        except errors as exc:
            failures += 1
            on_result(exc)
            delay = backoff_delay(failures, backoff_initial_s, backoff_max_s)
        else:
            failures = 0
            on_result(None)
            delay = interval_s
        await wait_any(stop, poke, timeout=delay, sleep=sleep)
