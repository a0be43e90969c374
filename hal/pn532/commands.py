"""PN532 chip commands used by the cabinet: builders for the host side and
parsers for the chip's answers (and the reverse, for the emulator).

A command is its code followed by parameters; the chip answers with code+1.
"""

from __future__ import annotations

from dataclasses import dataclass

from hal.errors import ProtocolError

GET_FIRMWARE_VERSION = 0x02
SAM_CONFIGURATION = 0x14
RF_CONFIGURATION = 0x32
IN_LIST_PASSIVE_TARGET = 0x4A

# HSU wake-up: the chip leaves power-down on 0x55 and needs a long preamble of
# zeros before it listens to a frame (PN532 user manual, HSU wake-up condition).
WAKE_UP = b"\x55\x55" + bytes(14)

SAM_NORMAL_MODE = 0x01
RF_ITEM_MAX_RETRIES = 0x05
BAUD_106_TYPE_A = 0x00
UID_LENGTHS = (4, 7, 10)


def sam_configuration(timeout_50ms: int = 0x14, use_irq: bool = True) -> bytes:
    """Normal mode (no SAM); the timeout only matters in virtual-card mode."""
    return bytes([SAM_CONFIGURATION, SAM_NORMAL_MODE, timeout_50ms, int(use_irq)])


def get_firmware_version() -> bytes:
    return bytes([GET_FIRMWARE_VERSION])


def rf_max_retries(passive_activation: int, atr: int = 0xFF, psl: int = 0x01) -> bytes:
    """MxRtyPassiveActivation 0xFF means InListPassiveTarget waits for a card
    forever; a small number makes it answer "no target" so the host can poll."""
    for name, value in (("passive_activation", passive_activation), ("atr", atr), ("psl", psl)):
        if not 0 <= value <= 0xFF:
            raise ValueError(f"{name} retries must be 0..255, not {value}")
    return bytes([RF_CONFIGURATION, RF_ITEM_MAX_RETRIES, atr, psl, passive_activation])


def in_list_passive_target(max_targets: int = 1) -> bytes:
    """Look for ISO14443A targets at 106 kbps."""
    if max_targets not in (1, 2):
        raise ValueError(f"the PN532 lists 1 or 2 targets, not {max_targets}")
    return bytes([IN_LIST_PASSIVE_TARGET, max_targets, BAUD_106_TYPE_A])


@dataclass(frozen=True)
class FirmwareVersion:
    ic: int  # 0x32 for a PN532
    version: int
    revision: int
    support: int  # bit 0 ISO14443A, bit 1 ISO14443B, bit 2 ISO18092

    @property
    def is_pn532(self) -> bool:
        return self.ic == 0x32

    def to_response(self) -> bytes:
        return bytes([GET_FIRMWARE_VERSION + 1, self.ic, self.version, self.revision, self.support])

    def __str__(self) -> str:
        return f"PN5{self.ic:02X} v{self.version}.{self.revision}"


@dataclass(frozen=True)
class TargetA:
    """An ISO14443A card found by InListPassiveTarget."""

    uid: bytes
    sens_res: bytes = b"\x00\x04"  # ATQA
    sel_res: int = 0x08  # SAK; bit 0x20 = ISO14443-4, an ATS follows
    ats: bytes = b""  # including its length byte TL
    number: int = 1  # the chip's logical target number

    def __post_init__(self) -> None:
        if len(self.uid) not in UID_LENGTHS:
            raise ValueError(f"ISO14443A UIDs have 4, 7 or 10 bytes, not {len(self.uid)}")
        if len(self.sens_res) != 2:
            raise ValueError("SENS_RES has 2 bytes")
        if bool(self.ats) != bool(self.sel_res & 0x20):
            raise ValueError("an ATS is present exactly when SEL_RES has bit 0x20")
        if self.ats and self.ats[0] != len(self.ats):
            raise ValueError("the ATS starts with its own length")

    def to_bytes(self) -> bytes:
        return bytes([self.number]) + self.sens_res + bytes([self.sel_res, len(self.uid)]) + self.uid + self.ats


def _expect(data: bytes, command: int) -> None:
    if not data or data[0] != command + 1:
        got = f"{data[0]:02X}" if data else "nothing"
        raise ProtocolError(f"expected response {command + 1:02X}, got {got}", offset=0, data=data)


def expect_status_only(data: bytes, command: int) -> None:
    """Commands whose response is the bare response code (SAMConfiguration, RFConfiguration)."""
    _expect(data, command)
    if len(data) != 1:
        raise ProtocolError(f"response {data[0]:02X} has {len(data) - 1} unexpected bytes", offset=1, data=data)


def parse_firmware_version(data: bytes) -> FirmwareVersion:
    _expect(data, GET_FIRMWARE_VERSION)
    if len(data) != 5:
        raise ProtocolError(f"firmware version response has {len(data)} bytes, expected 5", offset=len(data), data=data)
    return FirmwareVersion(*data[1:5])


def parse_in_list_passive_target(data: bytes) -> list[TargetA]:
    """Targets in an InListPassiveTarget response (106 kbps type A)."""
    _expect(data, IN_LIST_PASSIVE_TARGET)
    if len(data) < 2:
        raise ProtocolError("InListPassiveTarget response without target count", offset=1, data=data)
    count, pos, targets = data[1], 2, []
    if count > 2:
        raise ProtocolError(f"{count} targets listed, the PN532 lists at most 2", offset=1, data=data)
    for _ in range(count):
        if len(data) < pos + 5:
            raise ProtocolError("target data truncated", offset=len(data), data=data)
        number, sens_res, sel_res, uid_length = data[pos], data[pos + 1 : pos + 3], data[pos + 3], data[pos + 4]
        if uid_length not in UID_LENGTHS:
            raise ProtocolError(f"UID length {uid_length} is not 4, 7 or 10", offset=pos + 4, data=data)
        uid_end = pos + 5 + uid_length
        if len(data) < uid_end:
            raise ProtocolError("UID truncated", offset=len(data), data=data)
        ats = b""
        if sel_res & 0x20:
            if len(data) <= uid_end or data[uid_end] < 1 or len(data) < uid_end + data[uid_end]:
                raise ProtocolError("ATS missing or truncated", offset=uid_end, data=data)
            ats = data[uid_end : uid_end + data[uid_end]]
        targets.append(TargetA(uid=data[pos + 5 : uid_end], sens_res=sens_res, sel_res=sel_res, ats=ats, number=number))
        pos = uid_end + len(ats)
    if pos != len(data):
        raise ProtocolError(f"{len(data) - pos} unexpected bytes after the targets", offset=pos, data=data)
    return targets
