"""ZVT transport layer on a byte port: frames out with ACK/NAK and retransmission, frames in.

Used by both ends (the cabinet's driver and the terminal emulator): one
reader task decodes everything the port delivers, answers each frame with
ACK (or NAK when it is damaged), hands good APDUs to ``receive`` and ACK/NAK
bytes to the ``send`` waiting for them. All writes go through one lock so an
ACK never lands inside an outgoing frame.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from hal.errors import DeviceFault, ProtocolError
from hal.zvt.apdu import Apdu, parse_apdu
from hal.zvt.framing import MAX_APDU, Frame, FrameDecoder, Signal, encode_frame

log = logging.getLogger(__name__)

ACK_TIMEOUT = 5.0  # T3: how long a sender waits for ACK/NAK after a frame
SEND_TRIES = 3  # a frame is sent at most this often before the link is declared dead


class BytePort(Protocol):
    async def read_some(self, timeout: float) -> bytes: ...
    async def write(self, data: bytes) -> None: ...


class ZvtLink:
    def __init__(
        self,
        port: BytePort,
        device: str,
        *,
        ack_timeout: float = ACK_TIMEOUT,
        tries: int = SEND_TRIES,
        max_apdu: int = MAX_APDU,
        queue_size: int = 64,
    ) -> None:
        self.device = device
        self.ack_timeout = ack_timeout
        self.tries = tries
        self.reject_next = 0  # fault injection: NAK this many good frames
        self._port = port
        self._decoder = FrameDecoder(max_apdu)
        self._frames: asyncio.Queue[Apdu] = asyncio.Queue(queue_size)
        self._write_lock = asyncio.Lock()
        self._send_lock = asyncio.Lock()
        self._signal: asyncio.Future[Signal] | None = None
        self._task: asyncio.Task[None] | None = None
        self._error: DeviceFault | None = None
        self._arrived = asyncio.Event()

    @property
    def error(self) -> DeviceFault | None:
        return self._error

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._read_loop(), name=f"zvt-link-{self.device}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # our caller is being cancelled too: never swallow that
            self._task = None

    def drain(self) -> None:
        """Forget frames received but not yet taken (leftovers of an earlier exchange)."""
        while not self._frames.empty():
            self._frames.get_nowait()

    async def _write(self, data: bytes) -> None:
        async with self._write_lock:
            await self._port.write(data)

    async def _read_loop(self) -> None:
        try:
            while True:
                chunk = await self._port.read_some(1.0)
                for event in self._decoder.feed(chunk):
                    await self._handle(event)
        except DeviceFault as fault:
            self._fail(fault)
        except OSError as exc:
            self._fail(DeviceFault(self.device, f"link lost: {exc}"))

    def _fail(self, fault: DeviceFault) -> None:
        self._error = fault
        if self._signal is not None and not self._signal.done():
            self._signal.set_exception(fault)
        self._arrived.set()

    async def _handle(self, event: Frame | Signal | ProtocolError) -> None:
        if isinstance(event, Signal):
            if self._signal is not None and not self._signal.done():
                self._signal.set_result(event)
            return
        if isinstance(event, ProtocolError):
            log.warning("%s: bad frame, NAK: %s", self.device, event)
            await self._write(bytes([Signal.NAK]))
            return
        if self.reject_next > 0:
            self.reject_next -= 1
            await self._write(bytes([Signal.NAK]))
            return
        try:
            apdu = parse_apdu(event.apdu)
        except ProtocolError as exc:
            log.warning("%s: bad APDU, NAK: %s", self.device, exc)
            await self._write(bytes([Signal.NAK]))
            return
        await self._write(bytes([Signal.ACK]))
        if self._frames.full():  # nobody is listening: keep the newest, memory stays bounded
            self._frames.get_nowait()
        self._frames.put_nowait(apdu)
        self._arrived.set()

    def _check(self) -> None:
        if self._error is not None:
            raise self._error
        if self._task is None or self._task.done():
            raise DeviceFault(self.device, "link not running")

    async def send(self, apdu: Apdu) -> None:
        """Send one APDU until it is ACKed; DeviceFault after ``tries`` NAKs or silences."""
        frame = encode_frame(apdu.encode())
        async with self._send_lock:
            for attempt in range(1, self.tries + 1):
                self._check()
                self._signal = asyncio.get_running_loop().create_future()
                await self._write(frame)
                try:
                    answer = await asyncio.wait_for(self._signal, self.ack_timeout)
                except TimeoutError:
                    log.info("%s: no ACK for %s (try %d/%d)", self.device, apdu, attempt, self.tries)
                    continue
                finally:
                    self._signal = None
                if answer is Signal.ACK:
                    return
                log.info("%s: NAK for %s (try %d/%d)", self.device, apdu, attempt, self.tries)
        self._check()
        raise DeviceFault(self.device, f"no ACK for {apdu} after {self.tries} tries")

    async def receive(self, timeout: float | None) -> Apdu | None:
        """The next good APDU, or None when ``timeout`` passes first."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            if not self._frames.empty():
                return self._frames.get_nowait()
            self._check()
            self._arrived.clear()
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return None
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                return None
