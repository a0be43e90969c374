"""Several cloud nodes on one PostgreSQL (issue 16): two real `kiosk-cloud serve` processes on a fresh database
of the test session's server, the loopback proxy (cloud_stub/balancer.py) alternating between them, and a
cabinet's own sync client (its outbox, Uploader and command inbox, each checking the cloud's signatures)
syncing through the proxy while one node is SIGKILLed and restarted on its port."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from cloud_stub.store import open_store
from firmware.control_client import Process, _bin
from sync_client.cloud_client import CloudClient
from sync_client.commands import Command, CommandInbox
from sync_client.outbox import Outbox, Transaction
from sync_client.uploader import Uploader
from tests.polling import until

RETAILER = "north-malls"
CABINET = "cab-1"
EVENTS_A_PHASE = 24


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cloud:
    """Two nodes on one database, on fixed ports (a restarted node takes its port again), and the proxy."""

    db: str
    workdir: Path
    ports: list[int] = field(default_factory=lambda: [free_port(), free_port()])
    nodes: list[Process] = field(default_factory=list)
    balancer: Process | None = None
    starts: int = 0

    def start_node(self, n: int) -> Process:
        self.starts += 1
        argv = [*_bin("kiosk-cloud"), "serve", "--port", str(self.ports[n]), "--db", self.db]
        proc = Process(argv, self.workdir / f"node-{n}-start-{self.starts}.log").start()
        assert "listening" in proc.read_line()
        return proc

    def start(self) -> str:
        self.nodes = [self.start_node(0), self.start_node(1)]
        urls = [f"http://127.0.0.1:{p}" for p in self.ports]
        self.balancer = Process([sys.executable, "-m", "cloud_stub.balancer", *urls], self.workdir / "proxy.log")
        return self.balancer.start().read_line().rsplit(" ", 1)[-1]

    def stop(self) -> None:
        for proc in [*self.nodes, *([self.balancer] if self.balancer else [])]:
            proc.stop()

    @staticmethod
    def ingests(proc: Process) -> int:
        """Event batches this node process stored for the cabinet (its log names each)."""
        return proc.log_path.read_text().count(f"ingest cabinet={CABINET}")


@dataclass
class Cabinet:
    """The cabinet's sync client as the firmware runs it: the uploader and the command inbox, each its loop."""

    outbox: Outbox
    uploader: Uploader
    inbox: CommandInbox
    unlocked: list[str] = field(default_factory=list)  # the relay's pulses: one per command applied

    def heartbeats(self, count: int) -> None:
        for _ in range(count):
            self.outbox.append("heartbeat", {"faults": []})

    def synced(self, command_ids: list[str]) -> Callable[[], bool]:
        """Everything uploaded and each command applied and its acknowledgement taken by the cloud."""
        return lambda: self.outbox.pending_count() == 0 and all(self.inbox.state_of(c) == "acked" for c in command_ids)


@pytest.fixture
async def cabinet(tmp_path: Path, pg_url: str) -> AsyncIterator[tuple[Cabinet, Cloud, str, str]]:
    """(the running cabinet, the cloud, the proxy's URL, the retailer's API token)."""
    store = open_store(pg_url)
    try:
        token = store.add_retailer(RETAILER)
        key = store.add_cabinet(CABINET, RETAILER)
    finally:
        store.close()
    cloud = Cloud(pg_url, tmp_path)
    url = cloud.start()
    outbox = Outbox(tmp_path / "cabinet.db", CABINET)
    # Small batches, two in flight: many requests, so the kill lands while some are on the way.
    uploader = Uploader(outbox, url, key, batch_size=3, backoff_initial_s=0.01, backoff_max_s=0.05)
    inbox = CommandInbox(outbox, CloudClient(url, CABINET, key))
    cab = Cabinet(outbox, uploader, inbox)

    def apply(command: Command, tx: Transaction) -> str:
        return f"unlocked for {command.args['seconds']} s"

    inbox.register("unlock", apply, lambda command: cab.unlocked.append(command.id))
    stop = asyncio.Event()
    loops = [
        asyncio.create_task(uploader.run(stop)),
        asyncio.create_task(inbox.run(stop, interval_s=0.05, backoff_initial_s=0.01, backoff_max_s=0.05)),
    ]
    try:
        yield cab, cloud, url, token
    finally:
        stop.set()
        await asyncio.gather(*loops)
        await inbox.client.close()
        outbox.close()
        cloud.stop()


