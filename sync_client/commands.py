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
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sync_client.backoff import poll_forever
from sync_client.cloud_client import CloudClient, CloudRefused, CloudUnavailable
from sync_client.outbox import Outbox, Transaction
from sync_client.schema import SchemaError, utc_now_iso, validate_command

log = logging.getLogger(__name__)
COMMANDS_PATH = "v1/commands"
COMMANDS_DDL = """
CREATE TABLE IF NOT EXISTS commands (
    id TEXT PRIMARY KEY,             -- chosen by the cloud
    kind TEXT NOT NULL,
    args TEXT NOT NULL,              -- JSON
    state TEXT NOT NULL CHECK (state IN ('received', 'applied', 'acked')),
    result TEXT,
    received_at TEXT NOT NULL,
    applied_at TEXT,
    acked_at TEXT
)
"""


@dataclass(frozen=True)
class Command:
    id: str
    kind: str
    args: dict[str, Any]


Apply = Callable[[Command, Transaction], str]
Effect = Callable[[Command], None]


class CommandInbox:
    def __init__(self, outbox: Outbox, client: CloudClient) -> None:
        self.outbox = outbox
        self.client = client
        self._handlers: dict[str, tuple[Apply, Effect | None]] = {}
        self._poke = asyncio.Event()
        self.last_error: str | None = None
        with outbox.transaction() as tx:
            tx.execute(COMMANDS_DDL)

    def register(self, kind: str, apply: Apply, effect: Effect | None = None) -> None:
        """``apply(command, tx) -> result`` writes its state in ``tx``; ``effect(command)`` runs after commit."""
        self._handlers[kind] = (apply, effect)

    def poke(self) -> None:
        self._poke.set()

    def state_of(self, command_id: str) -> str | None:
        row = self.outbox.db.conn.execute("SELECT state FROM commands WHERE id = ?", (command_id,)).fetchone()
        return row[0] if row else None

    async def poll(self) -> list[Command]:
        """Fetch pending commands, apply the new ones, acknowledge what is applied. Returns the commands
        applied by this call. Raises CloudUnavailable / CloudRefused when the fetch fails (acks are retried
        on the next poll)."""
        reply = await self.client.request("GET", COMMANDS_PATH)
        received = reply.body.get("commands") if isinstance(reply.body, dict) else None
        if not isinstance(received, list):
            raise CloudUnavailable("GET /v1/commands: expected {\"commands\": [...]}")
        now = utc_now_iso()
        with self.outbox.transaction() as tx:
            for item in received:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    tx.execute("INSERT OR IGNORE INTO commands (id, kind, args, state, received_at) "
                               "VALUES (?, ?, ?, 'received', ?)",
                               (item["id"], str(item.get("kind")), json.dumps(item.get("args")), now))
        applied = [self._apply(c) for c in self._in_state("received")]
        await self._ack_applied()
        return applied

    def _in_state(self, state: str) -> list[Command]:
        rows = self.outbox.db.conn.execute(
            "SELECT id, kind, args FROM commands WHERE state = ? ORDER BY received_at, id", (state,)).fetchall()
        return [Command(r[0], r[1], json.loads(r[2])) for r in rows]

    def _apply(self, command: Command) -> Command:
        apply, effect = self._handlers.get(command.kind, (None, None))
        with self.outbox.transaction(durable=effect is not None) as tx:
            try:
                validate_command(command.kind, command.args)
                if apply is None:
                    raise SchemaError(f"kind: this cabinet has no handler for {command.kind!r}")
                result = "ok: " + apply(command, tx)
            except SchemaError as exc:
                result, effect = f"refused: {exc}", None
            tx.execute("UPDATE commands SET state = 'applied', result = ?, applied_at = ? WHERE id = ?",
                       (result, utc_now_iso(), command.id))
            tx.append("command.applied", {"command_id": command.id, "kind": command.kind, "result": result})
        log.info("command applied", extra={"command_id": command.id, "kind": command.kind, "result": result})
        if effect is not None:
            effect(command)
        return command

    async def _ack_applied(self) -> None:
        for command in self._in_state("applied"):
            result = self.outbox.db.conn.execute("SELECT result FROM commands WHERE id = ?",
                                                 (command.id,)).fetchone()[0]
            try:
                await self.client.request("POST", f"{COMMANDS_PATH}/{command.id}/ack", {"result": result})
            except CloudRefused as exc:
                if exc.status != 404:       # 404: the cloud no longer has it; nothing left to acknowledge
                    raise
            with self.outbox.transaction() as tx:
                tx.execute("UPDATE commands SET state = 'acked', acked_at = ? WHERE id = ?",
                           (utc_now_iso(), command.id))

    async def run(self, stop: asyncio.Event, *, interval_s: float = 30.0, backoff_initial_s: float = 1.0,
                  backoff_max_s: float = 300.0) -> None:
        """Poll every ``interval_s`` (or when poked, e.g. after an upload), backing off while the cloud is away."""
        await poll_forever(self.poll, stop, self._poke, interval_s=interval_s, backoff_initial_s=backoff_initial_s,
                           backoff_max_s=backoff_max_s, errors=(CloudUnavailable, CloudRefused),
                           on_result=self._note)

    def _note(self, error: Exception | None) -> None:
        self.last_error = None if error is None else str(error)
        if error is not None:
            log.warning("command poll failed", extra={"error": str(error)})
