"""Time, injected: monotonic time, wall time and a scheduler in one object.

Journeys, the door cycle, the door alarms and the attempt guard read time and schedule their timers
only through a ``Clock``. The cabinet runs on ``LoopClock`` (the asyncio loop and the system clocks);
tests and benches drive a ``FakeClock``, whose ``advance`` runs what fell due in order, so timing is
exact and nothing sleeps.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

T = TypeVar("T")


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(abc.ABC):
    @abc.abstractmethod
    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (it starts again at every boot)."""

    @abc.abstractmethod
    def time(self) -> float:
        """Wall-clock seconds since the epoch (what survives a reboot)."""

    @abc.abstractmethod
    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        """Run ``callback`` once, ``delay`` seconds from now, on the event loop."""

    @abc.abstractmethod
    async def sleep(self, delay: float) -> None:
        """Wait ``delay`` seconds."""

    async def wait(self, event: asyncio.Event, timeout: float) -> bool:
        """Wait until ``event`` is set or ``timeout`` passes on this clock; True when it was set."""
        if event.is_set():
            return True
        waiters = {asyncio.ensure_future(event.wait()), asyncio.ensure_future(self.sleep(timeout))}
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        return event.is_set()

    async def wait_for(self, awaitable: Awaitable[T], timeout: float) -> T:
        """``awaitable``'s result, or TimeoutError (the awaitable cancelled) once ``timeout`` passes."""
        task = asyncio.ensure_future(awaitable)
        sleeper = asyncio.ensure_future(self.sleep(timeout))
        try:
            await asyncio.wait({task, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if task.cancelled():
            raise TimeoutError(f"not done within {timeout:g} s")
        return task.result()


class LoopClock(Clock):
    """The real clock: ``time.monotonic`` (the loop's and the touchscreen's clock), ``time.time``, and the
    running asyncio loop's timers."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        return asyncio.get_running_loop().call_later(delay, callback)

    async def sleep(self, delay: float) -> None:
        await asyncio.sleep(delay)

    def __repr__(self) -> str:
        return "LoopClock()"


@dataclass(eq=False)
class _FakeTimer:
    due: float
    callback: Callable[[], object]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass(eq=False)
class FakeClock(Clock):
    """A clock that moves only when told. ``advance(s)`` runs every timer due within ``s`` in order of its
    due time (timers scheduled by those callbacks too, if they fall due in the same span), with
    ``monotonic()`` and ``time()`` reading each timer's due time while it runs. Sleeps are timers that
    resolve a future: ``await run(s)`` also lets the woken coroutines run before the next timer. Times are
    kept in whole nanoseconds, so that steps written in decimals add up exactly."""

    now: float = 1000.0  # monotonic seconds
    wall_at_start: float = 1_800_000_000.0  # time() when now == start
    start: float = field(init=False)
    _queue: list[tuple[float, int, _FakeTimer]] = field(default_factory=list, init=False)
    _order: itertools.count[int] = field(default_factory=itertools.count, init=False)

    def __post_init__(self) -> None:
        self.start = self.now

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.wall_at_start + (self.now - self.start)

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        timer = _FakeTimer(_ns(self.now + max(0.0, delay)), callback)
        heapq.heappush(self._queue, (timer.due, next(self._order), timer))
        return timer

    async def sleep(self, delay: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not future.done():
                future.set_result(None)

        timer = self.call_later(delay, wake)
        try:
            await future
        finally:
            timer.cancel()

    def pending(self) -> list[float]:
        """The due times of the timers still to run, soonest first."""
        return sorted(due for due, _, timer in self._queue if not timer.cancelled)

    def advance(self, seconds: float) -> None:
        """Move time on by ``seconds``, running what falls due on the way (synchronously)."""
        target = _ns(self.now + seconds)
        while self._run_next(target):
            pass
        self.now = target

    async def run(self, seconds: float, turns: int = 10) -> None:
        """``advance``, with ``turns`` event-loop turns after each timer, so that coroutines a timer woke
        (a sleep that ended) go on, and schedule their next timers, before time moves further."""
        target = _ns(self.now + seconds)
        await _turns(turns)
        while self._run_next(target):
            await _turns(turns)
        self.now = target
        await _turns(turns)

    def _run_next(self, target: float) -> bool:
        while self._queue and self._queue[0][2].cancelled:
            heapq.heappop(self._queue)
        if not self._queue or self._queue[0][0] > target:
            return False
        due, _, timer = heapq.heappop(self._queue)
        self.now = max(self.now, due)
        timer.cancelled = True  # ran: a later cancel() is a no-op, as for asyncio's handles
        timer.callback()
        return True


def _ns(seconds: float) -> float:
    """Fake time in whole nanoseconds: 0.7 - 0.001 + 0.001 s later is 0.7 s later, as a test means it."""
    return round(seconds, 9)


async def _turns(count: int) -> None:
    for _ in range(count):
        await asyncio.sleep(0)
