"""The cabinet's network link in simulation: a loopback TCP proxy to the cloud
that can be cut and restored, so the uploader meets real connection failures.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


class NetworkSwitch:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.up = True
        self.on_change: Callable[[bool], None] = lambda up: None  # the cable pulled or back: told at once
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self, host: str = "127.0.0.1") -> str:
        self._server = await asyncio.start_server(self._accept, host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        self.on_change = lambda up: None  # the cabinet is going too: nobody to tell
        self.set_up(False)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def set_up(self, up: bool) -> None:
        self.up = up
        log.info("sim network %s", "up" if up else "down")
        self.on_change(up)
        if not up:  # a cable pulled mid-request: every open connection dies
            for writer in list(self._writers):
                writer.transport.abort()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            self._writers -= {writer, up_writer}
            for w in (writer, up_writer):
                w.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        if not writer.transport.is_closing() and writer.can_write_eof():
            writer.write_eof()
