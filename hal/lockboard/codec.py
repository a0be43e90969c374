"""Lock board wire protocol, Pi side: frames, CRC, payloads.

Frame:  A5 | LEN | SEQ | CMD | PAYLOAD (LEN bytes, 0..32) | CRC16 big-endian
CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, not reflected, no final xor;
check value 0x29B1) over LEN, SEQ, CMD and PAYLOAD. Multi-byte integers are
big-endian. The board's own implementation is firmware/lockboard/protocol.py
(MicroPython, never imported here); tests hold both to the same vectors.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hal.errors import ProtocolError
from hal.stream_buffer import StreamBuffer

START = 0xA5
MAX_PAYLOAD = 32
HEADER = 4
FRAME_OVERHEAD = HEADER + 2
MAX_FRAME = FRAME_OVERHEAD + MAX_PAYLOAD


class Command(enum.IntEnum):
    UNLOCK = 0x01
    LOCK = 0x02
    STATUS = 0x03
    HEARTBEAT = 0x04
    ACK = 0x80
    NAK = 0x81
    REPORT_INPUT = 0x90
    REPORT_RELAY = 0x91
    REPORT_BOOT = 0x92


REPORTS = frozenset({Command.REPORT_INPUT, Command.REPORT_RELAY, Command.REPORT_BOOT})


class NakReason(enum.IntEnum):
    BAD_CRC = 1
    BAD_LENGTH = 2
    UNKNOWN_COMMAND = 3
    BAD_INDEX = 4
    BAD_VALUE = 5


class RelayCause(enum.IntEnum):
    COMMAND = 0
    EXPIRED = 1
    HEARTBEAT = 2


class ResetCause(enum.IntEnum):
    POWER_ON = 0
    WATCHDOG = 1


INPUT_TAMPER = 4
INPUT_POWER = 5
MAX_DOORS = 4


def input_name(number: int) -> str:
    """door0..door3, tamper, power: the names the emulator and logs use."""
    if 0 <= number < MAX_DOORS:
        return f"door{number}"
    if number == INPUT_TAMPER:
        return "tamper"
    if number == INPUT_POWER:
        return "power"
    raise ValueError(f"no lock board input {number}")


def input_number(name: str) -> int:
    inputs: tuple[int, ...] = (*range(MAX_DOORS), INPUT_TAMPER, INPUT_POWER)  # mypy reads *range() as Any
    for number in inputs:
        if input_name(number) == name:
            return number
    raise ValueError(f"no lock board input {name!r} (expected door0..door3, tamper or power)")


def crc16_ccitt_false(data: bytes, crc: int = 0xFFFF) -> int:
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        crc &= 0xFFFF
    return crc


@dataclass(frozen=True)
class Frame:
    seq: int
    command: int
    payload: bytes = b""


def encode_frame(seq: int, command: int, payload: bytes = b"") -> bytes:
    if not 0 <= seq <= 0xFF:
        raise ValueError(f"sequence number must be 0..255, not {seq}")
    if not 0 <= command <= 0xFF:
        raise ValueError(f"command must be 0..255, not {command}")
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds the {MAX_PAYLOAD}-byte limit")
    body = bytes([len(payload), seq, command]) + payload
    return bytes([START]) + body + crc16_ccitt_false(body).to_bytes(2, "big")


class BadCrc(ProtocolError):
    """A frame whose CRC failed; ``seq`` is its sequence byte as received (may be damaged too)."""

    def __init__(self, message: str, *, seq: int, offset: int, data: bytes) -> None:
        super().__init__(message, offset=offset, data=data)
        self.seq = seq


class FrameDecoder(StreamBuffer):
    """Incremental decoder: ``feed`` bytes, call ``next_frame`` until it returns None.

    Malformed input raises ProtocolError after the offending bytes are dropped,
    so the caller logs and calls again; the decoder resynchronises on the next
    start byte. Without a trusted frame only the start byte is dropped: a real
    frame may begin inside a damaged one. Offsets count bytes since creation.
    The buffer is bounded: at most ``max_buffer`` bytes are kept, oldest dropped.
    """

    def __init__(self, max_buffer: int = 4 * MAX_FRAME) -> None:
        if max_buffer < MAX_FRAME:
            raise ValueError(f"max_buffer must hold one frame ({MAX_FRAME} bytes)")
        super().__init__(max_buffer)

    def next_frame(self) -> Frame | None:
        buf = self._buffer
        start = buf.find(START)
        if start != 0:
            offset, skipped = self._offset, self._drop(len(buf) if start < 0 else start)
            if skipped:
                raise ProtocolError(f"{len(skipped)} bytes before a start byte", offset=offset, data=skipped)
            return None
        if len(buf) < 2:
            return None
        length = buf[1]
        if length > MAX_PAYLOAD:
            offset, shown = self._offset, self._drop(1) + bytes(buf[:1])
            raise ProtocolError(f"length {length} exceeds {MAX_PAYLOAD}", offset=offset + 1, data=shown)
        end = FRAME_OVERHEAD + length
        if len(buf) < end:
            return None
        body = bytes(buf[1 : end - 2])
        received = int.from_bytes(buf[end - 2 : end], "big")
        computed = crc16_ccitt_false(body)
        if computed != received:
            offset, shown, seq = self._offset, bytes(buf[:end]), buf[2]
            self._drop(1)
            raise BadCrc(f"CRC {received:04X} does not match {computed:04X}", seq=seq, offset=offset, data=shown)
        self._drop(end)
        return Frame(seq=body[1], command=body[2], payload=body[3:])


# -- payloads -------------------------------------------------------------------


def unlock_payload(lock: int, ms: int) -> bytes:
    if not 0 <= lock <= 0xFF:
        raise ValueError(f"lock index must be 0..255, not {lock}")
    if not 1 <= ms <= 0xFFFF:
        raise ValueError(f"unlock time must be 1..65535 ms, not {ms}")
    return bytes([lock]) + ms.to_bytes(2, "big")


def _expect_length(payload: bytes, length: int, what: str) -> None:
    if len(payload) != length:
        raise ProtocolError(f"{what} has {len(payload)} bytes, expected {length}", data=payload)


def parse_unlock_ack(payload: bytes) -> tuple[int, int]:
    """(lock, granted ms)."""
    _expect_length(payload, 3, "UNLOCK acknowledgement")
    return payload[0], int.from_bytes(payload[1:3], "big")


@dataclass(frozen=True)
class BoardStatus:
    relay_count: int
    relays: tuple[bool, ...]  # energized, by relay index
    door_count: int
    inputs: dict[str, bool]  # contact open, by input name
    uptime_ms: int
    version: tuple[int, int, int]
    max_on_ms: int
    heartbeat_timeout_ms: int

    @classmethod
    def from_payload(cls, payload: bytes) -> BoardStatus:
        _expect_length(payload, 15, "status")
        relay_count, relay_bits, door_count, input_bits = payload[0:4]
        if not 1 <= relay_count <= 4 or door_count > MAX_DOORS:
            raise ProtocolError(f"status claims {relay_count} relays and {door_count} doors", data=payload)
        names = [input_name(n) for n in range(door_count)] + ["tamper", "power"]
        return cls(
            relay_count=relay_count,
            relays=tuple(bool(relay_bits >> i & 1) for i in range(relay_count)),
            door_count=door_count,
            inputs={name: bool(input_bits >> input_number(name) & 1) for name in names},
            uptime_ms=int.from_bytes(payload[4:8], "big"),
            version=(payload[8], payload[9], payload[10]),
            max_on_ms=int.from_bytes(payload[11:13], "big"),
            heartbeat_timeout_ms=int.from_bytes(payload[13:15], "big"),
        )


@dataclass(frozen=True)
class InputReport:
    input: str  # door0..door3, tamper, power
    open: bool  # contact open (door open, lid open, mains lost)
    board_ms: int  # board uptime when the debounced change happened


@dataclass(frozen=True)
class RelayReport:
    relay: int
    energized: bool
    cause: RelayCause
    board_ms: int


@dataclass(frozen=True)
class BootReport:
    reset_cause: ResetCause
    version: tuple[int, int, int]
    max_on_ms: int
    board_ms: int


Report = InputReport | RelayReport | BootReport


def parse_report(frame: Frame) -> Report:
    """An unsolicited report frame's payload as a record; ProtocolError if malformed."""
    p = frame.payload
    try:
        if frame.command == Command.REPORT_INPUT:
            _expect_length(p, 6, "input report")
            return InputReport(input_name(p[0]), bool(p[1]), int.from_bytes(p[2:6], "big"))
        if frame.command == Command.REPORT_RELAY:
            _expect_length(p, 7, "relay report")
            return RelayReport(p[0], bool(p[1]), RelayCause(p[2]), int.from_bytes(p[3:7], "big"))
        if frame.command == Command.REPORT_BOOT:
            _expect_length(p, 10, "boot report")
            return BootReport(
                ResetCause(p[0]), (p[1], p[2], p[3]), int.from_bytes(p[4:6], "big"), int.from_bytes(p[6:10], "big")
            )
    except ValueError as exc:  # unknown input number or enum value
        raise ProtocolError(f"report {frame.command:02X}: {exc}", data=p) from exc
    raise ProtocolError(f"command {frame.command:02X} is not a report", data=p)
