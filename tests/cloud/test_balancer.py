"""The loopback proxy that alternates between cloud nodes (cloud_stub/balancer.py): real aiohttp servers on
127.0.0.1 as nodes, a real `kiosk-cloud` app for the signed device API, and the proxy as a real process."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

from cloud_stub.balancer import parse_nodes, start_balancer
from cloud_stub.server import start_cloud
from cloud_stub.store import SqliteCloudStore
from sync_client.cloud_client import CloudClient
from sync_client.schema import Event, dumps, new_event_id, utc_now_iso


@dataclass
class FakeNode:
    """A node that answers with its name and records what it was sent."""

    name: str
    port: int = 0
    seen: list[tuple[str, str, bytes, dict[str, str]]] = field(default_factory=list)
    runner: web.AppRunner | None = None
    hang_up: bool = False  # close the connection without answering, after reading the request

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", r"/{tail:[\s\S]*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        self.port = self.runner.addresses[0][1]
        return self.url

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        assert self.runner is not None
        await self.runner.cleanup()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.method, request.raw_path, await request.read(), dict(request.headers)))
        if self.hang_up:
            assert request.transport is not None
            request.transport.close()
            raise ConnectionResetError
        return web.Response(text=self.name, status=201, headers={"X-Node": self.name, "ETag": '"v7"'})


def free_port() -> int:
    """A port nothing listens on: connecting to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def two_nodes() -> AsyncIterator[tuple[FakeNode, FakeNode]]:
    a, b = FakeNode("a"), FakeNode("b")
    await a.start()
    await b.start()
    yield a, b
    for node in (a, b):
        if node.runner is not None:
            await node.runner.cleanup()


async def answers(url: str, count: int) -> list[str]:
    async with aiohttp.ClientSession() as session:
        names = []
        for _ in range(count):
            async with session.get(url + "/v1/config") as resp:
                names.append(await resp.text())
        return names


async def test_requests_alternate_between_nodes_one_request_at_a_time(two_nodes: tuple[FakeNode, FakeNode]) -> None:
    a, b = two_nodes
    runner, _, url = await start_balancer([a.url, b.url])
    try:
        # One client session keeps one connection to the proxy: still every request changes node.
        assert await answers(url, 6) == ["a", "b", "a", "b", "a", "b"]
    finally:
        await runner.cleanup()


async def test_a_stopped_node_is_skipped_and_taken_back_when_it_returns(two_nodes: tuple[FakeNode, FakeNode]) -> None:
    a, b = two_nodes
    runner, balancer, url = await start_balancer([a.url, b.url])
    try:
        await b.stop()
        assert await answers(url, 4) == ["a"] * 4  # none of them failed
        assert balancer.nodes[1].refused == 2
        await b.start()  # restarted on the same port
        assert sorted(await answers(url, 4)) == ["a", "a", "b", "b"]
    finally:
        await runner.cleanup()


async def test_no_node_listening_is_a_502_naming_the_nodes() -> None:
    dead = [f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"]
    runner, _, url = await start_balancer(dead)
    try:
        async with aiohttp.ClientSession() as session, session.post(url + "/v1/events", data=b"{}") as resp:
            assert resp.status == 502
            error = (await resp.json())["error"]
        assert "no node accepts connections" in error and dead[0] in error and dead[1] in error
    finally:
        await runner.cleanup()


async def test_a_node_failing_after_the_request_went_out_is_not_asked_again(
    two_nodes: tuple[FakeNode, FakeNode],
) -> None:
    """A POST that reached a node may have been applied: the client gets 502 and retries, the proxy does not."""
    a, b = two_nodes
    a.hang_up = True
    runner, _, url = await start_balancer([a.url, b.url])
    try:
        async with aiohttp.ClientSession() as session, session.post(url + "/v1/events", data=b"[1]") as resp:
            assert resp.status == 502
            assert a.url in (await resp.json())["error"]
        assert len(a.seen) == 1 and b.seen == []
    finally:
        await runner.cleanup()


async def test_method_path_query_body_and_headers_pass_unchanged_both_ways(
    two_nodes: tuple[FakeNode, FakeNode],
) -> None:
    a, _ = two_nodes
    runner, _, url = await start_balancer([a.url])
    try:
        headers = {"X-Signature": "abc", "Content-Type": "application/json", "Authorization": "Bearer t"}
        async with (
            aiohttp.ClientSession() as session,
            session.put(
                URL(url + "/v1/snapshots/a%20b.jpg?x=1&y=%2F", encoded=True), data=b"\x00\xffbody", headers=headers
            ) as resp,
        ):
            assert (resp.status, await resp.text(), resp.headers["X-Node"], resp.headers["ETag"]) == (
                201,
                "a",
                "a",
                '"v7"',
            )
        method, path, body, seen = a.seen[0]
        assert (method, path, body) == ("PUT", "/v1/snapshots/a%20b.jpg?x=1&y=%2F", b"\x00\xffbody")
        assert seen["X-Signature"] == "abc" and seen["Authorization"] == "Bearer t"
        assert seen["Content-Type"] == "application/json"
        assert seen["Host"] == url.removeprefix("http://")  # the name the client used, as nginx's $host
        assert seen["X-Forwarded-For"] == "127.0.0.1" and seen["X-Forwarded-Proto"] == "http"
    finally:
        await runner.cleanup()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=4),
    query=st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=12), max_size=3),
    body=st.binary(max_size=2000),
)
async def test_any_path_query_and_body_arrive_as_sent(
    two_nodes: tuple[FakeNode, FakeNode], path: list[str], query: dict[str, str], body: bytes
) -> None:
    a, _ = two_nodes
    a.seen.clear()
    runner, _, url = await start_balancer([a.url])
    try:
        target = URL(url).with_path("/" + "/".join(path)).with_query(query)
        async with aiohttp.ClientSession() as session, session.post(target, data=body) as resp:
            assert resp.status == 201
        assert a.seen[0][1] == target.raw_path_qs and a.seen[0][2] == body
    finally:
        await runner.cleanup()


