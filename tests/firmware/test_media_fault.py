"""Media the cabinet could not download are its ``media`` fault (in /state, the heartbeat and the fleet
page) with one ``media_unavailable`` alarm, cleared once everything is in."""

from __future__ import annotations

from tests.firmware.cabinet_rig import Cabinets


async def test_undownloaded_media_are_a_fault_with_one_alarm_until_they_arrive(tmp_path) -> None:
    cabinets = Cabinets(tmp_path)
    cabinet = await cabinets.boot()
    try:
        failures = {"ab" * 32: "cloud answered 404: sha256: no media"}
        cabinet.media_failures(failures)
        cabinet.media_failures(dict(failures))  # the same again: no second alarm
        assert "no media" in cabinet.faults["media"]
        alarms = [e.payload for e in cabinet.outbox.events("alarm") if e.payload["kind"] == "media_unavailable"]
        assert len(alarms) == 1 and "1 media file(s) not downloaded" in alarms[0]["detail"]
        cabinet.media_failures({})
        assert "media" not in cabinet.faults
    finally:
        await cabinets.cut()
