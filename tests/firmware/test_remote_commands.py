"""The cloud's self-test and snapshot commands, end to end: queued through the retailer API of the cloud stub
(on 127.0.0.1), fetched by the cabinet's command inbox, applied by the Cabinet (its journeys, the SQLite store,
mock pins; the simulated camera) and acknowledged, with the results the console shows: ``selftest.completed``
naming the command, and a photo named ``remote`` for the uploader."""

from __future__ import annotations

import asyncio

from firmware.cabinet import Cabinet
from firmware.commands import register_commands
from hal.sim.camera_sim import SimCamera
from kiosk_ui.intents import Home, OpenPickup
from sync_client.commands import CommandInbox
from sync_client.config_sync import ConfigSync
from sync_client.schema import parse_snapshot_name
from tests.firmware.cabinet_rig import Cabinets, until
from tests.sync.conftest import CAB, Site


def inbox_for(cabinet: Cabinet, site: Site, stop: asyncio.Event | None = None) -> CommandInbox:
    inbox = CommandInbox(cabinet.outbox, site.client)
    register_commands(
        inbox,
        cabinet.remote,
        cabinet.idle,
        ConfigSync(cabinet.outbox, site.client),
        stop or asyncio.Event(),
        cabinet.sale.follow_ups,
        selftest=cabinet.remote_selftest,
        snapshot=cabinet.snapshots,
    )
    return inbox


async def queue(site: Site, kind: str) -> str:
    status, body = await site.retailer("POST", f"/v1/retailer/cabinets/{CAB}/commands", {"kind": kind})
    assert status == 201, body
    assert isinstance(body, dict)
    return str(body["id"])


async def test_a_self_test_command_runs_the_checks_and_reports_them_under_its_id(
    cabinets: Cabinets, site: Site
) -> None:
    cabinet = await cabinets.boot()
    command_id = await queue(site, "selftest")
    assert site.store.command(command_id)["delivered_at"] is None  # type: ignore[index]
    await inbox_for(cabinet, site).poll()
    command = site.store.command(command_id)
    assert command is not None and command["delivered_at"] is not None
    assert command["result"] == "ok: running the self-test"
    await until(lambda: cabinets.events("selftest.completed"), what="the self-test's record")  # type: ignore[no-untyped-call]
    [report] = cabinets.events("selftest.completed")
    assert report["command_id"] == command_id
    lock = next(r for r in report["results"] if r["device"] == "lock")
    assert lock["ok"] and "not pulsed" in lock["detail"]
    assert cabinets.pulses() == 0, "a self-test from afar never releases the latch"
    assert cabinet.service.state.value == "idle", "the screen stays as it was"
    assert [a.action for a in cabinet.service.actions()] == ["selftest"]


async def test_a_self_test_command_is_refused_while_someone_uses_the_cabinet(cabinets: Cabinets, site: Site) -> None:
    cabinet = await cabinets.boot()
    cabinet.handle_intent(OpenPickup())  # a customer typing a pickup code
    assert not cabinet.idle()
    command_id = await queue(site, "selftest")
    await inbox_for(cabinet, site).poll()
    assert site.store.command(command_id)["result"] == "ok: refused: the cabinet is busy with a shopper"  # type: ignore[index]
    assert [e["kind"] for e in cabinets.events("command.applied")] == ["selftest"]  # recorded as refused


async def test_a_snapshot_command_takes_a_photo_named_remote_or_is_refused_without_a_camera(
    cabinets: Cabinets, site: Site
) -> None:
    cabinet = await cabinets.boot()
    command_id = await queue(site, "snapshot")
    await inbox_for(cabinet, site).poll()
    assert site.store.command(command_id)["result"] == "ok: refused: this cabinet has no camera"  # type: ignore[index]

    camera = SimCamera(size=(160, 120))
    await camera.open()
    try:
        cabinet.snapshots.camera = camera
        command_id = await queue(site, "snapshot")
        await inbox_for(cabinet, site).poll()
        assert site.store.command(command_id)["result"] == "ok: taking a photo"  # type: ignore[index]
        await until(lambda: list(cabinet.snapshot_dir.glob("*.jpg")), what="the photo")  # type: ignore[no-untyped-call]
    finally:
        await camera.close()
    [photo] = cabinet.snapshot_dir.glob("*.jpg")
    assert parse_snapshot_name(photo.name).kind == "remote"
    assert photo.read_bytes()[:2] == b"\xff\xd8"  # a JPEG


async def test_a_restart_command_stops_the_service_once_no_one_uses_the_cabinet(cabinets: Cabinets, site: Site) -> None:
    cabinet = await cabinets.boot()
    cabinet.handle_intent(OpenPickup())  # someone is typing a pickup code
    stop = asyncio.Event()  # what the runtime waits on: set, the service exits and systemd starts it again
    command_id = await queue(site, "restart")
    await inbox_for(cabinet, site, stop).poll()
    assert site.store.command(command_id)["result"] == "ok: restarting when idle"  # type: ignore[index]
    for _ in range(20):
        await asyncio.sleep(0)
    assert not stop.is_set(), "not in the middle of someone's pickup"
    cabinet.handle_intent(Home())  # they leave
    assert cabinet.idle()
    await until(stop.is_set, what="the service stopping to restart")  # type: ignore[no-untyped-call]
