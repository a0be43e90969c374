"""ZVT transport-layer framing over serial lines.

A frame is ``DLE STX`` · APDU with every DLE doubled · ``DLE ETX`` · CRC, the
CRC being CRC-16/KERMIT over the unstuffed APDU plus the ETX byte, low byte
first. Each frame is answered with a single ACK or NAK byte.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hal.errors import ProtocolError

DLE, STX, ETX = 0x10, 0x02, 0x03

# The largest APDU the length field can announce: 3 header bytes + FF + 2 length bytes + 65535.
MAX_APDU = 6 + 0xFFFF


class Signal(enum.IntEnum):
    """The one-byte answers to a frame."""

    ACK = 0x06
    NAK = 0x15


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc_table()


def crc16_kermit(data: bytes) -> int:
    """CRC-16/KERMIT: polynomial 0x1021 reflected, init 0, no final XOR."""
    crc = 0
    for byte in data:
        crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ byte) & 0xFF]
    return crc


def encode_frame(apdu: bytes) -> bytes:
    """The bytes on the wire for one APDU."""
    crc = crc16_kermit(apdu + bytes([ETX]))
    stuffed = apdu.replace(b"\x10", b"\x10\x10")
    return bytes([DLE, STX]) + stuffed + bytes([DLE, ETX, crc & 0xFF, crc >> 8])


@dataclass(frozen=True)
class Frame:
    apdu: bytes
    end: int  # stream offset just past the frame's last CRC byte


Event = Frame | Signal | ProtocolError


class _State(enum.Enum):
    IDLE = enum.auto()  # between frames: ACK/NAK bytes, DLE STX, or noise
    IDLE_DLE = enum.auto()  # a DLE between frames: STX must follow
    DATA = enum.auto()
    DATA_DLE = enum.auto()  # a DLE inside a frame: DLE, ETX (or STX to restart) must follow
    CRC_LOW = enum.auto()
    CRC_HIGH = enum.auto()


class FrameDecoder:
    """Incremental decoder: feed any bytes, get ACK/NAK signals, frames and errors.

    Bad frames come back as ``ProtocolError`` events rather than being raised,
    so one damaged frame never costs the frames after it; the decoder
    resynchronises on the next ``DLE STX``. It never holds more than
    ``max_apdu`` bytes.
    """

    def __init__(self, max_apdu: int = MAX_APDU) -> None:
        self.max_apdu = max_apdu
        self.discarded = 0  # noise bytes skipped between frames
        self._state = _State.IDLE
        self._apdu = bytearray()
        self._crc_low = 0
        self._position = 0  # stream offset of the next byte fed

    @property
    def buffered(self) -> int:
        return len(self._apdu)

    def reset(self) -> None:
        self._state = _State.IDLE
        self._apdu.clear()

    def feed(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        for byte in data:
            event = self._step(byte)
            if event is not None:
                events.append(event)
            self._position += 1
        return events

    def _fail(self, message: str, offset: int | None = None) -> ProtocolError:
        where = self._position if offset is None else offset
        error = ProtocolError(message, offset=where, data=bytes(self._apdu))
        self.reset()
        return error

    def _step(self, byte: int) -> Event | None:
        state = self._state
        if state is _State.DATA:
            if byte == DLE:
                self._state = _State.DATA_DLE
            elif len(self._apdu) >= self.max_apdu:
                return self._fail(f"frame longer than {self.max_apdu} bytes")
            else:
                self._apdu.append(byte)
        elif state is _State.DATA_DLE:
            if byte == DLE:
                if len(self._apdu) >= self.max_apdu:
                    return self._fail(f"frame longer than {self.max_apdu} bytes")
                self._apdu.append(DLE)
                self._state = _State.DATA
            elif byte == ETX:
                self._state = _State.CRC_LOW
            elif byte == STX:
                # A new frame began before this one ended: report it, keep the new one.
                error = self._fail("frame cut short by DLE STX")
                self._state = _State.DATA
                return error
            else:
                return self._fail(f"DLE followed by {byte:02x} inside a frame")
        elif state is _State.CRC_LOW:
            self._crc_low = byte
            self._state = _State.CRC_HIGH
        elif state is _State.CRC_HIGH:
            received = self._crc_low | byte << 8
            apdu = bytes(self._apdu)
            expected = crc16_kermit(apdu + bytes([ETX]))
            if received != expected:
                return self._fail(
                    f"CRC mismatch: frame says {received:04x}, data gives {expected:04x}", offset=self._position - 1
                )  # the first CRC byte
            self.reset()
            return Frame(apdu, self._position + 1)
        elif state is _State.IDLE_DLE and byte == STX:
            self._state = _State.DATA
        else:
            return self._idle(byte)
        return None

    def _idle(self, byte: int) -> Signal | None:
        if self._state is _State.IDLE_DLE:
            # The DLE was noise; this byte may still be an ACK or the DLE of a real DLE STX.
            self.discarded += 1
            self._state = _State.IDLE
        if byte in (Signal.ACK, Signal.NAK):
            return Signal(byte)
        if byte == DLE:
            self._state = _State.IDLE_DLE
        else:
            self.discarded += 1
        return None


def decode_frame(data: bytes, max_apdu: int = MAX_APDU) -> bytes:
    """The APDU of exactly one complete frame; ProtocolError for anything else."""
    if data[:2] != bytes([DLE, STX]):
        raise ProtocolError("frame does not start with DLE STX", offset=0, data=data)
    decoder = FrameDecoder(max_apdu)
    events = decoder.feed(data)
    for event in events:
        if isinstance(event, ProtocolError):
            raise event
    if not events:
        raise ProtocolError("incomplete frame", offset=len(data), data=data)
    first = events[0]
    assert isinstance(first, Frame)  # data starts with DLE STX, so the first event is a frame
    if first.end != len(data):
        raise ProtocolError("bytes after the end of the frame", offset=first.end, data=data)
    return first.apdu
