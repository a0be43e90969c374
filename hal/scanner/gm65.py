"""GM65-family scanner module command protocol (9600 8N1).

Host -> module: 7E 00 · type · length · address (2 bytes, big-endian) · data ·
CRC-16/XMODEM over type..data (big-endian), or AB CD meaning "no check".
Types: 07 read ``data[0]`` registers, 08 write ``data`` to registers, 09 save
registers to flash. Module -> host: 02 00 00 · length · data · CRC-16/XMODEM
over 00 00 · length · data; a write or save is answered with the data byte 00.
Register 0x0000 bits 1-0 select the trigger mode; writing 01 to 0x0002 is the
command trigger.
"""

from __future__ import annotations

from dataclasses import dataclass

from hal.errors import ProtocolError
from hal.stream_buffer import StreamBuffer

COMMAND_HEADER = b"\x7e\x00"
REPLY_HEADER = b"\x02\x00\x00"
NO_CHECK = b"\xab\xcd"
TYPE_READ, TYPE_WRITE, TYPE_SAVE = 0x07, 0x08, 0x09
COMMAND_TYPES = (TYPE_READ, TYPE_WRITE, TYPE_SAVE)

REG_MODE = 0x0000
MODE_MASK = 0x03
MODE_MANUAL, MODE_COMMAND, MODE_CONTINUOUS, MODE_INDUCTION = 0x00, 0x01, 0x02, 0x03
REG_TRIGGER = 0x0002
REPLY_OK = b"\x00"


def crc16_xmodem(data: bytes) -> int:
    """CRC-16/XMODEM: poly 0x1021, init 0, no reflection, no final XOR."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
        crc &= 0xFFFF
    return crc


@dataclass(frozen=True)
class Command:
    type: int
    address: int
    data: bytes
    checked: bool = True  # False: sent with AB CD instead of a CRC

    def __post_init__(self) -> None:
        if self.type not in COMMAND_TYPES:
            raise ValueError(f"command type must be 07, 08 or 09, not {self.type:02X}")
        if not 0 <= self.address <= 0xFFFF:
            raise ValueError(f"register address {self.address:#x} is not 16 bits")
        if not 1 <= len(self.data) <= 0xFF:
            raise ValueError(f"command data must have 1..255 bytes, not {len(self.data)}")

    def encode(self) -> bytes:
        body = bytes([self.type, len(self.data)]) + self.address.to_bytes(2, "big") + self.data
        check = crc16_xmodem(body).to_bytes(2, "big") if self.checked else NO_CHECK
        return COMMAND_HEADER + body + check


def read_command(address: int, count: int = 1) -> Command:
    return Command(TYPE_READ, address, bytes([count]))


def write_command(address: int, data: bytes) -> Command:
    return Command(TYPE_WRITE, address, data)


def save_command() -> Command:
    return Command(TYPE_SAVE, 0x0000, b"\x00")


# The command-trigger frame as the module's manual prints it, with "no check".
TRIGGER = Command(TYPE_WRITE, REG_TRIGGER, b"\x01", checked=False)


def encode_reply(data: bytes) -> bytes:
    if not 1 <= len(data) <= 0xFF:
        raise ValueError(f"reply data must have 1..255 bytes, not {len(data)}")
    body = b"\x00\x00" + bytes([len(data)]) + data
    return b"\x02" + body + crc16_xmodem(body).to_bytes(2, "big")


class CommandDecoder(StreamBuffer):
    """Incremental decoder of host command frames (the module's side).

    ``feed`` bytes, then call ``next_command`` until it returns None. Garbage
    and bad frames raise ProtocolError after they are dropped; the next call
    resynchronises on the next 7E 00. At most one frame (262 bytes) stays
    buffered once ``next_command`` returned None.
    """

    def next_command(self) -> Command | None:
        buf = self._buffer
        start = buf.find(COMMAND_HEADER)
        if start < 0:
            start = len(buf) - (1 if buf.endswith(b"\x7e") else 0)
        if start > 0:
            offset = self._offset
            raise ProtocolError(
                f"{start} bytes of garbage before a command header", offset=offset, data=self._drop(start)
            )
        if len(buf) < 6:
            return None
        kind, length = buf[2], buf[3]
        if kind not in COMMAND_TYPES:
            offset = self._offset
            raise ProtocolError(f"unknown command type {kind:02X}", offset=offset + 2, data=self._drop(2))
        if length == 0:
            offset = self._offset
            raise ProtocolError("command without data", offset=offset + 3, data=self._drop(2))
        end = 6 + length + 2
        if len(buf) < end:
            return None
        body, check = bytes(buf[2 : end - 2]), bytes(buf[end - 2 : end])
        checked = check != NO_CHECK
        if checked and crc16_xmodem(body).to_bytes(2, "big") != check:
            offset = self._offset
            raise ProtocolError(
                f"CRC mismatch: frame says {check.hex()}, computed {crc16_xmodem(body):04x}",
                offset=offset + end - 2,
                data=self._drop(end),
            )
        self._drop(end)
        return Command(kind, int.from_bytes(body[2:4], "big"), body[4:], checked)
