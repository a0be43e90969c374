"""QR / barcode reader interface (camera decoder or serial scanner module)."""

from __future__ import annotations

import abc
from dataclasses import dataclass

from hal.device import AsyncDevice


@dataclass(frozen=True)
class CodeRead:
    text: str
    symbology: str = "qr"
    source: str = ""  # "camera", "scanner", "sim"


class CodeReader(AsyncDevice, abc.ABC):
    name: str = "scanner"

    @abc.abstractmethod
    async def read(self) -> CodeRead:
        """Wait for the next decoded code."""
