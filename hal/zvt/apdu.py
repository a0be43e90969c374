"""ZVT application layer: APDUs (CLASS, INSTR, LEN, data) and the commands the cabinet uses."""

from __future__ import annotations

from dataclasses import dataclass

from hal.errors import ProtocolError
from hal.zvt.bcd import decode_bcd, decode_var_length, encode_bcd
from hal.zvt.bmp import AMOUNT, CURRENCY, RECEIPT, BmpFields, encode_bmp, parse_bmps

# (CLASS, INSTR) of the messages the cabinet sends or expects.
REGISTRATION = (0x06, 0x00)
AUTHORIZATION = (0x06, 0x01)
COMPLETION = (0x06, 0x0F)
ABORT = (0x06, 0x1E)
REVERSAL = (0x06, 0x30)
REPEAT_RECEIPT = (0x06, 0x20)
ECR_ABORT = (0x06, 0xB0)
PRINT_LINE = (0x06, 0xD1)
PRINT_TEXT_BLOCK = (0x06, 0xD3)
STATUS_INFORMATION = (0x04, 0x0F)
INTERMEDIATE_STATUS = (0x04, 0xFF)
STATUS_ENQUIRY = (0x05, 0x01)
ACKNOWLEDGE = (0x80, 0x00)
NEGATIVE_CLASS = 0x84  # 84 xx: the command was refused, xx says why

# Result codes (BMP 27 / abort / 84 xx) the cabinet acts on; the rest are passed through.
RESULT_APPROVED = 0x00
RESULT_ABORTED = 0x6C  # aborted via time-out or abort key
RESULT_WRONG_CURRENCY = 0x6F
RESULT_FUNCTION_NOT_POSSIBLE = 0x83
RESULT_PROTOCOL_ERROR = 0x9A
RESULT_BUSY = 0x9C
RESULT_ALREADY_REVERSED = 0xB4
RESULT_REVERSAL_NOT_POSSIBLE = 0xB5

# Repeat Receipt (06 20) service byte (BMP 03) bits: send the status information of the original
# transaction, and print nothing (neither on the terminal nor as print lines to the ECR).
SERVICE_BYTE = 0x03
REPEAT_STATUS_INFORMATION = 0x01
REPEAT_NO_PRINT = 0x02

# The ECR's config byte bits in registration.
CONFIG_INTERMEDIATE_STATUS = 0x08
CONFIG_ECR_CONTROLS_PAYMENT = 0x10
CONFIG_ECR_CONTROLS_ADMIN = 0x20

# ISO 4217 numeric codes of currencies a cabinet may be configured for.
CURRENCY_CODES = {
    "EUR": 978,
    "CHF": 756,
    "GBP": 826,
    "USD": 840,
    "CNY": 156,
    "SEK": 752,
    "DKK": 208,
    "NOK": 578,
    "PLN": 985,
    "CZK": 203,
}


def currency_code(currency: str) -> int:
    """The ISO 4217 numeric code of ``currency`` (its letters, as a cabinet is configured)."""
    if currency not in CURRENCY_CODES:
        raise ValueError(f"unsupported currency {currency!r}; known: {', '.join(CURRENCY_CODES)}")
    return CURRENCY_CODES[currency]


@dataclass(frozen=True)
class Apdu:
    cls: int
    instr: int
    data: bytes = b""

    @property
    def command(self) -> tuple[int, int]:
        return self.cls, self.instr

    def encode(self) -> bytes:
        size = len(self.data)
        if size < 0xFF:
            length = bytes([size])
        elif size <= 0xFFFF:
            length = b"\xff" + size.to_bytes(2, "little")
        else:
            raise ValueError(f"APDU data of {size} bytes exceeds 65535")
        return bytes([self.cls, self.instr]) + length + self.data

    @property
    def data_offset(self) -> int:
        """Offset of ``data`` inside the encoded APDU."""
        return 3 if len(self.data) < 0xFF else 5

    def __str__(self) -> str:
        return self.encode().hex(" ")


