"""Checking a PIN or a pickup code against its scrypt hashes, off the event loop.

scrypt is slow on purpose (tens of milliseconds per hash on a Pi, times every hash in force); on the
event loop that would freeze the screen and starve the watchdog. The checks run on one worker thread
(hashlib.scrypt releases the GIL), one at a time: a second pad press waits its turn rather than doubling
the memory scrypt takes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sync_client.cabinet_config import verify_secret

T = TypeVar("T")
_VERIFIER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="secret-check")


async def first_match(secret: str, candidates: Sequence[T], hash_of: Callable[[T], str]) -> T | None:
    """The first candidate whose hash ``secret`` matches, or None; scrypt runs on the worker thread."""

    def check() -> T | None:
        return next((c for c in candidates if _verifies(secret, hash_of(c))), None)

    return await asyncio.get_running_loop().run_in_executor(_VERIFIER, check)


def _verifies(secret: str, stored: str) -> bool:
    try:
        return verify_secret(secret, stored)
    except ValueError:  # scrypt refused the hash's parameters (memory): a hash nobody can match
        return False


async def matches_any(secret: str, hashes: Sequence[str]) -> bool:
    return await first_match(secret, hashes, lambda stored: stored) is not None
