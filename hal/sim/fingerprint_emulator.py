"""A ZhianTec-family fingerprint module (R307-like) on the far end of a PTY.

Speaks the packet protocol byte for byte: every well-formed command packet addressed to it
is answered by one acknowledgement packet; a command with a bad checksum gets confirmation
code 01 (as the real module does); packets for another address are ignored. Fingers are
names: a test places finger "alice" on the sensor, and a template is the name of the finger
it was made from, so Search finds the slot enrolled from the same finger and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from hal.errors import ProtocolError
from hal.fingerprint import commands
from hal.fingerprint.commands import BUFFER_1, BUFFER_2, OK
from hal.fingerprint.packets import DEFAULT_ADDRESS, PacketDecoder, Pid, encode_packet
from hal.sim.pty_link import PtyEmulator, PtyLink

log = logging.getLogger(__name__)


class FingerprintEmulator(PtyEmulator):
    task_name = "fingerprint-emulator"

    def __init__(
        self,
        *,
        capacity: int = 1000,
        address: int = DEFAULT_ADDRESS,
        password: int = commands.DEFAULT_PASSWORD,
        templates: dict[int, str] | None = None,
    ) -> None:
        super().__init__("fingerprint")
        self.capacity = capacity
        self.address = address
        self.password = password
        self.library: dict[int, str] = dict(templates or {})  # slot -> finger; kept in flash across power
        self.finger: str | None = None  # the finger on the sensor now
        self.commands: list[bytes] = []  # every command payload received, in order
        self.empty_polls = 0  # GenImg answered "no finger": the host has seen the sensor empty
        self._polled = asyncio.Event()  # set at each of those answers
        self._messy_next = 0
        self.garbled = False  # every acknowledgement carries a stray byte: answers the driver cannot read
        self.delete_fails = False  # DeleteChar answers 0x10, "failed to delete the template" (the manual's code)
        self.silent = False  # answers nothing: a module without power behind a live USB adapter
        self._power_on()

    def _power_on(self) -> None:
        self.verified = self.password == commands.DEFAULT_PASSWORD
        self._image: str | None = None
        self._buffers: dict[int, str | None] = {BUFFER_1: None, BUFFER_2: None}
        self._decoder = PacketDecoder()

    # --- the finger on the sensor ---------------------------------------------------
    def place(self, finger: str) -> None:
        """Put a finger on the sensor; it stays until lift(). An enrolled finger matches its slot,
        any other name is an unknown finger."""
        self.finger = finger

    def lift(self) -> None:
        self.finger = None

    async def touch(self, finger: str, timeout: float = 2.0) -> None:
        """A new placement, as a hand makes it: off the sensor until the host has seen it empty (bounded by
        ``timeout``: a host that is not polling sees the new finger at its next poll all the same), then on."""
        if self.finger is not None:
            self.lift()
            seen = self.empty_polls
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    while self.empty_polls == seen:
                        await self._polled.wait()
                        self._polled.clear()
        self.place(finger)

    def messy_next(self, count: int = 1) -> None:
        """The next ``count`` Img2Tz find the image too messy (a smudged or moved finger)."""
        self._messy_next += count

    # --- serving ------------------------------------------------------------------------
    async def _serve(self, link: PtyLink) -> None:
        while True:
            self._decoder.feed(await link.read_some())
            while True:
                try:
                    packet = self._decoder.next_packet()
                except ProtocolError as exc:
                    log.debug("fingerprint emulator: %s", exc)
                    if "checksum" in exc.reason:
                        await self._answer(link, 0x01)
                    continue
                if packet is None:
                    break
                if packet.pid is Pid.COMMAND and packet.address == self.address and not self.silent:
                    self.commands.append(packet.payload)
                    await self._answer(link, *self._execute(packet.payload))

    async def _answer(self, link: PtyLink, code: int, results: bytes = b"") -> None:
        stray = b"\xff" if self.garbled else b""
        await link.write(encode_packet(Pid.ACK, bytes([code]) + results + stray, self.address))

    def _execute(self, payload: bytes) -> tuple[int, bytes]:
        code, params = payload[0], payload[1:]
        if code == commands.VFY_PWD and len(params) == 4:
            self.verified = int.from_bytes(params, "big") == self.password
            return (OK if self.verified else 0x13), b""
        if not self.verified:
            return 0x21, b""
        handler = {
            (commands.GEN_IMG, 0): self._gen_img,
            (commands.IMG2TZ, 1): self._img2tz,
            (commands.REG_MODEL, 0): self._reg_model,
            (commands.STORE, 3): self._store,
            (commands.SEARCH, 5): self._search,
            (commands.HI_SPEED_SEARCH, 5): self._search,
            (commands.DELETE_CHAR, 4): self._delete,
            (commands.TEMPLATE_NUM, 0): lambda _: (OK, len(self.library).to_bytes(2, "big")),
            (commands.READ_INDEX_TABLE, 1): self._index_table,
        }.get((code, len(params)))
        return handler(params) if handler is not None else (0x01, b"")

    def _gen_img(self, _: bytes) -> tuple[int, bytes]:
        if self.finger is None:
            self.empty_polls += 1
            self._polled.set()
            return commands.NO_FINGER, b""
        self._image = self.finger
        return OK, b""

    def _img2tz(self, params: bytes) -> tuple[int, bytes]:
        if params[0] not in self._buffers:
            return 0x01, b""
        if self._image is None:
            return 0x15, b""
        if self._messy_next:
            self._messy_next -= 1
            return 0x06, b""
        self._buffers[params[0]] = self._image
        return OK, b""

    def _reg_model(self, _: bytes) -> tuple[int, bytes]:
        first, second = self._buffers[BUFFER_1], self._buffers[BUFFER_2]
        if first is None or first != second:
            return commands.ENROLL_MISMATCH, b""
        return OK, b""  # the template is in both buffers

    def _store(self, params: bytes) -> tuple[int, bytes]:
        buffer, slot = params[0], int.from_bytes(params[1:], "big")
        template = self._buffers.get(buffer)
        if slot >= self.capacity:
            return 0x0B, b""
        if template is None:
            return 0x01, b""
        self.library[slot] = template
        return OK, b""

    def _search(self, params: bytes) -> tuple[int, bytes]:
        buffer, start, count = params[0], int.from_bytes(params[1:3], "big"), int.from_bytes(params[3:], "big")
        probe = self._buffers.get(buffer)
        for slot in sorted(self.library):
            if start <= slot < start + count and probe is not None and self.library[slot] == probe:
                return OK, slot.to_bytes(2, "big") + (200).to_bytes(2, "big")
        return commands.NOT_FOUND, b""

    def _delete(self, params: bytes) -> tuple[int, bytes]:
        start, count = int.from_bytes(params[:2], "big"), int.from_bytes(params[2:], "big")
        if start + count > self.capacity or self.delete_fails:
            return 0x10, b""
        for slot in range(start, start + count):
            self.library.pop(slot, None)
        return OK, b""

    def _index_table(self, params: bytes) -> tuple[int, bytes]:
        if params[0] > 3:
            return 0x1A, b""  # four table pages, 1024 slots
        return OK, commands.index_table_bytes(set(self.library), params[0])
