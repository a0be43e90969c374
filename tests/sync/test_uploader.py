"""The uploader against the real cloud stub, and against a scripted server for the answers a
healthy cloud does not give (503 with Retry-After, 413, garbage), signed as the cloud signs."""

from __future__ import annotations

import asyncio
import json
import secrets
import time

import pytest
from aiohttp import web

from cloud_stub.answer_signing import SIGNING_KEY, answer_signer
from firmware.clock import FakeClock
from sync_client.backoff import backoff_delay
from sync_client.cloud_client import parse_retry_after
from sync_client.outbox import Outbox
from sync_client.uploader import Uploader
from tests.polling import until as poll
from tests.sync.conftest import CAB, Site


def cloud_ids(site: Site) -> list[str]:
    return [r["id"] for r in site.store.export_events()]


async def test_a_backlog_goes_up_in_bounded_batches_exactly_once(site: Site) -> None:
    events = [site.outbox.append("alarm", {"kind": "k", "detail": "d" * 200}) for _ in range(95)]
    uploader = Uploader(site.outbox, site.url, site.key, batch_size=20, max_batch_bytes=3_000)
    sizes: list[int] = []
    real_send = uploader._send
    uploader._send = lambda batch: (sizes.append(len(batch)), real_send(batch))[1]
    assert await uploader.upload_pending() == 95
    assert max(sizes) <= 9 and sum(sizes) == 95  # ~330 bytes an event: the byte bound bites first
    assert site.outbox.pending_count() == 0
    assert cloud_ids(site) == [e.id for e in events]
    assert uploader.status.online and uploader.status.sent_total == 95
    assert await uploader.upload_pending() == 0


async def test_an_event_the_cloud_refuses_goes_to_dead_letters_and_the_rest_flows(site: Site) -> None:
    good = site.outbox.append("heartbeat", {})
    # An event this cloud does not know (written by a newer firmware before a downgrade): the cloud
    # rejects it with a reason.
    site.outbox.db.conn.execute(
        "INSERT INTO events (id, type, schema_version, wall_time, mono_time, payload) VALUES "
        "('6f0c7a52-8a44-4c1e-9d55-1f6c3b1a9e01', 'ad.clicked', 1, '2026-11-25T16:39:53.123Z', 1.0, '{}')"
    )
    site.outbox.close()
    site.outbox = Outbox(site.outbox.path, CAB)  # the next boot counts it as pending
    later = site.outbox.append("heartbeat", {})
    uploader = Uploader(site.outbox, site.url, site.key)
    assert await uploader.upload_pending() == 3
    assert cloud_ids(site) == [good.id, later.id]
    [dead] = site.outbox.dead_letters()
    assert dead.event.type == "ad.clicked" and "unknown event type" in dead.reason
    assert uploader.status.dead_letters == 1 and "unknown event type" in uploader.status.last_dead_letter_reason
    assert site.outbox.pending_count() == 0  # not retried forever


async def test_wrong_key_keeps_every_event_and_reports_offline(site: Site) -> None:
    site.outbox.append("heartbeat", {})
    uploader = Uploader(
        site.outbox, site.url, b"not the key of this cabinet!!!!!", backoff_initial_s=0.01, backoff_max_s=0.02
    )
    stop = asyncio.Event()
    task = asyncio.create_task(uploader.run(stop))
    while uploader.status.consecutive_failures < 2:
        await asyncio.sleep(0.01)
    stop.set()
    await task
    assert "401" in uploader.status.last_error and not uploader.status.online
    assert site.outbox.pending_count() == 1 and site.outbox.dead_letters() == []
    assert cloud_ids(site) == []


SCRIPTED_KEY = b"k" * 32


@web.middleware
async def as_the_cloud(request: web.Request, handler):
    request[SIGNING_KEY] = SCRIPTED_KEY  # what DeviceApi.authenticate leaves for the answer signer
    return await handler(request)


class Scripted:
    """A cloud that answers from a script, then like the real one (acks everything)."""

    def __init__(self, script: list[web.Response]) -> None:
        self.script = script
        self.times: list[float] = []
        self.batch_sizes: list[int] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.times.append(time.monotonic())
        events = json.loads(await request.read())["events"]
        self.batch_sizes.append(len(events))
        if self.script:
            return self.script.pop(0)
        return web.json_response({"acked": [e["id"] for e in events], "rejected": []})


