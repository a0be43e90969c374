"""The byte buffer under every incremental protocol decoder: bytes are fed as
they arrive and consumed from the front, and the stream offset of the first
buffered byte is kept so that errors can name where in the stream they were.
"""

from __future__ import annotations


class StreamBuffer:
    def __init__(self, max_buffer: int | None = None) -> None:
        self._buffer = bytearray()
        self._offset = 0  # stream offset of self._buffer[0]
        self._max_buffer = max_buffer  # None: the decoder bounds itself as it parses

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        self._buffer += data
        if self._max_buffer is not None and len(self._buffer) > self._max_buffer:
            self._drop(len(self._buffer) - self._max_buffer)  # a flood loses its oldest bytes

    def clear(self) -> None:
        self._drop(len(self._buffer))

    def _drop(self, count: int) -> bytes:
        dropped = bytes(self._buffer[:count])
        del self._buffer[:count]
        self._offset += count
        return dropped
