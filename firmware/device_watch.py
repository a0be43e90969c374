"""Watching the devices: the card and code readers read until cancelled, the payment terminals are asked
between sales whether they can take a payment, and their links are looked at every LINK_S (a port that
closed is known at once, without asking the device), and so is the network link the kernel reports (the
"network" fault while there is no default route or its interface is down: scan-to-pay leaves the screen). A
device that goes away is a fault (not offered, reopened when back); one that comes back clears it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from firmware.faults import NETWORK, Faults
from firmware.link_watch import KernelLink
from hal.errors import DeviceFault
from hal.payment import PaymentTerminal

RECONNECT_S = 2.0  # a faulty device is tried again this soon
LINK_S = 0.25  # how often the terminals' links are looked at: a way to pay that is gone leaves the screen
log = logging.getLogger(__name__)
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
    network: KernelLink | None = None  # the kernel's network link; None: not watched (simulation)
    on_network: Callable[[bool], None] = lambda up: None  # the link lost (False) or back (True)
    _network_unknown_said: bool = False

    async def read_forever(
        self, reader: Reader[R], record: Callable[[R], None], reopened: Callable[[], None] = lambda: None
    ) -> None:
        """Read a device until cancelled; a device that goes away (or never opened) is reported and reopened
        when back, and ``reopened`` is told (what was put off while it was away can be done now)."""
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
                reopened()
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
            self.look_at_network()
            await self.link_sleep(LINK_S)

    def look_at_network(self) -> None:
        """The kernel's link: lost, it is the "network" fault now (scan-to-pay needs the cloud); back, the
        fault clears and the cloud is asked again (scan-to-pay returns once it answers, see on_network)."""
        if self.network is None:
            return
        state = self.network.read()
        if state.up is None:
            if not self._network_unknown_said:
                log.warning("the network link cannot be watched here", extra={"detail": state.reason})
                self._network_unknown_said = True
            return
        was_down = NETWORK in self.faults.active
        if not state.up and self.faults.active.get(NETWORK) != state.reason:
            log.error("network link down", extra={"detail": state.reason})
            self.faults.raise_fault(NETWORK, state.reason, "network_down")
            if not was_down:
                self.on_network(False)
        elif state.up and was_down:
            self.faults.recovered(NETWORK)
            self.on_network(True)

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
