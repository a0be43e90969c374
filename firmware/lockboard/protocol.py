"""Lock board wire protocol, board side (MicroPython).

Frame:  A5 | LEN | SEQ | CMD | PAYLOAD (LEN bytes, 0..32) | CRC16 (big-endian)
CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor;
check value of b"123456789" is 0x29B1) over LEN, SEQ, CMD and PAYLOAD.

The Pi side (hal/lockboard/codec.py) is a separate CPython implementation of
the same layout: this file runs on the board and the runtime never imports
firmware code. tests/lockboard checks both against the same vectors.
"""

START = 0xA5
MAX_PAYLOAD = 32
HEADER = 4  # START, LEN, SEQ, CMD
OVERHEAD = HEADER + 2

# Pi -> board commands; the board answers each with ACK (same SEQ) or NAK.
CMD_UNLOCK = 0x01  # lock u8, ms u16      -> ACK: lock u8, granted ms u16
CMD_LOCK = 0x02  # lock u8              -> ACK: lock u8
CMD_STATUS = 0x03  # -                    -> ACK: status (see encode_status)
CMD_HEARTBEAT = 0x04  # -                    -> ACK: -
# Either direction.
CMD_ACK = 0x80  # payload: the answer to the acknowledged command (reports: none)
CMD_NAK = 0x81  # reason u8
# Board -> Pi unsolicited reports, each with its own board SEQ; the Pi ACKs them.
REPORT_INPUT = 0x90  # input u8, open u8, board ms u32
REPORT_RELAY = 0x91  # relay u8, energized u8, cause u8, board ms u32
REPORT_BOOT = 0x92  # reset cause u8, version 3 x u8, max on ms u16, board ms u32

NAK_BAD_CRC = 1
NAK_BAD_LENGTH = 2
NAK_UNKNOWN_COMMAND = 3
NAK_BAD_INDEX = 4
NAK_BAD_VALUE = 5

# Input numbering in reports and in the status bit field.
INPUT_DOOR0 = 0  # doors 0..3
INPUT_TAMPER = 4
INPUT_POWER = 5
MAX_DOORS = 4
MAX_RELAYS = 4

RELAY_CAUSE_COMMAND = 0
RELAY_CAUSE_EXPIRED = 1
RELAY_CAUSE_HEARTBEAT = 2

RESET_POWER_ON = 0
RESET_WATCHDOG = 1


def crc16(data: bytes, crc: int = 0xFFFF) -> int:
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        crc &= 0xFFFF
    return crc


def encode_frame(seq: int, command: int, payload: bytes = b"") -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    body = bytes([len(payload), seq & 0xFF, command]) + payload
    crc = crc16(body)
    return bytes([START]) + body + bytes([crc >> 8, crc & 0xFF])


def u16(value: int) -> bytes:
    return bytes([(value >> 8) & 0xFF, value & 0xFF])


def u32(value: int) -> bytes:
    return bytes([(value >> 24) & 0xFF, (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF])


class FrameReader:
    """Incremental decoder. ``feed`` bytes, then ``next`` until it returns None.

    ``next`` returns (seq, command, payload) for a good frame, or
    (seq, None, reason) for a frame whose length and CRC framed it but whose
    CRC failed, so the caller can NAK it. Bytes before a start byte and
    impossible lengths are skipped silently; after a bad CRC only the start byte
    is dropped, because a real frame may begin inside the damaged one.
    The buffer never holds more than one maximal frame.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.skipped = 0  # bytes dropped while hunting for a frame

    def feed(self, data: bytes) -> None:
        self._buf.extend(data)

    def clear(self) -> None:
        self._buf = bytearray()

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def _drop(self, count: int) -> None:
        self.skipped += count
        self._buf = self._buf[count:]

    def next(self) -> "tuple[int, int | None, bytes] | None":
        while self._buf:
            start = 0
            while start < len(self._buf) and self._buf[start] != START:
                start += 1
            if start:
                self._drop(start)
                continue
            if len(self._buf) < 2:
                return None
            length = self._buf[1]
            if length > MAX_PAYLOAD:
                self._drop(1)
                continue
            end = OVERHEAD + length
            if len(self._buf) < end:
                return None
            seq, command = self._buf[2], self._buf[3]
            payload = bytes(self._buf[HEADER : HEADER + length])
            received = (self._buf[end - 2] << 8) | self._buf[end - 1]
            if crc16(bytes(self._buf[1 : HEADER + length])) != received:
                self._drop(1)
                return (seq, None, bytes([NAK_BAD_CRC]))
            self._buf = self._buf[end:]
            return (seq, command, payload)
        return None
