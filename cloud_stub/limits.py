"""How long and how many: the cloud's defences against clients that send half a request and stall.

``ServeLimits`` holds the numbers. The header timeout is aiohttp's keep-alive timeout, which since
aiohttp 3.14.5 also runs from the moment a connection opens, so a connection that never completes
its request headers is closed when it runs out (a test pins this). Bodies are read with their own
deadline (``Core.read_body``). ``GatedSite`` listens like ``web.TCPSite`` but answers 503 at once,
without reading, to a connection beyond ``max_connections``, so stalled sockets cannot take them all.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import web


@dataclass(frozen=True)
class ServeLimits:
    header_timeout_s: float = 20.0  # to send a request's headers (and idle time between requests)
    body_timeout_s: float = 60.0  # to send a request's body once its headers are in (8 MiB on a slow link)
    linger_s: float = 2.0  # reading what is left of a refused body, so the client sees the answer
    max_connections: int = 512
    backlog: int = 128

    def __post_init__(self) -> None:
        for name in ("header_timeout_s", "body_timeout_s", "linger_s"):
            if not 0 < getattr(self, name) < float("inf"):
                raise ValueError(f"{name}: expected a finite number of seconds above 0, got {getattr(self, name)}")
        if self.max_connections < 1 or self.backlog < 1:
            raise ValueError("max_connections and backlog: expected at least 1")


DEFAULT_LIMITS = ServeLimits()


_BUSY_BODY = b'{"error": "connections: too many open; retry in a second"}'
BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
    b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(_BUSY_BODY), _BUSY_BODY)
)


class _Busy(asyncio.Protocol):
    """A connection over the limit: the answer goes out and the socket closes, nothing is read."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(BUSY)
        transport.close()


class GatedSite(web.BaseSite):
    """A TCP site that serves at most ``max_connections`` connections at a time."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, limits: ServeLimits) -> None:
        super().__init__(runner, backlog=limits.backlog)
        self._host, self._port, self._max = host, port, limits.max_connections
        # Connections accepted whose connection_made has not run yet (asyncio calls it a loop turn later,
        # so the server does not count them): with their accept time, to count them meanwhile.
        self._accepting: list[tuple[web.RequestHandler, float]] = []

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None

        def connection() -> asyncio.Protocol:
            now = loop.time()
            # A second is many loop turns: an entry that old has been counted by the server (or is gone).
            self._accepting = [(p, t) for p, t in self._accepting if p.transport is None and now - t < 1.0]
            if len(server.connections) + len(self._accepting) >= self._max:
                return _Busy()
            handler = server()
            self._accepting.append((handler, now))
            return handler

        self._server = await loop.create_server(connection, self._host, self._port, backlog=self._backlog)
