"""The service menu's first facts on a whole Cabinet on a fake clock (SQLite on disk, mock pins): a door
left open is an open alarm and the door's live state, read without running the self-test."""

from __future__ import annotations

import dataclasses

from firmware.clock import FakeClock
from kiosk_ui.view import ServiceScreen
from sync_client.cabinet_config import RetailerAccess, StaffCard
from tests.firmware.cabinet_rig import Cabinets, until

TECHNICIAN = "04C0FFEE"


async def test_a_door_left_open_is_an_open_alarm_and_its_live_state(tmp_path) -> None:
    cabinets = Cabinets(tmp_path, clock=FakeClock())
    cabinets.config.screen = dataclasses.replace(cabinets.config.screen, idle_timeout_s=600.0)  # stays logged in
    cabinets.retailer = RetailerAccess(staff_cards=(StaffCard(TECHNICIAN.lower(), "technician"),))
    cabinet = await cabinets.boot()
    try:
        assert cabinet.service.technician_card(TECHNICIAN)
        view = cabinet.view_state()
        assert isinstance(view, ServiceScreen) and view.alarms == ()
        assert ("lock", "ok", "locked") in view.devices and ("door", "ok", "closed") in view.devices
        cabinet.service.lock_test()  # the technician opens the door with the lock test's pulse
        cabinets.door.open()
        await until(lambda: cabinet.devices.door.is_open, what="the door seen open")
        cabinets.clock.advance(cabinet.config.lock.door_reminder_s)
        view = cabinet.view_state()
        assert isinstance(view, ServiceScreen)
        assert view.alarms[0] == ("door", "door_open_too_long") and ("door", "ok", "open") in view.devices
        assert view.version and view.selftest is None, "nothing was exercised"
        cabinet.faults["payment"] = "no answer"  # as the device watch records an unplugged terminal
        cabinet.refresh()
        view = cabinet.view_state()
        assert isinstance(view, ServiceScreen) and ("payment", "no answer") in view.alarms
    finally:
        cabinets.door.close()
        await cabinets.cut()
