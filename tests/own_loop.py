"""A real server of an app on 127.0.0.1, driven from an event loop of the test's own: for hypothesis tests,
whose examples are plain functions (they cannot be coroutines of pytest's loop)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web
from aiohttp.test_utils import TestServer


@contextmanager
def served_on_own_loop(app: web.Application) -> Iterator[tuple[asyncio.AbstractEventLoop, TestServer]]:
    """The loop and the started server; both closed at the end (close the test's sessions before)."""
    loop = asyncio.new_event_loop()
    server = TestServer(app, host="127.0.0.1")
    try:
        loop.run_until_complete(server.start_server())
        yield loop, server
    finally:
        loop.run_until_complete(server.close())
        loop.close()
