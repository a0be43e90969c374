"""The technician's service menu with real parts: gpiozero mock pins with the mock door, the SQLite
outbox on disk, the real event loop."""

import asyncio
import dataclasses

import pytest
from gpiozero.pins.mock import MockFactory

from firmware.clock import FakeClock
from firmware.config import Config
from firmware.devices import build_lock_and_door
from firmware.journeys.service import (
    RELEASE_MARGIN_S,
    TRANSITIONS,
    Calibration,
    CalibrationInvalid,
    ServiceJourney,
    ServiceRefused,
    V,
    calibration_targets,
    parse_calibration,
)
from hal.lock import GpioLock
from hal.sim.door import MockDoor
from sync_client.cabinet_config import hash_secret
from sync_client.outbox import Outbox

PIN = "7319"
TECH, RETAILER = "04A1B2C3", "04D4E5F6"
SIZE = (1024, 600)
# Target centres on 1024x600 are (102, 60), (922, 60), (922, 540), (102, 540).
GOOD = "110,52;915,66;930,548;96,533"


async def until(predicate, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


class Checks:
    """The injected self-test: canned device results, or a failure, counted."""

    def __init__(self, results=(("lock", True, "relay pulsed"), ("nfc", False, "no answer"))):
        self.results, self.runs, self.gate = list(results), 0, asyncio.Event()
        self.gate.set()

    async def __call__(self):
        self.runs += 1
        await self.gate.wait()
        if isinstance(self.results, Exception):
            raise self.results
        return self.results


@pytest.fixture
async def rig(tmp_path):
    config = Config()
    config.lock = dataclasses.replace(config.lock, max_unlock_s=0.3)
    factory = MockFactory()
    lock, sensor, _ = build_lock_and_door(config, factory)
    door = MockDoor(factory, relay_pin=config.lock.relay_pin, relay_active_high=False, door_pin=config.lock.door_pin)
    outbox = Outbox(tmp_path / "cabinet.db", "cab-1")
    restarts, checks = [], Checks()
    hashes = [hash_secret(PIN, n=2**10, r=8, p=1)]
    cards = {TECH: "technician", RETAILER: "retailer"}

    def make(**kw):
        return ServiceJourney(
            outbox=outbox,
            lock=lock,
            pin_hashes=lambda: hashes,
            staff_cards=lambda: cards,
            selftest_checks=checks,
            restart_service=lambda: restarts.append(1),
            screen_size=SIZE,
            **kw,
        )

    journey = make(lock_test_s=5.0)  # asks for more than the lock allows: the lock bounds it
    sensor.start(asyncio.get_running_loop())
    sensor.subscribe(journey.door_changed)
    rig = dataclasses.make_dataclass(
        "Rig", ["journey", "door", "outbox", "lock", "checks", "restarts", "make", "tmp_path"]
    )(journey, door, outbox, lock, checks, restarts, make, tmp_path)
    yield rig
    lock.close()
    sensor.close()
    outbox.close()


def events(outbox, kind):
    return [e.payload for e in outbox.events() if e.type == kind]


def test_every_state_is_reachable_and_can_leave():
    targets = {t for moves in TRANSITIONS.values() for t in moves.values()}
    assert targets | {V.IDLE} == set(V)
    assert all(TRANSITIONS[s] for s in V)


# --- getting in ---------------------------------------------------------------------------
async def test_a_technician_card_opens_the_menu_and_a_retailer_card_does_not(rig):
    j = rig.journey
    assert j.technician_card(RETAILER.lower()) is False
    assert j.technician_card("DEADBEEF") is False
    assert j.state is V.IDLE
    assert j.technician_card(TECH.lower()) is True
    assert j.state is V.MENU and j.who == f"card:{TECH}"
    attempts = events(rig.outbox, "auth.attempt")
    assert [(a["method"], a["purpose"], a["ok"], a["role"]) for a in attempts] == [
        ("card", "service", False, "retailer"),
        ("card", "service", False, None),
        ("card", "service", True, "technician"),
    ]
    last = j.actions()[0]
    assert (last.action, last.result, last.who) == ("enter", "card", f"card:{TECH}")


async def test_the_technician_pin_opens_the_menu_and_never_leaves_the_pad(rig):
    j = rig.journey
    with pytest.raises(ServiceRefused, match="PIN pad is not taking a PIN"):
        await j.enter_pin(PIN)
    j.open_pin_pad()
    assert j.state is V.PIN_ENTRY
    assert await j.enter_pin("0000") is False
    assert j.state is V.PIN_ENTRY and j.message == "pin_wrong" and j.attempts_left() == 4
    assert await j.enter_pin(PIN) is True
    assert j.state is V.MENU and j.who == "pin" and j.message is None
    assert [(a["method"], a["purpose"], a["ok"]) for a in events(rig.outbox, "auth.attempt")] == [
        ("pin", "service", False),
        ("pin", "service", True),
    ]
    assert all(PIN not in str(e.payload) for e in rig.outbox.events())


async def test_a_technician_card_works_on_the_open_pin_pad_and_cancel_leaves_it(rig):
    j = rig.journey
    j.open_pin_pad()
    j.cancel()
    assert j.state is V.IDLE
    j.open_pin_pad()
    assert j.technician_card(TECH)
    assert j.state is V.MENU


async def test_wrong_pins_lock_the_pad_and_the_lock_survives_a_restart(rig):
    clock = FakeClock()
    j = rig.make(clock=clock)
    j.open_pin_pad()
    for _ in range(5):
        assert await j.enter_pin("1111") is False
    assert j.message == "pin_locked" and j.guard.locked_for() == 30
    clock.advance(1)
    assert await j.enter_pin(PIN) is False, "the right PIN is refused while locked"
    assert j.state is V.PIN_ENTRY
    rebooted = FakeClock(now=5.0, wall_at_start=clock.time() + 1)  # a reboot: same database, new monotonic
    again = rig.make(clock=rebooted)
    again.open_pin_pad()
    assert await again.enter_pin(PIN) is False and again.message == "pin_locked"
    assert again.pin_lock_remaining() == 28
    rebooted.advance(28)
    assert await again.enter_pin(PIN) is True
    assert again.state is V.MENU
    assert events(rig.outbox, "auth.attempt")[-1]["failures"] == 0


# --- the self-test ---------------------------------------------------------------------------
async def test_selftest_results_are_kept_for_the_menu_and_after_a_restart(rig):
    j = rig.journey
    j.technician_card(TECH)
    rig.checks.gate.clear()
    task = j.run_selftest()
    await until(lambda: rig.checks.runs == 1)
    assert j.state is V.SELFTEST_RUNNING and j.selftest_status == "running"
    with pytest.raises(ServiceRefused):
        j.exit()
    rig.checks.gate.set()
    await task
    assert j.state is V.MENU and j.selftest_status == "failed"
    assert j.devices() == (("lock", "ok", "relay pulsed"), ("nfc", "fault", "no answer"))
    assert (j.actions()[0].action, j.actions()[0].result) == ("selftest", "failed: nfc")

    rig.checks.results = [("lock", True, "relay pulsed"), ("nfc", True, "firmware 1.6")]
    await j.run_selftest()
    assert j.selftest_status == "passed"
    assert j.devices() == (("lock", "ok", "relay pulsed"), ("nfc", "ok", "firmware 1.6"))
    again = rig.make()
    assert again.devices() == j.devices() and again.selftest_status == "passed", "read back after a reboot"


async def test_a_selftest_that_breaks_or_hangs_reports_a_failure_and_returns_to_the_menu(rig):
    j = rig.make(selftest_timeout_s=0.2)
    j.technician_card(TECH)
    rig.checks.results = RuntimeError("camera driver crashed")
    await j.run_selftest()
    assert j.state is V.MENU and j.selftest_status == "failed"
    assert j.devices() == (("selftest", "fault", "could not run: camera driver crashed"),)
    rig.checks.results = []
    rig.checks.gate.clear()
    await j.run_selftest()
    assert j.state is V.MENU and j.devices() == (("selftest", "fault", "did not finish within 0.2 s"),)


async def test_the_actions_go_up_as_events(rig):
    """Every service action and self-test is an event, appended in the same transactions as its tables."""
    j = rig.journey
    j.technician_card(TECH)
    await j.run_selftest()
    j.exit()
    assert [(a["action"], a["who"]) for a in events(rig.outbox, "service.action")] == [
        ("enter", f"card:{TECH}"),
        ("selftest", f"card:{TECH}"),
        ("exit", f"card:{TECH}"),
    ]
    [completed] = events(rig.outbox, "selftest.completed")
    assert completed == {
        "passed": False,
        "results": [
            {"device": "lock", "ok": True, "detail": "relay pulsed"},
            {"device": "nfc", "ok": False, "detail": "no answer"},
        ],
    }


# --- the lock test -----------------------------------------------------------------------------
async def test_the_lock_test_pulses_the_relay_once_bounded_and_checks_it_released(rig):
    j = rig.journey
    with pytest.raises(ServiceRefused, match="from the service menu"):
        j.lock_test()
    j.technician_card(TECH)
    pulse = j.lock_test()
    assert pulse == 0.3, "bounded by the lock's max_unlock_s, not the 5 s asked for"
    assert j.state is V.LOCK_TEST and rig.lock.energized
    with pytest.raises(ServiceRefused):
        j.lock_test()
    await until(lambda: j.state is V.MENU)
    assert j.message == "lock_released" and not rig.lock.energized
    history = rig.door.relay_history()
    assert [h["energized"] for h in history] == [False, True, False], "switched off at start, one pulse, off"
    assert 0.25 <= history[2]["t"] - history[1]["t"] <= 1.0, "held about the bounded 0.3 s, not 5 s"
    [unlocked] = events(rig.outbox, "door.unlocked")
    assert unlocked == {"reason": "lock_test", "seconds": 0.3, "who": f"card:{TECH}"}
    assert [a.result for a in j.actions()[:2]] == ["released", "pulsed 0.3 s"]


class StuckLock(GpioLock):
    """A relay whose release never comes (a welded contact, a hung bound): the journey must notice."""

    def unlock(self, seconds):
        self._relay.on()
        return min(seconds, self.max_unlock_s)


async def test_a_relay_still_on_after_the_test_is_reported_and_switched_off(rig, tmp_path):
    factory = MockFactory()
    lock = StuckLock(17, active_high=False, max_unlock_s=0.2, pin_factory=factory)
    door = MockDoor(factory, relay_pin=17, relay_active_high=False, door_pin=27)
    clock = FakeClock()
    j = ServiceJourney(
        outbox=rig.outbox,
        lock=lock,
        pin_hashes=list,
        staff_cards=lambda: {TECH: "technician"},
        selftest_checks=rig.checks,
        restart_service=lambda: None,
        clock=clock,
    )
    j.technician_card(TECH)
    assert j.lock_test() == 0.2
    clock.advance(0.2 + RELEASE_MARGIN_S - 0.001)
    assert j.state is V.LOCK_TEST and lock.energized, "checked only once the pulse and its margin are over"
    clock.advance(0.001)
    assert j.state is V.MENU
    assert j.message == "lock_stuck" and not lock.energized
    assert [h["energized"] for h in door.relay_history()] == [False, True, False]
    assert (j.actions()[0].action, j.actions()[0].result) == ("lock_test", "relay stuck on")
    lock.close()


async def test_the_door_opened_during_service_is_the_technicians(rig):
    j = rig.journey
    assert j.door_changed(True) is False, "nobody logged in: the caller raises the alarm"
    j.technician_card(TECH)
    j.lock_test()
    rig.door.open()  # the latch is released for the pulse
    await until(lambda: events(rig.outbox, "door.opened"))
    rig.door.close()
    await until(lambda: events(rig.outbox, "door.closed"))
    assert events(rig.outbox, "door.opened") == [{"authorized": True, "reason": "service", "who": f"card:{TECH}"}]
    assert events(rig.outbox, "door.closed")[0]["reason"] == "service"


# --- touch calibration ----------------------------------------------------------------------------
def test_calibration_targets_follow_the_ui_inset():
    assert calibration_targets(SIZE) == ((102, 60), (922, 60), (922, 540), (102, 540))


@pytest.mark.parametrize(
    "text, error",
    [
        ("1,2;3,4;5,6", "expected 4 points"),
        ("110,52;915,66;930,548;96,x", r"point 4: expected x,y in whole pixels"),
        ("110,52;915,66;1030,548;96,533", r"point 3: \(1030, 548\) is off the 1024x600 screen"),
        ("110,52;96,533;930,548;915,66", "point 2: .* not in the top-right quarter"),  # wrong order
        ("100,50;200,50;200,100;100,100", r"point 2: \(200, 50\) is not in the top-right quarter"),  # one corner
        ("500,280;530,280;530,310;500,310", "span 900 px², under 25% of the targets' 393600 px²"),  # the middle
        ("110,52;513,299;930,548;96,533", "points 1-2-3 do not turn like the targets' corners"),  # dented
    ],
)
def test_implausible_calibrations_are_refused_naming_what_is_wrong(text, error):
    with pytest.raises(CalibrationInvalid, match=error):
        parse_calibration(text, SIZE)


async def test_a_calibration_is_validated_stored_and_read_back(rig):
    j = rig.journey
    assert j.calibration() is None
    j.technician_card(TECH)
    j.open_calibration()
    assert j.state is V.CALIBRATE
    assert j.submit_calibration(((110, 52), (96, 533), (930, 548), (915, 66))) is False
    assert j.state is V.CALIBRATE and j.message == "calibration_rejected"
    assert "top-right" in j.calibration_error
    assert j.calibration() is None
    assert j.submit_calibration(parse_calibration(GOOD, SIZE)) is True
    assert j.state is V.MENU and j.message is None and j.calibration_error is None
    stored = j.calibration()
    assert stored == Calibration(((110, 52), (915, 66), (930, 548), (96, 533)), SIZE, stored.calibrated_at)
    assert stored.targets == calibration_targets(SIZE) and stored.calibrated_at
    assert rig.make().calibration() == stored, "read back from the database"
    last, before = (a.action for a in j.actions()[:2])
    why = j.actions()[1].result
    assert (last, before) == ("calibrate", "calibrate")
    assert why.startswith("rejected: point 2") and j.actions()[0].result == "stored"


async def test_cancel_on_the_calibration_screen_keeps_the_old_calibration(rig):
    j = rig.journey
    j.technician_card(TECH)
    j.open_calibration()
    j.submit_calibration(parse_calibration(GOOD, SIZE))
    j.open_calibration()
    j.cancel()
    assert j.state is V.MENU and j.calibration().points[0] == (110, 52)
    with pytest.raises(ServiceRefused, match="calibrate screen"):
        j.submit_calibration(parse_calibration(GOOD, SIZE))


# --- leaving -----------------------------------------------------------------------------------------
async def test_exit_restart_and_idle_log_the_technician_out(rig):
    j = rig.journey
    j.technician_card(TECH)
    j.exit()
    assert j.state is V.IDLE and j.who is None and rig.restarts == []
    with pytest.raises(ServiceRefused):
        j.exit()

    j.open_pin_pad()
    await j.enter_pin(PIN)
    j.restart()
    assert j.state is V.IDLE and rig.restarts == [1]

    j.technician_card(TECH)
    j.open_calibration()
    j.idle_timeout()
    assert j.state is V.IDLE and j.who is None
    assert [a.action for a in reversed(j.actions())] == ["enter", "exit", "enter", "restart", "enter", "timeout"]


async def test_idle_timeout_waits_for_a_running_test(rig):
    j = rig.journey
    j.technician_card(TECH)
    rig.checks.gate.clear()
    task = j.run_selftest()
    j.idle_timeout()
    assert j.state is V.SELFTEST_RUNNING
    rig.checks.gate.set()
    await task
    j.idle_timeout()
    assert j.state is V.IDLE


async def test_a_selftest_that_hangs_fails_after_exactly_its_timeout(rig):
    clock = FakeClock()
    j = rig.make(clock=clock, selftest_timeout_s=120.0)
    j.technician_card(TECH)
    rig.checks.gate.clear()  # the checks never answer
    task = j.run_selftest()
    await until(lambda: rig.checks.runs == 1)
    await clock.run(119.999)
    assert j.selftest_status == "running"
    await clock.run(0.001)
    await task
    assert j.state is V.MENU and j.selftest_status == "failed"
    assert j.devices() == (("selftest", "fault", "did not finish within 120 s"),)
