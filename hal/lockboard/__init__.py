"""The optional lock controller board (a Pico running firmware/lockboard): codec, link, backends."""

from hal.lockboard.backend import LockBoardDoorSensor, LockBoardLock
from hal.lockboard.codec import (
    BoardStatus,
    BootReport,
    Command,
    Frame,
    FrameDecoder,
    InputReport,
    NakReason,
    RelayCause,
    RelayReport,
    Report,
    ResetCause,
    encode_frame,
)
from hal.lockboard.link import BAUDRATE, CommandRejected, LockBoardLink

__all__ = [
    "BAUDRATE",
    "BoardStatus",
    "BootReport",
    "Command",
    "CommandRejected",
    "Frame",
    "FrameDecoder",
    "InputReport",
    "LockBoardDoorSensor",
    "LockBoardLink",
    "LockBoardLock",
    "NakReason",
    "RelayCause",
    "RelayReport",
    "Report",
    "ResetCause",
    "encode_frame",
]
