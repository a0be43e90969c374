"""Watching the devices: the card and code readers read until cancelled, the payment terminals are asked
between sales whether they can take a payment, and their links are looked at every LINK_S (a port that
closed is known at once, without asking the device). A device that goes away is a fault (not offered,
reopened when back); one that comes back clears it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from firmware.faults import Faults
from hal.errors import DeviceFault
from hal.payment import PaymentTerminal

RECONNECT_S = 2.0  # a faulty device is tried again this soon
LINK_S = 0.25  # how often the terminals' links are looked at: a way to pay that is gone leaves the screen
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class Reader(Protocol[R_co]):
    """A card reader or a code reader."""

    @property
    def name(self) -> str: ...

    async def read(self) -> R_co: ...

    async def open(self) -> None: ...


@dataclass
class DeviceWatch:
    faults: Faults
    terminals: Mapping[str, PaymentTerminal]  # by payment method
    paying: Callable[[], bool]  # a payment under way: no terminal is disturbed
    check_s: float  # between terminal checks while all is well
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    link_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # the links' looks: the cabinet's clock
    _lost: asyncio.Event = field(default_factory=asyncio.Event)  # a link found lost: check (reconnect) soon

    async def read_forever(self, reader: Reader[R], record: Callable[[R], None]) -> None:
        """Read a device until cancelled; a device that goes away is reported and reopened when back."""
        while True:
            try:
                record(await reader.read())
            except DeviceFault as exc:
                self.faults.device(exc)
                await self.sleep(RECONNECT_S)
                try:
                    await reader.open()
                except DeviceFault:
                    continue
            self.faults.recovered(reader.name)

    async def check_terminals(self) -> None:
        """Check the terminals until cancelled, sooner while a device is faulty."""
        while True:
            await self.check_terminals_once()
            await self._pause(RECONNECT_S if self.faults.devices_faulty() else self.check_s)

    async def _pause(self, delay_s: float) -> None:
        """Sleep delay_s, or less when a link is found lost (its reconnection starts then, not a check later)."""
        waits = [asyncio.ensure_future(self._lost.wait()), asyncio.ensure_future(self.sleep(delay_s))]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
            self._lost.clear()

    async def watch_links(self) -> None:
        """Until cancelled: a terminal whose link is known lost (its port closed: unplugged) is a fault now,
        not at the next check, so its way to pay leaves the screen within a second."""
        while True:
            for terminal in self.terminals.values():
                lost = terminal.link_fault()
                if lost is not None and terminal.name not in self.faults.active:
                    self.faults.device(lost)
                    self._lost.set()
            await self.link_sleep(LINK_S)

    async def check_terminals_once(self) -> None:
        for terminal in self.terminals.values():
            if self.paying():
                break
            try:
                await terminal.check()
            except DeviceFault as exc:
                self.faults.device(exc)
            else:
                self.faults.recovered(terminal.name)
