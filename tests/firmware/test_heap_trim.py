"""The cabinet hands the heap a sale freed back to the system once it is idle again (issue 13: memory on a Pi)."""

import asyncio
import subprocess
import sys

import pytest

from firmware.clock import FakeClock
from firmware.heap_trim import HeapTrim

SCRIPT = """
import re
from firmware.cli import tune_malloc
from firmware.heap_trim import malloc_trim
tune_malloc()
def rss_mb():
    return int(re.search(r"VmRSS:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024
texts = [bytes(1500) for _ in range(20000)]  # a sale's texts and requests: 30 MB of blocks malloc keeps in its heap
pinned = bytes(1500)  # something allocated later and still in use: the freed blocks are not at the heap's top
del texts
before = rss_mb()
assert malloc_trim()
print(before - rss_mb())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc and /proc are Linux's")
def test_freed_blocks_below_one_still_in_use_go_back_to_the_system_when_trimmed() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    assert float(result.stdout) >= 20, f"only {result.stdout.strip()} MB of 29 MB freed went back"


def test_the_heap_is_trimmed_once_each_time_the_cabinet_is_idle_again_and_never_while_in_use() -> None:
    idle = [True]
    trims: list[int] = []
    watch = HeapTrim(lambda: idle[0], FakeClock(), trim=lambda: trims.append(1))

    async def ticks(states: list[bool]) -> None:
        for state in states:
            idle[0] = state
            await watch.tick()

    asyncio.run(ticks([True, True]))
    assert trims == [], "nobody used it since the start: nothing to give back"
    asyncio.run(ticks([False, False, False]))
    assert trims == [], "never while a shopper is using it"
    asyncio.run(ticks([True, True, True]))
    assert trims == [1], "once the sale is over, once"
    asyncio.run(ticks([False, True, False, True]))
    assert trims == [1, 1, 1], "after each use"
