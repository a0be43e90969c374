"""Lock relay and door sensor on gpiozero mock pins, asserted on the pins' recorded history."""
import asyncio
import time

import pytest
from gpiozero.pins.mock import MockFactory

from hal.lock import GpioDoorSensor, GpioLock
from hal.sim.door import DoorLocked, MockDoor


@pytest.fixture
def bench():
    factory = MockFactory()
    lock = GpioLock(17, active_high=False, max_unlock_s=0.3, pin_factory=factory)
    sensor = GpioDoorSensor(27, debounce_s=0.05, pin_factory=factory)
    door = MockDoor(factory, relay_pin=17, relay_active_high=False, door_pin=27)
    yield lock, sensor, door
    lock.close()
    sensor.close()


def test_relay_is_off_at_start_and_active_low_board_sees_high(bench):
    lock, _, door = bench
    assert not lock.energized
    assert door.relay.state is True          # active-low relay board: high = coil off
    assert not any(entry["energized"] for entry in door.relay_history())


def test_pulse_is_bounded_by_max_unlock_even_if_asked_for_longer(bench):
    lock, _, door = bench
    assert lock.unlock(60) == pytest.approx(0.3)
    assert lock.energized and door.latch_released
    time.sleep(0.6)
    assert not lock.energized
    history = door.relay_history()
    on = next(e["t"] for e in history if e["energized"])
    off = next(e["t"] for e in history if e["t"] > on and not e["energized"])
    assert 0.25 <= off - on <= 0.55


def test_door_cannot_be_pulled_open_while_locked(bench):
    lock, _, door = bench
    with pytest.raises(DoorLocked):
        door.open()
    lock.unlock(0.3)
    door.open()
    assert door.is_open


async def test_door_sensor_debounces_bounces_shorter_than_the_window(bench):
    lock, sensor, door = bench
    changes = []
    sensor.start(asyncio.get_running_loop())
    sensor.subscribe(changes.append)
    assert not sensor.is_open
    for _ in range(5):               # a bouncing reed switch: 5 ms flicker
        door.force_open()
        await asyncio.sleep(0.005)
        door.close()
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.12)
    assert changes == [] and not sensor.is_open
    door.force_open()
    await asyncio.sleep(0.12)
    assert changes == [True] and sensor.is_open
    door.close()
    await asyncio.sleep(0.12)
    assert changes == [True, False]


def test_close_switches_the_relay_off(bench):
    lock, _, door = bench
    lock.unlock(0.3)
    lock.close()
    assert door.relay.state is True
