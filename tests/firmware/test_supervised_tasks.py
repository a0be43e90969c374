"""No background task dies unnoticed: a failure is a named fault and an alarm, and a long-lived task's
failure stops the systemd watchdog (checked on a real AF_UNIX datagram socket, as systemd listens)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware.cabinet import Cabinet
from firmware.devices import Devices, build_lock_and_door
from firmware.supervisor import Supervisor, TaskFailure
from firmware.technician.status import open_readonly, read_faults
from hal.card_reader import CardRead, CardReader
from sync_client.outbox import Outbox
from tests.firmware.cabinet_rig import Cabinets, until
from tests.firmware.test_storage_at_the_money_point import fill_to_the_page_limit
from tests.sync.conftest import CAB


@pytest.fixture
def systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """systemd's notify socket, with WatchdogSec=2ms: the watchdog wants a ping every millisecond."""
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", "2000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    yield sock
    sock.close()


def drain(sock: socket.socket) -> list[str]:
    messages = []
    while True:
        try:
            messages.append(sock.recv(4096).decode())
        except BlockingIOError:
            return messages


async def test_a_long_lived_task_that_raises_stops_the_watchdog_and_says_why(systemd: socket.socket) -> None:
    supervisor = Supervisor()
    reported: list[TaskFailure] = []
    supervisor.on_failure = reported.append
    stop, trigger = asyncio.Event(), asyncio.Event()
    feeder = asyncio.create_task(supervisor.keep_watchdog_fed(stop))
    loop = asyncio.get_running_loop()
    assert await asyncio.wait_for(loop.sock_recv(systemd, 4096), 5) == b"WATCHDOG=1"  # fed while healthy

    async def uploader() -> None:
        await trigger.wait()
        raise ValueError("batch of -1 events")

    supervisor.run("uploader", uploader())
    trigger.set()
    await asyncio.wait_for(feeder, 5)  # the feeder gave up by itself: stop was never set
    assert not stop.is_set() and not supervisor.healthy
    assert [(f.task, f.error, f.long_lived) for f in reported] == [("uploader", "ValueError: batch of -1 events", True)]
    messages = drain(systemd)
    status = "STATUS=task uploader failed (ValueError: batch of -1 events): waiting for the watchdog to restart"
    assert status in messages
    assert "WATCHDOG=1" not in messages[messages.index(status) :]  # nothing fed the watchdog after the failure


async def test_a_job_that_raises_is_reported_but_the_watchdog_stays_fed(systemd: socket.socket) -> None:
    supervisor = Supervisor()
    reported: list[TaskFailure] = []
    supervisor.on_failure = reported.append

    async def snapshot() -> None:
        raise OSError(28, "No space left on device")

    job = supervisor.spawn("snapshot", snapshot())
    await asyncio.wait({job})
    assert supervisor.healthy and [(f.task, f.long_lived) for f in reported] == [("snapshot", False)]
    stop = asyncio.Event()
    feeder = asyncio.create_task(supervisor.keep_watchdog_fed(stop))
    assert await asyncio.wait_for(asyncio.get_running_loop().sock_recv(systemd, 4096), 5) == b"WATCHDOG=1"
    stop.set()
    await feeder


class BuggyReader(CardReader):
    """A reader whose driver has a bug: not a DeviceFault the cabinet expects, an IndexError."""

    def __init__(self) -> None:
        self.trigger = asyncio.Event()

    async def read(self) -> CardRead:
        await self.trigger.wait()
        raise IndexError("tuple index out of range")


async def test_a_reader_task_that_dies_is_a_named_fault_an_alarm_and_a_watchdog_left_hungry(
    cabinets: Cabinets, systemd: socket.socket, caplog: pytest.LogCaptureFixture
) -> None:
    lock, sensor, _ = build_lock_and_door(cabinets.config, cabinets.factory)
    reader = BuggyReader()
    cabinet = Cabinet(
        cabinets.config,
        Devices(lock=lock, door=sensor, card_reader=reader),
        Outbox(cabinets.tmp_path / "cabinet.db", CAB),
        cabinets.tmp_path,
    )
    cabinets.cabinet = cabinet
    await cabinet.start()
    stop = asyncio.Event()
    feeder = asyncio.create_task(cabinet.supervisor.keep_watchdog_fed(stop))
    with caplog.at_level(logging.ERROR, logger="firmware.supervisor"):
        reader.trigger.set()
        await until(lambda: "task:card-reader" in cabinet.faults, what="the fault")
    assert cabinet.faults["task:card-reader"] == "IndexError: tuple index out of range"
    assert [e for e in cabinets.events("alarm") if e["kind"] == "task_failed"] == [
        {"kind": "task_failed", "detail": "task:card-reader: IndexError: tuple index out of range"}
    ]
    assert {"device": "task:card-reader", "detail": "IndexError: tuple index out of range"} in cabinets.events(
        "device.fault"
    )
    conn = open_readonly(cabinets.tmp_path / "cabinet.db")  # what `kiosk status` reads
    try:
        assert read_faults(conn)["task:card-reader"][1] == "IndexError: tuple index out of range"
    finally:
        conn.close()
    assert "Traceback" in caplog.text and 'raise IndexError("tuple index out of range")' in caplog.text
    await asyncio.wait_for(feeder, 5)  # no more pings: systemd restarts the cabinet
    assert drain(systemd)[-1].startswith("STATUS=task card-reader failed")


async def test_a_full_disk_drops_heartbeats_but_not_the_task_that_writes_them(
    cabinets: Cabinets, caplog: pytest.LogCaptureFixture
) -> None:
    cabinets.config.sync = dataclasses.replace(cabinets.config.sync, heartbeat_s=0.01)  # due at every pass
    cabinet = await cabinets.boot()
    with caplog.at_level(logging.WARNING, logger="firmware.optional_events"):
        fill_to_the_page_limit(cabinet.outbox)
        await until(lambda: "store failing: event dropped" in caplog.text, what="a heartbeat refused")
    cabinet.outbox.db.conn.execute("PRAGMA max_page_count = 1000000")  # space again
    written = len(cabinets.events("heartbeat"))
    await until(lambda: len(cabinets.events("heartbeat")) > written, what="a heartbeat written again")
    assert not [name for name in cabinet.faults if name.startswith("task:")] and cabinet.supervisor.healthy
