"""The one door cycle, on a fake clock: the relay through the real gpiozero lock driver on mock pins (its
history is what the relay did), the door changes as the debounced sensor reports them."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from gpiozero.pins.mock import MockFactory

from firmware.clock import FakeClock
from firmware.door_cycle import TIMERS, TRANSITIONS, D, DoorCycle, DoorRefused, Opening
from hal.lock import GpioLock
from hal.sim.door import MockDoor


@dataclass
class Journey:
    """What a journey hears from the cycle, in order."""

    heard: list[tuple] = field(default_factory=list)

    def opening(self, pulse_s: float = 4.0, open_within_s: float = 45.0, unlocks: int = 1, ref: str | None = None):
        return Opening(
            "sale",
            pulse_s=pulse_s,
            open_within_s=open_within_s,
            on_opened=lambda: self.heard.append(("opened",)),
            on_closed=lambda open_s: self.heard.append(("closed", open_s)),
            on_not_opened=lambda: self.heard.append(("not_opened",)),
            unlocks=unlocks,
            ref=ref,
        )


class CountingLock(GpioLock):
    """The real driver, counting the releases asked of it: on a fake clock the driver's own (real-time)
    pulse has not ended when the cycle releases the latch again, so the pin shows no new edge."""

    releases = 0

    def unlock(self, seconds: float) -> float:
        self.releases += 1
        return super().unlock(seconds)


@pytest.fixture
def rig():
    factory = MockFactory()
    lock = CountingLock(17, active_high=False, max_unlock_s=5.0, pin_factory=factory)
    door = MockDoor(factory, relay_pin=17, relay_active_high=False, door_pin=27)
    clock = FakeClock()
    photos: list[tuple[str, str | None]] = []
    redraws: list[D] = []
    cycle = DoorCycle(lock, clock, snapshot=lambda kind, ref: photos.append((kind, ref)))
    cycle.on_change = lambda: redraws.append(cycle.state)
    yield cycle, clock, door, photos, redraws, Journey()
    lock.close()


def test_every_state_is_reachable_and_can_leave():
    targets = {t for moves in TRANSITIONS.values() for t in moves.values()}
    assert targets == set(D)
    assert all(TRANSITIONS[s] for s in D)
    for timer in TIMERS.values():  # a timer's trigger leaves every state it runs in
        assert all(timer.trigger in TRANSITIONS[s] for s in timer.states)


def test_the_latch_is_released_for_the_pulse_the_lock_gave_then_the_time_to_open_runs_out(rig):
    cycle, clock, door, photos, redraws, journey = rig
    start = clock.now
    assert cycle.unlock(journey.opening(pulse_s=8.0, open_within_s=45.0)) == 5.0, "the lock bounds the pulse"
    assert door.latch_released and cycle.lock.releases == 1
    view = cycle.view()
    assert (view.door, view.released_until, view.open_by) == ("unlocked", start + 5.0, start + 45.0)
    assert clock.pending() == [start + 5.0, start + 45.0]
    clock.advance(4.999)
    assert cycle.state is D.RELEASED
    clock.advance(0.001)
    assert cycle.state is D.LATCHED and cycle.view().released_until is None
    assert not cycle.can_unlock_again, "this journey allows one release"
    clock.advance(39.999)
    assert journey.heard == []
    clock.advance(0.001)
    assert journey.heard == [("not_opened",)]
    assert cycle.state is D.IDLE and cycle.view() == cycle.view().__class__("closed", None, None, False)
    assert clock.pending() == [] and photos == []
    assert redraws == [D.RELEASED, D.LATCHED, D.IDLE]
    assert not door.latch_released


def test_unlock_again_restarts_only_the_pulse_and_never_extends_the_time_to_open(rig):
    cycle, clock, door, _, _, journey = rig
    start = clock.now
    opening = journey.opening(pulse_s=4.0, open_within_s=45.0, unlocks=2)
    cycle.unlock(opening)
    with pytest.raises(DoorRefused):
        cycle.unlock_again(opening)  # the latch is still released: nothing to unlock again
    clock.advance(10)
    assert cycle.can_unlock_again and cycle.view().can_unlock_again
    assert cycle.unlock_again(opening) == 4.0
    assert cycle.lock.releases == 2 and cycle.state is D.RELEASED
    assert clock.pending() == [start + 14.0, start + 45.0]
    clock.advance(4)
    assert cycle.state is D.LATCHED and not cycle.can_unlock_again, "two releases were allowed, both used"
    with pytest.raises(DoorRefused):
        cycle.unlock_again(opening)
    clock.advance(31)
    assert journey.heard == [("not_opened",)] and cycle.lock.releases == 2


def test_the_door_opening_drops_the_relay_at_once_stops_the_timers_and_photographs_open_and_close(rig):
    cycle, clock, door, photos, _, journey = rig
    cycle.unlock(journey.opening(ref="sale-1"))
    clock.advance(1.5)
    assert door.latch_released
    assert cycle.door_changed(True) is True
    assert not door.latch_released, "the latch has done its job: the solenoid is spared"
    assert cycle.state is D.OPENED and clock.pending() == [], "no timer outlives the state it belongs to"
    assert cycle.view().door == "opened" and cycle.view().open_by is None
    clock.advance(75.25)
    assert cycle.door_changed(False) is True
    assert journey.heard == [("opened",), ("closed", 75.25)]
    assert photos == [("opened", "sale-1"), ("closed", "sale-1")]
    assert cycle.state is D.IDLE and cycle.opening is None


def test_a_door_that_opens_or_closes_with_no_opening_asked_for_is_not_the_cycles(rig):
    cycle, clock, _, photos, _, journey = rig
    assert cycle.door_changed(True) is False, "forced: the caller raises the alarm"
    assert cycle.door_changed(False) is False
    cycle.unlock(journey.opening())
    assert cycle.door_changed(False) is False, "a close while waiting for the door to open is not this opening's"
    assert photos == [] and journey.heard == []


def test_one_opening_at_a_time(rig):
    cycle, _, door, _, _, journey = rig
    cycle.unlock(journey.opening())
    with pytest.raises(DoorRefused, match="busy"):
        cycle.unlock(Journey().opening())
    assert cycle.lock.releases == 1


def test_a_resumed_opening_waits_with_the_latch_shut_and_counts_the_releases_already_used(rig):
    cycle, clock, door, _, _, journey = rig
    start = clock.now
    opening = journey.opening(unlocks=3)
    cycle.resume(opening, unlocks_used=7, window_s=120.0)
    assert cycle.lock.releases == 0, "after a power cut nothing opens by itself"
    assert cycle.state is D.LATCHED and cycle.view().open_by == start + 120.0 and cycle.can_unlock_again
    cycle.unlock_again(opening)
    clock.advance(4)
    assert not cycle.can_unlock_again, "the releases before the cut count: one was left"
    clock.advance(116)
    assert journey.heard == [("not_opened",)]


def test_recover_drops_the_relay_whatever_the_last_run_left(rig):
    cycle, _, door, _, _, _ = rig
    cycle.lock._relay.on()  # the state a crash may leave behind on a real relay board
    cycle.recover()
    assert not door.latch_released


def test_a_relay_that_fails_leaves_no_opening_behind(rig):
    cycle, clock, _, _, _, journey = rig

    def broken(seconds: float) -> float:
        raise OSError("relay board gone")

    cycle.lock.unlock = broken
    with pytest.raises(OSError):
        cycle.unlock(journey.opening())
    assert cycle.state is D.IDLE and cycle.opening is None and clock.pending() == []
    assert cycle.door_changed(True) is False, "a door opening now was not authorized"
