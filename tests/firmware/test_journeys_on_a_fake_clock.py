"""Every journey that opens the door, and the door alarms, on a fake clock: a whole Cabinet on real parts
(SQLite on disk, gpiozero mock pins with the mock door), whose time moves only when the test says so.
What the screen is told about the door is checked at each step: the latch's real pulse, the time to open
the door, and the end of both to the exact instant."""

from __future__ import annotations

import dataclasses

import pytest

from firmware.cabinet import Cabinet
from firmware.clock import FakeClock
from firmware.door_alarms import DoorAlarms
from firmware.idle_watch import TICK_S
from firmware.journeys.pickup import P
from firmware.journeys.restock import R
from kiosk_ui.intents import Activity, OpenPickup, SetCount
from kiosk_ui.view import View
from sync_client.cabinet_config import hash_secret
from tests.firmware.cabinet_rig import STAFF_CARD, Cabinets, enter_code, until

PULSE_S, WINDOW_S, RESTOCK_PULSE_S, RESTOCK_WINDOW_S = 4.0, 45.0, 5.0, 120.0


@pytest.fixture
async def fake(tmp_path):
    (tmp_path / "cabinet").mkdir()
    cabinets = Cabinets(tmp_path / "cabinet", clock=FakeClock())
    # Pulses long in real time too: the mock door opens only while the real driver holds the latch.
    cabinets.config.lock = dataclasses.replace(
        cabinets.config.lock, max_unlock_s=RESTOCK_PULSE_S, unlock_s=PULSE_S, door_open_timeout_s=WINDOW_S
    )
    yield cabinets
    if cabinets.cabinet is not None:
        await cabinets.cut()


async def booted(cabinets: Cabinets) -> tuple[Cabinet, FakeClock, list[View]]:
    cabinet = await cabinets.boot()
    views: list[View] = []
    cabinet.on_view = views.append
    assert isinstance(cabinets.clock, FakeClock)
    return cabinet, cabinets.clock, views


async def door_seen(cabinets: Cabinets, is_open: bool) -> None:
    """Open or close the mock door and wait for the debounced sensor to report it (real parts, real time)."""
    assert cabinets.cabinet is not None
    seen = len(cabinets.cabinet.outbox.events("door.opened" if is_open else "door.closed"))
    cabinets.door.open() if is_open else cabinets.door.close()
    await until(
        lambda: len(cabinets.cabinet.outbox.events("door.opened" if is_open else "door.closed")) > seen,
        what="the door change recorded",
    )


def journey_timers(cabinet: Cabinet, clock: FakeClock) -> list[float]:
    """The clock's timers but the idle watch's own (its next tick, within TICK_S, and its idle timeout) and
    the store's and the heap's upkeep (the next look at the WAL, at whether to trim the heap)."""
    idle_watch = cabinet.idle_watch
    upkeep = (idle_watch.idle_at, cabinet.checkpoints.tick_at, cabinet.heap_trim.tick_at)
    return [t for t in clock.pending() if t > clock.now + TICK_S and t not in upkeep]


# --- pickup ---------------------------------------------------------------------------------------
async def test_pickup_shows_the_pulse_then_the_time_left_and_lapses_at_exactly_the_window(fake):
    cabinet, clock, views = await booted(fake)
    await enter_code(cabinet)
    start = clock.now
    shown = views[-1]  # what the screen was last given, not what it could ask for
    assert (shown.screen, shown.door) == ("door", "unlocked")
    assert (shown.latch_until, shown.deadline) == (start + PULSE_S, start + WINDOW_S)
    assert not shown.can_unlock_again
    clock.advance(PULSE_S)
    assert views[-1].latch_until is None and views[-1].deadline == start + WINDOW_S, "redrawn when the latch holds"
    clock.advance(WINDOW_S - PULSE_S - 0.001)
    assert cabinet.pickup.state is P.DOOR_UNLOCKED
    clock.advance(0.001)
    assert cabinet.pickup.state is P.IDLE and views[-1].screen == "attract"
    await enter_code(cabinet)  # the code stays good for another try
    assert fake.events("door.unlocked")[-1]["reason"] == "pickup" and len(fake.events("door.unlocked")) == 2


