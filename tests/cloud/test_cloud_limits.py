"""The cloud under clients that send half a request, lie about their length or are not who they say:
real sockets against the real server on 127.0.0.1, with small timeouts instead of waiting."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from cloud_stub import device_api
from cloud_stub.core import MAX_BODY_BYTES
from cloud_stub.limits import ServeLimits
from cloud_stub.server import start_cloud
from cloud_stub.store import SqliteCloudStore
from sync_client.schema import dumps, sign_request
from tests.cloud.cloud_helpers import CAB, START, Clock, make_event

SHORT = ServeLimits(header_timeout_s=0.4, body_timeout_s=0.4, linger_s=0.1, max_connections=6)
DEADLINE_S = 10.0  # bound on every wait below; the server's own timeouts are far shorter


class Server:
    def __init__(self, url: str, store: SqliteCloudStore, key: bytes) -> None:
        self.url, self.store, self.key = url, store, key
        self.host, self.port = URL(url).host, URL(url).port

    def signed_headers(
        self,
        body: bytes,
        *,
        cabinet_id: str = CAB,
        key: bytes | None = None,
        path: str = "/v1/events",
        method: str = "POST",
    ) -> dict[str, str]:
        return sign_request(key or self.key, cabinet_id, method, path, body, now=START)

    async def raw(self, head: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        writer.write(head)
        await writer.drain()
        return reader, writer

    async def post(self, session: aiohttp.ClientSession) -> tuple[int, dict]:
        body = dumps({"cabinet_id": CAB, "events": [make_event(1)]})
        async with session.post(self.url + "/v1/events", data=body, headers=self.signed_headers(body)) as resp:
            return resp.status, await resp.json()


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    store = SqliteCloudStore(tmp_path / "cloud.db")
    key = store.add_cabinet(CAB)
    runner, url = await start_cloud(store, now=Clock(START), limits=SHORT)
    yield Server(url, store, key)
    await runner.cleanup()
    store.close()


def request_head(
    headers: dict[str, str], *, length: int | None, path: str = "/v1/events", method: str = "POST"
) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: cloud",
        "Content-Type: application/json",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def answer(reader: asyncio.StreamReader) -> tuple[int, dict]:
    """The status and JSON body of one HTTP response on a raw connection."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), DEADLINE_S)
    status = int(head.split(b" ", 2)[1])
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    return status, json.loads(await asyncio.wait_for(reader.readexactly(length), DEADLINE_S))


