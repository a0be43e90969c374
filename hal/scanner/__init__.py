"""Serial QR/barcode scanner modules (GM65 family): line decoding, command frames, reader."""

from hal.scanner.gm65 import Command, CommandDecoder, crc16_xmodem, encode_reply
from hal.scanner.lines import Reply, ScannerStreamDecoder, decode_line
from hal.scanner.reader import SerialScanner

__all__ = [
    "Command",
    "CommandDecoder",
    "Reply",
    "ScannerStreamDecoder",
    "SerialScanner",
    "crc16_xmodem",
    "decode_line",
    "encode_reply",
]
