"""NFC card reader: an NXP PN532 on a UART (HSU mode, 115200 8N1).

Why our own driver: nfcpy and adafruit-circuitpython-pn532 both drive the port
with blocking reads and sleeps (nfcpy from its own thread, Adafruit polling
``in_waiting``), so under the cabinet's asyncio loop they would need a worker
thread per device and could not be cancelled cleanly when a journey times out.
The few commands a cabinet needs (wake-up, SAMConfiguration,
GetFirmwareVersion, RFConfiguration, InListPassiveTarget) are small, so this
driver speaks the frame protocol itself over the shared non-blocking
SerialLink, and the same code runs against a real PN532 or the PTY emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from hal.card_reader import CardRead, CardReader
from hal.errors import DeviceFault, ProtocolError
from hal.pn532 import commands
from hal.pn532.commands import FirmwareVersion, TargetA
from hal.pn532.transport import Pn532Transport
from hal.serial_link import SerialLink

log = logging.getLogger(__name__)


class Pn532Reader(CardReader):
    """The first ``read()`` starts a background poll of InListPassiveTarget every
    ``poll_interval`` seconds that runs until ``close()``, so a card taken off and
    put back between two reads is still seen as presented again. A card left on
    the reader is reported once; it counts as removed after ``absent_polls``
    polls in a row find no card, so one missed poll does not report it twice.
    A card presented while nobody reads is kept for ``stale_after`` seconds."""

    name = "nfc"

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 115200,
        poll_interval: float = 0.1,
        absent_polls: int = 2,
        stale_after: float = 2.0,
        passive_retries: int = 1,
        ack_timeout: float = 0.5,
        response_timeout: float = 1.0,
        max_protocol_errors: int = 3,
    ) -> None:
        if absent_polls < 1:
            raise ValueError("absent_polls must be at least 1")
        self.port = port
        self.poll_interval = poll_interval
        self.absent_polls = absent_polls
        self.stale_after = stale_after
        self.passive_retries = passive_retries
        self.response_timeout = response_timeout
        self.max_protocol_errors = max_protocol_errors
        self._link = SerialLink(self.name, port, baudrate)
        self._transport = Pn532Transport(self._link, ack_timeout=ack_timeout)
        self.firmware: FirmwareVersion | None = None
        self._poller: asyncio.Task[None] | None = None
        # The latest unread card with the loop time it arrived, or the fault that stopped polling.
        self._events: asyncio.Queue[tuple[CardRead, float] | DeviceFault] = asyncio.Queue(1)

    @property
    def where(self) -> str:
        return self.port

    @property
    def state(self) -> str:
        return ("polling" if self._poller is not None else "open") if self._link.is_open else "closed"

    def identity(self) -> str | None:
        return f"firmware {self.firmware}" if self.firmware is not None else None

    async def open(self) -> None:
        await self.close()  # a previous, failed session
        await self._link.open()
        try:
            await self._transport.wake_up()
            commands.expect_status_only(await self._command(commands.sam_configuration()), commands.SAM_CONFIGURATION)
            firmware = commands.parse_firmware_version(await self._command(commands.get_firmware_version()))
            if not firmware.is_pn532:
                raise DeviceFault(self.name, f"{self.port}: found IC {firmware.ic:02X}, not a PN532")
            commands.expect_status_only(
                await self._command(commands.rf_max_retries(self.passive_retries)), commands.RF_CONFIGURATION
            )
        except ProtocolError as exc:
            self._link.close()
            raise DeviceFault(self.name, f"{self.port}: PN532 set-up failed: {exc}") from exc
        except DeviceFault:
            self._link.close()
            raise
        self.firmware = firmware
        self._events = asyncio.Queue(1)
        log.info("nfc: %s on %s", firmware, self.port)

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        self._link.close()

    async def _command(self, payload: bytes) -> bytes:
        return await self._transport.command(payload, timeout=self.response_timeout)

    async def poll(self) -> TargetA | None:
        """One InListPassiveTarget: the card in the field, or None."""
        targets = commands.parse_in_list_passive_target(await self._command(commands.in_list_passive_target()))
        return targets[0] if targets else None

    async def read(self) -> CardRead:
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll_forever(), name="pn532-poll")
        loop = asyncio.get_running_loop()
        while True:
            event = await self._events.get()
            if isinstance(event, DeviceFault):
                raise event
            card, seen_at = event
            if loop.time() - seen_at <= self.stale_after:
                return card
            log.info("nfc: dropped a card presented %.1f s ago", loop.time() - seen_at)

    def _publish(self, event: tuple[CardRead, float] | DeviceFault) -> None:
        if self._events.full():
            self._events.get_nowait()
        self._events.put_nowait(event)

    async def _poll_forever(self) -> None:
        held: bytes | None = None  # UID of the card on the reader
        misses = errors = 0
        try:
            while True:
                try:
                    target = await self.poll()
                    errors = 0
                except ProtocolError as exc:
                    errors += 1
                    if errors >= self.max_protocol_errors:
                        raise DeviceFault(
                            self.name, f"{self.port}: {errors} protocol errors in a row: {exc.reason}"
                        ) from exc
                    # Neither presence nor absence: it must not re-report a held card.
                    log.warning("nfc: poll failed, trying again: %s", exc.reason)
                else:
                    if target is None:
                        misses += 1
                        if misses >= self.absent_polls:
                            held = None
                    else:
                        misses = 0
                        if target.uid != held:
                            held = target.uid
                            self._publish((CardRead(target.uid), asyncio.get_running_loop().time()))
                await asyncio.sleep(self.poll_interval)
        except DeviceFault as exc:
            self._publish(exc)
