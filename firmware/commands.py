"""What the cabinet does with the commands the cloud queues for it.

Each handler's ``apply`` runs inside the transaction that marks the command
applied (so its record happens exactly once, even across a crash); the physical
``effect`` runs after that commit (so a relay pulses at most once).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from firmware.door_snapshots import DoorSnapshots
from firmware.journeys.callback import CallbackJourney
from firmware.journeys.repair import RepairJourney
from firmware.journeys.sale_follow_ups import SaleFollowUps
from firmware.remote_unlock import RemoteUnlock
from sync_client.commands import Command, CommandInbox
from sync_client.config_sync import ConfigSync
from sync_client.outbox import Transaction

log = logging.getLogger(__name__)


def register_commands(
    inbox: CommandInbox,
    remote: RemoteUnlock,
    idle: Callable[[], bool],  # no one is using the cabinet: a restart may happen
    config_sync: ConfigSync,
    stop: asyncio.Event,
    follow_ups: SaleFollowUps,
    *,
    selftest: Callable[[str], Any],  # run the device checks from afar (the latch unpulsed); the record names the id
    snapshot: DoorSnapshots,
    repair: RepairJourney | None = None,  # None: no repair journey here (tests of other commands)
    callback: CallbackJourney | None = None,  # None: no call-back journey here
) -> None:
    def apply_unlock(command: Command, tx: Transaction) -> str:
        # The unlock is recorded here, in the (durable) transaction that marks the command applied; the
        # relay pulses after that commit, so a power cut can only ever lose the pulse, not repeat it.
        return remote.record(tx, command.id, float(command.args["seconds"]))

    def unlock(command: Command) -> None:
        remote.unlock(command.id)

    def restart(command: Command) -> None:
        async def when_idle() -> None:
            while not idle():
                await asyncio.sleep(1.0)
            log.warning("restarting on the cloud's command", extra={"command_id": command.id})
            stop.set()  # systemd (Restart=always) starts the service again

        asyncio.get_running_loop().create_task(when_idle())

    inbox.register("unlock", apply_unlock, unlock)
    inbox.register("refresh_config", lambda command, tx: "pulling", lambda command: config_sync.poke())

    def apply_snapshot(command: Command, tx: Transaction) -> str:
        if snapshot.camera is None:
            return "refused: this cabinet has no camera"
        return "taking a photo"

    accepted: set[str] = set()  # self-tests applied (not refused): their checks start after the commit

    def apply_selftest(command: Command, tx: Transaction) -> str:
        # A terminal's check in the middle of someone's payment would disturb it: only while no one is here.
        if not idle():
            return "refused: the cabinet is busy with a shopper"
        accepted.add(command.id)
        return "running the self-test"

    def run_selftest(command: Command) -> None:
        if command.id in accepted:
            accepted.discard(command.id)
            selftest(command.id)

    inbox.register("restart", lambda command, tx: "restarting when idle", restart)
    # The owner's refund: the flagged reversal is opened again in the command's transaction, then carried out.
    inbox.register(
        "refund",
        lambda command, tx: follow_ups.give_back_again(tx, str(command.args["sale_id"])),
        lambda command: follow_ups.kick(),
    )
    inbox.register("selftest", apply_selftest, run_selftest)
    # The photo is named "remote" and uploaded like the door's own (only this cabinet's retailer sees it).
    inbox.register("snapshot", apply_snapshot, lambda command: snapshot.take("remote", None))
    forms = [journey for journey in (repair, callback) if journey is not None]

    def phone_opened(command: Command, tx: Transaction) -> str:
        token = str(command.args["token"])
        journey = next((j for j in forms if j.handoff.offers(token)), None)
        return journey.phone_opened(token) if journey else "ignored: this cabinet no longer offers that form"

    def fields(command: Command) -> dict[str, str]:
        return {k: str(v) for k, v in command.args.items() if k != "token"}

    # A form filled in on the shopper's phone: what it records is recorded with the command (exactly once).
    if forms:
        inbox.register("form_opened", phone_opened)
    if repair is not None:
        inbox.register(
            "repair_form", lambda command, tx: repair.phone_form(tx, str(command.args["token"]), fields(command))
        )
    if callback is not None:
        inbox.register(
            "callback_form", lambda command, tx: callback.phone_form(tx, str(command.args["token"]), fields(command))
        )