async def unlock(session: aiohttp.ClientSession, url: str, token: str, reason: str) -> str:
    """The retailer's remote unlock, sent through the proxy; the command's id. A 502 (the node that had the
    request died under it) is sent again, as the retailer's page does."""
    for _ in range(20):
        async with session.post(
            f"{url}/v1/retailer/cabinets/{CABINET}/commands",
            json={"kind": "unlock", "args": {"seconds": 5, "reason": reason}},
            headers={"Authorization": f"Bearer {token}"},
        ) as resp:
            if resp.status != 502:
                assert resp.status == 201, await resp.text()
                return str((await resp.json())["id"])
    raise AssertionError("the proxy answered 502 twenty times")


async def command_record(session: aiohttp.ClientSession, url: str, token: str, command_id: str) -> dict[str, Any]:
    async with session.get(
        f"{url}/v1/retailer/commands/{command_id}", headers={"Authorization": f"Bearer {token}"}
    ) as resp:
        assert resp.status == 200, await resp.text()
        record: dict[str, Any] = await resp.json()
        return record


async def test_a_cabinet_syncs_through_two_postgresql_nodes_while_one_is_killed_and_restarted(
    cabinet: tuple[Cabinet, Cloud, str, str], pg_url: str
) -> None:
    cab, cloud, url, token = cabinet
    commands: list[str] = []
    async with aiohttp.ClientSession() as retailer:
        # Both nodes serve the cabinet.
        cab.heartbeats(EVENTS_A_PHASE)
        commands.append(await unlock(retailer, url, token, "before"))
        await until(cab.synced(commands), 60, "the first phase synced")
        assert all(Cloud.ingests(node) > 0 for node in cloud.nodes), "the proxy alternates between both nodes"

        # Node 0 dies (SIGKILL) while batches are on their way: the cabinet goes on through node 1.
        cab.heartbeats(EVENTS_A_PHASE)
        await until(lambda: cab.outbox.pending_count() < EVENTS_A_PHASE, 60, "uploading began")
        cloud.nodes[0].kill()
        commands.append(await unlock(retailer, url, token, "one node down"))
        await until(cab.synced(commands), 60, "synced with node 0 dead")

        # Node 0 comes back on its port and takes requests again.
        cloud.nodes[0] = cloud.start_node(0)
        cab.heartbeats(EVENTS_A_PHASE)
        commands.append(await unlock(retailer, url, token, "node back"))
        await until(cab.synced(commands), 60, "synced after the restart")
        assert Cloud.ingests(cloud.nodes[0]) > 0, "the restarted node stored some of the cabinet's batches"

        records = [await command_record(retailer, url, token, c) for c in commands]

    # Every command applied once (one relay pulse each), acknowledged once, its result as the cabinet gave it.
    assert cab.unlocked == commands
    assert [(r["acked_at"] is not None, r["result"]) for r in records] == [(True, "ok: unlocked for 5 s")] * 3

    # Every event stored once, the cabinet's sequence without a gap.
    store = open_store(pg_url)
    try:
        events = [e for e in store.export_events() if e["cabinet_id"] == CABINET]
    finally:
        store.close()
    heartbeats = 3 * EVENTS_A_PHASE
    assert sorted(e["seq"] for e in events) == list(range(1, heartbeats + len(commands) + 1))
    assert len({e["id"] for e in events}) == len(events)
    applied = [e["payload"]["command_id"] for e in events if e["type"] == "command.applied"]
    assert sorted(applied) == sorted(commands)
    assert sum(e["type"] == "heartbeat" for e in events) == heartbeats
