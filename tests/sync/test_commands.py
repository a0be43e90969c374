"""Cloud commands: queued by the retailer, applied once by the cabinet, acknowledged once."""
from __future__ import annotations

from sync_client.cloud_client import CloudClient
from sync_client.commands import Command, CommandInbox
from sync_client.outbox import Outbox, Transaction
from tests.sync.conftest import CAB, Site


class Door:
    """What the firmware would register: the unlock is recorded in the transaction, the relay pulses after."""

    def __init__(self) -> None:
        self.pulses: list[float] = []

    def apply(self, command: Command, tx: Transaction) -> str:
        tx.append("door.unlocked", {"reason": "remote", "seconds": command.args["seconds"],
                                    "command_id": command.id})
        return f"unlocked for {command.args['seconds']} s"

    def effect(self, command: Command) -> None:
        self.pulses.append(command.args["seconds"])


async def queue_unlock(site: Site) -> str:
    status, body = await site.retailer("POST", f"/v1/retailer/cabinets/{CAB}/commands",
                                       {"kind": "unlock", "args": {"seconds": 3, "reason": "customer at the door"}})
    assert status == 201
    return body["id"]


async def test_a_remote_unlock_is_applied_once_and_acknowledged_once(site: Site) -> None:
    door = Door()
    inbox = CommandInbox(site.outbox, site.client)
    inbox.register("unlock", door.apply, door.effect)
    command_id = await queue_unlock(site)

    assert [c.id for c in await inbox.poll()] == [command_id]
    assert door.pulses == [3]
    assert inbox.state_of(command_id) == "acked"
    status, record = await site.retailer("GET", f"/v1/retailer/commands/{command_id}")
    assert status == 200 and record["result"] == "ok: unlocked for 3 s" and record["acked_at"]
    assert await inbox.poll() == []                       # the cloud no longer offers it
    assert door.pulses == [3]
    [applied] = site.outbox.events("command.applied")
    assert applied.payload == {"command_id": command_id, "kind": "unlock", "result": "ok: unlocked for 3 s"}
    assert len(site.outbox.events("door.unlocked")) == 1


async def test_a_lost_ack_is_retried_after_a_restart_without_applying_again(site: Site) -> None:
    door = Door()
    inbox = CommandInbox(site.outbox, site.client)
    inbox.register("unlock", door.apply, door.effect)
    command_id = await queue_unlock(site)
    real_request = site.client.request

    async def ack_lost(method, path, body=None, **kw):
        if path.endswith("/ack"):
            raise ConnectionResetError("the link dropped after the command was applied")
        return await real_request(method, path, body, **kw)
    site.client.request = ack_lost
    try:
        await inbox.poll()
    except ConnectionResetError:
        pass
    assert door.pulses == [3] and inbox.state_of(command_id) == "applied"

    site.outbox.close()                                   # the cabinet restarts
    site.outbox = Outbox(site.outbox.path, CAB)
    client = CloudClient(site.url, CAB, site.key)
    rebooted = CommandInbox(site.outbox, client)
    door_after = Door()
    rebooted.register("unlock", door_after.apply, door_after.effect)
    assert await rebooted.poll() == []                    # offered again by the cloud, but already applied
    assert door_after.pulses == []
    assert rebooted.state_of(command_id) == "acked"
    assert site.store.command(command_id)["acked_at"] is not None
    assert len(site.outbox.events("command.applied")) == 1
    await client.close()


async def test_a_command_without_a_handler_is_refused_once_not_retried(site: Site) -> None:
    inbox = CommandInbox(site.outbox, site.client)
    status, body = await site.retailer("POST", f"/v1/retailer/cabinets/{CAB}/commands", {"kind": "restart"})
    assert status == 201
    await inbox.poll()
    assert site.store.command(body["id"])["result"] == "refused: kind: this cabinet has no handler for 'restart'"
    assert site.store.pending_commands(CAB) == []


async def test_the_retailer_cannot_queue_a_malformed_command(site: Site) -> None:
    status, body = await site.retailer("POST", f"/v1/retailer/cabinets/{CAB}/commands",
                                       {"kind": "unlock", "args": {"seconds": 600, "reason": "x"}})
    assert status == 400 and body["error"] == "args.seconds: expected a finite number > 0 and <= 30, got 600"
    status, body = await site.retailer("POST", f"/v1/retailer/cabinets/{CAB}/commands", {"kind": "explode"})
    assert status == 400 and body["error"].startswith("kind: unknown command 'explode'")
    assert site.store.pending_commands(CAB) == []
