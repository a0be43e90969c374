"""Lock relay and door sensor on gpiozero mock pins, asserted on the pins' recorded history."""

import asyncio
import threading
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
    assert door.relay.state is True  # active-low relay board: high = coil off
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
    for _ in range(5):  # a bouncing reed switch: 5 ms flicker
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


def wait_until(predicate, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def on_intervals(door: MockDoor) -> list[float]:
    """How long the relay stayed energized each time, from the pin's recorded history."""
    out, on = [], None
    for entry in door.relay_history():
        if entry["energized"] and on is None:
            on = entry["t"]
        elif not entry["energized"] and on is not None:
            out.append(entry["t"] - on)
            on = None
    return out


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), float("-inf"), 0, 0.0, -1, -1e-9, True, "3"])
def test_a_pulse_that_is_not_a_finite_positive_number_is_refused_and_the_relay_never_moves(bench, seconds):
    lock, _, door = bench
    with pytest.raises(ValueError, match=f"unlock pulse must be a finite number of seconds > 0, got {seconds!r}"):
        lock.unlock(seconds)
    assert not lock.energized
    assert not any(entry["energized"] for entry in door.relay_history())


@pytest.mark.parametrize("max_unlock_s", [float("nan"), float("inf"), 0.0, -5.0])
def test_a_lock_cannot_be_built_with_a_bound_that_is_not_a_finite_positive_number(max_unlock_s):
    with pytest.raises(ValueError, match="max_unlock_s must be a finite number of seconds > 0"):
        GpioLock(17, active_high=False, max_unlock_s=max_unlock_s, pin_factory=MockFactory())


def test_the_driver_hard_maximum_holds_whatever_the_configured_maximum_and_the_request():
    from hal.lock import HARD_MAX_UNLOCK_S

    factory = MockFactory()
    lock = GpioLock(
        17,
        active_high=False,
        max_unlock_s=HARD_MAX_UNLOCK_S * 100,
        pin_factory=factory,
        hard_max_s=HARD_MAX_UNLOCK_S * 100,
    )  # a configuration cannot raise the driver's maximum
    assert lock.max_unlock_s == HARD_MAX_UNLOCK_S
    lock.close()
    lock = GpioLock(17, active_high=False, max_unlock_s=5.0, pin_factory=factory, hard_max_s=0.05)
    door = MockDoor(factory, relay_pin=17, relay_active_high=False, door_pin=27)
    assert lock.unlock(1e300) == pytest.approx(0.05)
    wait_until(lambda: not lock.energized)
    [on_s] = on_intervals(door)
    assert 0.04 <= on_s <= 0.3
    lock.close()


def test_unlocking_again_while_energized_never_stretches_the_latch_past_the_bound():
    factory = MockFactory()
    lock = GpioLock(17, active_high=False, max_unlock_s=0.2, pin_factory=factory)
    door = MockDoor(factory, relay_pin=17, relay_active_high=False, door_pin=27)
    started = time.monotonic()
    for k in range(6):  # a caller that asks for another full pulse every 80 ms
        wait_until(lambda k=k: time.monotonic() - started >= k * 0.08)
        lock.unlock(0.2)
    wait_until(lambda: not lock.energized)
    assert max(on_intervals(door)) <= 0.2 + 0.15  # asked for 0.6 s in all
    lock.close()


def test_a_pulse_starts_no_thread_so_the_caller_never_waits_for_one_to_be_scheduled(bench):
    """The relay's caller is the event loop, right after the approval's commit: a thread started per pulse made
    it wait until the new thread ran. One thread, started with the lock, ends every pulse."""
    lock, _, door = bench
    before = threading.active_count()
    for _ in range(3):
        lock.unlock(0.05)
        assert threading.active_count() == before
        wait_until(lambda: not lock.energized)
    assert len(on_intervals(door)) == 3 and max(on_intervals(door)) <= 0.05 + 0.15


def test_closing_the_lock_ends_its_pulse_thread_with_the_relay_off(bench):
    lock, _, door = bench

    def pulse_threads() -> int:
        return sum(t.name == "lock-pulse-GPIO17" for t in threading.enumerate())

    running = pulse_threads()
    assert running >= 1
    lock.unlock(5)
    lock.close()
    wait_until(lambda: pulse_threads() == running - 1)
    assert door.relay.state is True  # active-low: high = coil off


def test_the_simulated_pins_keep_their_latest_thousand_changes_of_a_cabinet_selling_all_day(monkeypatch):
    """gpiozero's mock pin records every change: a simulated cabinet's relay and door pins grew with each
    sale. The simulation's pins keep their latest 1000, and the relay's history still counts its offsets
    from the pin's creation (the same as the whole history's last 1000)."""
    from hal.sim.door import RecentStatesPin

    def relay_history(pin_class):
        clock = iter(range(1, 10_000))
        monkeypatch.setattr("gpiozero.pins.mock.monotonic", lambda: float(next(clock)))
        door = MockDoor(MockFactory(pin_class=pin_class), relay_pin=17, relay_active_high=True, door_pin=27)
        for _ in range(1500):  # 1500 sales' relay pulses, a second between changes
            door.relay.drive_high()
            door.relay.drive_low()
        return door.relay.states, door.relay_history()

    states, history = relay_history(RecentStatesPin)
    _, whole = relay_history(None)
    assert len(whole) == 3000 and len(states) == 1 + RecentStatesPin.KEEP
    assert history == whole[-RecentStatesPin.KEEP :]
