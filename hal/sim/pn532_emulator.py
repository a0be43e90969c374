"""A PN532 (firmware 1.6, IC 32 01 06 07) on the far end of a PTY.

Speaks the HSU frame protocol byte for byte: it sleeps until the host's 0x55
wake-up, ACKs every well-formed command frame, then answers
GetFirmwareVersion, SAMConfiguration, RFConfiguration and
InListPassiveTarget (106 kbps type A); unknown or malformed commands get the
application error frame. A host NACK makes it repeat its last response, a host
ACK aborts a pending InListPassiveTarget. Like the real chip, with
MxRtyPassiveActivation at its power-on value 0xFF InListPassiveTarget waits
until a card arrives; with a finite value it answers "no target" at once.
"""

from __future__ import annotations

import asyncio
import collections
import logging

from hal.errors import ProtocolError
from hal.pn532 import commands
from hal.pn532.commands import FirmwareVersion, TargetA
from hal.pn532.frames import (
    ACK_FRAME,
    CHIP_TO_HOST,
    ERROR_FRAME,
    HOST_TO_CHIP,
    NACK_FRAME,
    FrameDecoder,
    FrameKind,
    encode_frame,
)
from hal.sim.pty_link import PtyEmulator, PtyLink

log = logging.getLogger(__name__)

PN532_V1_6 = FirmwareVersion(ic=0x32, version=0x01, revision=0x06, support=0x07)
# ATQA announces the UID size (bits 7-6: single, double, triple); 4-byte UIDs are
# MIFARE Classic 1K (SAK 08), longer ones NTAG/Ultralight-like (SAK 00).
_DEFAULT_SENS_RES = {4: b"\x00\x04", 7: b"\x00\x44", 10: b"\x00\x84"}
_DEFAULT_SEL_RES = {4: 0x08, 7: 0x00, 10: 0x00}


