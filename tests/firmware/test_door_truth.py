"""The door screen tells the latch window the lock really has, then that the door is locked again, with
"unlock again" while the opening allows more: pickup and restock on a whole Cabinet (SQLite on disk, gpiozero
mock pins whose history is what the relay did), on a fake clock for the journeys and the door cycle."""

from __future__ import annotations

import dataclasses

import pytest

from firmware.clock import FakeClock
from firmware.journeys.pickup import P
from firmware.journeys.restock import R
from kiosk_ui.intents import UnlockAgain
from kiosk_ui.view import DoorScreen, RestockScreen, View
from tests.firmware.cabinet_rig import STAFF_CARD, Cabinets, enter_code, until

PULSE_S, STAFF_PULSE_S, WINDOW_S = 0.3, 0.4, 45.0


@pytest.fixture
async def rig(tmp_path):
    (tmp_path / "cabinet").mkdir()
    cabinets = Cabinets(tmp_path / "cabinet", clock=FakeClock())
    cabinets.config.lock = dataclasses.replace(
        cabinets.config.lock, unlock_s=PULSE_S, max_unlock_s=STAFF_PULSE_S, door_open_timeout_s=WINDOW_S
    )
    yield cabinets
    if cabinets.cabinet is not None:
        await cabinets.cut()


async def booted(rig: Cabinets) -> tuple[FakeClock, list[View]]:
    cabinet = await rig.boot()
    views: list[View] = []
    cabinet.on_view = views.append
    assert isinstance(rig.clock, FakeClock)
    return rig.clock, views


async def pulses_held(rig: Cabinets, count: int) -> list[float]:
    """How long each of the relay's first ``count`` pulses held (s), from the pin's recorded history."""

    def held() -> list[float]:
        history, out, on_at = rig.door.relay_history(), [], None
        for entry in history:
            if entry["energized"] and on_at is None:
                on_at = entry["t"]
            elif not entry["energized"] and on_at is not None:
                out.append(entry["t"] - on_at)
                on_at = None
        return out

    await until(lambda: len(held()) >= count, what=f"{count} pulses over")
    return held()


async def test_pickup_counts_down_the_pulse_the_relay_held_then_says_locked_and_unlocks_again(rig):
    clock, views = await booted(rig)
    frame_s = 1 / rig.config.screen.fps
    await enter_code(rig.cabinet)
    start, shown = clock.now, views[-1]
    assert isinstance(shown, DoorScreen) and shown.prepaid, "a prepaid order: no total on the door screen"
    [held] = await pulses_held(rig, 1)
    assert shown.latch_until is not None
    assert abs((shown.latch_until - start) - held) <= frame_s, (shown.latch_until - start, held)
    assert shown.deadline == start + WINDOW_S, "the time to open is told apart from the latch window"

    clock.advance(PULSE_S)
    shown = views[-1]
    assert isinstance(shown, DoorScreen)
    assert (shown.door, shown.latch_until, shown.can_unlock_again, shown.alarm) == ("unlocked", None, True, None)
    rig.cabinet.handle_intent(UnlockAgain())
    again = views[-1]
    assert isinstance(again, DoorScreen) and again.latch_until == clock.now + PULSE_S
    assert again.deadline == start + WINDOW_S, "unlocking again does not extend the time to open"
    [_, held_again] = await pulses_held(rig, 2)
    assert abs((again.latch_until - clock.now) - held_again) <= frame_s
    assert [e.get("attempt") for e in rig.events("door.unlocked")] == [None, 2]

    clock.advance(PULSE_S)
    rig.cabinet.handle_intent(UnlockAgain())  # the third and last release (lock.max_unlocks_per_sale)
    clock.advance(PULSE_S)
    last = views[-1]
    assert isinstance(last, DoorScreen) and (last.latch_until, last.can_unlock_again) == (None, False)
    assert rig.pulses() == 3 and rig.cabinet.pickup.state is P.DOOR_UNLOCKED


async def test_restock_says_locked_again_after_its_pulse_not_unlocked_for_its_whole_window(rig):
    clock, views = await booted(rig)
    assert rig.cabinet.restock.staff_card(STAFF_CARD)
    start, shown = clock.now, views[-1]
    assert isinstance(shown, RestockScreen) and shown.latch_until == start + STAFF_PULSE_S
    [held] = await pulses_held(rig, 1)
    assert abs(STAFF_PULSE_S - held) <= 1 / rig.config.screen.fps
    clock.advance(STAFF_PULSE_S)
    shown = views[-1]
    assert isinstance(shown, RestockScreen)
    assert (shown.door, shown.latch_until, shown.can_unlock_again) == ("unlocked", None, True)
    rig.cabinet.handle_intent(UnlockAgain())
    assert rig.pulses() == 2 and rig.cabinet.restock.state is R.UNLOCKED
    assert rig.events("door.unlocked")[-1]["attempt"] == 2
    rig.door.open()  # the latch is released again: the retailer gets in
    await until(lambda: rig.cabinet.restock.state is R.COUNTING, what="the door seen open")
