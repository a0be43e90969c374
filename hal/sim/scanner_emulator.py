"""A GM65-family scanner module on the far end of a PTY.

Sends decoded codes as text plus terminator, and answers command frames like
the module: reads return register bytes, writes and saves return 00, frames
with a bad CRC get no answer. Register 0x0000 bits 1-0 hold the trigger mode;
in command-trigger mode a code put in view with ``show`` is sent only when the
host writes the trigger register. Saved registers survive unplug/replug,
unsaved writes do not.
"""

from __future__ import annotations

import asyncio
import logging

from hal.errors import ProtocolError
from hal.scanner import gm65
from hal.scanner.gm65 import Command, CommandDecoder, encode_reply
from hal.sim.pty_link import PtyEmulator, PtyLink

log = logging.getLogger(__name__)

REGISTER_COUNT = 0x100


class ScannerEmulator(PtyEmulator):
    task_name = "scanner-emulator"

    def __init__(self) -> None:
        super().__init__("scanner")
        self._flash = bytearray(REGISTER_COUNT)
        self._in_view: bytes | None = None
        self.commands: list[Command] = []  # every valid command frame received
        self._power_on()

    def _power_on(self) -> None:
        self.registers = bytearray(self._flash)
        self._decoder = CommandDecoder()

    @property
    def mode(self) -> int:
        return self.registers[gm65.REG_MODE] & gm65.MODE_MASK

    # -- codes ------------------------------------------------------------

    async def scan(self, text: str, terminator: str = "\r", *, chunks: int = 1, gap: float = 0.02) -> None:
        """The module decodes ``text`` and sends it, split over ``chunks`` writes
        ``gap`` seconds apart (the way a slow UART or USB adapter delivers it)."""
        await self._send_in_chunks((text + terminator).encode(), chunks, gap)

    def show(self, text: str | None, terminator: str = "\r") -> None:
        """Hold a code in view for the next command trigger (None: nothing in view)."""
        self._in_view = None if text is None else (text + terminator).encode()

    # -- fault knobs --------------------------------------------------------

    async def send_garbage(self, data: bytes, *, chunks: int = 1, gap: float = 0.02) -> None:
        await self._send_in_chunks(data, chunks, gap)

    # -- serving ----------------------------------------------------------

    async def _send_in_chunks(self, data: bytes, chunks: int, gap: float) -> None:
        if chunks < 1:
            raise ValueError("chunks must be at least 1")
        size = -(-len(data) // chunks)
        for start in range(0, len(data), size):
            if start:
                await asyncio.sleep(gap)
            await self._write(data[start : start + size])

    async def _write(self, data: bytes) -> None:
        if self._pty.link is not None:
            await self._pty.link.write(data)

    async def _serve(self, link: PtyLink) -> None:
        while True:
            self._decoder.feed(await link.read_some())
            while True:
                try:
                    command = self._decoder.next_command()
                except ProtocolError as exc:
                    log.debug("scanner emulator ignored: %s", exc)
                    continue
                if command is None:
                    break
                self.commands.append(command)
                await self._on_command(command)

    async def _on_command(self, command: Command) -> None:
        end = command.address + (command.data[0] if command.type == gm65.TYPE_READ else len(command.data))
        if end > REGISTER_COUNT or end == command.address:
            log.debug("scanner emulator: no reply to register range %#x..%#x", command.address, end)
            return
        if command.type == gm65.TYPE_READ:
            await self._write(encode_reply(bytes(self.registers[command.address : end])))
        elif command.type == gm65.TYPE_SAVE:
            self._flash[:] = self.registers
            await self._write(encode_reply(gm65.REPLY_OK))
        else:
            await self._write(encode_reply(gm65.REPLY_OK))
            if command.address == gm65.REG_TRIGGER:
                if self.mode == gm65.MODE_COMMAND and self._in_view is not None and command.data[0] & 1:
                    await self._write(self._in_view)
            else:
                self.registers[command.address : end] = command.data
