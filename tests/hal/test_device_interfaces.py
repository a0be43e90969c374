"""Every device interface opens and closes the same way (``async with``), says in its repr what it is,
where it is attached and its state, and leaves its port free for the next user once closed."""

from __future__ import annotations

import asyncio

import serial
from gpiozero.pins.mock import MockFactory

from firmware.lockboard.controller import LockController
from hal.camera_code_reader import CameraCodeReader
from hal.fingerprint import ZfmSensor
from hal.lock import GpioDoorSensor, GpioLock
from hal.lockboard import BAUDRATE, LockBoardLink
from hal.lockboard.backend import LockBoardDoorSensor, LockBoardLock
from hal.pn532.reader import Pn532Reader
from hal.scanner.reader import SerialScanner
from hal.serial_link import SerialLink
from hal.sim.camera_sim import SimCamera
from hal.sim.fingerprint_emulator import FingerprintEmulator
from hal.sim.lockboard_emulator import LockBoardEmulator
from hal.sim.pn532_emulator import Pn532Emulator
from hal.sim.scanner_emulator import ScannerEmulator
from hal.sim.zvt_emulator import ZvtEmulator
from hal.zvt import ZvtTerminal


def port_is_free(port: str) -> bool:
    """Another process could open the port now (the drivers open it exclusively)."""
    try:
        serial.Serial(port, exclusive=True).close()
    except serial.SerialException:
        return False
    return True


async def test_lock_and_door_contacts_on_gpio_pins() -> None:
    factory = MockFactory()
    lock = GpioLock(17, active_high=True, max_unlock_s=0.5, pin_factory=factory)
    door = GpioDoorSensor(27, debounce_s=0.01, pin_factory=factory)
    tamper = GpioDoorSensor(22, debounce_s=0.01, pin_factory=factory, name="tamper")
    factory.pin(27).drive_low()  # the door is shut
    factory.pin(22).drive_high()  # the casing is open
    async with lock, door, tamper:
        assert repr(lock) == "<GpioLock lock on GPIO17: locked>"
        lock.unlock(0.5)
        assert repr(lock) == "<GpioLock lock on GPIO17: energized>"
        assert repr(door) == "<GpioDoorSensor door on GPIO27: closed>"
        assert repr(tamper) == "<GpioDoorSensor tamper on GPIO22: open>"
    assert not factory.pin(17).state  # closing a lock drops the relay first
    assert [repr(d) for d in (lock, door, tamper)] == [
        "<GpioLock lock on GPIO17: released>",
        "<GpioDoorSensor door on GPIO27: released>",
        "<GpioDoorSensor tamper on GPIO22: released>",
    ]
    lock.close()  # twice is harmless
    door.close()


async def test_payment_terminal_on_its_serial_port() -> None:
    emulator = ZvtEmulator(password="123456", ack_timeout=0.4, reply_timeout=3.0)
    await emulator.start()
    try:
        terminal = ZvtTerminal(emulator.port, password="123456", ack_timeout=0.4, reply_timeout=3.0)
        assert repr(terminal) == f"<ZvtTerminal payment on {emulator.port}: closed>"
        async with terminal:
            assert repr(terminal) == f"<ZvtTerminal payment on {emulator.port}: connected to terminal 29001234>"
            assert terminal.identity() == "terminal id 29001234"
            assert not port_is_free(emulator.port)
        assert repr(terminal).endswith(": closed>") and port_is_free(emulator.port)
    finally:
        await emulator.stop()


async def test_card_reader_on_its_serial_port() -> None:
    async with Pn532Emulator() as emulator:
        reader = Pn532Reader(emulator.port)
        async with reader:
            assert repr(reader) == f"<Pn532Reader nfc on {emulator.port}: open>"
            assert (reader.identity() or "").startswith("firmware PN532")
        assert repr(reader) == f"<Pn532Reader nfc on {emulator.port}: closed>" and port_is_free(emulator.port)


async def test_code_reader_on_its_serial_port() -> None:
    async with ScannerEmulator() as emulator:
        scanner = SerialScanner(emulator.port)
        async with scanner:
            assert repr(scanner) == f"<SerialScanner scanner on {emulator.port}: open>"
            await emulator.scan("PICKUP:24681012")
            assert (await asyncio.wait_for(scanner.read(), 5)).text == "PICKUP:24681012"
        assert repr(scanner) == f"<SerialScanner scanner on {emulator.port}: closed>" and port_is_free(emulator.port)


async def test_camera_and_the_code_reader_that_shares_it() -> None:
    camera = SimCamera()
    reader = CameraCodeReader(camera)
    async with camera:
        assert repr(camera) == "<SimCamera camera on sim: open>"
        assert (await camera.snapshot()).startswith(b"\xff\xd8")
        async with reader:  # the camera is already open: the reader leaves it open when it closes
            assert repr(reader) == "<CameraCodeReader camera-qr on camera (SimCamera): reading>"
        assert camera.is_open
    assert repr(camera) == "<SimCamera camera on sim: closed>"
    assert repr(reader) == "<CameraCodeReader camera-qr on camera (SimCamera): closed>"


async def test_lock_board_link_lock_and_door() -> None:
    async with LockBoardEmulator(LockController) as emulator:
        link = LockBoardLink(SerialLink("lock", emulator.port, BAUDRATE), heartbeat_interval=0.15)
        lock = LockBoardLock(link, 0, max_unlock_s=2.0)
        door = LockBoardDoorSensor(link, 0)
        async with link, door:
            assert repr(link).startswith(f"<LockBoardLink lock on {emulator.port}: open, board v")
            assert repr(lock) == f"<LockBoardLock lock on {emulator.port} relay 0: locked>"
            assert repr(door) == f"<LockBoardDoorSensor door on {emulator.port} door0: closed>"
            lock.unlock(1.0)
            async with asyncio.timeout(5):
                while not lock.energized:  # the board's report says so
                    await asyncio.sleep(0.01)
            assert repr(lock).endswith("relay 0: energized>")
            lock.close()
        assert repr(link) == f"<LockBoardLink lock on {emulator.port}: closed>" and port_is_free(emulator.port)


async def test_fingerprint_module_on_its_serial_port() -> None:
    async with FingerprintEmulator(templates={1: "mei"}) as emulator:
        sensor = ZfmSensor(emulator.port)
        async with sensor:
            assert repr(sensor) == f"<ZfmSensor fingerprint on {emulator.port}: open>"
            assert sensor.identity() == "1 templates"
            assert not port_is_free(emulator.port)
        assert repr(sensor) == f"<ZfmSensor fingerprint on {emulator.port}: closed>" and port_is_free(emulator.port)
