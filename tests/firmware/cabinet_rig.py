"""A whole Cabinet on real parts, through power cuts: its journeys, the SQLite store on disk, gpiozero mock
pins with the mock door (its relay history is what the relay did). A power cut is the cabinet dropped after
a given commit (its tasks stopped, the relay off, nothing more written) and a new one booted on the same
file and pins, as the next boot would."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from firmware.cabinet import Cabinet
from firmware.clock import Clock
from firmware.config import Config
from firmware.devices import Devices, build_lock_and_door
from hal.camera import Camera
from hal.fingerprint_sensor import FingerprintSensor
from hal.sim.door import MockDoor
from kiosk_ui.intents import OpenPickup, SubmitPickupCode
from sync_client.cabinet_config import CabinetConfig, PickupOrder, RetailerAccess, StaffCard, hash_secret
from sync_client.outbox import Outbox
from tests.polling import until
from tests.sync.conftest import CAB  # the cabinet the cloud stub knows, for the command tests

CODE = "24681012"
ORDER = PickupOrder("order-1", "SCOOT-S1", hash_secret(CODE, n=2**12), "2099-01-01T00:00:00Z")
STAFF_CARD = "04A1B2C3"


class PowerCut(Exception):
    """The power went: nothing after this point ran."""


class Cabinets:
    """One cabinet's store and door through power cuts: ``boot()`` builds everything anew on the same
    SQLite file and mock pins."""

    def __init__(self, tmp_path: Path, clock: Clock | None = None) -> None:
        self.tmp_path = tmp_path
        self.clock = clock  # None: the real one
        self.config = Config()
        self.config.lock = dataclasses.replace(
            self.config.lock, max_unlock_s=0.3, unlock_s=0.2, door_open_timeout_s=30.0
        )
        self.factory = MockFactory()
        lock = self.config.lock
        self.door = MockDoor(
            self.factory, relay_pin=lock.relay_pin, relay_active_high=lock.relay_active_high, door_pin=lock.door_pin
        )
        self.cabinet: Cabinet | None = None
        self.orders: tuple[PickupOrder, ...] = (ORDER,)
        self.retailer = RetailerAccess(staff_cards=(StaffCard(STAFF_CARD.lower(), "retailer"),))
        self.fingerprint: FingerprintSensor | None = None  # a sensor the cabinet reads, when a test gives one
        self.camera: Camera | None = None  # none unless a test gives one

    async def boot(self) -> Cabinet:
        door_open = self.cabinet is not None and self.door.is_open
        if self.cabinet is not None:
            await self.cut()
        lock, sensor, _ = build_lock_and_door(self.config, self.factory)
        # The new input's pull-up resets the mock pin: the door is where it was.
        if door_open:
            self.door.reed.drive_high()
        else:
            self.door.reed.drive_low()
        outbox = Outbox(self.tmp_path / "cabinet.db", CAB)
        clock = {"clock": self.clock} if self.clock is not None else {}
        devices = Devices(lock=lock, door=sensor, fingerprint=self.fingerprint, camera=self.camera)
        cabinet = Cabinet(self.config, devices, outbox, self.tmp_path, **clock)
        cabinet.apply_cloud_config(CabinetConfig(1, "EUR", (), pickup_orders=self.orders, retailer=self.retailer))
        await cabinet.start()
        self.cabinet = cabinet
        return cabinet

    async def cut(self) -> None:
        assert self.cabinet is not None
        await self.cabinet.stop()  # the relay drops (no power: fail-secure); nothing is written
        self.cabinet.outbox.close()
        self.cabinet = None

    def cut_before_the_relay(self) -> list[str]:
        """The next unlock loses the power just before the relay is energized; returns what another
        connection (the next boot) finds committed at that instant."""
        assert self.cabinet is not None
        seen: list[str] = []

        def cut(seconds: float) -> float:
            with sqlite3.connect(self.tmp_path / "cabinet.db") as other:
                seen.extend(r[0] for r in other.execute("SELECT type FROM events WHERE type = 'door.unlocked'"))
            raise PowerCut()

        self.cabinet.devices.lock.unlock = cut
        return seen

    def pulses(self) -> int:
        """How many times the relay was energized, over every boot."""
        history = self.door.relay_history()
        return sum(
            1
            for before, entry in zip([{"energized": False}, *history], history, strict=False)
            if entry["energized"] and not before["energized"]
        )

    def events(self, kind: str) -> list[dict]:
        assert self.cabinet is not None
        return [e.payload for e in self.cabinet.outbox.events(kind)]


@pytest.fixture
async def cabinets(tmp_path):
    (tmp_path / "cabinet").mkdir()  # beside the cloud's files, when a test has the cloud too
    cabinets = Cabinets(tmp_path / "cabinet")
    yield cabinets
    if cabinets.cabinet is not None:
        await cabinets.cut()


def answers(cabinet: Cabinet) -> int:
    """Every code the keypad answers ends in one of these events."""
    return len(cabinet.outbox.events("door.unlocked")) + len(cabinet.outbox.events("pickup.refused"))


async def enter_code(cabinet: Cabinet, code: str = CODE) -> None:
    """Tap "pick up an order", send the code, and wait for the answer."""
    answered = answers(cabinet)
    cabinet.handle_intent(OpenPickup())
    cabinet.handle_intent(SubmitPickupCode(code))
    await until(lambda: answers(cabinet) > answered, what="the code answered")


async def open_the_door(cabinets: Cabinets, journey, opened_state) -> None:
    await until(lambda: cabinets.door.latch_released, what="the latch released")
    cabinets.door.open()
    await until(lambda: journey.state is opened_state, what="the door seen open")
