"""NXP PN532 NFC reader over UART: frame codec, chip commands, transport, reader."""

from hal.pn532.commands import FirmwareVersion, TargetA
from hal.pn532.frames import (
    ACK_FRAME,
    ERROR_FRAME,
    NACK_FRAME,
    CorruptFrame,
    Frame,
    FrameDecoder,
    FrameKind,
    encode_frame,
)
from hal.pn532.reader import Pn532Reader
from hal.pn532.transport import Pn532Transport

__all__ = [
    "ACK_FRAME",
    "ERROR_FRAME",
    "NACK_FRAME",
    "CorruptFrame",
    "FirmwareVersion",
    "Frame",
    "FrameDecoder",
    "FrameKind",
    "Pn532Reader",
    "Pn532Transport",
    "TargetA",
    "encode_frame",
]
