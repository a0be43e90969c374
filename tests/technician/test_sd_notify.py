"""sd_notify against a real AF_UNIX datagram socket, as systemd listens."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware.technician import sd_notify


@pytest.fixture
def listener(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


def received(sock: socket.socket) -> str:
    return sock.recv(4096).decode()


def test_ready_status_watchdog_stopping_arrive_as_datagrams(listener: socket.socket) -> None:
    assert sd_notify.ready("attract screen shown")
    assert received(listener) == "READY=1\nSTATUS=attract screen shown"
    assert sd_notify.watchdog()
    assert received(listener) == "WATCHDOG=1"
    assert sd_notify.status("outbox: 3 pending")
    assert received(listener) == "STATUS=outbox: 3 pending"
    assert sd_notify.stopping()
    assert received(listener) == "STOPPING=1"


def test_abstract_namespace_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"kiosk-test-{uuid.uuid4()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert sd_notify.ready()
        assert received(sock) == "READY=1"


def test_no_op_without_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sd_notify.ready() is False and sd_notify.watchdog() is False


def test_a_vanished_socket_does_not_raise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone"))
    assert sd_notify.watchdog() is False


def test_a_relative_socket_path_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", "run/notify")
    with pytest.raises(ValueError, match="NOTIFY_SOCKET must be an absolute path"):
        sd_notify.ready()


def test_watchdog_interval_is_half_of_watchdog_sec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert sd_notify.watchdog_interval() is None
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")  # WatchdogSec=30s
    assert sd_notify.watchdog_interval() == 15.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert sd_notify.watchdog_interval() == 15.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))  # meant for another process
    assert sd_notify.watchdog_interval() is None
    monkeypatch.delenv("WATCHDOG_PID")
    monkeypatch.setenv("WATCHDOG_USEC", "30s")
    with pytest.raises(ValueError, match="WATCHDOG_USEC must be an integer number of microseconds, got '30s'"):
        sd_notify.watchdog_interval()


async def test_keep_watchdog_fed_pings_until_stopped(listener: socket.socket, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    monkeypatch.setenv("WATCHDOG_USEC", "100000")  # ping every 50 ms
    listener.setblocking(False)
    stop = asyncio.Event()
    task = asyncio.create_task(sd_notify.keep_watchdog_fed(stop))
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.wait_for(task, 5)
    pings = []
    while True:
        try:
            pings.append(listener.recv(64))
        except BlockingIOError:
            break
    assert 3 <= len(pings) <= 40 and set(pings) == {b"WATCHDOG=1"}


async def test_keep_watchdog_fed_returns_without_a_watchdog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    await asyncio.wait_for(sd_notify.keep_watchdog_fed(asyncio.Event()), 1)
