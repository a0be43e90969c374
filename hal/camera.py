"""Camera interface: snapshots as JPEG for door events and alarms."""

from __future__ import annotations

import abc

from hal.device import AsyncDevice


class Camera(AsyncDevice, abc.ABC):
    name: str = "camera"

    @abc.abstractmethod
    async def snapshot(self) -> bytes:
        """One frame encoded as JPEG."""
