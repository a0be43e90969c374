"""POST /v1/events against a real server: stored once, signed, and refused whole when it must be."""

from __future__ import annotations

import asyncio
import logging

import pytest

from cloud_stub.app import MAX_BODY_BYTES
from sync_client.schema import (
    HDR_NONCE,
    HDR_SIGNATURE,
    HDR_TIMESTAMP,
    SIGNATURE_WINDOW_S,
    dumps,
    sign_request,
)
from tests.cloud.cloud_helpers import CAB, OTHER, START, Cloud, make_event

SALE = {
    "sale_id": "s-1",
    "sku": "ebike-1",
    "amount_cents": 149900,
    "currency": "EUR",
    "method": "card",
    "receipt_no": "0042",
    "trace_no": None,
}


async def test_batch_is_stored_once_and_a_replay_gets_the_same_ack(
    cloud: Cloud, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cloud_stub")
    events = [make_event(1), make_event(2, type_="payment.approved", payload=SALE), make_event(3)]
    first = await cloud.post(events)
    assert first.status == 200
    assert first.body == {"acked": [e["id"] for e in events], "rejected": []}

    cloud.clock.t += 30  # the uploader retries later with a new nonce, e.g. after a lost response
    replay = await cloud.post(events)
    assert replay.status == 200
    assert replay.body == first.body
    assert cloud.store.count_events() == 3
    assert [r.getMessage() for r in caplog.records] == [
        "ingest cabinet=cab-1 events=3 stored=3 acked=3 rejected=0",
        "ingest cabinet=cab-1 events=3 stored=0 acked=3 rejected=0",
    ]

    exported = list(cloud.store.export_events())
    assert [(r["id"], r["seq"], r["payload"]) for r in exported] == [(e["id"], e["seq"], e["payload"]) for e in events]
    assert cloud.store.cabinet(CAB)["last_sync_at"].startswith("2027-01-15T08:00:30")  # START + 30 s

    async with cloud.session.get(cloud.url + "/healthz") as resp:
        assert resp.status == 200
        assert await resp.json() == {"ok": True, "events": 3}


async def test_a_replay_mixed_with_new_events_acks_all_and_stores_only_the_new(cloud: Cloud) -> None:
    old = [make_event(1), make_event(2)]
    await cloud.post(old)
    new = [make_event(3)]
    reply = await cloud.post(old + new)
    assert reply.body["acked"] == [e["id"] for e in old + new]
    assert cloud.store.count_events() == 3


async def test_concurrent_cabinets_are_all_stored(cloud: Cloud) -> None:
    batches = [
        (cab, [make_event(seq, cab) for seq in range(n * 5 + 1, n * 5 + 6)]) for n in range(10) for cab in (CAB, OTHER)
    ]
    replies = await asyncio.gather(*(cloud.post(events, cabinet_id=cab) for cab, events in batches))
    assert [r.body["acked"] for r in replies] == [[e["id"] for e in events] for _, events in batches]
    assert cloud.store.count_events() == 100


@pytest.mark.parametrize(
    "refusal, header",
    [
        ("bad signature", HDR_SIGNATURE),
        ("unknown cabinet", HDR_SIGNATURE),  # the same answer as a bad signature: ids cannot be probed
        ("stale timestamp", HDR_TIMESTAMP),
        ("future timestamp", HDR_TIMESTAMP),
        ("missing nonce", HDR_NONCE),
        ("missing signature", HDR_SIGNATURE),
    ],
)
async def test_unauthenticated_requests_get_401_and_store_nothing(cloud: Cloud, refusal: str, header: str) -> None:
    events = [make_event(1)]
    window = SIGNATURE_WINDOW_S
    reply = await {
        "bad signature": lambda: cloud.post(events, key=b"not the cabinet's key, 32 bytes!"),
        "unknown cabinet": lambda: cloud.post([make_event(1, cabinet_id="cab-9")], cabinet_id="cab-9"),
        "stale timestamp": lambda: cloud.post(events, signed_at=START - window - 5),
        "future timestamp": lambda: cloud.post(events, signed_at=START + window + 5),
        "missing nonce": lambda: cloud.post(events, drop_header=HDR_NONCE),
        "missing signature": lambda: cloud.post(events, drop_header=HDR_SIGNATURE),
    }[refusal]()
    assert reply.status == 401
    assert reply.body["error"].startswith(header + ":")
    assert cloud.store.count_events() == 0


async def test_timestamp_at_the_edge_of_the_window_is_accepted(cloud: Cloud) -> None:
    reply = await cloud.post([make_event(1)], signed_at=START - SIGNATURE_WINDOW_S)
    assert reply.status == 200
    assert cloud.store.count_events() == 1


async def test_a_reused_nonce_is_refused_even_with_a_new_body(cloud: Cloud) -> None:
    assert (await cloud.post([make_event(1)], nonce="n-1")).status == 200
    cloud.clock.t += 2 * SIGNATURE_WINDOW_S - 10  # still within the time a replayed nonce could pass
    reply = await cloud.post([make_event(2)], nonce="n-1")
    assert reply.status == 401
    assert reply.body["error"].startswith(HDR_NONCE + ":")
    assert cloud.store.count_events() == 1
    # Each cabinet has its own nonces.
    other = await cloud.post([make_event(1, cabinet_id=OTHER)], cabinet_id=OTHER, nonce="n-1")
    assert other.status == 200


async def test_a_body_altered_after_signing_is_refused(cloud: Cloud) -> None:
    signed = dumps({"cabinet_id": CAB, "events": [make_event(1)]})
    headers = sign_request(cloud.keys[CAB], CAB, "POST", "/v1/events", signed, now=cloud.clock.t)
    tampered = signed.replace(b'"seq":1', b'"seq":7')
    async with cloud.session.post(cloud.url + "/v1/events", data=tampered, headers=headers) as resp:
        assert resp.status == 401
        assert (await resp.json())["error"] == "X-Content-SHA256: does not match the body that arrived"
    assert cloud.store.count_events() == 0


async def test_another_cabinets_events_get_403_and_nothing_is_stored(cloud: Cloud) -> None:
    mine, theirs = make_event(1), make_event(1, cabinet_id=OTHER)
    as_body = await cloud.post(body=dumps({"cabinet_id": OTHER, "events": [theirs]}))
    assert as_body.status == 403
    assert as_body.body["error"].startswith("cabinet_id:")

    smuggled = await cloud.post([mine, theirs])
    assert smuggled.status == 403
    assert smuggled.body["error"].startswith("events[1].cabinet_id:")
    assert cloud.store.count_events() == 0


async def test_a_mixed_batch_stores_the_valid_events_and_names_what_is_wrong_with_the_others(cloud: Cloud) -> None:
    no_amount = {k: v for k, v in SALE.items() if k != "amount_cents"}
    broken_sale = make_event(2, type_="payment.approved", payload=no_amount)
    anonymous = {k: v for k, v in make_event(5).items() if k != "cabinet_id"}
    events = [make_event(1), broken_sale, "not an event", make_event(3), {**make_event(4), "seq": 0}, anonymous]
    reply = await cloud.post(events)
    assert reply.status == 200
    assert reply.body["acked"] == [events[0]["id"], events[3]["id"]]
    assert reply.body["rejected"] == [
        {"id": broken_sale["id"], "index": 1, "reason": "payload.amount_cents: required for payment.approved"},
        {"id": None, "index": 2, "reason": "event: expected object, got str"},
        {"id": events[4]["id"], "index": 4, "reason": "seq: must be between 1 and 9223372036854775807"},
        {"id": anonymous["id"], "index": 5, "reason": "cabinet_id: required"},
    ]
    assert sorted(r["id"] for r in cloud.store.export_events()) == sorted([events[0]["id"], events[3]["id"]])


async def test_a_nul_character_in_an_event_is_rejected_naming_the_field(cloud: Cloud) -> None:
    """PostgreSQL's text cannot hold U+0000: neither store takes it, and the cabinet is told where it is."""
    ticket = {"ticket_id": "R-1", "device": "scoot\x00er", "detail": "brakes", "status": "dropped_off"}
    events = [make_event(1, type_="repair.ticket", payload=ticket), make_event(2)]
    reply = await cloud.post(events)
    assert reply.status == 200 and reply.body["acked"] == [events[1]["id"]]
    assert reply.body["rejected"] == [
        {"id": events[0]["id"], "index": 0, "reason": "payload.device: contains a NUL character (U+0000)"}
    ]
    assert cloud.store.repair_tickets(CAB) == []


async def test_an_event_id_held_by_another_cabinet_is_rejected_not_acked(cloud: Cloud) -> None:
    theirs = make_event(1, cabinet_id=OTHER)
    await cloud.post([theirs], cabinet_id=OTHER)
    copycat = {**theirs, "cabinet_id": CAB}
    reply = await cloud.post([copycat, make_event(2)])
    assert reply.status == 200
    assert copycat["id"] not in reply.body["acked"]
    assert reply.body["rejected"] == [
        {"id": copycat["id"], "index": 0, "reason": "id: already stored for another cabinet"}
    ]
    assert [r["cabinet_id"] for r in cloud.store.export_events() if r["id"] == theirs["id"]] == [OTHER]


@pytest.mark.parametrize(
    "body, field",
    [
        (b"{not json", "body"),
        (b'{"cabinet_id": "cab-1", "events": [{"seq": NaN}]}', "body"),
        (b"[]", "body"),
        (b"[" * 100_000, "body"),
        (b'{"events": []}', "cabinet_id"),
        (b'{"cabinet_id": "cab-1", "events": {"0": {}}}', "events"),
        (b'{"cabinet_id": "cab-1"}', "events"),
        (b'{"cabinet_id": "cab-1", "events": [], "extra": 1}', "extra"),
    ],
)
async def test_malformed_bodies_get_400_naming_the_field(cloud: Cloud, body: bytes, field: str) -> None:
    reply = await cloud.post(body=body)
    assert reply.status == 400
    assert reply.body["error"].startswith(field + ":")
    assert cloud.store.count_events() == 0


async def test_an_oversized_body_gets_413_with_a_clear_error(cloud: Cloud) -> None:
    filler = make_event(1, type_="alarm", payload={"kind": "test", "detail": "x" * MAX_BODY_BYTES})
    reply = await cloud.post([filler])
    assert reply.status == 413
    assert "limit" in reply.body["error"]
    assert cloud.store.count_events() == 0


PLAYS = {
    "plays": [
        {
            "ad_id": "ad-a",
            "count": 50,
            "shown_s": 6,
            "first_at": "2026-11-25T16:00:00.000Z",
            "last_at": "2026-11-25T16:09:54.000Z",
        },
        {
            "ad_id": "ad-b",
            "count": 50,
            "shown_s": 6,
            "first_at": "2026-11-25T16:00:06.000Z",
            "last_at": "2026-11-25T16:10:00.000Z",
        },
    ]
}


async def test_ad_plays_counted_on_the_cabinet_are_stored_and_older_cabinets_impressions_still_are(
    cloud: Cloud,
) -> None:
    events = [
        make_event(1, type_="ad.plays", payload=PLAYS),
        make_event(2, type_="ad.impression", payload={"ad_id": "ad-a", "shown_s": 6}),  # a cabinet before ad.plays
    ]
    reply = await cloud.post(events)
    assert reply.status == 200 and reply.body == {"acked": [e["id"] for e in events], "rejected": []}
    stored = cloud.store.events_of(CAB, ["ad.plays"])
    assert [sum(p["count"] for p in e["payload"]["plays"]) for e in stored] == [100]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"count": 0}, "payload.plays[0].count"),
        ({"count": True}, "payload.plays[0].count"),
        ({"last_at": "2026-11-25T15:00:00.000Z"}, "payload.plays[0].last_at"),
        ({"ad_id": "ad-b"}, "payload.plays[1].ad_id"),  # the same ad twice
    ],
)
async def test_an_ad_plays_event_that_miscounts_is_rejected_naming_the_field(cloud: Cloud, change, named) -> None:
    bad = {"plays": [{**PLAYS["plays"][0], **change}, PLAYS["plays"][1]]}
    reply = await cloud.post([make_event(1, type_="ad.plays", payload=bad)])
    assert reply.status == 200 and reply.body["acked"] == []
    assert reply.body["rejected"][0]["reason"].startswith(named), reply.body
