"""The set of devices a cabinet runs with, and how real ones are built from config."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gpiozero.pins import Factory

from firmware.config import Config
from hal.camera import Camera
from hal.card_reader import CardReader
from hal.code_reader import CodeReader
from hal.device import AsyncDevice
from hal.errors import DeviceFault
from hal.fingerprint_sensor import FingerprintSensor
from hal.lock import DoorSensor, GpioDoorSensor, GpioLock, Lock, make_pin_factory
from hal.payment import PaymentTerminal

if TYPE_CHECKING:  # the backends import numpy and simplejpeg: only when a camera is configured
    from hal.camera_backends.frame_camera import FrameCamera


@dataclass
class Devices:
    lock: Lock
    door: DoorSensor
    terminals: dict[str, PaymentTerminal] = field(default_factory=dict)  # by payment method
    card_reader: CardReader | None = None
    fingerprint: FingerprintSensor | None = None  # staff fingers (issue 17)
    code_reader: CodeReader | None = None
    camera: Camera | None = None
    links: list[AsyncDevice] = field(default_factory=list)  # shared links under a device (the lock board's)
    tamper: DoorSensor | None = None  # the tamper contact (casing, electronics box)

    def openable(self) -> list[AsyncDevice]:
        """Devices with open()/close(), in opening order (a link before what uses it, the camera
        before a reader that shares it)."""
        return [
            d
            for d in (
                *self.links,
                *self.terminals.values(),
                self.card_reader,
                self.fingerprint,
                self.camera,
                self.code_reader,
            )
            if d is not None
        ]

    async def open_all(self, on_fault: Callable[[DeviceFault], None]) -> None:
        """Open every device that opens; one that is not there is a fault, and the others open still."""
        for device in self.openable():
            try:
                await device.open()
            except DeviceFault as exc:
                on_fault(exc)

    async def close_all(self) -> None:
        """Close every device, the pins last: the relay drops (fail-secure)."""
        for device in self.openable():
            with contextlib.suppress(DeviceFault):
                await device.close()
        self.lock.close()
        self.door.close()
        if self.tamper is not None:
            self.tamper.close()


def build_lock_and_door(
    config: Config, pin_factory: Factory | None = None
) -> tuple[GpioLock, GpioDoorSensor, GpioDoorSensor | None]:
    """The relay, the door's reed switch and (if wired) the tamper switch: contacts to ground, pull-ups."""
    factory = pin_factory or make_pin_factory(config.lock.pin_factory)
    lock = GpioLock(
        config.lock.relay_pin,
        active_high=config.lock.relay_active_high,
        max_unlock_s=config.lock.max_unlock_s,
        pin_factory=factory,
    )
    door = GpioDoorSensor(config.lock.door_pin, debounce_s=config.lock.door_debounce_s, pin_factory=factory)
    tamper = (
        GpioDoorSensor(
            config.lock.tamper_pin, debounce_s=config.lock.door_debounce_s, pin_factory=factory, name="tamper"
        )
        if config.lock.tamper_pin
        else None
    )
    return lock, door, tamper


def build_devices(config: Config) -> Devices:
    """Real devices from the configuration; drivers are imported only when configured."""
    if config.lock.backend == "lockboard":
        from hal.lockboard import BAUDRATE, LockBoardLink
        from hal.lockboard.backend import LockBoardDoorSensor, LockBoardLock
        from hal.serial_link import SerialLink

        link = LockBoardLink(SerialLink("lock", config.lock.board_port, BAUDRATE))
        devices = Devices(
            lock=LockBoardLock(link, config.lock.board_lock, max_unlock_s=config.lock.max_unlock_s),
            door=LockBoardDoorSensor(link, config.lock.board_door),
            links=[link],
        )
    else:
        lock, door, tamper = build_lock_and_door(config)
        devices = Devices(lock=lock, door=door, tamper=tamper)
    if config.payment.backend == "zvt":
        from hal.zvt.driver import ZvtTerminal

        devices.terminals["terminal"] = ZvtTerminal(
            config.payment.port,
            password=config.payment.password,
            currency=config.cabinet.currency,
            auth_timeout=config.payment.timeout_s,
        )
    if config.nfc.backend == "pn532":
        from hal.pn532.reader import Pn532Reader

        devices.card_reader = Pn532Reader(config.nfc.port)
    if config.fingerprint.backend == "zfm":
        from hal.fingerprint.sensor import ZfmSensor

        section = config.fingerprint
        devices.fingerprint = ZfmSensor(
            section.port, baudrate=section.baudrate, password=section.password, capacity=section.capacity
        )
    camera: FrameCamera | None = None  # both backends hand out frames, which a camera code reader needs
    if config.camera.backend == "picamera":
        from hal.camera_backends.picamera import PiCamera

        camera = PiCamera()
    elif config.camera.backend == "opencv":
        from hal.camera_backends.opencv_camera import OpenCvCamera

        device = config.camera.device
        camera = OpenCvCamera(int(device) if device.isdigit() else device)
    devices.camera = camera
    if config.scanner.backend == "serial":
        from hal.scanner.reader import SerialScanner

        devices.code_reader = SerialScanner(config.scanner.port)
    elif config.scanner.backend == "camera" and camera is not None:
        from hal.camera_code_reader import CameraCodeReader

        devices.code_reader = CameraCodeReader(camera)
    return devices
