"""The store's worker thread (cloud_stub.core.StoreThread): every call on the one thread, in order, with its
result or its exception back to the caller; a call whose request gave up before it began is never run."""

from __future__ import annotations

import asyncio
import functools
import threading

import pytest

from cloud_stub.core import StoreThread


async def test_calls_run_in_order_on_one_thread_and_return_or_raise() -> None:
    worker = StoreThread()
    seen: list[tuple[int, str]] = []

    def call(n: int) -> int:
        seen.append((n, threading.current_thread().name))
        if n == 3:
            raise ValueError("no cabinet 3")
        return n * 10

    try:
        results = await asyncio.gather(
            *(worker.run(functools.partial(call, n)) for n in range(6)), return_exceptions=True
        )
    finally:
        worker.stop()
    assert results[:3] == [0, 10, 20] and results[4:] == [40, 50]
    assert isinstance(results[3], ValueError) and str(results[3]) == "no cabinet 3"
    assert [n for n, _ in seen] == list(range(6))
    assert {name for _, name in seen} == {"cloud-store"}


async def test_a_call_cancelled_before_it_began_is_not_run() -> None:
    worker = StoreThread()
    release, ran = threading.Event(), []
    first = asyncio.ensure_future(worker.run(lambda: release.wait(5)))
    second = asyncio.ensure_future(worker.run(lambda: ran.append("second")))
    await asyncio.sleep(0)  # both queued; the first holds the thread
    second.cancel()
    release.set()
    try:
        assert await first is True
        with pytest.raises(asyncio.CancelledError):
            await second
        assert await worker.run(lambda: "after") == "after"  # the thread goes on with the next call
    finally:
        worker.stop()
    assert ran == []


async def test_readers_threads_run_a_call_while_another_is_still_running() -> None:
    readers = StoreThread("cloud-store-read", threads=2)
    second_ran = threading.Event()
    try:
        first = asyncio.ensure_future(readers.run(lambda: second_ran.wait(5)))  # waits for the second call
        second = asyncio.ensure_future(readers.run(lambda: (second_ran.set(), threading.current_thread().name)[1]))
        assert await asyncio.wait_for(first, 10) is True, "the second call ran beside the first"
        assert (await second).startswith("cloud-store-read-")
    finally:
        readers.stop()