class Pn532Emulator(PtyEmulator):
    task_name = "pn532-emulator"

    def __init__(self, *, firmware: FirmwareVersion = PN532_V1_6) -> None:
        super().__init__("pn532")
        self.firmware = firmware
        self._card: TargetA | None = None
        self._card_arrived = asyncio.Event()
        self._waiting: asyncio.Task[None] | None = None  # InListPassiveTarget waiting for a card
        self._nack_next = 0
        self._error_next = 0
        self._corrupt_next = 0
        self._power_on()
        # The command frames received, in order: the latest 1000 (the reader polls for a card all day long).
        self.commands: collections.deque[bytes] = collections.deque(maxlen=1000)

    def _extra_tasks(self) -> list[asyncio.Task[None] | None]:
        waiting, self._waiting = self._waiting, None
        return [waiting]

    def _power_on(self) -> None:
        """Power-on state."""
        self.awake = False
        self.sam_configured = False
        self.passive_retries = 0xFF
        self._decoder = FrameDecoder()
        self._last_response = b""

    # -- the card in the field ---------------------------------------------

    def present(
        self, uid: bytes, *, sens_res: bytes | None = None, sel_res: int | None = None, ats: bytes = b""
    ) -> TargetA:
        """Put a card (4, 7 or 10 byte UID) on the reader; it stays until remove()."""
        if len(uid) not in commands.UID_LENGTHS:
            raise ValueError(f"ISO14443A UIDs have 4, 7 or 10 bytes, not {len(uid)}")
        self._card = TargetA(
            uid=uid,
            sens_res=sens_res or _DEFAULT_SENS_RES[len(uid)],
            sel_res=_DEFAULT_SEL_RES[len(uid)] if sel_res is None else sel_res,
            ats=ats,
        )
        self._card_arrived.set()
        return self._card

    def remove(self) -> None:
        self._card = None
        self._card_arrived.clear()

    # -- fault knobs --------------------------------------------------------

    def nack_next(self, count: int = 1) -> None:
        """Answer the next ``count`` command frames with NACK instead of ACK."""
        self._nack_next += count

    def error_next(self, count: int = 1) -> None:
        """Answer the next ``count`` commands with ACK then the error frame."""
        self._error_next += count

    def corrupt_next_response(self, count: int = 1) -> None:
        """Send the next ``count`` responses with a wrong data checksum."""
        self._corrupt_next += count

    async def send_garbage(self, data: bytes) -> None:
        await self._write(data)

    # -- serving ------------------------------------------------------------

    async def _write(self, data: bytes) -> None:
        if self._pty.link is not None:
            await self._pty.link.write(data)

    async def _serve(self, link: PtyLink) -> None:
        while True:
            data = await link.read_some()
            if not self.awake:
                wake = data.find(0x55)
                if wake < 0:
                    continue  # asleep: the UART ignores everything but the wake-up
                self.awake, data = True, data[wake:]
            self._decoder.feed(data)
            while True:
                try:
                    frame = self._decoder.next_frame()
                except ProtocolError as exc:
                    if exc.data.strip(b"\x55\x00"):  # wake-up bytes are expected
                        log.debug("pn532 emulator ignored: %s", exc)
                    continue
                if frame is None:
                    break
                if frame.kind is FrameKind.NACK:
                    await self._write(self._last_response)
                elif frame.kind is FrameKind.ACK:
                    self._cancel_waiting()
                elif frame.kind is FrameKind.INFO and frame.tfi == HOST_TO_CHIP:
                    await self._on_command(frame.data)

    def _cancel_waiting(self) -> None:
        if self._waiting is not None:
            self._waiting.cancel()
            self._waiting = None

    async def _on_command(self, data: bytes) -> None:
        self._cancel_waiting()
        self.commands.append(data)
        if self._nack_next:
            self._nack_next -= 1
            await self._write(NACK_FRAME)
            return
        await self._write(ACK_FRAME)
        if self._error_next:
            self._error_next -= 1
            await self._respond_error()
            return
        code, params = data[0], data[1:]
        if code == commands.GET_FIRMWARE_VERSION and not params:
            await self._respond(self.firmware.to_response())
        elif code == commands.SAM_CONFIGURATION and 1 <= len(params) <= 3 and 1 <= params[0] <= 4:
            self.sam_configured = True
            await self._respond(bytes([code + 1]))
        elif code == commands.RF_CONFIGURATION and self._rf_configuration(params):
            await self._respond(bytes([code + 1]))
        elif code == commands.IN_LIST_PASSIVE_TARGET and len(params) >= 2 and params[0] in (1, 2):
            await self._in_list_passive_target(baud=params[1])
        else:
            await self._respond_error()

    def _rf_configuration(self, params: bytes) -> bool:
        item, values = (params[0], params[1:]) if params else (None, b"")
        if item == commands.RF_ITEM_MAX_RETRIES and len(values) == 3:
            self.passive_retries = values[2]
            return True
        # RF field, timings, MaxRtyCOM: accepted, nothing to emulate.
        return (item, len(values)) in ((0x01, 1), (0x02, 3), (0x04, 1))

    async def _in_list_passive_target(self, baud: int) -> None:
        reply = bytes([commands.IN_LIST_PASSIVE_TARGET + 1])
        if baud != commands.BAUD_106_TYPE_A:
            await self._respond(reply + b"\x00")  # only type A cards are emulated
        elif self._card is not None:
            await self._respond(reply + b"\x01" + self._card.to_bytes())
        elif self.passive_retries != 0xFF:
            await self._respond(reply + b"\x00")
        else:
            self._waiting = asyncio.create_task(self._answer_when_card_arrives(reply))

    async def _answer_when_card_arrives(self, reply: bytes) -> None:
        await self._card_arrived.wait()
        assert self._card is not None
        self._waiting = None
        await self._respond(reply + b"\x01" + self._card.to_bytes())

    async def _respond(self, data: bytes) -> None:
        frame = encode_frame(CHIP_TO_HOST, data)
        self._last_response = frame
        if self._corrupt_next:
            self._corrupt_next -= 1
            frame = frame[:-2] + bytes([frame[-2] ^ 0xFF]) + frame[-1:]
        await self._write(frame)

    async def _respond_error(self) -> None:
        self._last_response = ERROR_FRAME
        await self._write(ERROR_FRAME)
