"""ZfmSensor against the fingerprint module emulator over a PTY."""

from __future__ import annotations

import asyncio

import pytest

from hal.errors import DeviceFault
from hal.fingerprint import FingerprintError, ZfmSensor, commands
from hal.fingerprint_sensor import EnrolStep, FingerRead
from hal.sim.fingerprint_emulator import FingerprintEmulator
from tests.polling import until

WAIT = 5.0


@pytest.fixture
async def emulator():
    async with FingerprintEmulator(templates={3: "alice"}) as emu:
        yield emu


@pytest.fixture
async def sensor(emulator):
    sensor = ZfmSensor(emulator.port, poll_interval=0.005, response_timeout=0.5)
    await sensor.open()
    yield sensor
    await sensor.close()


async def test_open_verifies_the_password_and_counts_templates(emulator, sensor):
    assert [c[0] for c in emulator.commands] == [commands.VFY_PWD, commands.TEMPLATE_NUM]
    assert sensor.templates == 1 and sensor.identity() == "1 templates"


async def test_wrong_password_is_a_device_fault_naming_it():
    async with FingerprintEmulator(password=0x1234) as emu:
        sensor = ZfmSensor(emu.port, response_timeout=0.5)
        with pytest.raises(DeviceFault, match="handshake failed: .*wrong password"):
            await sensor.open()
        assert not sensor._link.is_open


async def test_silent_port_is_a_device_fault():
    async with FingerprintEmulator(address=0x11111111) as emu:  # ignores packets to FFFFFFFF
        with pytest.raises(DeviceFault, match="no answer to command 13"):
            await ZfmSensor(emu.port, response_timeout=0.1).open()


async def lift_while_reading(emulator, sensor) -> asyncio.Future[FingerRead]:
    """Lift the finger and start the next read; returns once the sensor has seen no finger."""
    emulator.lift()
    seen = emulator.empty_polls
    read = asyncio.ensure_future(sensor.read())
    await until(lambda: emulator.empty_polls > seen, what="the sensor seen empty")
    return read


async def test_enrolled_finger_reads_as_its_slot_unknown_finger_as_none(emulator, sensor):
    emulator.place("alice")
    assert await asyncio.wait_for(sensor.read(), WAIT) == FingerRead(3, 200)
    second = await lift_while_reading(emulator, sensor)
    emulator.place("mallory")
    assert await asyncio.wait_for(second, WAIT) == FingerRead(None)


async def test_a_finger_left_on_the_sensor_is_read_once(emulator, sensor):
    emulator.place("alice")
    assert (await asyncio.wait_for(sensor.read(), WAIT)).slot == 3
    second = asyncio.ensure_future(sensor.read())
    await until(lambda: emulator.commands.count(bytes([commands.GEN_IMG])) > 5, what="polls with the finger still on")
    assert not second.done()
    emulator.lift()
    seen = emulator.empty_polls
    await until(lambda: emulator.empty_polls > seen, what="the sensor seen empty")
    emulator.place("alice")
    assert (await asyncio.wait_for(second, WAIT)).slot == 3


async def test_a_smudged_capture_is_tried_again(emulator, sensor):
    emulator.messy_next()
    emulator.place("alice")
    assert (await asyncio.wait_for(sensor.read(), WAIT)).slot == 3


async def _enrol_by_hand(emulator, sensor, slot, first, second):
    steps: list[EnrolStep] = []

    def on_step(step: EnrolStep) -> None:
        steps.append(step)
        if step is EnrolStep.PLACE:
            emulator.place(first)
        elif step is EnrolStep.LIFT:
            emulator.lift()
        else:
            emulator.place(second)

    try:
        await asyncio.wait_for(sensor.enrol(slot, on_step), WAIT)
    finally:
        emulator.lift()
    return steps


async def test_enrol_twice_stores_the_template_on_the_module(emulator, sensor):
    steps = await _enrol_by_hand(emulator, sensor, 7, "bob", "bob")
    assert steps == [EnrolStep.PLACE, EnrolStep.LIFT, EnrolStep.PLACE_AGAIN]
    assert emulator.library == {3: "alice", 7: "bob"}
    assert await sensor.used_slots() == {3, 7} and await sensor.template_count() == 2
    read = await lift_while_reading(emulator, sensor)
    emulator.place("bob")
    assert (await asyncio.wait_for(read, WAIT)).slot == 7


async def test_enrol_with_two_different_fingers_fails_and_stores_nothing(emulator, sensor):
    with pytest.raises(FingerprintError, match="not the same finger"):
        await _enrol_by_hand(emulator, sensor, 7, "bob", "carol")
    assert emulator.library == {3: "alice"}


async def test_enrol_outside_the_library_is_refused(sensor):
    with pytest.raises(ValueError, match="slot 1000 outside 0..999"):
        await sensor.enrol(1000, lambda step: None)


async def test_delete_removes_the_template(emulator, sensor):
    await sensor.delete(3)
    assert emulator.library == {} and await sensor.used_slots() == set()
    emulator.place("alice")
    assert await asyncio.wait_for(sensor.read(), WAIT) == FingerRead(None)


async def test_unplugged_module_faults_the_read(emulator, sensor):
    read = asyncio.ensure_future(sensor.read())
    await until(lambda: len(emulator.commands) > 3)
    await emulator.unplug()
    with pytest.raises(DeviceFault):
        await asyncio.wait_for(read, WAIT)


async def test_a_module_that_keeps_breaking_the_protocol_is_a_fault(emulator, sensor):
    emulator.garbled = True  # every acknowledgement with a stray byte
    emulator.place("alice")
    with pytest.raises(DeviceFault, match="3 bad answers in a row"):
        await asyncio.wait_for(sensor.read(), WAIT)
