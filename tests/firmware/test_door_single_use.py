"""Every door opening is single-use across power cuts: a pickup code, a restock and a remote unlock.

Real parts (see cabinet_rig): the Cabinet with its journeys, the SQLite store on disk, gpiozero mock pins
with the mock door, and the cloud stub on 127.0.0.1 for commands. A power cut is the cabinet dropped after
a given commit and a new one booted on the same file and pins.
"""

from __future__ import annotations

import asyncio

import pytest

from firmware.cabinet import Cabinet
from firmware.commands import register_commands
from firmware.journeys.pickup import P
from firmware.journeys.restock import R
from kiosk_ui.intents import OpenPickup, SubmitPickupCode
from sync_client.cloud_client import CloudClient
from sync_client.commands import CommandInbox
from sync_client.config_sync import ConfigSync
from tests.firmware.cabinet_rig import (
    CODE,
    STAFF_CARD,
    Cabinets,
    PowerCut,
    enter_code,
    open_the_door,
    until,
)
from tests.sync.conftest import CAB, Site

# --- a pickup code ----------------------------------------------------------------------------------


async def test_a_power_cut_with_the_door_open_does_not_let_the_code_open_it_again(cabinets):
    cabinet = await cabinets.boot()
    await enter_code(cabinet)
    assert cabinet.pickup.state is P.DOOR_UNLOCKED
    await open_the_door(cabinets, cabinet.pickup, P.DOOR_OPENED)
    cabinet = await cabinets.boot()  # the power goes with the door open; the bike is gone
    cabinets.door.close()
    assert cabinets.events("pickup.completed") == [{"order_id": "order-1", "sku": "SCOOT-S1", "recovered": True}]
    assert cabinet.catalog.stock("SCOOT-S1") == 2
    await enter_code(cabinet)
    assert cabinet.pickup.state is P.CODE_ENTRY and cabinet.view_state().message == "pickup_already_collected"
    assert cabinets.pulses() == 1, "one opening for one code"
    assert cabinet.pickup.guard.failures == 0, "a used code is not a wrong guess"
    assert [e["reason"] for e in cabinets.events("pickup.refused")] == ["already_collected"]


async def test_a_power_cut_before_the_relay_uses_the_code_and_the_next_boot_gives_it_back_once(cabinets):
    cabinet = await cabinets.boot()
    seen = cabinets.cut_before_the_relay()
    cabinet.handle_intent(OpenPickup())
    cabinet.handle_intent(SubmitPickupCode(CODE))
    await until(lambda: seen, what="the relay reached")
    assert seen == ["door.unlocked"], "the unlock is on disk before the relay"
    cabinet = await cabinets.boot()
    assert cabinets.pulses() == 0
    # The door never opened: nothing was taken, so the code is good for one more try, and that is said.
    assert cabinets.events("pickup.interrupted") == [{"order_id": "order-1", "action": "released"}]
    await enter_code(cabinet)
    await open_the_door(cabinets, cabinet.pickup, P.DOOR_OPENED)
    cabinets.door.close()
    await until(lambda: cabinet.pickup.state is P.DONE, what="collected")
    cabinet.pickup.finish()
    cabinet = await cabinets.boot()
    assert cabinet.pickup.state is P.IDLE
    await enter_code(cabinet)
    assert cabinet.pickup.message == "pickup_already_collected"
    assert cabinets.pulses() == 1
    assert len(cabinets.events("pickup.completed")) == 1


async def test_a_power_cut_after_the_pulse_with_the_door_never_opened_releases_the_code(cabinets):
    cabinet = await cabinets.boot()
    await enter_code(cabinet)
    await until(lambda: cabinets.pulses() == 1, what="the relay pulsed")
    cabinet = await cabinets.boot()
    assert cabinet.pickup.state is P.IDLE and not cabinets.door.latch_released, "nothing opens by itself at boot"
    assert cabinets.pulses() == 1
    assert cabinets.events("pickup.interrupted") == [{"order_id": "order-1", "action": "released"}]


# --- a restock --------------------------------------------------------------------------------------