async def closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server still sends until it closes the connection (waits at most DEADLINE_S)."""
    return await asyncio.wait_for(reader.read(), DEADLINE_S)


async def test_stalled_half_requests_do_not_block_a_cabinet_and_are_closed_after_their_timeout(server: Server) -> None:
    half_headers = [await server.raw(b"POST /v1/events HTTP/1.1\r\nHost: cloud\r\nX-Cabi") for _ in range(3)]
    body = dumps({"cabinet_id": CAB, "events": [make_event(7)]})
    half_bodies = [
        await server.raw(request_head(server.signed_headers(body), length=len(body)) + body[:10]) for _ in range(2)
    ]
    opened = time.monotonic()
    async with aiohttp.ClientSession() as session:
        status, reply = await server.post(session)
    assert status == 200 and len(reply["acked"]) == 1
    assert time.monotonic() - opened < SHORT.header_timeout_s  # served while the stalled ones still hang

    for reader, writer in half_headers:  # never completed their headers: closed without an answer
        assert await closed(reader) == b""
        writer.close()
    for reader, writer in half_bodies:  # headers fine, body stalled: 408, then closed
        status, reply = await answer(reader)
        assert (status, reply) == (408, {"error": f"body: not received within {SHORT.body_timeout_s:g} s"})
        assert await closed(reader) == b""
        writer.close()
    assert time.monotonic() - opened >= SHORT.header_timeout_s
    assert server.store.count_events() == 1


async def test_connections_beyond_the_bound_get_503_until_the_stalled_ones_time_out(server: Server) -> None:
    stalled = [await server.raw(b"GET /healthz HTTP/1.1\r\nHo") for _ in range(SHORT.max_connections)]
    async with aiohttp.ClientSession() as session:
        async with session.get(server.url + "/healthz") as resp:
            assert resp.status == 503 and resp.headers["Retry-After"] == "1"
            assert (await resp.json())["error"].startswith("connections: too many open")
        for reader, writer in stalled:
            assert await closed(reader) == b""
            writer.close()
        deadline = time.monotonic() + DEADLINE_S
        while (status := (await server.post(session))[0]) == 503 and time.monotonic() < deadline:
            await asyncio.sleep(0)
        assert status == 200


async def test_an_unknown_cabinet_gets_401_before_it_sends_its_huge_body(server: Server) -> None:
    huge = b"x" * (MAX_BODY_BYTES - 1)  # within the route's limit: only the signature stops it
    headers = server.signed_headers(huge, cabinet_id="cab-nobody", key=bytes(range(32)))
    reader, writer = await server.raw(request_head(headers, length=len(huge)))
    status, reply = await answer(reader)  # not a byte of the body was sent
    assert (status, reply) == (401, {"error": device_api.BAD_SIGNATURE})
    writer.close()


async def test_a_declared_length_over_the_routes_limit_is_refused_before_the_body(server: Server) -> None:
    declared = device_api.MAX_SNAPSHOT_BYTES + 1
    path = "/v1/snapshots/20261125T174005-opened-none.jpg"
    headers = server.signed_headers(b"\xff" * declared, path=path, method="PUT")
    reader, writer = await server.raw(request_head(headers, length=declared, path=path, method="PUT"))
    status, reply = await answer(reader)
    assert status == 413 and reply["error"].startswith(f"body: {declared} bytes, over the")
    writer.close()


async def test_a_body_without_a_declared_length_gets_411(server: Server) -> None:
    body = dumps({"cabinet_id": CAB, "events": [make_event(1)]})
    head = request_head({**server.signed_headers(body), "Transfer-Encoding": "chunked"}, length=None)
    reader, writer = await server.raw(head + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    status, reply = await answer(reader)
    assert status == 411 and reply["error"].startswith("Content-Length: required")
    writer.close()
    assert server.store.count_events() == 0


async def test_bytes_beyond_the_declared_length_are_not_part_of_the_body(server: Server) -> None:
    body = dumps({"cabinet_id": CAB, "events": [make_event(1)]})
    reader, writer = await server.raw(request_head(server.signed_headers(body), length=10) + body)
    answers = await closed(reader)
    writer.close()
    # The first 10 bytes are not what was signed (401 if the server gets that far), and the rest is no request.
    assert b"400 Bad Request" in answers and b" 200 " not in answers
    assert server.store.count_events() == 0


async def test_an_unknown_cabinet_and_a_bad_signature_get_the_same_401_by_the_same_path(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[bytes] = []
    real = device_api.verify_signature

    def spy(key: bytes, *args: object) -> bool:
        checked.append(key)
        return real(key, *args)

    monkeypatch.setattr(device_api, "verify_signature", spy)
    body = dumps({"cabinet_id": CAB, "events": [make_event(1)]})
    replies = []
    async with aiohttp.ClientSession() as session:
        for cabinet_id, key in ((CAB, bytes(range(1, 33))), ("cab-nobody", bytes(range(1, 33)))):
            headers = server.signed_headers(body, cabinet_id=cabinet_id, key=key)
            async with session.post(server.url + "/v1/events", data=body, headers=headers) as resp:
                replies.append((resp.status, await resp.read()))
    assert replies[0] == replies[1] == (401, json.dumps({"error": device_api.BAD_SIGNATURE}).encode())
    # Both signatures were computed, the unknown cabinet's with the stand-in key.
    assert checked == [server.key, device_api._UNKNOWN_CABINET_KEY]
    assert server.store.count_events() == 0
