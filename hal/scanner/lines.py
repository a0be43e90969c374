"""What a serial scanner module sends: decoded codes as text lines ended by
CR, LF or CR LF, interleaved with GM65 reply frames (02 00 00 ...) to our
commands."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from hal.errors import ProtocolError
from hal.scanner.gm65 import REPLY_HEADER, crc16_xmodem
from hal.stream_buffer import StreamBuffer

MAX_LINE = 2048
# TAB and GS appear inside real codes (GS is the GS1 field separator).
ALLOWED_CONTROLS = frozenset("\t\x1d")
TERMINATORS = b"\r\n"


@dataclass(frozen=True)
class Reply:
    """A module's reply frame to a command."""

    data: bytes


def decode_line(raw: bytes, *, max_line: int = MAX_LINE, offset: int = 0) -> str:
    """The text of one scanned line (without terminator); ProtocolError if it is
    empty, too long, not UTF-8 or holds control characters."""
    if not raw:
        raise ProtocolError("empty line", offset=offset)
    if len(raw) > max_line:
        raise ProtocolError(f"line of {len(raw)} bytes exceeds {max_line}", offset=offset + max_line, data=raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"line is not UTF-8 ({exc.reason})", offset=offset + exc.start, data=raw) from None
    for index, char in enumerate(text):
        if unicodedata.category(char) == "Cc" and char not in ALLOWED_CONTROLS:
            raise ProtocolError(
                f"control character U+{ord(char):04X} in line", offset=offset + len(text[:index].encode()), data=raw
            )
    return text


class ScannerStreamDecoder(StreamBuffer):
    """Incremental decoder of the module's output.

    ``feed`` bytes, then call ``next_item`` until it returns None; each item is
    a scanned text (str) or a Reply. A bad line or reply frame raises
    ProtocolError after it was dropped, so the caller logs and calls again.
    A line longer than ``max_line`` without terminator is dropped up to its
    terminator, so the buffer stays bounded by ``max_line``.
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        super().__init__()
        self.max_line = max_line
        self._after_cr = False  # a LF right after CR ends the same line
        self._skipping = False  # inside an over-long line

    def _terminator(self) -> int:
        cr, lf = self._buffer.find(b"\r"), self._buffer.find(b"\n")
        return min(cr, lf) if cr >= 0 and lf >= 0 else max(cr, lf)

    def next_item(self) -> str | Reply | None:
        while True:
            if not self._buffer:
                return None
            if self._after_cr and self._buffer[0] == 0x0A:
                self._drop(1)
            self._after_cr = False
            end = self._terminator()
            if self._skipping:
                if end < 0:
                    self._drop(len(self._buffer))
                    return None
                self._end_line(end)
                self._skipping = False
                continue
            if self._buffer[:1] == REPLY_HEADER[:1]:
                head = bytes(self._buffer[: len(REPLY_HEADER)])
                if REPLY_HEADER.startswith(head):
                    return self._reply() if len(head) == len(REPLY_HEADER) else None
            if end < 0:
                if len(self._buffer) > self.max_line:
                    offset = self._offset
                    self._skipping = True
                    raise ProtocolError(
                        f"line longer than {self.max_line} bytes without terminator",
                        offset=offset,
                        data=self._drop(len(self._buffer)),
                    )
                return None
            offset = self._offset
            raw = self._end_line(end)
            if raw:  # blank lines (CR LF, LF LF) carry no code
                return decode_line(raw, max_line=self.max_line, offset=offset)

    def _end_line(self, end: int) -> bytes:
        raw = self._drop(end)
        self._after_cr = self._drop(1) == b"\r"
        return raw

    def _reply(self) -> Reply | None:
        if len(self._buffer) < 4:
            return None
        end = 4 + self._buffer[3] + 2
        if len(self._buffer) < end:
            return None
        offset = self._offset
        frame = self._drop(end)
        body, check = frame[1:-2], frame[-2:]
        if body[2] == 0:
            raise ProtocolError("reply frame without data", offset=offset + 3, data=frame)
        if crc16_xmodem(body).to_bytes(2, "big") != check:
            raise ProtocolError(
                f"reply CRC mismatch: frame says {check.hex()}, computed {crc16_xmodem(body):04x}",
                offset=offset + end - 2,
                data=frame,
            )
        return Reply(body[3:])
