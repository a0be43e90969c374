"""Bytes a serial line delivered that no one has read yet: bounded (a device that floods us loses its
oldest bytes, never our memory), with a wait for more. The driver's SerialLink and the emulators'
PtyLink both keep their incoming bytes in one."""

from __future__ import annotations

import asyncio


class ByteInbox:
    def __init__(self, max_buffer: int) -> None:
        self._buffer = bytearray()
        self._data = asyncio.Event()
        self._max_buffer = max_buffer

    def __len__(self) -> int:
        return len(self._buffer)

    def put(self, chunk: bytes) -> None:
        self._buffer += chunk
        if len(self._buffer) > self._max_buffer:
            del self._buffer[: len(self._buffer) - self._max_buffer]
        self._data.set()

    def wake(self) -> None:
        """Wake a reader with nothing new (the line closed or failed: it looks again)."""
        self._data.set()

    async def wait(self, timeout: float | None) -> bool:
        """Until bytes are buffered (True) or ``timeout`` passed (False); a wake() ends it early too."""
        if self._buffer:
            return True
        self._data.clear()
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel() that
            # races with arriving bytes, and an emulator's or reader's task would not stop.
            async with asyncio.timeout(timeout):
                await self._data.wait()
        except TimeoutError:
            return False
        return True

    def take(self) -> bytes:
        """Everything buffered, oldest first."""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    def unread(self, data: bytes) -> None:
        """Put bytes back at the front (a parser read past a frame)."""
        self._buffer[:0] = data

    def clear(self) -> None:
        self._buffer.clear()
