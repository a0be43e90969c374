"""Command/response exchange with a PN532 over a SerialLink.

Each command frame is answered first by an ACK frame, then by the response
frame. A NACK (or no ACK in time) makes us send the command again; a response
that arrives corrupted is answered with our own NACK, which asks the chip to
repeat it; the chip's application error frame becomes a ProtocolError.
"""

from __future__ import annotations

import asyncio
import logging

from hal.errors import DeviceFault, ProtocolError
from hal.pn532.commands import WAKE_UP
from hal.pn532.frames import (
    CHIP_TO_HOST,
    HOST_TO_CHIP,
    NACK_FRAME,
    CorruptFrame,
    Frame,
    FrameDecoder,
    FrameKind,
    encode_frame,
)
from hal.serial_link import SerialLink

log = logging.getLogger(__name__)


class Pn532Transport:
    def __init__(self, link: SerialLink, *, ack_timeout: float = 0.5, attempts: int = 3) -> None:
        self.link = link
        self.ack_timeout = ack_timeout
        self.attempts = attempts
        self._decoder = FrameDecoder()
        self._lock = asyncio.Lock()

    async def wake_up(self) -> None:
        await self.link.write(WAKE_UP)

    async def command(self, payload: bytes, *, timeout: float = 1.0) -> bytes:
        """Send a command (code + parameters); return the response (code+1 + data)."""
        code = payload[0]
        frame = encode_frame(HOST_TO_CHIP, payload)
        async with self._lock:
            # Leftovers belong to an earlier exchange that was given up on.
            self.link.discard_input()
            self._decoder.clear()
            for attempt in range(1, self.attempts + 1):
                await self.link.write(frame)
                if await self._wait_ack(code):
                    return await self._wait_response(code, timeout)
                log.warning("pn532: command %02X not acknowledged (attempt %d/%d)", code, attempt, self.attempts)
            raise DeviceFault(
                self.link.device,
                f"PN532 did not acknowledge command {code:02X} after {self.attempts} attempts on {self.link.port}",
            )

    async def _wait_ack(self, code: int) -> bool:
        """True on ACK, False on NACK or silence (resend)."""
        deadline = asyncio.get_running_loop().time() + self.ack_timeout
        while True:
            try:
                frame = await self._receive(deadline)
            except CorruptFrame as exc:  # possibly a damaged ACK: silence will tell
                log.warning("pn532: while waiting for ACK: %s", exc.reason)
                continue
            if frame is None or frame.kind is FrameKind.NACK:
                return False
            if frame.kind is FrameKind.ACK:
                return True
            if frame.kind is FrameKind.ERROR:
                raise ProtocolError(f"PN532 sent an error frame instead of acknowledging command {code:02X}")
            log.warning("pn532: skipped a stale %d-byte frame before ACK", len(frame.data))  # a UID, maybe

    async def _wait_response(self, code: int, timeout: float) -> bytes:
        deadline = asyncio.get_running_loop().time() + timeout
        nacks = 0
        while True:
            try:
                frame = await self._receive(deadline)
            except CorruptFrame as exc:
                nacks += 1
                if nacks > self.attempts:
                    raise
                log.warning("pn532: corrupt response to %02X, asking again: %s", code, exc.reason)
                await self.link.write(NACK_FRAME)
                continue
            if frame is None:
                raise DeviceFault(
                    self.link.device, f"PN532 gave no response to command {code:02X} within {timeout:.1f} s"
                )
            if frame.kind is FrameKind.ERROR:
                raise ProtocolError(f"PN532 answered command {code:02X} with an error frame")
            if frame.kind is FrameKind.INFO and frame.tfi == CHIP_TO_HOST and frame.code == code + 1:
                return frame.data
            log.warning("pn532: skipped unexpected %s frame while waiting for response to %02X", frame.kind.value, code)

    async def _receive(self, deadline: float) -> Frame | None:
        """The next frame before ``deadline``, or None. Garbage is logged and skipped;
        CorruptFrame propagates so the caller can decide whether to NACK."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                frame = self._decoder.next_frame()
            except CorruptFrame:
                raise
            except ProtocolError as exc:
                log.warning("pn532: %s", exc.reason)
                continue
            if frame is not None:
                return frame
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            self._decoder.feed(await self.link.read_some(remaining))