async def test_an_interrupted_restock_is_recorded_and_not_repeated(cabinets):
    cabinet = await cabinets.boot()
    assert cabinet.restock.staff_card(STAFF_CARD)
    await open_the_door(cabinets, cabinet.restock, R.COUNTING)
    cabinet = await cabinets.boot()  # the power goes while the retailer counts
    cabinets.door.close()
    [interrupted] = cabinets.events("restock.interrupted")
    assert interrupted["who"] == f"card:{STAFF_CARD}" and interrupted["door_opened"] is True
    assert cabinet.restock.state is R.IDLE and cabinets.pulses() == 1
    cabinet = await cabinets.boot()  # and once recorded, never again
    assert len(cabinets.events("restock.interrupted")) == 1 and cabinets.pulses() == 1


# --- a remote unlock ------------------------------------------------------------------------------------


async def inbox_for(cabinet: Cabinet, site: Site, client: CloudClient) -> CommandInbox:  # noqa: F811
    inbox = CommandInbox(cabinet.outbox, client)
    register_commands(
        inbox,
        cabinet.remote,
        cabinet.idle,
        ConfigSync(cabinet.outbox, client),
        asyncio.Event(),
        cabinet.sale.follow_ups,
        selftest=cabinet.remote_selftest,
        snapshot=cabinet.snapshots,
    )
    return inbox


async def test_a_remote_unlock_cut_before_the_relay_is_recorded_and_never_applied_again(cabinets, site: Site) -> None:  # noqa: F811
    status, command = await site.retailer(
        "POST", f"/v1/retailer/cabinets/{CAB}/commands", {"kind": "unlock", "args": {"seconds": 2, "reason": "courier"}}
    )
    assert status == 201
    cabinet = await cabinets.boot()
    inbox = await inbox_for(cabinet, site, site.client)
    seen = cabinets.cut_before_the_relay()
    with pytest.raises(PowerCut):
        await inbox.poll()
    assert seen == ["door.unlocked"], "the unlock is recorded with the command applied, before the relay"
    cabinet = await cabinets.boot()
    client = CloudClient(site.url, CAB, site.key)
    try:
        rebooted = await inbox_for(cabinet, site, client)
        assert await rebooted.poll() == []  # the cloud offers it again (never acknowledged): not applied
    finally:
        await client.close()
    assert cabinets.pulses() == 0 and cabinet.restock.state is R.IDLE
    assert rebooted.state_of(command["id"]) == "acked"
    [interrupted] = cabinets.events("restock.interrupted")
    assert interrupted["who"] == f"remote:{command['id']}" and interrupted["door_opened"] is False
    assert len(cabinets.events("command.applied")) == 1


# --- one durable commit before the relay ------------------------------------------------------------


async def durable_commit_before_relay(cabinets: Cabinets, act, consumed: str) -> None:
    """At the instant the relay is energized, the store has committed, in one transaction opened with
    synchronous=FULL, both ``consumed`` (what the opening used up) and the door.unlocked record."""
    cabinet = cabinets.cabinet
    assert cabinet is not None
    statements: list[str] = []
    cabinet.outbox.db.conn.set_trace_callback(statements.append)
    at_relay: list[int] = []
    energize = cabinet.devices.lock.unlock

    def unlock(seconds: float) -> float:
        at_relay.append(len(statements))
        return energize(seconds)

    cabinet.devices.lock.unlock = unlock
    await act(cabinet)
    await until(lambda: at_relay, what="the relay energized")
    before = statements[: at_relay[0]]
    commit = max(i for i, s in enumerate(before) if s == "COMMIT")
    begin = max(i for i, s in enumerate(before[:commit]) if s == "BEGIN IMMEDIATE")
    transaction = before[begin:commit]
    assert before[begin - 1] == "PRAGMA synchronous=FULL", "the unlock's transaction is durable"
    assert any(consumed in s for s in transaction), f"{consumed!r} in the same transaction"
    assert any("'door.unlocked'" in s for s in transaction)


async def test_a_pickup_code_is_used_up_with_the_unlock_in_one_durable_commit(cabinets):
    await cabinets.boot()
    await durable_commit_before_relay(cabinets, enter_code, "INSERT INTO pickups")


async def test_a_remote_unlock_is_applied_with_its_unlock_in_one_durable_commit(cabinets, site: Site) -> None:  # noqa: F811
    await site.retailer(
        "POST", f"/v1/retailer/cabinets/{CAB}/commands", {"kind": "unlock", "args": {"seconds": 2, "reason": "courier"}}
    )
    await cabinets.boot()

    async def poll(cabinet: Cabinet) -> None:
        await (await inbox_for(cabinet, site, site.client)).poll()

    await durable_commit_before_relay(cabinets, poll, "UPDATE commands SET state = 'applied'")
    assert cabinets.pulses() == 1
