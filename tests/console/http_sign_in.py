"""Signing in to the console over plain HTTP (no browser), for the tests that read pages as an aiohttp client."""

from __future__ import annotations

import re

import aiohttp
from aiohttp.test_utils import TestServer

PASSWORD = "correct horse battery"


async def signed_in(server: TestServer, email: str, password: str = PASSWORD) -> aiohttp.ClientSession:
    """A session signed in as ``email`` (the cookie jar keeps 127.0.0.1's cookies, as a browser does)."""
    session = aiohttp.ClientSession(base_url=str(server.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.get("/console/sign-in") as response:
        token = re.search(r'name="csrf_token" value="([^"]+)"', await response.text())
    assert token
    form = {"email": email, "password": password, "csrf_token": token.group(1)}
    async with session.post("/console/sign-in", data=form) as response:
        assert response.url.path == "/console/fleet", await response.text()
    return session
