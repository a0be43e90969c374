"""Packed BCD and the LLVAR/LLLVAR length prefixes ZVT uses for numbers."""

from __future__ import annotations

from hal.errors import ProtocolError


def encode_bcd(value: int | str, size: int) -> bytes:
    """``value`` as ``size`` bytes of packed BCD, left-padded with zeros."""
    digits = str(value)
    if not digits.isdigit() or not digits.isascii():
        raise ValueError(f"BCD needs decimal digits, got {value!r}")
    if len(digits) > 2 * size:
        raise ValueError(f"{value!r} does not fit in {size} BCD bytes")
    return bytes.fromhex(digits.zfill(2 * size))


def decode_bcd(data: bytes, offset: int = 0) -> str:
    """The digits of packed BCD ``data``; ``offset`` locates it in the message for errors."""
    for index, byte in enumerate(data):
        if byte >> 4 > 9 or byte & 0x0F > 9:
            raise ProtocolError(f"invalid BCD byte {byte:02x}", offset=offset + index, data=data)
    return data.hex()


def decode_var_length(prefix: bytes, offset: int = 0) -> int:
    """Length of an LLVAR (2 bytes) or LLLVAR (3 bytes) field: each byte is ``Fx``, x a digit."""
    length = 0
    for index, byte in enumerate(prefix):
        if byte >> 4 != 0xF or byte & 0x0F > 9:
            raise ProtocolError(f"invalid variable-length prefix byte {byte:02x}", offset=offset + index, data=prefix)
        length = length * 10 + (byte & 0x0F)
    return length


def encode_var_length(length: int, size: int) -> bytes:
    """The ``Fx`` prefix of ``size`` bytes for a field of ``length`` bytes."""
    if not 0 <= length < 10**size:
        raise ValueError(f"length {length} does not fit a {size}-digit prefix")
    return bytes(0xF0 | int(digit) for digit in str(length).zfill(size))
