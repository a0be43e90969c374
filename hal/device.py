"""What every device interface has: a name for its faults, a way to start and to stop it, use as an
async context manager (``async with device:`` opens it and closes it whatever happens), and a repr
that says what it is, where it is attached and its state, e.g. ``<ZvtTerminal payment on /dev/ttyUSB0:
connected>``.

Two lifecycles: a device on a port or a bus (``AsyncDevice``: terminal, readers, camera, lock board
link) opens and closes with I/O, so ``open``/``close`` are coroutines; a device on GPIO pins
(``PinDevice``: lock, door and tamper contacts) starts reporting on an event loop (``start(loop)``) and
closes at once, also at interpreter exit, so ``close`` is a plain call.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self


class Device:
    name: str = "device"

    @property
    def where(self) -> str:
        """The port, pin or service the device is attached to."""
        return "-"

    @property
    def state(self) -> str:
        """A word or two for logs and the technician: open, closed, energized, ..."""
        return "unknown"

    def identity(self) -> str | None:
        """What the device said about itself when opened (a terminal id, a firmware version), if anything."""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} on {self.where}: {self.state}>"


class AsyncDevice(Device):
    async def open(self) -> None:
        """Connect and configure the device; raise DeviceFault if it is not there."""

    async def close(self) -> None:
        """Release the device; safe to call when it was never opened, or twice."""

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.close()


class PinDevice(Device):
    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Begin reporting on ``loop`` (pin callbacks may come from another thread)."""

    def close(self) -> None:
        """Release the pins; safe to call twice."""

    async def __aenter__(self) -> Self:
        self.start(asyncio.get_running_loop())
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
