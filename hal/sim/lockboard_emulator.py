"""A lock controller board on the far end of a PTY, running the real firmware.

The board's logic is firmware/lockboard's LockController itself, given by the
caller (hal knows nothing of firmware), on CPython with hal.sim.machine_shim
standing in for the Pico's pins, UART, watchdog and ticks. Around it the
emulator plays the hardware: it moves bytes between the PTY and the shim UART,
runs the main loop, lets tests open and close the contacts
(``set_input("door0", open=True)``), records every relay level, and resets the
"chip" when the watchdog starves (``freeze()`` hangs the firmware).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from hal.lockboard.codec import ResetCause, input_number
from hal.sim.machine_shim import UART, WDT, Pin, RealTimeClock
from hal.sim.pty_link import PtyEmulator, PtyLink

log = logging.getLogger(__name__)

_RELAY_GPIO = (2, 3, 4, 5)  # as in firmware/lockboard/main.py
_DOOR_GPIO = (6, 7, 8, 9)
_TAMPER_GPIO, _POWER_GPIO = 10, 11
_WRITE_TIMEOUT_S = 0.05  # nobody reading the port: the bytes are lost, as on a real wire


class BoardFirmware(Protocol):
    def step(self) -> None:
        """One pass of the board's main loop."""


# LockController's signature: (relays, doors, uart, watchdog, clock, *, tamper, power, reset_cause, **settings).
BoardFirmwareFactory = Callable[..., BoardFirmware]


@dataclass(frozen=True)
class RelaySample:
    t: float  # seconds since the emulator was created
    energized: bool


class LockBoardEmulator(PtyEmulator):
    task_name = "lockboard-emulator"

    def __init__(
        self,
        firmware: BoardFirmwareFactory,
        *,
        locks: int = 1,
        doors: int = 1,
        relay_active_high: bool = False,
        max_on_ms: int = 8000,
        heartbeat_timeout_ms: int = 3000,
        watchdog_ms: int = 2000,
        debounce_ms: int = 30,
        start_ticks: int = 0,
        loop_ms: int = 5,
    ) -> None:
        if not 1 <= locks <= len(_RELAY_GPIO):
            raise ValueError(f"the board drives 1 to {len(_RELAY_GPIO)} locks, not {locks}")
        if not 0 <= doors <= len(_DOOR_GPIO):
            raise ValueError(f"the board reads 0 to {len(_DOOR_GPIO)} doors, not {doors}")
        super().__init__("lockboard")
        self._firmware = firmware
        self.clock = RealTimeClock(start_ticks)
        self._t0 = self.clock.ticks_ms()
        self._on_level = int(relay_active_high)
        self._settings: dict[str, Any] = {
            "relay_active_high": relay_active_high,
            "max_on_ms": max_on_ms,
            "heartbeat_timeout_ms": heartbeat_timeout_ms,
            "debounce_ms": debounce_ms,
        }
        self.watchdog_ms = watchdog_ms
        self.loop_ms = loop_ms
        # Output pins come up low: with active-low relay modules that is "energized",
        # so only the firmware switching them off at boot keeps the locks shut.
        self.relay_pins = [Pin(n, Pin.OUT, clock=self.clock) for n in _RELAY_GPIO[:locks]]
        self.inputs = {
            f"door{i}": Pin(n, Pin.IN, Pin.PULL_UP, clock=self.clock) for i, n in enumerate(_DOOR_GPIO[:doors])
        }
        self.inputs["tamper"] = Pin(_TAMPER_GPIO, Pin.IN, Pin.PULL_UP, clock=self.clock)
        self.inputs["power"] = Pin(_POWER_GPIO, Pin.IN, Pin.PULL_UP, clock=self.clock)
        for pin in self.inputs.values():
            pin.drive(0)  # every contact closed: door shut, lid on, mains present
        self.boots: list[ResetCause] = []
        self.frozen = False
        self._boot(ResetCause.POWER_ON)

    def _boot(self, cause: ResetCause) -> None:
        self.uart = UART(0, 115200, rxbuf=512)
        self.watchdog = WDT(timeout=self.watchdog_ms, clock=self.clock)
        doors = [pin for name, pin in self.inputs.items() if name.startswith("door")]
        self.controller = self._firmware(
            self.relay_pins,
            doors,
            self.uart,
            self.watchdog,
            self.clock,
            tamper=self.inputs["tamper"],
            power=self.inputs["power"],
            reset_cause=int(cause),
            **self._settings,
        )
        self.boots.append(cause)
        self.frozen = False

    def _power_on(self) -> None:
        """Unplugged and plugged back: the board boots from scratch."""
        self._float_relays()
        self._boot(ResetCause.POWER_ON)

    async def _serve(self, link: PtyLink) -> None:
        while True:
            received = await link.read_some(self.loop_ms / 1000)
            if received:
                self.uart.receive(received)
            if not self.frozen:
                self.controller.step()
            sent = self.uart.transmitted()
            if sent:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(link.write(sent), _WRITE_TIMEOUT_S)
            if self.watchdog.starved:
                self._watchdog_reset()

    def _watchdog_reset(self) -> None:
        log.warning("lockboard emulator: watchdog starved, resetting the board")
        self._float_relays()
        self._boot(ResetCause.WATCHDOG)

    def _float_relays(self) -> None:
        # A reset or power loss floats the GPIOs: the relay modules' own pull-ups
        # hold them off. Whatever sat in the UART is lost with the old firmware run.
        for pin in self.relay_pins:
            pin.value(1 - self._on_level)

    # -- the outside world ------------------------------------------------------

    def set_input(self, name: str, *, open: bool) -> None:
        """Open or close a contact: door0..door3, tamper (lid), power (mains-present)."""
        input_number(name)  # a clear error for a name no board has
        if name not in self.inputs:
            raise ValueError(f"this board has no {name} input (it has {', '.join(self.inputs)})")
        self.inputs[name].drive(open)

    def freeze(self) -> None:
        """Hang the firmware's main loop (as a bug would): only the watchdog can recover."""
        self.frozen = True

    # -- observation ------------------------------------------------------------

    def relay_energized(self, index: int) -> bool:
        return self.relay_pins[index].value() == self._on_level

    def relay_history(self, index: int) -> list[RelaySample]:
        """Every level driven on relay ``index`` (by the firmware, or floated off by a reset), in order."""
        return [
            RelaySample(self.clock.ticks_diff(level.ticks, self._t0) / 1000, level.value == self._on_level)
            for level in self.relay_pins[index].history
        ]

    def elapsed(self) -> float:
        """Seconds since the emulator was created, on the board's clock (the history's time base)."""
        return self.clock.ticks_diff(self.clock.ticks_ms(), self._t0) / 1000
