"""A small loopback HTTP proxy that alternates between `kiosk-cloud serve` nodes, one request at a time.

    python -m cloud_stub.balancer [--host 127.0.0.1] [--port 0] NODE_URL [NODE_URL ...]

It prints ``balancer listening on URL`` once it accepts connections. Each request goes to the next node in
turn; a node that refuses the connection (stopped, restarting) is skipped for that request, so a test or a
benchmark can kill and restart one node while cabinets keep syncing. It is a stand-in for nginx in tests and
benchmarks (production: docs/deploy.md), with nginx's rule for requests that were sent: a node that fails
after the request went out is not asked again (a POST may have been applied), the client gets 502 and
retries as a cabinet does, and the cloud's ids make the retry harmless.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

# Headers of one hop only (RFC 9110 7.6.1), plus the framing aiohttp sets again on each side.
HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Connection",
        "Keep-Alive",
        "Proxy-Connection",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "Content-Length",
    )
)
MAX_BODY = 64 * 1024 * 1024  # above the cloud's own largest upload limit: the nodes refuse, not the proxy
# Idle upstream connections are dropped before the nodes' 20 s keep-alive would close them under a request.
UPSTREAM_KEEPALIVE_S = 5.0


@dataclass
class Node:
    url: URL
    answered: int = 0  # requests this node answered
    refused: int = 0  # connections it refused


def parse_nodes(urls: Sequence[str]) -> list[Node]:
    """Node base URLs (http://host:port); ValueError naming a bad one."""
    if not urls:
        raise ValueError("nodes: expected at least one node URL")
    nodes = []
    for text in urls:
        url = URL(text)
        if url.scheme != "http" or not url.host or url.path not in ("", "/") or url.query_string:
            raise ValueError(f"node {text!r}: expected http://HOST:PORT")
        nodes.append(Node(url.with_path("")))
    return nodes


def _forwarded_headers(request: web.Request) -> CIMultiDict[str]:
    headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP)
    # As nginx's proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for does: the nodes believe it only
    # from a proxy named with --trusted-proxy.
    prior = request.headers.get("X-Forwarded-For")
    headers["X-Forwarded-For"] = f"{prior}, {request.remote}" if prior else str(request.remote)
    headers["X-Forwarded-Proto"] = request.scheme
    return headers


class Balancer:
    def __init__(self, nodes: list[Node], *, connections_per_node: int = 256) -> None:
        self.nodes = nodes
        self._turn = itertools.count()
        self._connections_per_node = connections_per_node
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=0, limit_per_host=self._connections_per_node, keepalive_timeout=UPSTREAM_KEEPALIVE_S
        )
        # auto_decompress=False: bodies pass as the node encoded them; no timeout: the nodes have their own.
        self._session = aiohttp.ClientSession(
            connector=connector, auto_decompress=False, timeout=aiohttp.ClientTimeout(total=None)
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", r"/{tail:[\s\S]*}", self.handle)  # any path, even with a newline
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None, "start() first"
        body = await request.read()
        headers = _forwarded_headers(request)
        first = next(self._turn)
        for step in range(len(self.nodes)):
            node = self.nodes[(first + step) % len(self.nodes)]
            try:
                upstream = await self._session.request(
                    request.method,
                    URL(f"{node.url}{request.raw_path}", encoded=True),
                    headers=headers,
                    data=body,
                    allow_redirects=False,
                    skip_auto_headers=("User-Agent", "Content-Type", "Accept", "Accept-Encoding"),
                )
            except aiohttp.ClientConnectorError:
                node.refused += 1  # nothing was sent: the next node may take it
                continue
            except (TimeoutError, aiohttp.ClientError) as exc:
                return _bad_gateway(f"node {node.url} failed before answering: {type(exc).__name__}")
            try:
                node.answered += 1
                return await _relay(request, upstream)
            finally:
                upstream.release()
        return _bad_gateway(f"no node accepts connections ({', '.join(str(n.url) for n in self.nodes)})")


async def _relay(request: web.Request, upstream: aiohttp.ClientResponse) -> web.StreamResponse:
    """The node's answer as it came, streamed (a 6 MB CSV is not held in memory)."""
    response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
    for key, value in upstream.headers.items():
        if key.lower() not in HOP_BY_HOP:
            response.headers.add(key, value)
    if upstream.content_length is not None:
        response.content_length = upstream.content_length
    await response.prepare(request)
    async for chunk in upstream.content.iter_any():
        await response.write(chunk)
    await response.write_eof()
    return response


def _bad_gateway(reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=502)


async def start_balancer(
    node_urls: Sequence[str], host: str = "127.0.0.1", port: int = 0, *, connections_per_node: int = 256
) -> tuple[web.AppRunner, Balancer, str]:
    """Serve the balancer on host:port (0 picks a free port); stop with ``runner.cleanup()``."""
    balancer = Balancer(parse_nodes(node_urls), connections_per_node=connections_per_node)
    await balancer.start()
    app = balancer.app()

    async def close_session(_: web.Application) -> None:
        await balancer.close()

    app.on_cleanup.append(close_session)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound_host, bound_port = runner.addresses[0][:2]
    return runner, balancer, f"http://{bound_host}:{bound_port}"


async def _serve(args: argparse.Namespace) -> int:
    runner, _, url = await start_balancer(args.nodes, args.host, args.port, connections_per_node=args.connections)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"balancer listening on {url}", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cloud_stub.balancer", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one (default)")
    parser.add_argument(
        "--connections", type=int, default=256, help="open connections to each node at most (default: 256)"
    )
    parser.add_argument("nodes", nargs="+", metavar="NODE_URL", help="a node's base URL, http://HOST:PORT")
    args = parser.parse_args(argv)
    try:
        parse_nodes(args.nodes)
    except ValueError as exc:
        parser.error(str(exc))
    return asyncio.run(_serve(args))


if __name__ == "__main__":
    sys.exit(main())
