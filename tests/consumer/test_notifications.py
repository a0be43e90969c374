"""Notifications reach the customer through a provider: the HTTP provider POSTs signed JSON to a real receiver
on 127.0.0.1 (an SMS gateway or webhook in production), retries with backoff, and the outbox keeps each
message's delivery state."""

from __future__ import annotations

import asyncio
import hmac
import json
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from cloud_stub.consumer.notify import Backoff, HttpProvider, LogProvider, Notifier, signature
from cloud_stub.core import Core
from cloud_stub.limits import DEFAULT_LIMITS
from cloud_stub.retailer_api import add_order
from cloud_stub.store import CloudStore, SqliteCloudStore
from firmware.control_client import _bin
from sync_client.schema import normalise_phone
from tests.consumer.conftest import CABINET, PHONE, RETAILER, seed_cloud
from tests.polling import until

SECRET = b"s" * 32
StartReceiver = Callable[..., Awaitable["Receiver"]]


class Clock:
    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


@dataclass
class Receiver:
    """A webhook on 127.0.0.1 that checks the signature as a gateway would, failing the first ``fail`` posts."""

    secret: bytes
    fail: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    url: str = ""
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)  # told of each message taken

    async def taken(self, count: int, timeout: float) -> None:
        """Until ``count`` messages are taken (TimeoutError after ``timeout``)."""
        async with asyncio.timeout(timeout), self.arrived:
            await self.arrived.wait_for(lambda: len(self.received) >= count)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        expected = signature(self.secret, request.headers["X-Timestamp"], body)
        if not hmac.compare_digest(expected, request.headers.get("X-Signature", "")):
            self.statuses.append(401)
            return web.Response(status=401, text="bad signature")
        if self.fail > 0:
            self.fail -= 1
            self.statuses.append(503)
            return web.Response(status=503)
        self.received.append(json.loads(body))
        self.statuses.append(200)
        async with self.arrived:
            self.arrived.notify_all()
        return web.Response(status=200)


