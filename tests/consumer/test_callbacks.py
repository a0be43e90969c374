"""Call-back requests in the cloud: stored at ingest in their own table (the events table keeps the event without
the number), seen only by the cabinet's retailer, followed up with notes and who did what, deleted on request
and when their retention ends (the server's periodic task, on an injected clock)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from cloud_stub.app import create_app
from cloud_stub.consumer.retention import Retention
from cloud_stub.core import Core
from cloud_stub.limits import DEFAULT_LIMITS
from sync_client.schema import Event, parse_utc_iso, validate_payload
from tests.consumer.conftest import CABINET, CONFIG, RETAILER, Seeded, seed_cloud
from tests.polling import until

ASKED_AT = "2026-11-30T13:05:00.000Z"
DAY = 86400.0
PHONE = "+491705550123"


def request(seeded: Seeded) -> dict[str, Any]:
    payload = {
        "request_id": str(uuid.uuid4()),
        "sku": "SC-1",
        "phone": PHONE,
        "consent_text": "I agree that my phone number is stored ... deleted after 7 days.",
        "consent_version": "1",
        "language": "en",
    }
    validate_payload("callback.requested", payload)
    seeded.event("callback.requested", payload, wall_time=ASKED_AT)
    return payload


@pytest.fixture
def seeded(cloud_target: str) -> Iterator[Seeded]:
    """On SQLite and on PostgreSQL."""
    seeded = seed_cloud(cloud_target)
    seeded.store.put_config(CABINET, {**CONFIG, "callback_retention_days": 7})
    yield seeded
    seeded.store.close()


def test_a_request_is_stored_with_its_consent_and_the_events_table_keeps_no_number(seeded: Seeded) -> None:
    asked = request(seeded)
    (stored,) = seeded.store.callbacks_of(RETAILER)
    assert (stored["phone"], stored["consent_text"], stored["consent_version"]) == (
        PHONE,
        asked["consent_text"],
        "1",
    )
    assert (stored["state"], stored["requested_at"], stored["cabinet_id"]) == ("new", ASKED_AT, CABINET)
    (event,) = seeded.store.events_of(CABINET, ["callback.requested"])
    assert PHONE not in str(event) and asked["consent_text"] not in str(event), event
    assert PHONE not in "".join(str(e) for e in seeded.store.export_events())

    again = Event(event["id"], CABINET, event["seq"], "callback.requested", ASKED_AT, float(event["seq"]), asked)
    result = seeded.store.store_events(CABINET, [again])
    assert result.acked == [event["id"]] and not result.changed and result.stored == 0, "a resend is the same event"
    assert len(seeded.store.callbacks_of(RETAILER)) == 1


def test_only_the_cabinets_retailer_sees_follows_up_or_deletes_a_request(seeded: Seeded) -> None:
    asked = request(seeded)
    seeded.store.add_retailer("other-shop")
    assert seeded.store.callbacks_of("other-shop") == []
    assert not seeded.store.follow_up_callback("other-shop", asked["request_id"], "closed", "", "x@other.example")
    assert not seeded.store.delete_callback("other-shop", asked["request_id"])
    assert seeded.store.follow_up_callback(RETAILER, asked["request_id"], "called", "no answer", "ann@velo.example")
    (stored,) = seeded.store.callbacks_of(RETAILER, state="called")
    assert [(h["by"], h["state"], h["note"]) for h in stored["history"]] == [
        ("ann@velo.example", "called", "no answer")
    ]
    with pytest.raises(ValueError, match="state: expected one of"):
        seeded.store.follow_up_callback(RETAILER, asked["request_id"], "lost", "", "ann@velo.example")
    assert seeded.store.delete_callback(RETAILER, asked["request_id"])
    assert seeded.store.callbacks_of(RETAILER) == [] and seeded.store.callback(RETAILER, asked["request_id"]) is None


async def test_the_retention_deletes_a_request_once_its_days_are_over(seeded: Seeded) -> None:
    asked = request(seeded)
    seeded.store.follow_up_callback(RETAILER, asked["request_id"], "called", "left a message", "ann@velo.example")
    clock = {"now": parse_utc_iso(ASKED_AT, "t") + 7 * DAY - 1}
    retention = Retention(Core(seeded.store, lambda: clock["now"], DEFAULT_LIMITS))
    assert await retention.run_once() == 0 and len(seeded.store.callbacks_of(RETAILER)) == 1
    clock["now"] += 1
    assert await retention.run_once() == 1, "seven days after the request, as the configuration says"
    assert seeded.store.callbacks_of(RETAILER) == []
    with seeded.store._db.read() as conn:  # the history (notes, who) goes with it
        assert conn.execute("SELECT count(*) FROM callback_history").fetchone()[0] == 0


async def test_the_server_deletes_expired_requests_by_itself(tmp_path: Path) -> None:
    seeded = seed_cloud(tmp_path / "cloud.db")  # its configuration names no retention: 30 days
    request(seeded)
    late = parse_utc_iso(ASKED_AT, "t") + 30 * DAY
    runner = web.AppRunner(create_app(seeded.store, now=lambda: late))
    await runner.setup()  # the server's periodic task makes its first round as it starts
    try:
        # the round runs on the store's worker thread
        await until(lambda: seeded.store.callbacks_of(RETAILER) == [], what="the expired request deleted")
    finally:
        await runner.cleanup()
        seeded.store.close()
