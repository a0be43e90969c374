"""ZhianTec (R30x / ZFM-20 / AS608) packets on the UART (57600 8N1 by default).

    EF 01 · address (4, big-endian) · PID · length (2) · payload · checksum (2)

PID 01 command, 02 data, 07 acknowledgement, 08 last data packet. ``length`` counts
the payload and the checksum; the checksum is the low 16 bits of the sum of PID, the
two length bytes and the payload. A command's payload is its instruction code and
parameters; an acknowledgement's is its confirmation code and results.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hal.errors import ProtocolError
from hal.stream_buffer import StreamBuffer

HEADER = b"\xef\x01"
DEFAULT_ADDRESS = 0xFFFFFFFF
# Data packets carry at most 256 bytes (the module's largest packet size setting).
MAX_PAYLOAD = 256
_PREFIX = 9  # header, address, PID, length


class Pid(enum.IntEnum):
    COMMAND = 0x01
    DATA = 0x02
    ACK = 0x07
    END_DATA = 0x08


@dataclass(frozen=True)
class Packet:
    pid: Pid
    payload: bytes
    address: int = DEFAULT_ADDRESS

    @property
    def code(self) -> int | None:
        """The instruction (command) or confirmation (acknowledgement) code."""
        return self.payload[0] if self.payload else None


def checksum(pid: int, length: int, payload: bytes) -> int:
    return (pid + (length >> 8) + (length & 0xFF) + sum(payload)) & 0xFFFF


def encode_packet(pid: Pid, payload: bytes, address: int = DEFAULT_ADDRESS) -> bytes:
    if not 0 <= address <= 0xFFFFFFFF:
        raise ValueError(f"address {address} does not fit in 4 bytes")
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    if pid in (Pid.COMMAND, Pid.ACK) and not payload:
        raise ValueError("a command or acknowledgement needs its code")
    length = len(payload) + 2
    return (
        HEADER
        + address.to_bytes(4, "big")
        + bytes([pid])
        + length.to_bytes(2, "big")
        + payload
        + checksum(pid, length, payload).to_bytes(2, "big")
    )


class PacketDecoder(StreamBuffer):
    """Incremental decoder: ``feed`` bytes as they arrive, call ``next_packet`` until it
    returns None. Malformed input raises ProtocolError after the offending bytes are
    dropped (only the header when the length cannot be trusted, so a real packet that
    starts inside a bad one is still found); calling again resynchronises on the next
    EF 01. Offsets count bytes since the decoder was created."""

    def next_packet(self) -> Packet | None:
        start = self._buffer.find(HEADER)
        if start < 0:
            keep = 1 if self._buffer.endswith(HEADER[:1]) else 0  # maybe the first half of a header
            self._garbage(len(self._buffer) - keep)
            return None
        self._garbage(start)
        return self._parse()

    def _garbage(self, count: int) -> None:
        if count > 0:
            offset = self._offset
            skipped = self._drop(count)
            raise ProtocolError(f"{len(skipped)} bytes of garbage before a packet header", offset=offset, data=skipped)

    def _bad(self, message: str, end: int = len(HEADER)) -> ProtocolError:
        offset, shown = self._offset, bytes(self._buffer[: max(end, _PREFIX)])
        self._drop(end)
        return ProtocolError(message, offset=offset, data=shown)

    def _parse(self) -> Packet | None:
        buf = self._buffer
        if len(buf) < _PREFIX:
            return None
        pid, length = buf[6], int.from_bytes(buf[7:9], "big")
        if pid not in Pid._value2member_map_:
            raise self._bad(f"unknown packet identifier {pid:02X}")
        if not 2 <= length <= MAX_PAYLOAD + 2:
            raise self._bad(f"packet length {length} outside 2..{MAX_PAYLOAD + 2}")
        end = _PREFIX + length
        if len(buf) < end:
            return None
        payload = bytes(buf[_PREFIX : end - 2])
        if checksum(pid, length, payload) != int.from_bytes(buf[end - 2 : end], "big"):
            raise self._bad("checksum mismatch")
        if pid in (Pid.COMMAND, Pid.ACK) and not payload:
            raise self._bad(f"{Pid(pid).name.lower()} packet without a code", end)
        address = int.from_bytes(buf[2:6], "big")
        self._drop(end)
        return Packet(Pid(pid), payload, address)
