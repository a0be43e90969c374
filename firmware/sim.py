"""Simulation: every device emulated, speaking its real protocol, and the
bench's "hands" (approve on the terminal, open the door, tap a card, show a
QR code, pull the network cable) as one table of actions shared by the
control API and the bench panel.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from gpiozero.pins.mock import MockFactory

from firmware.config import Config
from firmware.devices import Devices, build_lock_and_door
from firmware.sim_network import NetworkSwitch
from hal.sim.door import DoorLocked, MockDoor

log = logging.getLogger(__name__)
# What the bench panel's buttons present: a demo staff card and the cabinet's demo QR code.
BENCH_PANEL_DEFAULTS: dict[str, dict] = {"nfc/present": {"uid": "04A224B2C35E80"},
                                         "qr/show": {"text": "https://shop.example/order/DEMO-1234"}}


class BenchError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class SimBench:
    door: MockDoor
    network: NetworkSwitch | None = None
    on_network_up: Callable[[], None] = lambda: None

    def pins(self) -> dict[str, Any]:
        return {"relay": self.door.relay_history(),
                "door": {"open": self.door.is_open, "latch_released": self.door.latch_released}}

    async def start(self) -> None:
        pass

    async def act(self, action: str) -> None:
        """A button on the bench panel: the same action as the control API, with demo values."""
        try:
            await BENCH_ACTIONS[action](self, dict(BENCH_PANEL_DEFAULTS.get(action, {})))
        except BenchError as exc:
            log.warning("bench action refused", extra={"action": action, "reason": str(exc)})

    async def stop(self) -> None:
        if self.network is not None:
            await self.network.stop()


def build_sim(config: Config) -> tuple[Devices, SimBench]:
    factory = MockFactory()
    lock, door_sensor = build_lock_and_door(config, factory)
    door = MockDoor(factory, relay_pin=config.lock.relay_pin, relay_active_high=config.lock.relay_active_high,
                    door_pin=config.lock.door_pin)
    devices = Devices(lock=lock, door=door_sensor)
    return devices, SimBench(door=door)


# --- the bench's hands ---------------------------------------------------------
Action = Callable[[SimBench, dict], Awaitable[dict | None]]


async def _door_open(bench: SimBench, body: dict) -> dict:
    try:
        bench.door.open()
    except DoorLocked as exc:
        raise BenchError(409, f"door: {exc} (the relay is not energized)") from None
    return {"door": "open"}


async def _door_close(bench: SimBench, body: dict) -> dict:
    bench.door.close()
    return {"door": "closed"}


async def _network(bench: SimBench, up: bool) -> dict:
    if bench.network is None:
        raise BenchError(409, "network: the simulated link is not running")
    bench.network.set_up(up)
    if up:
        bench.on_network_up()
    return {"network": "up" if up else "down"}


BENCH_ACTIONS: dict[str, Action] = {
    "door/open": _door_open,
    "door/close": _door_close,
    "network/down": lambda bench, body: _network(bench, False),
    "network/up": lambda bench, body: _network(bench, True),
}