@pytest.fixture
async def start_receiver() -> AsyncIterator[StartReceiver]:
    runners: list[web.AppRunner] = []

    async def start(secret: bytes = SECRET, fail: int = 0) -> Receiver:
        receiver = Receiver(secret, fail)
        app = web.Application()
        app.router.add_post("/sms", receiver.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        receiver.url = f"http://127.0.0.1:{port}/sms"
        return receiver

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
def core(cloud_target: str) -> Iterator[Core]:
    seeded = seed_cloud(cloud_target)  # a ticket dropped off, then collected: two messages owed
    core = Core(seeded.store, Clock(), DEFAULT_LIMITS)
    yield core
    seeded.store.close()


def _states(store: CloudStore) -> list[tuple[str, str, int]]:
    return [
        (n["status"], n["delivery"], n["attempts"]) for n in (store.notification(i) for i in (1, 2)) if n is not None
    ]


async def test_repair_updates_are_delivered_signed_to_the_gateway(core: Core, start_receiver: StartReceiver) -> None:
    receiver = await start_receiver()
    notifier = Notifier(core, HttpProvider(receiver.url, SECRET, now=core.now))
    assert await notifier.run_once() == 2
    assert [(m["to"], m["ticket_id"], m["status"]) for m in receiver.received] == [
        (PHONE, "R-K7QX2M", "dropped_off"),
        (PHONE, "R-K7QX2M", "collected"),
    ]
    assert _states(core.store) == [("dropped_off", "delivered", 1), ("collected", "delivered", 1)]
    assert core.store.notifications_of("velo-consumer") == [], "the repair board no longer lists them as to notify"
    assert await notifier.run_once() == 0, "a delivered message is never sent again"


async def test_a_gateway_failing_twice_gets_the_message_on_the_third_try_after_backing_off(
    core: Core, start_receiver: StartReceiver
) -> None:
    receiver = await start_receiver(fail=4)  # two messages, each refused twice
    clock = core.now
    assert isinstance(clock, Clock)
    notifier = Notifier(core, HttpProvider(receiver.url, SECRET, now=clock), Backoff(first_s=30, max_s=600))
    assert await notifier.run_once() == 0
    assert _states(core.store) == [("dropped_off", "pending", 1), ("collected", "pending", 1)]
    assert await notifier.run_once() == 0, "nothing is due before the backoff ends"
    clock.t += 30
    assert await notifier.run_once() == 0
    clock.t += 59
    assert await notifier.run_once() == 0, "the second wait is twice the first"
    clock.t += 1
    assert await notifier.run_once() == 2
    assert receiver.statuses == [503, 503, 503, 503, 200, 200]
    assert _states(core.store) == [("dropped_off", "delivered", 3), ("collected", "delivered", 3)]


async def test_a_wrong_secret_is_refused_by_the_receiver_and_the_message_fails_for_good(
    core: Core, start_receiver: StartReceiver
) -> None:
    receiver = await start_receiver(secret=b"another secret, not ours")
    notifier = Notifier(core, HttpProvider(receiver.url, SECRET, now=core.now))
    assert await notifier.run_once() == 0
    assert receiver.received == [] and receiver.statuses == [401, 401]
    failed = core.store.notification(1)
    assert failed is not None and (failed["delivery"], failed["last_error"]) == ("failed", "HTTP 401")


async def test_an_unreachable_gateway_is_retried_then_given_up_after_the_last_attempt(
    core: Core, tmp_path: Path
) -> None:
    clock = core.now
    assert isinstance(clock, Clock)
    notifier = Notifier(core, HttpProvider("http://127.0.0.1:9/sms", SECRET, timeout_s=2), Backoff(1, 1, 3))
    for _ in range(3):
        await notifier.run_once()
        clock.t += 1
    states = _states(core.store)
    assert states == [("dropped_off", "failed", 3), ("collected", "failed", 3)]


async def test_the_log_provider_delivers_to_the_log(core: Core, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="cloud_stub.notify")
    assert await Notifier(core, LogProvider()).run_once() == 2
    assert '"to": "+49 170 555 4321"' in caplog.text and '"status": "collected"' in caplog.text


def test_the_http_provider_refuses_a_bad_address_or_a_short_secret() -> None:
    with pytest.raises(ValueError, match="notification url"):
        HttpProvider("ftp://gateway", SECRET)
    with pytest.raises(ValueError, match="secret"):
        HttpProvider("https://gateway.example", b"short")


async def test_kiosk_cloud_serve_delivers_the_outbox_to_the_configured_gateway(
    tmp_path: Path, start_receiver: StartReceiver
) -> None:
    receiver = await start_receiver()
    seed_cloud(tmp_path / "cloud.db").store.close()
    secret_file = tmp_path / "notify.secret"
    secret_file.write_bytes(SECRET + b"\n")
    proc = await asyncio.create_subprocess_exec(
        *_bin("kiosk-cloud"), "serve", "--port", "0", "--db", str(tmp_path / "cloud.db"),
        "--notify-url", receiver.url, "--notify-secret-file", str(secret_file),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert b"listening on" in await asyncio.wait_for(proc.stdout.readline(), 30)
        await receiver.taken(2, timeout=20)  # the deliveries come from the other process
        assert [m["status"] for m in receiver.received] == ["dropped_off", "collected"]
        store = SqliteCloudStore(tmp_path / "cloud.db")
        try:  # the server records a delivery once the gateway's answer reaches it
            delivered = [("dropped_off", "delivered", 1), ("collected", "delivered", 1)]
            await until(lambda: _states(store) == delivered, what="both messages recorded as delivered")
        finally:
            store.close()
    finally:
        proc.terminate()
        await proc.wait()


def test_kiosk_cloud_serve_refuses_a_gateway_without_its_secret(tmp_path: Path) -> None:
    result = subprocess.run(
        [*_bin("kiosk-cloud"), "serve", "--db", str(tmp_path / "c.db"), "--notify-url", "https://sms.example"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 1 and "--notify-url: needs --notify-secret-file" in result.stderr


async def test_an_order_with_the_customers_phone_gets_its_pickup_code_delivered_then_forgotten(
    core: Core, start_receiver: StartReceiver
) -> None:
    receiver = await start_receiver()
    notifier = Notifier(core, HttpProvider(receiver.url, SECRET, now=core.now))
    without = await add_order(core, CABINET, "SC-1-MINT", 3600)
    order = await add_order(core, CABINET, "SC-1-MINT", 3600, phone=normalise_phone("+49 170-555 0000"))
    assert (without["phone"], order["phone"]) == (None, "+491705550000")
    assert await notifier.run_once() == 3, "the ticket's two updates and the one order with a phone"
    (sent,) = [m for m in receiver.received if m["kind"] == "pickup"]
    assert (sent["to"], sent["pickup_code"], sent["order_id"]) == (
        "+491705550000",
        order["pickup_code"],
        order["order_id"],
    )
    assert (sent["sku"], sent["expires_at"]) == ("SC-1-MINT", order["expires_at"])
    kept = core.store.notification(3)
    assert kept is not None and (kept["kind"], kept["delivery"], kept["pickup_code"]) == (
        "pickup",
        "delivered",
        None,
    ), "the code in clear leaves the outbox once delivered"
    assert core.store.notifications_of(RETAILER) == [], "the repair board lists repair messages only"
