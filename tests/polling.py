"""Waiting on a condition that another process makes true (a cabinet, `kiosk-cloud serve`), for tests that can
only observe it from outside: ask, and ask again until it holds or the deadline passes. Within one process,
wait on the event itself instead."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
INTERVAL_S = 0.05  # between two questions to the other process


def eventually(probe: Callable[[], T], holds: Callable[[T], bool], timeout: float, what: str) -> T:
    """The first answer of ``probe`` for which ``holds`` is true; AssertionError naming ``what`` and the last
    answer when the deadline passes first."""
    deadline = time.monotonic() + timeout
    while True:
        answer = probe()
        if holds(answer):
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached in {timeout} s; last answer {answer!r}"[:800])
        time.sleep(INTERVAL_S)


async def until(holds: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Until ``holds()`` (AssertionError naming ``what`` after ``timeout``), for a condition another thread
    makes true (the store's worker, an aiohttp server on 127.0.0.1): the event loop runs while it waits."""
    deadline = time.monotonic() + timeout
    while not holds():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout} s")
        await asyncio.sleep(0.005)