def parse_apdu(raw: bytes) -> Apdu:
    """One APDU whose length field must match the bytes that carry it."""
    if len(raw) < 3:
        raise ProtocolError(f"APDU of {len(raw)} bytes is shorter than its 3-byte header", offset=len(raw), data=raw)
    start = 3
    size = raw[2]
    if size == 0xFF:
        if len(raw) < 5:
            raise ProtocolError("extended length field truncated", offset=len(raw), data=raw)
        size = int.from_bytes(raw[3:5], "little")
        start = 5
    if len(raw) - start != size:
        raise ProtocolError(f"length field says {size} data bytes, APDU carries {len(raw) - start}", offset=2, data=raw)
    return Apdu(raw[0], raw[1], raw[start:])


# --- commands the ECR sends ------------------------------------------------------


def acknowledge() -> Apdu:
    return Apdu(*ACKNOWLEDGE)


def negative(result_code: int) -> Apdu:
    return Apdu(NEGATIVE_CLASS, result_code)


def registration(password: str, config_byte: int, currency: int) -> Apdu:
    return Apdu(*REGISTRATION, encode_bcd(password, 3) + bytes([config_byte]) + encode_bcd(currency, 2))


def authorization(amount_cents: int, currency: int) -> Apdu:
    return Apdu(
        *AUTHORIZATION, encode_bmp(AMOUNT, encode_bcd(amount_cents, 6)) + encode_bmp(CURRENCY, encode_bcd(currency, 2))
    )


def reversal(password: str, receipt_no: str) -> Apdu:
    return Apdu(*REVERSAL, encode_bcd(password, 3) + encode_bmp(RECEIPT, encode_bcd(receipt_no, 2)))


def repeat_receipt(password: str) -> Apdu:
    """06 20 asking for the last transaction's status information, with nothing printed."""
    return Apdu(
        *REPEAT_RECEIPT,
        encode_bcd(password, 3) + encode_bmp(SERVICE_BYTE, bytes([REPEAT_STATUS_INFORMATION | REPEAT_NO_PRINT])),
    )


def ecr_abort() -> Apdu:
    return Apdu(*ECR_ABORT)


def status_enquiry(password: str) -> Apdu:
    return Apdu(*STATUS_ENQUIRY, encode_bcd(password, 3))


# --- reading the data of specific messages ---------------------------------------


@dataclass(frozen=True)
class PasswordCommand:
    """Registration, reversal, repeat receipt and status enquiry start with a 3-byte BCD password."""

    password: str
    rest: bytes
    rest_offset: int


def split_password(apdu: Apdu) -> PasswordCommand:
    if len(apdu.data) < 3:
        raise ProtocolError(
            f"{apdu.cls:02x} {apdu.instr:02x} needs a 3-byte password", offset=apdu.data_offset, data=apdu.data
        )
    return PasswordCommand(decode_bcd(apdu.data[:3], apdu.data_offset), apdu.data[3:], apdu.data_offset + 3)


def command_bmps(apdu: Apdu, skip: int = 0) -> BmpFields:
    """The BMPs of ``apdu`` after ``skip`` leading fixed bytes."""
    return parse_bmps(apdu.data[skip:], apdu.data_offset + skip)


def intermediate_status_code(apdu: Apdu) -> int:
    """04 FF: the status byte, optionally followed by a timeout byte and a TLV container."""
    if not apdu.data:
        raise ProtocolError("intermediate status without a status byte", offset=3, data=apdu.encode())
    return apdu.data[0]


def abort_result_code(apdu: Apdu) -> int:
    """06 1E: the result code byte, optionally followed by a TLV container."""
    if not apdu.data:
        raise ProtocolError("abort without a result code", offset=3, data=apdu.encode())
    return apdu.data[0]


def completion_terminal_status(apdu: Apdu) -> tuple[str | None, int | None]:
    """06 0F after a status enquiry: optional software version (LLLVAR) and terminal status byte."""
    data, pos = apdu.data, 0
    version = None
    if len(data) >= 3 and all(byte >> 4 == 0xF for byte in data[:3]):
        length = decode_var_length(data[:3], apdu.data_offset)
        if 3 + length > len(data):
            raise ProtocolError("software version runs past the completion", offset=apdu.data_offset, data=data)
        version = data[3 : 3 + length].decode("latin-1")
        pos = 3 + length
    status = data[pos] if pos < len(data) else None
    return version, status
