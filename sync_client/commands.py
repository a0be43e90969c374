"""Commands the cloud queues for this cabinet (e.g. a remote unlock), applied once each.

A command moves through ``received → applied → acked`` in the cabinet DB. Applying it runs
the registered ``apply(command, tx)`` inside the transaction that marks it applied and
appends its ``command.applied`` event, so its database effects happen exactly once even
across a crash. A physical ``effect(command)`` (pulse the relay) runs after that commit,
which is durable (synchronous=FULL) for a handler that has an effect: a power cut can then
skip the effect but never bring the command back as unapplied to do it twice — at most
once is the safe side of a door. The acknowledgement to the cloud is retried until it
lands; a command the cloud sends again after a lost ack is acknowledged again, never
re-applied.

Each command carries an expiry. It is judged by the cloud's clock from the signed answer of the
poll that applies it (the cabinet's own clock may be anything after a power cut): an expired one
is not applied, ``command.expired`` records it, and the cloud gets the result ``expired``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sync_client.backoff import Sleep
from sync_client.cloud_client import CloudClient, CloudRefused, CloudUnavailable
from sync_client.cloud_poll import CloudPoller
from sync_client.outbox import Outbox, Transaction
from sync_client.schema import SchemaError, parse_utc_iso, utc_iso, validate_command
from sync_client.store.commands import CommandsRepo, StoredCommand

log = logging.getLogger(__name__)
COMMANDS_PATH = "v1/commands"
EXPIRED = "expired"


@dataclass(frozen=True)
class Command:
    id: str
    kind: str
    args: dict[str, Any]
    expires_at: str | None  # ISO 8601 UTC by the cloud's clock; None or garbled: refused


Apply = Callable[[Command, Transaction], str]
Effect = Callable[[Command], None]


class CommandInbox(CloudPoller):
    def __init__(
        self,
        outbox: Outbox,
        client: CloudClient,
        *,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """``wall_clock`` only dates the cabinet's own records; expiry goes by the cloud's clock, carried
        forward on ``monotonic`` while the answer is applied."""
        super().__init__(self.poll, "command poll failed", interval_s=30.0, sleep=sleep)
        self.outbox = outbox
        self.client = client
        self.wall_clock = wall_clock
        self.monotonic = monotonic
        self._handlers: dict[str, tuple[Apply, Effect | None]] = {}
        self.commands = CommandsRepo(outbox)

    def register(self, kind: str, apply: Apply, effect: Effect | None = None) -> None:
        """``apply(command, tx) -> result`` writes its state in ``tx``; ``effect(command)`` runs after commit."""
        self._handlers[kind] = (apply, effect)

    def state_of(self, command_id: str) -> str | None:
        stored = self.commands.get(command_id)
        return stored.state if stored else None

    async def poll(self) -> list[Command]:
        """Fetch pending commands, apply the new ones, acknowledge what is applied. Returns the commands
        applied (or refused) by this call; expired ones are not among them. Raises CloudUnavailable /
        CloudRefused when the fetch fails (acks are retried on the next poll)."""
        reply = await self.client.request("GET", COMMANDS_PATH)
        answered_at = self.monotonic()
        received = reply.body.get("commands") if isinstance(reply.body, dict) else None
        if not isinstance(received, list):
            raise CloudUnavailable('GET /v1/commands: expected {"commands": [...]}')
        now = self._wall_iso()
        with self.outbox.transaction() as tx:
            for item in received:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    expires_at = item.get("expires_at")
                    self.commands.receive(
                        tx,
                        item["id"],
                        str(item.get("kind")),
                        item.get("args"),
                        now,
                        expires_at if isinstance(expires_at, str) else None,
                    )
        waiting = [self._command(stored) for stored in self.commands.in_state("received")]
        applied = [c for c in waiting if self._apply(c, reply.cloud_time + self.monotonic() - answered_at)]
        await self._ack_applied()
        return applied

    def _wall_iso(self) -> str:
        return utc_iso(self.wall_clock())

    @staticmethod
    def _command(stored: StoredCommand) -> Command:
        return Command(stored.id, stored.kind, stored.args, stored.expires_at)

    def _apply(self, command: Command, cloud_time: float) -> bool:
        """Apply one command unless it expired by ``cloud_time``; False when it expired."""
        apply, effect = self._handlers.get(command.kind, (None, None))
        with self.outbox.transaction(durable=effect is not None) as tx:
            try:
                if cloud_time >= parse_utc_iso(command.expires_at, "expires_at"):
                    self._expire(tx, command, cloud_time)
                    return False
                validate_command(command.kind, command.args)
                if apply is None:
                    raise SchemaError(f"kind: this cabinet has no handler for {command.kind!r}")
                result = "ok: " + apply(command, tx)
            except SchemaError as exc:
                result, effect = f"refused: {exc}", None
            self._decided(tx, command, result)
            tx.append("command.applied", {"command_id": command.id, "kind": command.kind, "result": result})
        log.info("command applied", extra={"command_id": command.id, "kind": command.kind, "result": result})
        if effect is not None:
            effect(command)
        return True

    def _expire(self, tx: Transaction, command: Command, cloud_time: float) -> None:
        self._decided(tx, command, EXPIRED)
        tx.append(
            "command.expired",
            {
                "command_id": command.id,
                "kind": command.kind,
                "expires_at": str(command.expires_at),
                "cloud_time": utc_iso(cloud_time),
            },
        )
        log.warning(
            "command expired before it arrived",
            extra={
                "command_id": command.id,
                "kind": command.kind,
                "expires_at": command.expires_at,
                "cloud_time": utc_iso(cloud_time),
            },
        )

    def _decided(self, tx: Transaction, command: Command, result: str) -> None:
        """The command is done with (applied, refused or expired); only the ack to the cloud is left."""
        self.commands.decided(tx, command.id, result, self._wall_iso())

    async def _ack_applied(self) -> None:
        for command in self.commands.in_state("applied"):
            try:
                await self.client.request("POST", f"{COMMANDS_PATH}/{command.id}/ack", {"result": command.result})
            except CloudRefused as exc:
                if exc.status != 404:  # 404: the cloud no longer has it; nothing left to acknowledge
                    raise
            with self.outbox.transaction() as tx:
                self.commands.acked(tx, command.id, self._wall_iso())
