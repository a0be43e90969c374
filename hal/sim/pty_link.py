"""A pseudo-terminal pair for emulators: the driver opens ``port`` like a real
tty, the emulator reads and writes the other end with the same SerialLink API.
"""
from __future__ import annotations

import asyncio
import os
import pty
import tty


class PtyLink:
    def __init__(self, max_buffer: int = 65536) -> None:
        self._master, self._slave = pty.openpty()
        # Raw at once: a cooked line discipline would echo and translate bytes
        # before the driver had configured the port.
        tty.setraw(self._slave)
        tty.setraw(self._master)
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        self._buffer = bytearray()
        self._data = asyncio.Event()
        self._max_buffer = max_buffer
        self._reading = False

    def start(self) -> None:
        asyncio.get_running_loop().add_reader(self._master, self._on_readable)
        self._reading = True

    def _on_readable(self) -> None:
        try:
            chunk = os.read(self._master, 4096)
        except OSError:          # no driver has the port open right now
            chunk = b""
        if not chunk:
            return
        self._buffer += chunk
        if len(self._buffer) > self._max_buffer:
            del self._buffer[: len(self._buffer) - self._max_buffer]
        self._data.set()

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self._master, view):]
            except BlockingIOError:
                await asyncio.sleep(0.001)

    async def read_some(self, timeout: float | None = None) -> bytes:
        if not self._buffer:
            self._data.clear()
            try:
                await asyncio.wait_for(self._data.wait(), timeout)
            except asyncio.TimeoutError:
                return b""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    def close(self) -> None:
        if self._reading:
            try:
                asyncio.get_running_loop().remove_reader(self._master)
            except RuntimeError:
                pass
            self._reading = False
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
