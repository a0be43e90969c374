"""NFC card reader interface (staff cards, order cards)."""

from __future__ import annotations

import abc
from dataclasses import dataclass

from hal.device import AsyncDevice


@dataclass(frozen=True)
class CardRead:
    uid: bytes  # 4, 7 or 10 bytes for ISO14443A
    technology: str = "iso14443a"

    @property
    def uid_hex(self) -> str:
        return self.uid.hex().upper()


class CardReader(AsyncDevice, abc.ABC):
    name: str = "nfc"

    @abc.abstractmethod
    async def read(self) -> CardRead:
        """Wait for the next card presented to the reader."""
