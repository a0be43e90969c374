"""Staff fingers on a whole Cabinet (SQLite on disk, mock pins and door, a fake clock), the fingerprint module
a ZhianTec emulator over a PTY read by the real driver: a retailer's finger opens the restock as a staff card
does, wrong fingers lock the sensor alone (PINs and cards still open), a technician's finger opens the service
menu, where a new finger is enrolled through the screen's intents, and a staff member removed from the
configuration loses their template on the module, even when the cabinet first sees that configuration after a
restart; a finger enrolled and never named is deleted once the retailer's days to name it have passed."""

from __future__ import annotations

import dataclasses

import pytest

from firmware.cabinet import Cabinet
from firmware.clock import FakeClock
from firmware.journeys.restock import R
from firmware.journeys.service import V
from hal.fingerprint.sensor import ZfmSensor
from hal.sim.fingerprint_emulator import FingerprintEmulator
from kiosk_ui.intents import Back, Cancel, EnrolFingerprint
from kiosk_ui.view import EnrolScreen, ServiceScreen, View
from sync_client.cabinet_config import CabinetConfig, RetailerAccess, StaffCard, StaffFingerprint
from tests.firmware.cabinet_rig import STAFF_CARD, Cabinets, open_the_door, until

MEI, JO = StaffFingerprint(3, "Mei", "retailer"), StaffFingerprint(4, "Jo", "technician")
DAY = 86400.0


@pytest.fixture
async def emulator():
    async with FingerprintEmulator(templates={3: "mei", 4: "jo"}) as emu:
        yield emu


@pytest.fixture
async def rig(tmp_path, emulator):
    (tmp_path / "cabinet").mkdir()
    cabinets = Cabinets(tmp_path / "cabinet", clock=FakeClock())
    cabinets.config.lock = dataclasses.replace(cabinets.config.lock, max_unlock_s=5.0, door_open_timeout_s=45.0)
    cabinets.retailer = RetailerAccess(
        staff_cards=(StaffCard(STAFF_CARD.lower(), "retailer"),), staff_fingerprints=(MEI, JO)
    )
    cabinets.fingerprint = ZfmSensor(emulator.port, poll_interval=0.005, response_timeout=0.5, enrol_timeout=10)
    yield cabinets
    if cabinets.cabinet is not None:
        await cabinets.cut()


async def booted(cabinets: Cabinets) -> tuple[Cabinet, list[View]]:
    cabinet = await cabinets.boot()
    views: list[View] = []
    cabinet.on_view = views.append
    return cabinet, views


def finger_attempts(cabinets: Cabinets) -> list[tuple]:
    return [
        (a["purpose"], a["ok"], a["slot"], a["staff"])
        for a in cabinets.events("auth.attempt")
        if a["method"] == "fingerprint"
    ]


async def test_a_retailers_finger_opens_the_restock_and_an_unknown_finger_does_not(rig, emulator):
    cabinet, views = await booted(rig)
    await emulator.touch("mallory")
    await until(lambda: finger_attempts(rig), what="the unknown finger audited")
    assert cabinet.restock.state is R.IDLE and not rig.door.latch_released
    await emulator.touch("mei")
    await until(lambda: cabinet.restock.state is R.UNLOCKED, what="the restock unlocked")
    assert finger_attempts(rig) == [("restock", False, None, None), ("restock", True, 3, "Mei")]
    assert rig.events("door.unlocked")[-1]["reason"] == "restock_fingerprint"
    assert rig.events("door.unlocked")[-1]["who"] == "finger:3"
    assert views[-1].screen == "restock" and rig.pulses() == 1


