"""`kiosk selftest`: exercise every configured device and print a table.

Each check does what a technician would: pulse the lock and see the relay
answer, read the door, register with the payment terminal, ask the NFC chip
for its firmware, shake hands with the fingerprint module and count its
templates, open the scanner, take a snapshot. Exit status 1 if any
device failed.
"""

from __future__ import annotations

import asyncio
import io
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from firmware.config import Config
from firmware.devices import Devices
from hal.camera import Camera
from hal.device import AsyncDevice
from hal.errors import DeviceFault
from hal.fingerprint_sensor import FingerprintSensor
from hal.payment import PaymentTerminal

PULSE_S = 0.2


@dataclass
class Check:
    device: str
    port: str
    ok: bool
    detail: str


async def _relay_state(devices: Devices) -> str:
    if devices.lock.energized:
        return "relay on (the door is being opened); not pulsed"
    return "relay off; not pulsed (the latch is only tested at the cabinet)"


async def _lock(devices: Devices) -> str:
    lock = devices.lock
    pulse = lock.unlock(PULSE_S)
    if not await _within(1.0, lambda: lock.energized):  # a lock board reports back over serial
        raise DeviceFault("lock", "relay did not switch on")
    if not await _within(pulse + 1.0, lambda: not lock.energized):
        lock.lock()
        raise DeviceFault("lock", f"relay still on after its {pulse:g} s pulse")
    return f"relay pulsed {pulse:g} s and released"


async def _within(seconds: float, condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def _door(devices: Devices) -> str:
    return "open" if devices.door.is_open else "closed"


async def _opened(device: AsyncDevice) -> str:
    await device.open()
    return device.identity() or "answering"


async def _camera(camera: Camera) -> str:
    await camera.open()
    jpeg = await camera.snapshot()
    if not jpeg.startswith(b"\xff\xd8"):
        raise DeviceFault("camera", "snapshot is not a JPEG")
    return f"snapshot {len(jpeg)} bytes"


async def run_checks(
    devices: Devices, config: Config, *, faults: dict[str, str] | None = None, pulse_lock: bool = True
) -> list[Check]:
    """Exercise every device. ``faults`` given: the cabinet is running, so devices that are read
    continuously (NFC, scanner) are judged by their fault state rather than reopened under their reader,
    and payment terminals get their between-sales check rather than a new registration. ``pulse_lock`` False
    (a self-test asked from afar, with no one at the door): the relay is read, never pulsed."""
    lock_check = (lambda: _lock(devices)) if pulse_lock else (lambda: _relay_state(devices))
    plan: list[tuple[str, str, Callable[[], Awaitable[str]]]] = [
        ("lock", f"GPIO{config.lock.relay_pin} ({config.lock.pin_factory})", lock_check),
        ("door", f"GPIO{config.lock.door_pin} ({config.lock.pin_factory})", lambda: _door(devices)),
    ]
    for method, terminal in devices.terminals.items():
        plan.append(
            (
                f"payment:{method}",
                terminal.where,
                partial(_checked, terminal) if faults is not None else partial(_opened, terminal),
            )
        )
    for name, reader in (("nfc", devices.card_reader), ("scanner", devices.code_reader)):
        if reader is not None:
            plan.append(
                (
                    name,
                    reader.where,
                    partial(_reading, reader, faults) if faults is not None else partial(_opened, reader),
                )
            )
    if devices.fingerprint is not None:
        plan.append(("fingerprint", devices.fingerprint.where, partial(_fingerprint, devices.fingerprint, faults)))
    if devices.camera is not None:
        plan.append(("camera", config.camera.backend, partial(_camera, devices.camera)))
    checks = []
    for name, port, check in plan:
        started = time.monotonic()
        try:
            detail = await asyncio.wait_for(check(), 15.0)
            ok = True
        except DeviceFault as exc:
            ok, detail = False, exc.detail
        except TimeoutError:
            ok, detail = False, "no answer within 15 s"
        checks.append(Check(name, port, ok, f"{detail} ({(time.monotonic() - started) * 1000:.0f} ms)"))
    return checks


async def _checked(terminal: PaymentTerminal) -> str:
    await terminal.check()
    return "ready"


async def _fingerprint(sensor: FingerprintSensor, faults: dict[str, str] | None) -> str:
    """The handshake (VfyPwd) when the cabinet is not running it, then the templates stored: the module
    answers between two polls of a running reader too."""
    if faults is None:
        await sensor.open()
    return f"handshake ok, {await sensor.template_count()} templates"


async def _reading(reader: AsyncDevice, faults: dict[str, str]) -> str:
    if reader.name in faults:
        raise DeviceFault(reader.name, faults[reader.name])
    return "reading"


async def close_devices(devices: Devices) -> None:
    for device in devices.openable():
        try:
            await device.close()
        except DeviceFault:
            pass
    devices.lock.close()


def format_table(checks: list[Check], colour: bool) -> str:
    rows = [("device", "port", "result", "detail")] + [
        (c.device, c.port, "ok" if c.ok else "FAIL", c.detail) for c in checks
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    out = io.StringIO()
    for i, row in enumerate(rows):
        result = row[2].ljust(widths[2])
        if colour and i > 0:
            result = f"\033[{'32' if row[2] == 'ok' else '31;1'}m{result}\033[0m"
        print(f"{row[0].ljust(widths[0])}  {row[1].ljust(widths[1])}  {result}  {row[3]}", file=out)
    return out.getvalue()


async def run_selftest(config: Config, *, sim: bool) -> int:
    if sim:
        from firmware.sim import build_sim

        devices, bench = build_sim(config)
        await bench.start()
    else:
        from firmware.devices import build_devices

        devices, bench = build_devices(config), None
    try:
        devices.door.start(asyncio.get_running_loop())
        checks = await run_checks(devices, config)
        await close_devices(devices)
    finally:
        if bench is not None:
            await bench.stop()
    sys.stdout.write(format_table(checks, colour=sys.stdout.isatty()))
    failed = [c.device for c in checks if not c.ok]
    print(
        f"{len(checks) - len(failed)} of {len(checks)} devices ok"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0
