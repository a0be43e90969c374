"""A serial QR/barcode scanner module (GM65 family) as a CodeReader.

A background task reads the port: text lines become CodeReads, reply frames
answer the command in flight. A bad line never reaches the cabinet: it is
skipped with a warning. A vanished port surfaces as DeviceFault from read().
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from hal.code_reader import CodeRead, CodeReader
from hal.errors import DeviceFault, ProtocolError
from hal.scanner import gm65
from hal.scanner.lines import MAX_LINE, Reply, ScannerStreamDecoder
from hal.serial_link import SerialLink

log = logging.getLogger(__name__)


class SerialScanner(CodeReader):
    name = "scanner"

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 9600,
        trigger_mode: bool = False,
        max_line: int = MAX_LINE,
        reply_timeout: float = 1.0,
        queue_size: int = 16,
    ) -> None:
        """``trigger_mode``: open() switches the module to command-trigger mode, so
        it decodes only when ``trigger()`` asks (the setting is not saved to flash)."""
        self.port = port
        self.trigger_mode = trigger_mode
        self.max_line = max_line
        self.reply_timeout = reply_timeout
        self._link = SerialLink(self.name, port, baudrate)
        # A DeviceFault in the queue wakes a waiting read() when the port goes away.
        self._codes: asyncio.Queue[CodeRead | DeviceFault] = asyncio.Queue(queue_size)
        self._pump_task: asyncio.Task[None] | None = None
        self._fault: DeviceFault | None = None
        self._reply: asyncio.Future[bytes] | None = None
        self._command_lock = asyncio.Lock()

    @property
    def where(self) -> str:
        return self.port

    @property
    def state(self) -> str:
        return "open" if self._link.is_open else "closed"

    async def open(self) -> None:
        await self.close()
        await self._link.open()
        self._fault = None
        self._codes = asyncio.Queue(self._codes.maxsize)  # nothing stale from a lost session
        self._pump_task = asyncio.create_task(self._pump(ScannerStreamDecoder(self.max_line)), name="serial-scanner")
        if self.trigger_mode:
            try:
                await self.set_mode(gm65.MODE_COMMAND)
            except (DeviceFault, ProtocolError) as exc:
                await self.close()
                raise DeviceFault(self.name, f"{self.port}: cannot set command-trigger mode: {exc}") from exc

    async def close(self) -> None:
        if self._pump_task is not None:
            self._pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump_task
            self._pump_task = None
        self._link.close()

    async def read(self) -> CodeRead:
        if self._codes.empty() and self._fault is not None:
            raise self._fault
        if self._pump_task is None and self._codes.empty():
            raise DeviceFault(self.name, f"{self.port} is not open")
        item = await self._codes.get()
        if isinstance(item, DeviceFault):
            raise item
        return item

    async def trigger(self) -> None:
        """Command trigger: the module decodes once; the code arrives through read()."""
        self._expect_ok(await self.command(gm65.TRIGGER), "trigger")

    async def read_register(self, address: int, count: int = 1) -> bytes:
        data = await self.command(gm65.read_command(address, count))
        if len(data) != count:
            raise ProtocolError(f"asked for {count} registers at {address:#06x}, got {len(data)}", data=data)
        return data

    async def write_register(self, address: int, data: bytes) -> None:
        self._expect_ok(await self.command(gm65.write_command(address, data)), f"write {address:#06x}")

    async def save_settings(self) -> None:
        """Store the registers in the module's flash (it has a limited number of writes)."""
        self._expect_ok(await self.command(gm65.save_command()), "save")

    async def set_mode(self, mode: int) -> None:
        current = (await self.read_register(gm65.REG_MODE))[0]
        wanted = (current & ~gm65.MODE_MASK) | mode
        if wanted != current:
            await self.write_register(gm65.REG_MODE, bytes([wanted]))

    def _expect_ok(self, data: bytes, what: str) -> None:
        if data != gm65.REPLY_OK:
            raise ProtocolError(f"scanner refused {what}", data=data)

    async def command(self, command: gm65.Command) -> bytes:
        """Send a command frame; return the data of the module's reply."""
        async with self._command_lock:
            if self._fault is not None:
                raise self._fault
            self._reply = asyncio.get_running_loop().create_future()
            try:
                await self._link.write(command.encode())
                return await asyncio.wait_for(self._reply, self.reply_timeout)
            except TimeoutError:
                raise DeviceFault(self.name, f"{self.port}: no reply to command {command.encode().hex(' ')}") from None
            finally:
                self._reply = None

    async def _pump(self, decoder: ScannerStreamDecoder) -> None:
        try:
            while True:
                decoder.feed(await self._link.read_some(3600))
                while True:
                    try:
                        item = decoder.next_item()
                    except ProtocolError as exc:
                        log.warning("scanner: skipped bad input: %s", exc.reason)  # its bytes may be a pickup code
                        continue
                    if item is None:
                        break
                    if isinstance(item, Reply):
                        self._deliver_reply(item)
                    else:
                        self._deliver_code(CodeRead(item, source="scanner"))
        except DeviceFault as exc:
            self._fault = exc
            if self._reply is not None and not self._reply.done():
                self._reply.set_exception(exc)
            self._deliver_code(exc)

    def _deliver_reply(self, reply: Reply) -> None:
        if self._reply is None or self._reply.done():
            log.warning("scanner: reply %s without a command", reply.data.hex(" "))
        else:
            self._reply.set_result(reply.data)

    def _deliver_code(self, item: CodeRead | DeviceFault) -> None:
        if self._codes.full():
            # Nobody is reading: the oldest scan is the least useful.
            dropped = self._codes.get_nowait()
            log.warning("scanner: dropped an unread %s", "fault" if isinstance(dropped, DeviceFault) else "code")
        self._codes.put_nowait(item)