async def test_a_cabinet_syncs_through_the_proxy_with_a_node_down(tmp_path: Path) -> None:
    """The real device API: signed events acknowledged, each answer's signature checked by the cabinet's
    client, every event stored once while one of the two nodes refuses connections."""
    store = SqliteCloudStore(tmp_path / "cloud.db")
    key = store.add_cabinet("cab-1")
    cloud, cloud_url = await start_cloud(store)
    runner, balancer, url = await start_balancer([f"http://127.0.0.1:{free_port()}", cloud_url])
    client = CloudClient(url, "cab-1", key)
    try:
        sent = []
        for seq in range(1, 7):
            event = Event(new_event_id(), "cab-1", seq, "heartbeat", utc_now_iso(), float(seq), {"faults": []})
            sent.append(event.id)
            reply = await client.request(
                "POST", "v1/events", raw=dumps({"cabinet_id": "cab-1", "events": [event.to_json()]})
            )
            assert reply.body["acked"] == [event.id]
        assert [e["id"] for e in store.export_events()] == sent
        assert (balancer.nodes[0].refused, balancer.nodes[1].answered) == (3, 6)
    finally:
        await client.close()
        await runner.cleanup()
        await cloud.cleanup()
        store.close()


def test_the_command_line_refuses_a_node_that_is_not_an_http_base_url() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cloud_stub.balancer", "http://127.0.0.1:1", "ftp://x/y"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "node 'ftp://x/y': expected http://HOST:PORT" in result.stderr


def test_parse_nodes_needs_one_node_and_drops_a_trailing_slash() -> None:
    with pytest.raises(ValueError, match="at least one node"):
        parse_nodes([])
    assert [str(n.url) for n in parse_nodes(["http://127.0.0.1:8080/"])] == ["http://127.0.0.1:8080"]


def test_the_command_line_prints_its_url_and_forwards_until_stopped(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cloud_stub.balancer", f"http://127.0.0.1:{free_port()}"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("balancer listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[-1].strip()
        with socket.create_connection((url.split(":")[1][2:], int(url.rsplit(":", 1)[1])), timeout=10) as s:
            s.sendall(b"GET /v1/config HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 502")
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


async def test_a_streamed_answer_passes_whole_without_a_length() -> None:
    """The sales CSV is streamed (chunked): the proxy relays it as it comes."""
    chunk = bytes(range(256)) * 256  # 64 KiB

    async def csv(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/csv"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(32):
            await response.write(chunk)
        return response

    app = web.Application()
    app.router.add_get("/console/sales.csv", csv)
    node = web.AppRunner(app)
    await node.setup()
    await web.TCPSite(node, "127.0.0.1", 0).start()
    runner, _, url = await start_balancer([f"http://127.0.0.1:{node.addresses[0][1]}"])
    try:
        async with aiohttp.ClientSession() as session, session.get(url + "/console/sales.csv") as resp:
            assert resp.headers["Content-Type"] == "text/csv" and "Content-Length" not in resp.headers
            assert await resp.read() == chunk * 32
    finally:
        await runner.cleanup()
        await node.cleanup()