async def test_wrong_fingers_lock_the_sensor_alone_with_growing_delays_and_staff_still_get_in(rig):
    cabinet, _ = await booted(rig)
    clock = rig.clock
    assert isinstance(clock, FakeClock)
    for _ in range(4):
        assert cabinet.restock.staff_finger(None) == "wrong"
    assert cabinet.restock.staff_finger(4) == "wrong"  # a technician's finger does not open the restock
    assert cabinet.restock.staff_finger(3) == "locked" and cabinet.restock.finger_lock_remaining() == 30
    assert rig.events("auth.attempt")[-2]["locked_s"] == 30  # the fifth wrong finger locked the sensor
    # The shoppers' fingers did not touch the PIN pad's count, and a staff card opens meanwhile.
    assert cabinet.restock.pin_lock_remaining() == 0 and cabinet.restock.guard.failures == 0
    assert cabinet.restock.staff_card(STAFF_CARD) and cabinet.restock.who == f"card:{STAFF_CARD}"
    await open_the_door(rig, cabinet.restock, R.COUNTING)
    rig.door.close()
    await until(lambda: cabinet.restock.state is R.RECORDED, what="the restock recorded")
    cabinet.restock.finish()

    clock.advance(30)  # the streak goes on: the next wrong finger locks for twice as long, across a restart
    assert cabinet.restock.staff_finger(None) == "wrong" and rig.events("auth.attempt")[-1]["locked_s"] == 60
    cabinet, _ = await booted(rig)
    assert cabinet.restock.staff_finger(3) == "locked" and cabinet.restock.finger_lock_remaining() == 60
    clock.advance(60)
    assert cabinet.restock.staff_finger(3) == "unlocked"
    assert cabinet.restock.who == "finger:3" and cabinet.restock.finger_guard.failures == 0


async def test_a_technicians_finger_opens_the_menu_where_a_new_finger_is_enrolled(rig, emulator):
    cabinet, views = await booted(rig)
    await emulator.touch("jo")
    await until(lambda: cabinet.service.state is V.MENU, what="the service menu")
    assert isinstance(views[-1], ServiceScreen) and views[-1].fingerprint
    assert finger_attempts(rig) == [("service", True, 4, "Jo")]

    cabinet.handle_intent(EnrolFingerprint())

    def step() -> str | None:
        shown = views[-1]
        return shown.step if isinstance(shown, EnrolScreen) else None

    await until(lambda: step() == "place", what="asked to place the finger")
    await emulator.touch("kim")
    await until(lambda: step() == "lift", what="asked to lift it")
    emulator.lift()
    await until(lambda: step() == "place_again", what="asked to place it again")
    emulator.place("kim")
    await until(lambda: step() == "done", what="stored")
    emulator.lift()
    assert views[-1] == EnrolScreen(chrome=views[-1].chrome, step="done", slot=0)  # 3 and 4 were taken
    assert emulator.library == {0: "kim", 3: "mei", 4: "jo"}
    assert rig.events("fingerprint.enrolled") == [{"slot": 0, "ok": True, "detail": "stored", "who": "finger:4"}]
    cabinet.handle_intent(Back())
    assert isinstance(views[-1], ServiceScreen)


async def test_an_enrolment_with_two_different_fingers_fails_and_says_why(rig, emulator):
    cabinet, views = await booted(rig)
    assert cabinet.service.technician_finger(4)
    task = cabinet.service.enrol_fingerprint()
    await until(lambda: cabinet.service.enrol_step == "place")
    emulator.place("kim")
    await until(lambda: cabinet.service.enrol_step == "lift")
    emulator.lift()
    await until(lambda: cabinet.service.enrol_step == "place_again")
    emulator.place("lee")
    await task
    shown = views[-1]
    assert isinstance(shown, EnrolScreen) and shown.step == "failed" and "not the same finger" in shown.error
    assert emulator.library == {3: "mei", 4: "jo"}
    [enrolled] = rig.events("fingerprint.enrolled")
    assert (enrolled["slot"], enrolled["ok"]) == (0, False) and "not the same finger" in enrolled["detail"]


