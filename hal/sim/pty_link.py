"""A pseudo-terminal pair for emulators: the driver opens ``port`` like a real
tty, the emulator reads and writes the other end with the same SerialLink API.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import tempfile
import tty
from typing import Self

from hal.byte_inbox import ByteInbox
from hal.tasks import cancel_and_wait


class PtyLink:
    def __init__(self, max_buffer: int = 65536) -> None:
        self._master, self._slave = pty.openpty()
        # Raw at once: a cooked line discipline would echo and translate bytes
        # before the driver had configured the port.
        tty.setraw(self._slave)
        tty.setraw(self._master)
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        self._inbox = ByteInbox(max_buffer)
        self._reading = False

    def start(self) -> None:
        asyncio.get_running_loop().add_reader(self._master, self._on_readable)
        self._reading = True

    def _on_readable(self) -> None:
        try:
            chunk = os.read(self._master, 4096)
        except OSError:  # no driver has the port open right now
            chunk = b""
        if chunk:
            self._inbox.put(chunk)

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self._master, view) :]
            except BlockingIOError:
                await asyncio.sleep(0.001)

    async def read_some(self, timeout: float | None = None) -> bytes:
        return self._inbox.take() if await self._inbox.wait(timeout) else b""

    def close(self) -> None:
        if self._reading:
            try:
                asyncio.get_running_loop().remove_reader(self._master)
            except RuntimeError:
                pass
            self._reading = False
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass


class PluggablePty:
    """A PTY behind a stable path (a symlink, as udev makes /dev/serial/by-id/...)
    that can be unplugged and plugged back: unplugging closes the PTY, so a
    driver holding it sees the port vanish, and removes the path, so opening it
    fails until it is plugged back."""

    def __init__(self, name: str) -> None:
        self._dir = tempfile.mkdtemp(prefix=f"{name}-")
        self.port = os.path.join(self._dir, name)
        self.link: PtyLink | None = None

    def plug(self) -> PtyLink:
        if self.link is None:
            link = PtyLink()
            link.start()
            staging = self.port + ".new"
            os.symlink(link.port, staging)
            os.replace(staging, self.port)
            self.link = link
        return self.link

    def unplug(self) -> None:
        if self.link is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.port)
        self.link.close()
        self.link = None

    def close(self) -> None:
        self.unplug()
        with contextlib.suppress(OSError):
            os.rmdir(self._dir)


class PtyEmulator:
    """Base of a device emulator behind a PluggablePty: one serving task per plug.

    Subclasses implement ``_serve(link)`` and ``_power_on()`` (the state a device
    has when it gets power), and may list extra tasks in ``_extra_tasks()`` so that
    unplugging stops them too.
    """

    task_name = "emulator"

    def __init__(self, name: str) -> None:
        self._pty = PluggablePty(name)
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> str:
        return self._pty.port

    async def start(self) -> None:
        link = self._pty.plug()
        self._task = asyncio.create_task(self._serve(link), name=self.task_name)

    async def stop(self) -> None:
        await self._stop_serving()
        self._pty.close()

    async def unplug(self) -> None:
        """The cable is pulled: the port disappears and the device loses power."""
        await self._stop_serving()
        self._pty.unplug()
        self._power_on()

    async def replug(self) -> None:
        await self.start()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _serve(self, link: PtyLink) -> None:
        raise NotImplementedError

    def _power_on(self) -> None:
        raise NotImplementedError

    def _extra_tasks(self) -> list[asyncio.Task[None] | None]:
        return []

    async def _stop_serving(self) -> None:
        for task in (*self._extra_tasks(), self._task):
            if task is not None:
                await cancel_and_wait(task)
        self._task = None
