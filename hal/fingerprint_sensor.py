"""Fingerprint sensor interface (staff open the cabinet with a finger enrolled on the module).

Templates never leave the module: the cabinet knows a finger only by the slot (page) its
template is stored at; which staff member a slot belongs to is the cloud's configuration.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable
from dataclasses import dataclass

from hal.device import AsyncDevice


@dataclass(frozen=True)
class FingerRead:
    slot: int | None  # the matching template's slot; None: a finger the module does not know
    score: int = 0


class EnrolStep(enum.StrEnum):
    PLACE = "place"  # put the finger on the sensor
    LIFT = "lift"  # the first capture is taken: lift the finger
    PLACE_AGAIN = "place_again"  # the same finger once more


class FingerprintSensor(AsyncDevice, abc.ABC):
    name: str = "fingerprint"

    @abc.abstractmethod
    async def read(self) -> FingerRead:
        """Wait for the next finger placed on the sensor (once per placement)."""

    @abc.abstractmethod
    async def enrol(self, slot: int, on_step: Callable[[EnrolStep], None]) -> None:
        """Capture a finger twice and store its template at ``slot``; reads pause meanwhile.
        Raises FingerprintError (from the module's confirmation code) when it fails."""

    @abc.abstractmethod
    async def delete(self, slot: int) -> None:
        """Delete the template at ``slot`` (no error when the slot is empty)."""

    @abc.abstractmethod
    async def used_slots(self) -> set[int]:
        """The slots that hold a template."""

    @abc.abstractmethod
    async def template_count(self) -> int:
        """How many templates the module holds."""
