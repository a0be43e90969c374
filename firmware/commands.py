"""What the cabinet does with the commands the cloud queues for it.

Each handler's ``apply`` runs inside the transaction that marks the command
applied (so its record happens exactly once, even across a crash); the physical
``effect`` runs after that commit (so a relay pulses at most once).
"""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from sync_client.commands import Command, CommandInbox
from sync_client.config_sync import ConfigSync
from sync_client.outbox import Transaction

if TYPE_CHECKING:
    from firmware.cabinet import Cabinet

log = logging.getLogger(__name__)


def register_commands(inbox: CommandInbox, cabinet: Cabinet, config_sync: ConfigSync, stop: asyncio.Event) -> None:
    accepted: set[str] = set()

    def apply_unlock(command: Command, tx: Transaction) -> str:
        if not cabinet.can_unlock_remotely():
            return "refused: the cabinet is busy with a shopper"
        accepted.add(command.id)
        return "unlocking"

    def unlock(command: Command) -> None:
        if command.id in accepted:
            cabinet.remote_unlock(command.id, float(command.args["seconds"]))

    def restart(command: Command) -> None:
        async def when_idle() -> None:
            while not cabinet.idle():
                await asyncio.sleep(1.0)
            log.warning("restarting on the cloud's command", extra={"command_id": command.id})
            stop.set()          # systemd (Restart=always) starts the service again
        asyncio.get_running_loop().create_task(when_idle())

    inbox.register("unlock", apply_unlock, unlock)
    inbox.register("refresh_config", lambda command, tx: "pulling", lambda command: config_sync.poke())
    inbox.register("restart", lambda command, tx: "restarting when idle", restart)
