"""Async byte transport over a serial port (a real tty, a USB adapter or a PTY).

The lowest layer under every serial driver (ZVT, PN532, scanner, lock board):
pyserial opens and configures the port; reads are driven by the event loop's
reader callback on the file descriptor, so no thread is needed. A port that
goes away surfaces as DeviceFault on the next read or write.
"""

from __future__ import annotations

import asyncio
import os

import serial

from hal.byte_inbox import ByteInbox
from hal.errors import DeviceFault


class SerialLink:
    def __init__(
        self,
        device: str,
        port: str,
        baudrate: int,
        *,
        bytesize: int = 8,
        parity: str = serial.PARITY_NONE,
        stopbits: float = 1,
        max_buffer: int = 65536,
    ) -> None:
        self.device = device  # the device's name, for faults ("payment", "nfc", ...)
        self.port = port
        self.baudrate = baudrate
        self._bytesize, self._parity, self._stopbits = bytesize, parity, stopbits
        self._serial: serial.Serial | None = None
        self._inbox = ByteInbox(max_buffer)
        self._error: DeviceFault | None = None

    @property
    def is_open(self) -> bool:
        return self._serial is not None and self._error is None

    async def open(self) -> None:
        try:
            self._serial = serial.Serial(
                self.port,
                self.baudrate,
                bytesize=self._bytesize,
                parity=self._parity,
                stopbits=self._stopbits,
                timeout=0,
                write_timeout=0,
                exclusive=True,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DeviceFault(self.device, f"cannot open {self.port}: {exc}") from exc
        self._error = None
        self._inbox.clear()
        asyncio.get_running_loop().add_reader(self._serial.fileno(), self._on_readable)

    def close(self) -> None:
        if self._serial is None:
            return
        try:
            asyncio.get_running_loop().remove_reader(self._serial.fileno())
        except (RuntimeError, ValueError, OSError):
            pass
        self._serial.close()
        self._serial = None
        self._inbox.wake()

    def _on_readable(self) -> None:
        assert self._serial is not None
        try:
            chunk = os.read(self._serial.fileno(), 4096)
        except OSError as exc:
            chunk, self._error = b"", DeviceFault(self.device, f"{self.port}: {exc.strerror or exc}")
        if not chunk:
            self._error = self._error or DeviceFault(self.device, f"{self.port} disconnected")
            asyncio.get_running_loop().remove_reader(self._serial.fileno())
            self._inbox.wake()
        else:
            self._inbox.put(chunk)

    def _check(self) -> None:
        if self._error is not None:
            raise self._error
        if self._serial is None:
            raise DeviceFault(self.device, f"{self.port} is not open")

    async def write(self, data: bytes) -> None:
        self._check()
        assert self._serial is not None
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._serial.fileno(), view)
            except BlockingIOError:
                await asyncio.sleep(0.001)
                continue
            except OSError as exc:
                self._error = DeviceFault(self.device, f"{self.port}: {exc.strerror or exc}")
                raise self._error from exc
            view = view[written:]

    async def read_some(self, timeout: float) -> bytes:
        """Whatever bytes are buffered, waiting up to ``timeout`` for at least one; b"" on timeout."""
        if not self._inbox:
            self._check()
            if not await self._inbox.wait(timeout):
                return b""
        if not self._inbox:
            self._check()
        return self._inbox.take()

    def unread(self, data: bytes) -> None:
        """Put bytes back at the front of the buffer (a parser read past a frame)."""
        self._inbox.unread(data)

    def discard_input(self) -> None:
        self._inbox.clear()
