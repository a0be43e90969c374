"""ZVT bitmaps (BMPs): the tagged fields inside an APDU's data, and the TLV container (BMP 06).

Every BMP's length is known from its tag: fixed, LLVAR (``Fx Fy`` prefix),
LLLVAR (``Fx Fy Fz``) or a TLV length. That lets a parser skip fields it does
not interpret; a tag it does not know makes the rest of the data unreadable,
so that is a ProtocolError.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hal.errors import ProtocolError
from hal.zvt.bcd import decode_bcd, decode_var_length, encode_bcd, encode_var_length

LLVAR, LLLVAR, TLV = "LLVAR", "LLLVAR", "TLV"

AMOUNT, TLV_CONTAINER, TRACE, RESULT_CODE, TERMINAL_ID, CURRENCY, RECEIPT = (0x04, 0x06, 0x0B, 0x27, 0x29, 0x49, 0x87)

# Tag -> fixed length in bytes, or the variable-length kind (ZVT spec, cross-checked
# with wirelane/ecrterm and Portalum.Zvt).
BMP_LENGTHS: dict[int, int | str] = {
    0x01: 1,
    0x02: 1,
    0x03: 1,
    AMOUNT: 6,
    0x05: 1,
    TLV_CONTAINER: TLV,
    TRACE: 3,
    0x0C: 3,
    0x0D: 2,
    0x0E: 2,
    0x17: 2,
    0x19: 1,
    0x22: LLVAR,
    0x23: LLVAR,
    0x24: LLLVAR,
    RESULT_CODE: 1,
    TERMINAL_ID: 4,
    0x2A: 15,
    0x2D: LLVAR,
    0x2E: LLLVAR,
    0x37: 3,
    0x3A: 2,
    0x3B: 8,
    0x3C: LLLVAR,
    0x3D: 3,
    CURRENCY: 2,
    0x60: LLLVAR,
    0x70: 4,
    0x71: 4,
    0x72: 1,
    0x73: 1,
    0x74: 1,
    0x75: 1,
    RECEIPT: 2,
    0x88: 3,
    0x8A: 1,
    0x8B: LLVAR,
    0x8C: 1,
    0x92: LLLVAR,
    0x9A: LLLVAR,
    0xA0: 1,
    0xA7: LLVAR,
    0xAA: 3,
    0xAF: LLLVAR,
    0xBA: 5,
    0xD0: 1,
    0xD1: LLVAR,
    0xD2: 1,
    0xD3: 1,
    0xE0: 1,
    0xE1: LLVAR,
    0xE2: LLVAR,
    0xE3: LLVAR,
    0xE4: LLVAR,
    0xE5: LLVAR,
    0xE6: LLVAR,
    0xE7: LLVAR,
    0xE8: LLVAR,
    0xE9: 1,
    0xEA: 1,
    0xEB: 8,
    0xF0: 1,
    0xF1: LLVAR,
    0xF2: LLVAR,
    0xF3: LLVAR,
    0xF4: LLVAR,
    0xF5: LLVAR,
    0xF6: LLVAR,
    0xF7: LLVAR,
    0xF8: LLVAR,
    0xF9: 1,
    0xFA: 1,
    0xFB: 1,
    0xFC: 1,
    0xFD: 1,
}
# BMPs decoded into BmpFields attributes; the rest are kept raw in ``others``.
_TYPED = (AMOUNT, TLV_CONTAINER, TRACE, RESULT_CODE, TERMINAL_ID, CURRENCY, RECEIPT)
MAX_TLV_DEPTH = 8  # nesting bound: fuzzed input must not recurse without limit
MAX_TAG_BYTES = 4


@dataclass(frozen=True)
class TlvItem:
    tag: int
    value: bytes  # raw value; for a constructed tag, its encoded children
    children: tuple[TlvItem, ...] = ()

    @property
    def constructed(self) -> bool:
        first = self.tag
        while first > 0xFF:
            first >>= 8
        return bool(first & 0x20)


@dataclass(frozen=True)
class BmpFields:
    """The BMPs of one APDU; numbers in BCD fields are kept as digit strings."""

    amount_cents: int | None = None
    trace_no: str | None = None  # 6 digits
    result_code: int | None = None
    receipt_no: str | None = None  # 4 digits
    terminal_id: str | None = None  # 8 digits
    currency: int | None = None  # ISO 4217 numeric, 978 = EUR
    tlv: tuple[TlvItem, ...] | None = None
    others: dict[int, bytes] = field(default_factory=dict)  # tag -> value without length prefix


# --- TLV ---------------------------------------------------------------------


def _read_tlv_length(data: bytes, pos: int, base: int) -> tuple[int, int]:
    if pos >= len(data):
        raise ProtocolError("TLV length missing", offset=base + pos, data=data)
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    size = first & 0x7F
    if size not in (1, 2):
        raise ProtocolError(f"unsupported TLV length byte {first:02x}", offset=base + pos, data=data)
    if pos + 1 + size > len(data):
        raise ProtocolError("TLV length truncated", offset=base + pos, data=data)
    return int.from_bytes(data[pos + 1 : pos + 1 + size], "big"), pos + 1 + size


def _encode_tlv_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    if length <= 0xFF:
        return bytes([0x81, length])
    if length <= 0xFFFF:
        return bytes([0x82]) + length.to_bytes(2, "big")
    raise ValueError(f"TLV length {length} exceeds 65535")


def _read_tlv_tag(data: bytes, pos: int, base: int) -> tuple[int, int]:
    start = pos
    tag = data[pos]
    pos += 1
    if tag & 0x1F == 0x1F:  # multi-byte tag: continuation bytes have bit 8 set
        while True:
            if pos >= len(data):
                raise ProtocolError("TLV tag truncated", offset=base + start, data=data)
            if pos - start >= MAX_TAG_BYTES:
                raise ProtocolError("TLV tag longer than 4 bytes", offset=base + start, data=data)
            tag = tag << 8 | data[pos]
            pos += 1
            if not data[pos - 1] & 0x80:
                break
    return tag, pos


def parse_tlv_items(data: bytes, base: int = 0, depth: int = 0) -> tuple[TlvItem, ...]:
    """The TLV items in ``data`` (no container length); ``base`` is its offset for errors."""
    if depth > MAX_TLV_DEPTH:
        raise ProtocolError(f"TLV nested deeper than {MAX_TLV_DEPTH} levels", offset=base, data=data)
    items = []
    pos = 0
    while pos < len(data):
        tag, pos = _read_tlv_tag(data, pos, base)
        length, pos = _read_tlv_length(data, pos, base)
        if pos + length > len(data):
            raise ProtocolError(
                f"TLV tag {tag:x} runs {pos + length - len(data)} bytes past its container",
                offset=base + pos,
                data=data,
            )
        value = data[pos : pos + length]
        item = TlvItem(tag, value)
        if item.constructed:
            item = TlvItem(tag, value, parse_tlv_items(value, base + pos, depth + 1))
        items.append(item)
        pos += length
    return tuple(items)


def encode_tlv_items(items: tuple[TlvItem, ...]) -> bytes:
    out = bytearray()
    for item in items:
        out += item.tag.to_bytes(max(1, (item.tag.bit_length() + 7) // 8), "big")
        out += _encode_tlv_length(len(item.value)) + item.value
    return bytes(out)


# --- BMPs --------------------------------------------------------------------


def encode_bmp(tag: int, value: bytes) -> bytes:
    """One BMP: its tag, the length prefix its kind needs, and ``value``."""
    kind = BMP_LENGTHS.get(tag)
    if kind is None:
        raise ValueError(f"unknown BMP {tag:02x}")
    if kind == LLVAR:
        return bytes([tag]) + encode_var_length(len(value), 2) + value
    if kind == LLLVAR:
        return bytes([tag]) + encode_var_length(len(value), 3) + value
    if kind == TLV:
        return bytes([tag]) + _encode_tlv_length(len(value)) + value
    if len(value) != kind:
        raise ValueError(f"BMP {tag:02x} takes {kind} bytes, got {len(value)}")
    return bytes([tag]) + value


def encode_bmps(fields: BmpFields) -> bytes:
    """The BMPs of ``fields``: typed ones first in tag order, then ``others``."""
    out = bytearray()
    if fields.amount_cents is not None:
        out += encode_bmp(AMOUNT, encode_bcd(fields.amount_cents, 6))
    if fields.trace_no is not None:
        out += encode_bmp(TRACE, encode_bcd(fields.trace_no, 3))
    if fields.result_code is not None:
        out += encode_bmp(RESULT_CODE, bytes([fields.result_code]))
    if fields.terminal_id is not None:
        out += encode_bmp(TERMINAL_ID, encode_bcd(fields.terminal_id, 4))
    if fields.currency is not None:
        out += encode_bmp(CURRENCY, encode_bcd(fields.currency, 2))
    if fields.receipt_no is not None:
        out += encode_bmp(RECEIPT, encode_bcd(fields.receipt_no, 2))
    for tag, value in fields.others.items():
        if tag in _TYPED:
            raise ValueError(f"BMP {tag:02x} belongs in its typed field, not in others")
        out += encode_bmp(tag, value)
    if fields.tlv is not None:
        out += encode_bmp(TLV_CONTAINER, encode_tlv_items(fields.tlv))
    return bytes(out)


def parse_bmps(data: bytes, base: int = 0) -> BmpFields:
    """All BMPs in ``data``; ``base`` is the offset of ``data`` in the APDU, for errors."""
    values: dict[int, bytes] = {}
    offsets: dict[int, int] = {}
    tlv: tuple[TlvItem, ...] | None = None
    pos = 0
    while pos < len(data):
        tag = data[pos]
        kind = BMP_LENGTHS.get(tag)
        if kind is None:
            raise ProtocolError(f"unknown BMP {tag:02x}", offset=base + pos, data=data)
        pos += 1
        if kind in (LLVAR, LLLVAR):
            size = 2 if kind == LLVAR else 3
            if pos + size > len(data):
                raise ProtocolError(f"BMP {tag:02x} length prefix truncated", offset=base + pos, data=data)
            length = decode_var_length(data[pos : pos + size], base + pos)
            pos += size
        elif kind == TLV:
            length, pos = _read_tlv_length(data, pos, base)
        else:
            assert isinstance(kind, int)
            length = kind
        if pos + length > len(data):
            raise ProtocolError(
                f"BMP {tag:02x} needs {length} bytes, only {len(data) - pos} left", offset=base + pos, data=data
            )
        value = data[pos : pos + length]
        if tag in values or (tag == TLV_CONTAINER and tlv is not None):
            raise ProtocolError(f"BMP {tag:02x} appears twice", offset=base + pos - 1, data=data)
        if tag == TLV_CONTAINER:
            tlv = parse_tlv_items(value, base + pos)
        else:
            values[tag], offsets[tag] = value, base + pos
        pos += length

    def bcd(tag: int) -> str | None:
        return decode_bcd(values.pop(tag), offsets[tag]) if tag in values else None

    amount = bcd(AMOUNT)
    currency = bcd(CURRENCY)
    result = values.pop(RESULT_CODE, None)
    return BmpFields(
        amount_cents=int(amount) if amount is not None else None,
        trace_no=bcd(TRACE),
        result_code=result[0] if result is not None else None,
        receipt_no=bcd(RECEIPT),
        terminal_id=bcd(TERMINAL_ID),
        currency=int(currency) if currency is not None else None,
        tlv=tlv,
        others=values,
    )
