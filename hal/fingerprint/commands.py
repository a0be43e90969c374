"""The module's instructions and confirmation codes (ZhianTec ZFM/R30x user manual; the same
codes as adafruit-circuitpython-fingerprint and pyfingerprint), with builders for command
payloads and parsers for acknowledgement payloads."""

from __future__ import annotations

from dataclasses import dataclass

from hal.errors import ProtocolError

GEN_IMG = 0x01  # capture an image of the finger on the sensor
IMG2TZ = 0x02  # image -> character file in buffer 1 or 2
SEARCH = 0x04  # search the library for the character file in a buffer
REG_MODEL = 0x05  # combine buffers 1 and 2 into a template
STORE = 0x06  # store the template at a page (slot)
DELETE_CHAR = 0x0C  # delete N templates from a page on
VFY_PWD = 0x13  # handshake: verify the module's password
HI_SPEED_SEARCH = 0x1B  # the fast search (the same parameters and answer as SEARCH)
TEMPLATE_NUM = 0x1D  # how many templates are stored
READ_INDEX_TABLE = 0x1F  # a bitmap of used pages, 256 per table page

BUFFER_1, BUFFER_2 = 0x01, 0x02
DEFAULT_PASSWORD = 0x00000000
INDEX_TABLE_BYTES = 32

OK = 0x00
NO_FINGER = 0x02
NO_MATCH = 0x08  # Match: the two files differ
NOT_FOUND = 0x09  # Search: no template matches
ENROLL_MISMATCH = 0x0A  # RegModel: the two captures are not of one finger

# What each confirmation code means, for errors a technician reads.
CONFIRMATION: dict[int, str] = {
    0x00: "ok",
    0x01: "error receiving the packet",
    0x02: "no finger on the sensor",
    0x03: "failed to capture the finger's image",
    0x06: "image too messy to extract features",
    0x07: "too few feature points in the image",
    0x08: "finger does not match",
    0x09: "no matching template found",
    0x0A: "the two captures could not be combined (not the same finger)",
    0x0B: "page (slot) number outside the library",
    0x0C: "error reading the template from the library",
    0x0D: "error uploading the template",
    0x0E: "module cannot receive the following data packets",
    0x0F: "error uploading the image",
    0x10: "failed to delete the template",
    0x11: "failed to clear the library",
    0x13: "wrong password",
    0x15: "no valid image in the image buffer",
    0x18: "error writing flash",
    0x1A: "invalid register number",
    0x20: "wrong address",
    0x21: "the password must be verified first",
}


class FingerprintError(ProtocolError):
    """The module answered a command with a confirmation code other than OK."""

    def __init__(self, instruction: int, code: int) -> None:
        meaning = CONFIRMATION.get(code, "unknown confirmation code")
        super().__init__(f"command {instruction:02X} failed: {meaning} (code {code:02X})")
        self.instruction = instruction
        self.code = code


@dataclass(frozen=True)
class Match:
    slot: int  # the page the matching template is stored at
    score: int  # the module's match score (higher: more similar)


def vfy_pwd(password: int = DEFAULT_PASSWORD) -> bytes:
    return bytes([VFY_PWD]) + password.to_bytes(4, "big")


def gen_img() -> bytes:
    return bytes([GEN_IMG])


def img2tz(buffer: int) -> bytes:
    if buffer not in (BUFFER_1, BUFFER_2):
        raise ValueError(f"character buffer must be 1 or 2, not {buffer}")
    return bytes([IMG2TZ, buffer])


def reg_model() -> bytes:
    return bytes([REG_MODEL])


def store(slot: int, buffer: int = BUFFER_1) -> bytes:
    return bytes([STORE, buffer]) + _page(slot)


def search(start: int, count: int, buffer: int = BUFFER_1, *, fast: bool = True) -> bytes:
    return bytes([HI_SPEED_SEARCH if fast else SEARCH, buffer]) + _page(start) + _page(count)


def delete_char(slot: int, count: int = 1) -> bytes:
    return bytes([DELETE_CHAR]) + _page(slot) + _page(count)


def template_num() -> bytes:
    return bytes([TEMPLATE_NUM])


def read_index_table(page: int) -> bytes:
    return bytes([READ_INDEX_TABLE, page])


def _page(value: int) -> bytes:
    if not 0 <= value <= 0xFFFF:
        raise ValueError(f"page {value} outside 0..65535")
    return value.to_bytes(2, "big")


def check(instruction: int, payload: bytes, size: int = 0) -> bytes:
    """The results after an OK confirmation code (``size`` bytes of them); FingerprintError otherwise."""
    if not payload:
        raise ProtocolError(f"empty acknowledgement to command {instruction:02X}")
    if payload[0] != OK:
        raise FingerprintError(instruction, payload[0])
    if len(payload) != 1 + size:
        raise ProtocolError(
            f"acknowledgement to command {instruction:02X} has {len(payload) - 1} result bytes, not {size}",
            data=payload,
        )
    return payload[1:]


def parse_match(payload: bytes) -> Match | None:
    """A Search / HiSpeedSearch answer: the match, or None when no template matches."""
    if payload[:1] == bytes([NOT_FOUND]):
        return None
    results = check(HI_SPEED_SEARCH, payload, 4)
    return Match(slot=int.from_bytes(results[:2], "big"), score=int.from_bytes(results[2:], "big"))


def parse_template_count(payload: bytes) -> int:
    return int.from_bytes(check(TEMPLATE_NUM, payload, 2), "big")


def parse_index_table(payload: bytes, page: int) -> set[int]:
    """The used slots in one index table page (bit i of byte j: slot page*256 + 8*j + i)."""
    bitmap = check(READ_INDEX_TABLE, payload, INDEX_TABLE_BYTES)
    return {page * 256 + 8 * j + i for j, byte in enumerate(bitmap) for i in range(8) if byte >> i & 1}


def index_table_bytes(slots: set[int], page: int) -> bytes:
    """The inverse of parse_index_table (the emulator's answer)."""
    bitmap = bytearray(INDEX_TABLE_BYTES)
    for slot in slots:
        offset = slot - page * 256
        if 0 <= offset < 256:
            bitmap[offset // 8] |= 1 << offset % 8
    return bytes(bitmap)