async def test_an_enrolment_cancelled_stores_nothing(rig, emulator):
    cabinet, views = await booted(rig)
    assert cabinet.service.technician_finger(4)
    cabinet.handle_intent(EnrolFingerprint())
    await until(lambda: cabinet.service.enrol_step == "place")
    cabinet.handle_intent(Cancel())
    await until(lambda: cabinet.service.enrol_step == "failed", what="the enrolment ended")
    assert rig.events("fingerprint.enrolled")[0]["detail"] == "cancelled" and emulator.library == {3: "mei", 4: "jo"}


async def test_a_staff_member_removed_from_the_configuration_loses_their_template(rig, emulator):
    cabinet, _ = await booted(rig)
    cabinet.apply_cloud_config(CabinetConfig(2, "EUR", (), retailer=RetailerAccess(staff_fingerprints=(JO,))))
    await until(lambda: rig.events("fingerprint.deleted"), what="the template deleted")
    assert rig.events("fingerprint.deleted") == [{"slot": 3, "ok": True, "detail": "deleted", "reason": "removed"}]
    assert emulator.library == {4: "jo"}
    assert cabinet.restock.staff_finger(3) == "wrong"  # the configuration no longer names the slot


async def test_a_staff_member_removed_while_the_cabinet_was_off_loses_their_template_at_the_next_start(rig, emulator):
    await booted(rig)  # the configuration names Mei (3) and Jo (4)
    await rig.cut()
    rig.retailer = RetailerAccess(staff_fingerprints=(JO,))  # what the next boot finds cached: Mei removed
    cabinet, _ = await booted(rig)
    await until(lambda: rig.events("fingerprint.deleted"), what="the template deleted at start")
    assert rig.events("fingerprint.deleted") == [{"slot": 3, "ok": True, "detail": "deleted", "reason": "removed"}]
    assert emulator.library == {4: "jo"}
    await emulator.touch("mei")
    await until(lambda: finger_attempts(rig), what="the finger audited")
    assert finger_attempts(rig) == [("restock", False, None, None)] and cabinet.restock.state is R.IDLE


@pytest.mark.parametrize("away", ["unplugged", "silent"])
async def test_a_staff_member_removed_while_the_module_was_away_at_start_loses_their_template_once_it_is_back(
    rig, emulator, away
):
    await booted(rig)  # the configuration names Mei (3) and Jo (4)
    await rig.cut()
    rig.retailer = RetailerAccess(staff_fingerprints=(JO,))  # Mei removed while the cabinet was off
    if away == "unplugged":
        await emulator.unplug()  # no port at start
    else:
        emulator.silent = True  # the port is there, the module does not answer its handshake
    cabinet, _ = await booted(rig)
    await until(lambda: "fingerprint" in cabinet.faults, what="the module a fault at start")
    assert rig.events("fingerprint.deleted") == [] and 3 in emulator.library
    if away == "unplugged":
        await emulator.replug()
    else:
        emulator.silent = False
    # back: reconciled when the watch reopens it, long before the hourly check (the fake clock stands still)
    await until(lambda: rig.events("fingerprint.deleted"), what="the template deleted once the module is back")
    assert rig.events("fingerprint.deleted") == [{"slot": 3, "ok": True, "detail": "deleted", "reason": "removed"}]
    assert emulator.library == {4: "jo"} and "fingerprint" not in cabinet.faults