@pytest.fixture
async def scripted(tmp_path):
    async def serve(script: list[web.Response]) -> tuple[Scripted, str]:
        cloud = Scripted(script)
        app = web.Application(middlewares=[answer_signer(time.time), as_the_cloud])
        app.router.add_post("/v1/events", cloud.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        return cloud, f"http://127.0.0.1:{runner.addresses[0][1]}"

    runners: list[web.AppRunner] = []
    yield serve
    for runner in runners:
        await runner.cleanup()


async def test_events_of_one_moment_go_up_in_one_request_marked_sent_in_one_commit(site: Site) -> None:
    """A sale's completion, stock change and door closing arrive together: the uploader lingers for them,
    so the card takes one commit marking them sent, not one per event."""
    clock = FakeClock()
    uploader = Uploader(site.outbox, site.url, site.key, linger_s=3.0, sleep=clock.sleep, monotonic=clock.monotonic)
    marks = []
    real_mark = site.outbox.mark_sent
    site.outbox.mark_sent = lambda ids: (marks.append(len(ids)), real_mark(ids))[1]  # type: ignore[method-assign]
    stop = asyncio.Event()
    task = asyncio.create_task(uploader.run(stop))
    await clock.run(0)  # the first pass: nothing to send, then it waits for events
    site.outbox.append("door.closed", {"open_s": 12.0})
    await clock.run(1.0)
    site.outbox.append("stock.changed", {"sku": "A", "count": 3, "reason": "sale"})
    site.outbox.append("heartbeat", {})
    assert marks == [], "nothing is sent while it lingers"
    await clock.run(2.0)
    await poll(lambda: site.outbox.pending_count() == 0)
    stop.set()
    await task
    assert marks == [3]
    assert len(cloud_ids(site)) == 3


async def test_retry_after_is_honoured_and_nothing_is_marked_before_the_ack(tmp_path, scripted) -> None:
    cloud, url = await scripted(
        [
            web.json_response({"error": "busy"}, status=503, headers={"Retry-After": "1"}),
            web.Response(text="<html>proxy error</html>", status=200),
        ]
    )
    outbox = Outbox(tmp_path / "c.db", CAB)
    outbox.append("heartbeat", {})
    clock = FakeClock()
    uploader = Uploader(
        outbox,
        url,
        SCRIPTED_KEY,
        backoff_initial_s=0.01,
        backoff_max_s=5,
        monotonic=clock.monotonic,
        wall=clock.time,
        sleep=clock.sleep,
        rng=lambda: 1.0,  # the jitter at its top: the backoff's whole delay
    )
    stop = asyncio.Event()
    task = asyncio.create_task(uploader.run(stop))
    await poll(lambda: len(cloud.times) == 1 and clock.pending())
    assert clock.pending() == [clock.now + 1.0]  # Retry-After: 1, although the backoff said 10 ms
    await clock.run(0.999)
    assert len(cloud.times) == 1 and outbox.pending_count() == 1, "nothing is sent before Retry-After ends"
    await clock.run(0.001)
    await poll(lambda: len(cloud.times) == 2 and clock.pending())
    assert clock.pending() == [clock.now + 0.02]  # no ack in the answer: the second failure's backoff
    assert outbox.pending_count() == 1, "an answer without an ack marks nothing"
    await clock.run(0.02)
    await poll(lambda: not outbox.pending_count())
    stop.set()
    await task
    assert len(cloud.times) == 3
    assert uploader.status.online and uploader.status.consecutive_failures == 0
    assert uploader.status.last_success_at == clock.time()
    outbox.close()


async def test_a_413_narrows_the_batch_until_the_one_oversized_event_is_dead_lettered(tmp_path, scripted) -> None:
    cloud, url = await scripted(
        [web.json_response({"error": "body: larger than the limit"}, status=413) for _ in range(4)]
    )
    outbox = Outbox(tmp_path / "c.db", CAB)
    events = [outbox.append("heartbeat", {}) for _ in range(8)]
    uploader = Uploader(outbox, url, SCRIPTED_KEY, batch_size=8, max_in_flight=1)
    assert await uploader.upload_pending() == 8
    assert cloud.batch_sizes[:4] == [8, 4, 2, 1]
    assert [d.event.id for d in outbox.dead_letters()] == [events[0].id]
    assert "413" in outbox.dead_letters()[0].reason
    assert outbox.pending_count() == 0
    outbox.close()


def test_backoff_is_full_jitter_and_capped() -> None:
    assert backoff_delay(1, 0.5, 60, rng=lambda: 1.0) == 0.5
    assert backoff_delay(4, 0.5, 60, rng=lambda: 1.0) == 4.0
    assert backoff_delay(30, 0.5, 60, rng=lambda: 1.0) == 60
    assert backoff_delay(30, 0.5, 60, rng=lambda: 0.0) == 0
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None


async def test_the_running_uploader_prunes_what_was_acknowledged_long_enough_ago(site: Site) -> None:
    old = site.outbox.append("heartbeat", {})
    uploader = Uploader(site.outbox, site.url, site.key, retain_sent_s=0.0)
    assert await uploader.upload_pending() == 1
    await asyncio.sleep(0.01)  # sent_at is kept to the millisecond
    stop = asyncio.Event()
    task = asyncio.create_task(uploader.run(stop))  # idle at once: prunes, then waits for work
    for _ in range(500):
        if not site.outbox.events():
            break
        await asyncio.sleep(0.01)
    stop.set()
    await task
    assert cloud_ids(site) == [old.id]  # sent first, pruned after
    assert site.outbox.append("heartbeat", {}).seq == 2  # and the sequence goes on without reuse


async def test_alarms_are_sent_ahead_of_an_older_backlog(tmp_path):
    """A forced door must reach the retailer before a thousand heartbeats queued while offline."""
    from cloud_stub.server import start_cloud
    from cloud_stub.store import SqliteCloudStore
    from sync_client.outbox import Outbox
    from sync_client.uploader import Uploader

    store = SqliteCloudStore(tmp_path / "cloud.db")
    key = secrets.token_bytes(32)
    store.set_cabinet_key("cab-a", key)
    runner, url = await start_cloud(store)
    outbox = Outbox(tmp_path / "cabinet.db", "cab-a")
    for _ in range(30):
        outbox.append("heartbeat", {})
    alarm = outbox.append("alarm", {"kind": "door_forced", "detail": "test"})
    uploader = Uploader(outbox, url, key, batch_size=10, max_in_flight=1)
    try:
        await uploader.upload_pending()
    finally:
        await uploader.client.close()
        await runner.cleanup()
    import sqlite3

    with sqlite3.connect(tmp_path / "cloud.db") as db:  # rowid: the order the cloud stored them in
        received = [row[0] for row in db.execute("SELECT id FROM events ORDER BY rowid")]
    assert received[0] == alarm.id, "the alarm arrived first"
    assert len(received) == 31 and outbox.pending_count() == 0
    outbox.close()
    store.close()