async def test_a_pickup_collected_ends_its_thanks_at_exactly_thanks_s(fake):
    cabinet, clock, views = await booted(fake)
    await enter_code(cabinet)
    clock.advance(1.0)
    await door_seen(fake, True)
    assert cabinet.pickup.state is P.DOOR_OPENED and views[-1].door == "opened" and views[-1].deadline is None
    lock = cabinet.config.lock
    assert journey_timers(cabinet, clock) == [clock.now + lock.door_reminder_s, clock.now + lock.door_alarm_s], (
        "only the door alarms run now: no timer of the door's opening outlives it"
    )
    clock.advance(12.5)
    await door_seen(fake, False)
    assert fake.events("door.closed")[-1] == {"open_s": 12.5, "reason": "pickup"}
    assert fake.events("pickup.completed")[0]["order_id"] == "order-1"
    clock.advance(cabinet.config.screen.thanks_s - 0.001)
    assert cabinet.pickup.state is P.DONE
    clock.advance(0.001)
    assert cabinet.pickup.state is P.IDLE


async def test_the_keypad_left_untouched_goes_back_at_exactly_the_idle_timeout_after_the_last_touch(fake):
    cabinet, clock, views = await booted(fake)
    idle_s = cabinet.config.screen.idle_timeout_s
    cabinet.handle_intent(Activity())
    cabinet.handle_intent(OpenPickup())
    await clock.run(idle_s - 1)
    cabinet.handle_intent(Activity())  # a tap on the keypad: the wait starts again
    touched = clock.now
    await clock.run(idle_s - 0.001)
    assert cabinet.pickup.state is P.CODE_ENTRY and views[-1].screen == "pickup"
    await clock.run(0.001)
    assert clock.now == touched + idle_s
    assert cabinet.pickup.state is P.IDLE and views[-1].screen == "attract"


# --- restock ----------------------------------------------------------------------------------------
async def test_a_staff_card_restock_counts_what_the_door_let_in_and_lapses_unopened_at_its_window(fake):
    cabinet, clock, views = await booted(fake)
    start = clock.now
    assert cabinet.restock.staff_card(STAFF_CARD)
    shown = views[-1]
    assert (shown.screen, shown.door, shown.latch_until) == ("restock", "unlocked", start + RESTOCK_PULSE_S)
    assert shown.deadline == start + RESTOCK_WINDOW_S
    clock.advance(RESTOCK_WINDOW_S - 0.001)
    assert cabinet.restock.state is R.UNLOCKED
    clock.advance(0.001)
    assert cabinet.restock.state is R.IDLE
    [(state,)] = cabinet.outbox.db.conn.execute("SELECT state FROM restocks").fetchall()
    assert state == "not_opened"

    assert cabinet.restock.staff_card(STAFF_CARD)
    await door_seen(fake, True)
    assert cabinet.restock.state is R.COUNTING
    cabinet.handle_intent(SetCount("SCOOT-S1", 7))
    clock.advance(30)
    await door_seen(fake, False)
    assert fake.events("door.closed")[-1] == {"open_s": 30.0, "reason": "restock"}
    assert fake.events("restock.recorded")[0]["count"] == 7
    clock.advance(2.999)
    assert cabinet.restock.state is R.RECORDED
    clock.advance(0.001)
    assert cabinet.restock.state is R.IDLE


