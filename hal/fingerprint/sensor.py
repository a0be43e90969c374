"""A ZhianTec-family fingerprint module (R307, R503, ZFM-20, AS608) on a UART.

Why our own driver: adafruit-circuitpython-fingerprint and pyfingerprint both read the port
with blocking calls and busy-wait for a finger (``while get_image() != OK``), so under the
cabinet's asyncio loop each would need a worker thread that a journey's timeout cannot
cancel. The cabinet needs ten instructions (VfyPwd, GenImg, Img2Tz, RegModel, Store,
HiSpeedSearch, DeleteChar, TempleteNum, ReadIndexTable), each one command packet answered by
one acknowledgement packet, so this driver speaks the packets itself over the shared
non-blocking SerialLink; the same code runs against a real module or the PTY emulator.
Command and confirmation codes are those of the ZFM user manual, which both libraries follow.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from hal.errors import DeviceFault, ProtocolError
from hal.fingerprint import commands
from hal.fingerprint.commands import BUFFER_1, BUFFER_2, INDEX_TABLE_BYTES, NO_FINGER, FingerprintError
from hal.fingerprint.packets import DEFAULT_ADDRESS, PacketDecoder, Pid, encode_packet
from hal.fingerprint_sensor import EnrolStep, FingerprintSensor, FingerRead
from hal.serial_link import SerialLink

log = logging.getLogger(__name__)


class ZfmSensor(FingerprintSensor):
    """``read()`` polls GenImg every ``poll_interval`` seconds; a finger is reported once, and
    again only after it was lifted. ``enrol`` takes the module for itself (the poll waits)."""

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 57600,
        address: int = DEFAULT_ADDRESS,
        password: int = commands.DEFAULT_PASSWORD,
        capacity: int = 1000,
        poll_interval: float = 0.2,
        response_timeout: float = 1.0,
        enrol_timeout: float = 20.0,
        max_protocol_errors: int = 3,
    ) -> None:
        self.port = port
        self.address = address
        self.password = password
        self.capacity = capacity  # slots 0..capacity-1 are searched
        self.poll_interval = poll_interval
        self.response_timeout = response_timeout
        self.enrol_timeout = enrol_timeout
        self.max_protocol_errors = max_protocol_errors
        self._link = SerialLink(self.name, port, baudrate)
        self._decoder = PacketDecoder()
        self._io = asyncio.Lock()  # one command at a time
        self._module = asyncio.Lock()  # held by a read's poll or by an enrolment
        self.templates: int | None = None
        self._held = False  # the finger last read is still on the sensor

    @property
    def where(self) -> str:
        return self.port

    @property
    def state(self) -> str:
        return "open" if self._link.is_open else "closed"

    def identity(self) -> str | None:
        return f"{self.templates} templates" if self.templates is not None else None

    async def open(self) -> None:
        await self.close()
        await self._link.open()
        try:
            commands.check(commands.VFY_PWD, await self.command(commands.vfy_pwd(self.password)))
            self.templates = commands.parse_template_count(await self.command(commands.template_num()))
        except ProtocolError as exc:
            self._link.close()
            raise DeviceFault(self.name, f"{self.port}: handshake failed: {exc.reason}") from exc
        except DeviceFault:
            self._link.close()
            raise
        log.info("fingerprint: module on %s holds %d templates", self.port, self.templates)

    async def close(self) -> None:
        self._link.close()

    async def command(self, payload: bytes) -> bytes:
        """Send one command packet; the acknowledgement's payload (confirmation code + results)."""
        async with self._io:
            self._link.discard_input()  # a late answer to a command given up on
            self._decoder.clear()
            await self._link.write(encode_packet(Pid.COMMAND, payload, self.address))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.response_timeout
            while True:
                try:
                    packet = self._decoder.next_packet()
                except ProtocolError as exc:
                    log.warning("fingerprint: %s", exc.reason)
                    continue
                if packet is not None:
                    if packet.pid is Pid.ACK and packet.address == self.address:
                        return packet.payload
                    log.warning("fingerprint: skipped a %s packet", packet.pid.name)
                    continue
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise DeviceFault(
                        self.name,
                        f"{self.port}: no answer to command {payload[0]:02X} within {self.response_timeout} s",
                    )
                self._decoder.feed(await self._link.read_some(remaining))

    # --- what the cabinet asks ---------------------------------------------------------
    async def template_count(self) -> int:
        self.templates = commands.parse_template_count(await self.command(commands.template_num()))
        return self.templates

    async def used_slots(self) -> set[int]:
        slots: set[int] = set()
        for page in range((self.capacity + 8 * INDEX_TABLE_BYTES - 1) // (8 * INDEX_TABLE_BYTES)):
            slots |= commands.parse_index_table(await self.command(commands.read_index_table(page)), page)
        return slots

    async def delete(self, slot: int) -> None:
        commands.check(commands.DELETE_CHAR, await self.command(commands.delete_char(slot)))

    async def read(self) -> FingerRead:
        """A smudged or moved finger (the module's error code) is tried again at the next poll; answers that
        break the protocol are too, until ``max_protocol_errors`` in a row make the module faulty."""
        errors = 0
        while True:
            async with self._module:
                try:
                    if not await self._finger_on():
                        self._held = False
                    elif not self._held:  # a finger left on the sensor since the last read is not a new one
                        commands.check(commands.IMG2TZ, await self.command(commands.img2tz(BUFFER_1)))
                        self._held = True
                        return self._read(await self.command(commands.search(0, self.capacity, BUFFER_1)))
                    errors = 0
                except FingerprintError as exc:
                    log.info("fingerprint: %s", exc.reason)
                except ProtocolError as exc:
                    errors += 1
                    if errors >= self.max_protocol_errors:
                        raise DeviceFault(
                            self.name, f"{self.port}: {errors} bad answers in a row: {exc.reason}"
                        ) from exc
                    log.warning("fingerprint: %s", exc.reason)
            await asyncio.sleep(self.poll_interval)

    @staticmethod
    def _read(payload: bytes) -> FingerRead:
        match = commands.parse_match(payload)
        return FingerRead(match.slot, match.score) if match else FingerRead(None)

    async def enrol(self, slot: int, on_step: Callable[[EnrolStep], None]) -> None:
        if not 0 <= slot < self.capacity:
            raise ValueError(f"slot {slot} outside 0..{self.capacity - 1}")
        async with self._module, asyncio.timeout(self.enrol_timeout):
            on_step(EnrolStep.PLACE)
            await self._wait_captured(BUFFER_1)
            on_step(EnrolStep.LIFT)
            await self._wait_lifted()
            on_step(EnrolStep.PLACE_AGAIN)
            await self._wait_captured(BUFFER_2)
            self._held = True  # the finger enrolled is not also a read
            commands.check(commands.REG_MODEL, await self.command(commands.reg_model()))
            commands.check(commands.STORE, await self.command(commands.store(slot)))
        log.info("fingerprint: enrolled a finger at slot %d", slot)

    # --- steps ------------------------------------------------------------------------------
    async def _finger_on(self) -> bool:
        payload = await self.command(commands.gen_img())
        if payload[:1] == bytes([NO_FINGER]):
            return False
        commands.check(commands.GEN_IMG, payload)
        return True

    async def _capture(self, buffer: int) -> bool:
        """An image of the finger on the sensor turned into a character file; False: no finger."""
        if not await self._finger_on():
            return False
        commands.check(commands.IMG2TZ, await self.command(commands.img2tz(buffer)))
        return True

    async def _wait_captured(self, buffer: int) -> None:
        while not await self._capture(buffer):
            await asyncio.sleep(self.poll_interval)

    async def _wait_lifted(self) -> None:
        while await self._finger_on():
            await asyncio.sleep(self.poll_interval)


__all__ = ["FingerprintError", "ZfmSensor"]
