"""Camera interface: snapshots as JPEG for door events and alarms."""

from __future__ import annotations

import abc


class Camera(abc.ABC):
    name: str = "camera"

    async def open(self) -> None:
        """Start the camera; raise DeviceFault if it is not there."""

    async def close(self) -> None:
        """Release the camera."""

    @abc.abstractmethod
    async def snapshot(self) -> bytes:
        """One frame encoded as JPEG."""