async def test_a_locked_pin_pad_keeps_one_timer_and_comes_back_at_exactly_the_end_of_the_lock(fake):
    cabinet, clock, views = await booted(fake)
    cabinet.restock.pin_hashes = lambda: [hash_secret("2468", n=2**10)]
    cabinet.restock.open_pin_pad()
    for _ in range(5):
        assert await cabinet.restock.enter_pin("1111") == "wrong"
    assert cabinet.restock.message == "pin_locked" and cabinet.restock.pin_lock_remaining() == 30
    for _ in range(3):  # taps while locked: each says so again, none leaves a timer behind
        assert await cabinet.restock.enter_pin("2468") == "locked"
    assert journey_timers(cabinet, clock) == [clock.now + 30]
    clock.advance(29.999)
    assert views[-1].message == "pin_locked"
    clock.advance(0.001)
    assert cabinet.restock.message is None and views[-1].message is None
    assert await cabinet.restock.enter_pin("2468") == "unlocked"


# --- the remote unlock ------------------------------------------------------------------------------
async def test_a_remote_unlock_pulses_once_for_what_it_asked_and_lapses_at_the_window(fake):
    cabinet, clock, views = await booted(fake)
    start = clock.now
    with cabinet.outbox.transaction() as tx:
        assert cabinet.remote.record(tx, "cmd-1", 3.0) == "unlocking"
    cabinet.remote.unlock("cmd-1")
    cabinet.remote.unlock("cmd-1")  # applied once: the second is refused, no second pulse
    assert fake.pulses() == 1
    [unlocked] = fake.events("door.unlocked")
    assert (unlocked["reason"], unlocked["seconds"], unlocked["who"]) == ("remote", 3.0, "remote:cmd-1")
    assert views[-1].latch_until == start + 3.0 and views[-1].deadline == start + RESTOCK_WINDOW_S
    clock.advance(3.0)
    assert views[-1].latch_until is None
    clock.advance(RESTOCK_WINDOW_S - 3.0)
    assert cabinet.restock.state is R.IDLE and cabinet.idle()


# --- the door alarms ----------------------------------------------------------------------------------
@pytest.fixture
def alarms(tmp_path):
    from sync_client.outbox import Outbox

    outbox = Outbox(tmp_path / "alarms.db", "cab-1")
    clock = FakeClock()
    photos: list[str] = []
    yield DoorAlarms(outbox, reminder_s=60.0, alarm_s=180.0, snapshot=photos.append, clock=clock), clock, photos
    outbox.close()


def alarm_kinds(alarms: DoorAlarms) -> list[str]:
    return [e.payload["kind"] for e in alarms.outbox.events("alarm")]


def test_a_door_left_open_is_reminded_at_exactly_reminder_s_then_alarmed_at_alarm_s(alarms):
    door, clock, photos = alarms
    door.door_changed(True)
    clock.advance(59.999)
    assert door.reminder is None
    clock.advance(0.001)
    assert door.reminder == "door_open_too_long" and alarm_kinds(door) == []
    clock.advance(119.999)
    assert alarm_kinds(door) == []
    clock.advance(0.001)
    assert alarm_kinds(door) == ["door_left_open"] and photos == ["door_left_open"]
    door.door_changed(False)
    assert door.reminder is None and clock.pending() == []


def test_closing_the_door_in_time_cancels_both(alarms):
    door, clock, photos = alarms
    door.door_changed(True)
    clock.advance(59)
    door.door_changed(False)
    clock.advance(3600)
    assert door.reminder is None and alarm_kinds(door) == [] and photos == []


def test_a_forced_door_and_the_tamper_switch_are_alarms_with_a_photo(alarms):
    door, _, photos = alarms
    door.forced()
    door.tamper_changed(False)
    door.tamper_changed(True)
    assert alarm_kinds(door) == ["door_forced", "tamper"]
    assert door.outbox.events("door.opened")[0].payload == {"authorized": False}
    assert photos == ["forced", "tamper"]


async def test_a_door_forced_with_no_journey_is_an_alarm_through_the_cabinet(fake):
    cabinet, _, _ = await booted(fake)
    fake.door.force_open()
    await until(lambda: cabinet.outbox.events("alarm"), what="the alarm")
    assert [e.payload["kind"] for e in cabinet.outbox.events("alarm")] == ["door_forced"]