async def test_a_finger_enrolled_and_never_named_is_deleted_once_the_days_to_name_it_have_passed(rig, emulator):
    clock = rig.clock
    assert isinstance(clock, FakeClock)
    rig.config.fingerprint = dataclasses.replace(rig.config.fingerprint, name_within_days=7)
    emulator.library[9] = "left-by-someone"  # on the module before this cabinet kept count: its days start now
    cabinet, _ = await booted(rig)
    assert cabinet.service.technician_finger(4)
    task = cabinet.service.enrol_fingerprint()
    await until(lambda: cabinet.service.enrol_step == "place")
    await emulator.touch("kim")
    await until(lambda: cabinet.service.enrol_step == "lift")
    emulator.lift()
    await until(lambda: cabinet.service.enrol_step == "place_again")
    emulator.place("kim")
    assert await task == (True, "stored")
    emulator.lift()
    assert emulator.library == {0: "kim", 3: "mei", 4: "jo", 9: "left-by-someone"}

    clock.advance(6 * DAY)  # a new configuration within the days: nothing deleted, across a restart too
    cabinet.apply_cloud_config(CabinetConfig(2, "EUR", (), retailer=RetailerAccess(staff_fingerprints=(MEI, JO))))
    cabinet, _ = await booted(rig)
    await cabinet.fingerprint_slots.reconcile()
    assert rig.events("fingerprint.deleted") == [] and 0 in emulator.library and 9 in emulator.library
    clock.advance(1 * DAY)  # the 7 days are over: the next configuration deletes both, saying why
    cabinet.apply_cloud_config(CabinetConfig(3, "EUR", (), retailer=RetailerAccess(staff_fingerprints=(MEI, JO))))
    await until(lambda: len(rig.events("fingerprint.deleted")) == 2, what="the unnamed templates deleted")
    assert rig.events("fingerprint.deleted") == [
        {"slot": 0, "ok": True, "detail": "deleted", "reason": "never_named"},
        {"slot": 9, "ok": True, "detail": "deleted", "reason": "never_named"},
    ]
    assert emulator.library == {3: "mei", 4: "jo"}


async def test_a_finger_named_in_time_stays(rig, emulator):
    clock = rig.clock
    assert isinstance(clock, FakeClock)
    emulator.library[0] = "kim"
    kim = StaffFingerprint(0, "Kim", "retailer")
    cabinet, _ = await booted(rig)
    cabinet.apply_cloud_config(CabinetConfig(2, "EUR", (), retailer=RetailerAccess(staff_fingerprints=(MEI, JO, kim))))
    clock.advance(30 * DAY)
    await cabinet.fingerprint_slots.reconcile()
    assert rig.events("fingerprint.deleted") == [] and emulator.library == {0: "kim", 3: "mei", 4: "jo"}
    assert cabinet.restock.staff_finger(0) == "unlocked"


async def test_a_deletion_the_module_refuses_is_tried_again_at_the_next_start(rig, emulator):
    cabinet, _ = await booted(rig)
    emulator.delete_fails = True
    cabinet.apply_cloud_config(CabinetConfig(2, "EUR", (), retailer=RetailerAccess(staff_fingerprints=(JO,))))
    await until(lambda: rig.events("fingerprint.deleted"), what="the deletion reported")
    [refused] = rig.events("fingerprint.deleted")
    assert (refused["slot"], refused["ok"], refused["reason"]) == (3, False, "removed") and 3 in emulator.library
    assert cabinet.restock.staff_finger(3) == "wrong"  # still on the module, but no longer anyone's
    await rig.cut()
    emulator.delete_fails = False
    rig.retailer = RetailerAccess(staff_fingerprints=(JO,))
    await booted(rig)
    await until(lambda: len(rig.events("fingerprint.deleted")) == 2, what="the deletion tried again")
    assert rig.events("fingerprint.deleted")[-1] == {"slot": 3, "ok": True, "detail": "deleted", "reason": "removed"}
    assert emulator.library == {4: "jo"}


async def test_an_unnamed_finger_ages_out_without_a_new_configuration(rig, emulator):
    clock = rig.clock
    assert isinstance(clock, FakeClock)
    rig.config.fingerprint = dataclasses.replace(rig.config.fingerprint, name_within_days=1)
    emulator.library[9] = "left-by-someone"
    cabinet, _ = await booted(rig)
    check = round(clock.now + cabinet.fingerprint_slots.check_s, 9)
    await until(lambda: check in clock.pending(), what="the hourly check waiting")
    assert rig.events("fingerprint.deleted") == []
    clock.advance(DAY)
    await until(lambda: rig.events("fingerprint.deleted"), what="the unnamed finger deleted")
    assert rig.events("fingerprint.deleted") == [{"slot": 9, "ok": True, "detail": "deleted", "reason": "never_named"}]
    assert emulator.library == {3: "mei", 4: "jo"}
