"""PN532 host-link frames (HSU/UART, same framing as SPI and I2C).

Normal frame:   00 · 00 FF · LEN · LCS · TFI · data · DCS · 00
Extended frame: 00 · 00 FF · FF FF · LENM LENL · LCS · TFI · data · DCS · 00
ACK  00 00 FF 00 FF 00, NACK 00 00 FF FF 00 00,
application error frame 00 00 FF 01 FF 7F 81 00.

LEN counts TFI and data; LCS makes LEN (or LENM+LENL) sum to zero modulo 256;
DCS makes TFI+data sum to zero modulo 256. TFI is D4 host->chip, D5 chip->host.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hal.errors import ProtocolError
from hal.stream_buffer import StreamBuffer

START = b"\x00\xff"
PREAMBLE = b"\x00"
POSTAMBLE = b"\x00"
HOST_TO_CHIP = 0xD4
CHIP_TO_HOST = 0xD5
ERROR_TFI = 0x7F
ACK_FRAME = bytes.fromhex("0000FF00FF00")
NACK_FRAME = bytes.fromhex("0000FFFF0000")
ERROR_FRAME = bytes.fromhex("0000FF01FF7F8100")
# The chip's buffer holds 264 bytes of TFI+data; longer never comes from a PN532.
MAX_INFO_LENGTH = 265


class FrameKind(enum.Enum):
    ACK = "ack"
    NACK = "nack"
    ERROR = "error"  # application-level syntax error reported by the chip
    INFO = "info"  # a command (D4) or a response (D5)


@dataclass(frozen=True)
class Frame:
    kind: FrameKind
    tfi: int | None = None  # D4 or D5 for INFO frames
    data: bytes = b""  # command/response code followed by its parameters

    @property
    def code(self) -> int | None:
        return self.data[0] if self.data else None


class CorruptFrame(ProtocolError):
    """A start code was found but what followed is not a valid frame (bad
    length, checksum or TFI): the host answers this with a NACK."""


def _checksum(data: bytes | bytearray) -> int:
    return -sum(data) & 0xFF


def encode_frame(tfi: int, data: bytes) -> bytes:
    """An information frame; extended framing when TFI+data exceed 255 bytes."""
    if tfi not in (HOST_TO_CHIP, CHIP_TO_HOST):
        raise ValueError(f"TFI must be D4 or D5, not {tfi:02X}")
    if not data:
        raise ValueError("an information frame needs a command code")
    body = bytes([tfi]) + data
    length = len(body)
    if length > MAX_INFO_LENGTH:
        raise ValueError(f"frame of {length} bytes exceeds the PN532 limit of {MAX_INFO_LENGTH}")
    if length <= 0xFF:
        header = bytes([length, _checksum(bytes([length]))])
    else:
        header = b"\xff\xff" + length.to_bytes(2, "big") + bytes([_checksum(length.to_bytes(2, "big"))])
    return PREAMBLE + START + header + body + bytes([_checksum(body)]) + POSTAMBLE


class FrameDecoder(StreamBuffer):
    """Incremental decoder: ``feed`` bytes as they arrive, then call ``next_frame``
    until it returns None.

    Malformed input raises ProtocolError (CorruptFrame once a start code was
    seen) after the offending bytes are dropped, so the caller can log and call
    again: the decoder resynchronises on the next start code. Zero bytes between
    frames (preambles, postambles, wake-up padding) are not errors. Offsets in
    errors count bytes since the decoder was created. The buffer never holds
    more than one frame's worth of bytes once ``next_frame`` returned None.
    """

    def next_frame(self) -> Frame | None:
        start = self._buffer.find(START)
        if start < 0:
            # Keep a trailing 00: it may be the first half of a start code.
            keep = 1 if self._buffer.endswith(b"\x00") else 0
            self._discard_garbage(len(self._buffer) - keep)
            return None
        self._discard_garbage(start)
        return self._parse_at_start()

    def _discard_garbage(self, count: int) -> None:
        if count <= 0:
            return
        offset = self._offset
        skipped = self._drop(count)
        if skipped.strip(b"\x00"):
            raise ProtocolError(f"{len(skipped)} bytes of garbage before a start code", offset=offset, data=skipped)

    def _corrupt(self, message: str, frame_end: int = len(START)) -> CorruptFrame:
        # Without a trusted length drop only the start code: a real frame may
        # begin inside the bad one. Once LCS vouched for the length, drop it all.
        offset = self._offset
        shown = bytes(self._buffer[: max(frame_end, 8)])
        self._drop(frame_end)
        return CorruptFrame(message, offset=offset, data=shown)

    def _parse_at_start(self) -> Frame | None:
        buf = self._buffer
        if len(buf) < 4:
            return None
        pair = bytes(buf[2:4])
        if pair == b"\x00\xff":
            self._drop(4)
            return Frame(FrameKind.ACK)
        if pair == b"\xff\x00":
            self._drop(4)
            return Frame(FrameKind.NACK)
        if pair == b"\xff\xff":
            if len(buf) < 7:
                return None
            length = int.from_bytes(buf[4:6], "big")
            if (buf[4] + buf[5] + buf[6]) & 0xFF:
                raise self._corrupt("extended length checksum mismatch")
            header = 7
        else:
            length = buf[2]
            if (buf[2] + buf[3]) & 0xFF:
                raise self._corrupt("length checksum mismatch")
            header = 4
        if length == 0:
            raise self._corrupt("information frame with length 0")
        if length > MAX_INFO_LENGTH:
            raise self._corrupt(f"frame length {length} exceeds {MAX_INFO_LENGTH}")
        end = header + length + 1  # through DCS
        if len(buf) < end:
            return None
        body = bytes(buf[header : end - 1])
        if (sum(body) + buf[end - 1]) & 0xFF:
            raise self._corrupt("data checksum mismatch", end)
        tfi, data = body[0], body[1:]
        if tfi == ERROR_TFI and not data:
            self._drop(end)
            return Frame(FrameKind.ERROR)
        if tfi not in (HOST_TO_CHIP, CHIP_TO_HOST):
            raise self._corrupt(f"unknown frame identifier {tfi:02X}", end)
        if not data:
            raise self._corrupt("information frame without a command code", end)
        self._drop(end)
        return Frame(FrameKind.INFO, tfi, data)
