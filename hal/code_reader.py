"""QR / barcode reader interface (camera decoder or serial scanner module)."""

from __future__ import annotations

import abc
from dataclasses import dataclass


@dataclass(frozen=True)
class CodeRead:
    text: str
    symbology: str = "qr"
    source: str = ""  # "camera", "scanner", "sim"


class CodeReader(abc.ABC):
    name: str = "scanner"

    async def open(self) -> None:
        """Start reading; raise DeviceFault if the source is not there."""

    async def close(self) -> None:
        """Stop reading and release the device."""

    @abc.abstractmethod
    async def read(self) -> CodeRead:
        """Wait for the next decoded code."""
