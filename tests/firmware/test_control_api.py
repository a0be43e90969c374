"""The control API's guard against a web page on the bench machine: a real aiohttp server on an ephemeral
loopback port, real HTTP requests with the headers a browser would send."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession, web
from hypothesis import given
from hypothesis import strategies as st

from firmware.control_api import create_control_app, is_loopback_host, is_loopback_origin
from firmware.control_client import ControlClient, ControlError


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    """The control API of a cabinet without simulated devices: /sim answers 404 once a request gets through."""
    app = create_control_app(cabinet=None, ui=None, bench=None)  # type: ignore[arg-type]
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def call(base_url: str, method: str, path: str, headers: dict[str, str], data: bytes | None = None):
    async with ClientSession(skip_auto_headers=("Content-Type",)) as session:  # only the headers given
        async with session.request(method, base_url + path, headers=headers, data=data) as response:
            return response.status, await response.json()


GOT_THROUGH = (404, {"error": "no simulated devices on this cabinet"})  # the handler answered


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://127.0.0.1.evil.example:8765",
        "null",
        "https://127.0.0.1:8765",
        "http://192.168.1.20:8765",
    ],
)
async def test_a_foreign_origin_is_refused(base_url: str, origin: str) -> None:
    status, body = await call(
        base_url, "POST", "/sim/door/open", {"Origin": origin, "Content-Type": "application/json"}, b"{}"
    )
    assert status == 403 and body["error"].startswith("Origin: ") and "not a loopback origin" in body["error"]
    status, _ = await call(base_url, "GET", "/sim/pins", {"Origin": origin})
    assert status == 403


@pytest.mark.parametrize(
    "origin", ["http://127.0.0.1:8765", "http://localhost:3000", "http://[::1]:8765", "http://localhost"]
)
async def test_a_loopback_origin_or_none_gets_through(base_url: str, origin: str) -> None:
    json_post = {"Content-Type": "application/json"}
    assert await call(base_url, "POST", "/sim/door/open", {**json_post, "Origin": origin}, b"{}") == GOT_THROUGH
    assert await call(base_url, "POST", "/sim/door/open", json_post, b"{}") == GOT_THROUGH


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8765", "127.0.0.1.nip.io:8765", "10.0.0.2"])
async def test_a_host_that_is_not_loopback_is_refused_dns_rebinding(base_url: str, host: str) -> None:
    status, body = await call(base_url, "GET", "/sim/pins", {"Host": host})
    assert status == 403 and body == {"error": f"Host: {host!r} is not loopback (127.0.0.1, localhost or [::1])"}
    assert (await call(base_url, "GET", "/sim/pins", {"Host": "localhost:8765"}))[0] == 404  # got through


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"]
)
async def test_a_post_that_is_not_json_is_refused(base_url: str, content_type: str) -> None:
    # What an HTML form or a no-cors fetch can send without a preflight.
    status, body = await call(base_url, "POST", "/sim/door/open", {"Content-Type": content_type}, b"x=1")
    assert status == 415 and body == {"error": f"Content-Type: expected application/json, got {content_type!r}"}
    status, body = await call(base_url, "POST", "/sim/door/open", {})
    assert status == 415 and body == {"error": "Content-Type: missing; expected application/json"}


async def test_the_control_client_still_gets_through(base_url: str) -> None:
    client = ControlClient(base_url)
    for request in (client.pins, lambda: client.sim("door/open"), lambda: client.sim("nfc/present", {"uid": "04A1"})):
        with pytest.raises(ControlError) as info:  # the handler's own answer: no devices here
            await _in_thread(request)
        assert info.value.status == 404 and "no simulated" in info.value.body["error"]
    # and urllib's own Host header, as a bench script would send it
    with pytest.raises(urllib.error.HTTPError) as raised:
        await _in_thread(
            lambda: urllib.request.urlopen(
                urllib.request.Request(
                    base_url + "/sim/nfc/present",
                    data=json.dumps({"uid": "04A1"}).encode(),
                    method="POST",
                    headers={"Content-Type": "application/json; charset=utf-8"},
                ),
                timeout=5,
            )
        )
    assert raised.value.code == 404


async def _in_thread(blocking):
    return await asyncio.get_running_loop().run_in_executor(None, blocking)


@given(st.text(max_size=40) | st.from_regex(r"(http://)?(127\.0\.0\.1|localhost|\[::1\])(:[0-9]{0,6})?.{0,3}"))
def test_header_checks_accept_only_loopback(text: str) -> None:
    for check, prefix in ((is_loopback_host, ""), (is_loopback_origin, "http://")):
        if check(text):
            rest = text.lower().removeprefix(prefix)
            host = next(h for h in ("127.0.0.1", "localhost", "[::1]") if rest.startswith(h))
            port = rest[len(host) :]
            assert port == "" or (
                port[0] == ":" and port[1:].isascii() and port[1:].isdigit() and int(port[1:]) <= 65535
            )


@given(st.integers(0, 65535), st.sampled_from(["127.0.0.1", "localhost", "LocalHost", "[::1]"]))
def test_every_loopback_port_is_accepted(port: int, host: str) -> None:
    assert is_loopback_host(f"{host}:{port}") and is_loopback_origin(f"http://{host}:{port}")
    assert not is_loopback_host(f"{host}:{port + 65536}") and not is_loopback_origin(f"https://{host}:{port}")


def test_a_real_cabinet_refuses_to_open_the_control_api(tmp_path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "firmware.cli",
            "run",
            "--control-port",
            "0",
            "--headless",
            "--data-dir",
            str(tmp_path / "data"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "--control-port needs --sim" in result.stderr and "never runs in production" in result.stderr
