"""Hardware-in-the-loop: each device through its real driver. Without --bench the driver talks to
its emulator over a PTY (or the mock pins); with `--bench PROFILE` the same tests talk to the real
devices the profile names. Tests that need a person (present a card, pull the door) run on a bench
only when the profile says `hands = true`; otherwise they are skipped with the reason."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from firmware.config import Config
from firmware.devices import build_devices
from firmware.sim import build_sim
from hal.fingerprint_sensor import EnrolStep
from hal.payment import PaymentOutcome

HANDS = "needs a person at the bench (set bench.hands = true in the profile)"


@pytest.fixture
async def rig(bench_profile):
    """(devices, sim bench or None, config)."""
    if bench_profile is None:
        config = Config()
        config.lock = dataclasses.replace(config.lock, max_unlock_s=0.5, unlock_s=0.3)
        config.fingerprint = dataclasses.replace(config.fingerprint, backend="sim")
        devices, bench = build_sim(config)
        await bench.start()
    else:
        config, bench = bench_profile, None
        devices = build_devices(config)
    for link in devices.links:
        await link.open()
    start = getattr(devices.door, "start", None)
    if start is not None:
        start(asyncio.get_running_loop())
    yield devices, bench, config
    for device in devices.openable():
        await device.close()
    devices.lock.close()
    devices.door.close()
    if bench is not None:
        await bench.stop()


def person_or_emulator(bench, config: Config) -> None:
    if bench is None and not config.bench.hands:
        pytest.skip(HANDS)


async def eventually(condition, seconds: float = 2.0) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def test_lock_pulse_is_bounded_and_released(rig):
    devices, _, config = rig
    pulse = devices.lock.unlock(config.lock.max_unlock_s * 10)
    assert pulse == pytest.approx(config.lock.max_unlock_s)
    assert await eventually(lambda: devices.lock.energized)
    assert await eventually(lambda: not devices.lock.energized, pulse + 1.0)


async def test_door_opens_only_while_unlocked(rig):
    devices, bench, config = rig
    person_or_emulator(bench, config)
    assert not devices.door.is_open
    devices.lock.unlock(config.lock.unlock_s)
    if bench is not None:
        bench.door.open()
    else:
        print("\nbench: open the door now, then close it")
    assert await eventually(lambda: devices.door.is_open, 30 if bench is None else 2)
    if bench is not None:
        bench.door.close()
    assert await eventually(lambda: not devices.door.is_open, 30 if bench is None else 2)


async def test_terminal_registers_and_answers_a_status_enquiry(rig):
    devices, _, _ = rig
    terminal = devices.terminals["terminal"]
    await terminal.open()
    assert terminal.terminal_id
    await terminal.check()


async def test_terminal_payment_cancelled_by_the_cabinet_moves_no_money(rig):
    devices, _, config = rig
    terminal = devices.terminals["terminal"]
    await terminal.open()
    payment = asyncio.ensure_future(terminal.authorize(100, config.cabinet.currency))
    await asyncio.sleep(1.0)
    await terminal.cancel()
    result = await asyncio.wait_for(payment, 30)
    assert result.outcome is PaymentOutcome.CANCELLED


async def test_terminal_approves_a_card(rig):
    devices, bench, config = rig
    person_or_emulator(bench, config)
    terminal = devices.terminals["terminal"]
    await terminal.open()
    payment = asyncio.ensure_future(terminal.authorize(100, config.cabinet.currency))
    if bench is not None:
        await bench.terminal.wait_for_card_prompt()
        bench.terminal.approve()
    else:
        print("\nbench: present a test card to the terminal for 1.00")
    result = await asyncio.wait_for(payment, 120)
    assert result.approved and result.receipt_no
    reversal = await terminal.reverse(result.receipt_no, 100, config.cabinet.currency)
    assert reversal.approved


async def test_nfc_reader_answers_with_its_firmware(rig):
    devices, _, _ = rig
    reader = devices.card_reader
    if reader is None:
        pytest.skip("no NFC reader in this profile")
    await reader.open()
    assert reader.firmware is not None and reader.firmware.is_pn532


async def test_nfc_reader_reads_a_card(rig):
    devices, bench, config = rig
    person_or_emulator(bench, config)
    reader = devices.card_reader
    await reader.open()
    if bench is not None:
        bench.nfc.present(bytes.fromhex("04A224B2C35E80"))
    else:
        print("\nbench: hold a card on the NFC reader")
    card = await asyncio.wait_for(reader.read(), 30)
    assert len(card.uid) in (4, 7, 10)


async def test_fingerprint_module_shakes_hands_and_counts_its_templates(rig):
    devices, _, _ = rig
    sensor = devices.fingerprint
    if sensor is None:
        pytest.skip("no fingerprint module in this profile")
    await sensor.open()  # VfyPwd with the profile's password, then TempleteNum
    assert await sensor.template_count() == len(await sensor.used_slots())


async def test_fingerprint_enrol_match_and_delete_at_the_last_slot(rig):
    devices, bench, config = rig
    sensor = devices.fingerprint
    if sensor is None:
        pytest.skip("no fingerprint module in this profile")
    person_or_emulator(bench, config)
    await sensor.open()
    slot = config.fingerprint.capacity - 1  # a bench module's other templates are left alone
    emulator = bench.fingerprint if bench is not None else None

    def hand(step: EnrolStep) -> None:
        if emulator is None:
            print(f"\nbench: {step.value.replace('_', ' ')} (the same finger each time)")
        elif step is EnrolStep.LIFT:
            emulator.lift()
        else:
            emulator.place("bench-finger")

    await sensor.enrol(slot, hand)
    assert slot in await sensor.used_slots()
    reading = asyncio.ensure_future(sensor.read())  # the finger still on the sensor is not read again
    if emulator is not None:
        await emulator.touch("bench-finger")
    else:
        print("\nbench: lift the finger, then place it once more")
    assert (await asyncio.wait_for(reading, 30)).slot == slot
    await sensor.delete(slot)
    assert slot not in await sensor.used_slots()


async def test_scanner_opens_and_reads_a_code(rig):
    devices, bench, config = rig
    scanner = devices.code_reader
    if scanner is None:
        pytest.skip("no scanner in this profile")
    await scanner.open()
    person_or_emulator(bench, config)
    if bench is not None:
        await bench.scanner.scan("HIL-CODE-42")
    else:
        print("\nbench: scan any code")
    code = await asyncio.wait_for(scanner.read(), 30)
    assert code.text and (bench is None or code.text == "HIL-CODE-42")


async def test_camera_snapshot_is_a_jpeg(rig):
    devices, _, _ = rig
    if devices.camera is None:
        pytest.skip("no camera in this profile")
    await devices.camera.open()
    jpeg = await devices.camera.snapshot()
    assert jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9"
