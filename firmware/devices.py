"""The set of devices a cabinet runs with, and how real ones are built from config."""
from __future__ import annotations

from dataclasses import dataclass, field

from firmware.config import Config
from hal.camera import Camera
from hal.card_reader import CardReader
from hal.code_reader import CodeReader
from hal.lock import DoorSensor, GpioDoorSensor, GpioLock, Lock, make_pin_factory
from hal.payment import PaymentTerminal


@dataclass
class Devices:
    lock: Lock
    door: DoorSensor
    terminals: dict[str, PaymentTerminal] = field(default_factory=dict)   # by payment method
    card_reader: CardReader | None = None
    code_reader: CodeReader | None = None
    camera: Camera | None = None

    def serial_devices(self) -> list:
        return [d for d in (*self.terminals.values(), self.card_reader, self.code_reader, self.camera)
                if d is not None]


def build_lock_and_door(config: Config, pin_factory=None) -> tuple[GpioLock, GpioDoorSensor]:
    factory = pin_factory or make_pin_factory(config.lock.pin_factory)
    lock = GpioLock(config.lock.relay_pin, active_high=config.lock.relay_active_high,
                    max_unlock_s=config.lock.max_unlock_s, pin_factory=factory)
    door = GpioDoorSensor(config.lock.door_pin, debounce_s=config.lock.door_debounce_s, pin_factory=factory)
    return lock, door
