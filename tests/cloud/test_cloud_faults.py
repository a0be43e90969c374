"""Bad values, changed events, the database file and weak keys: what the cloud refuses and how it says so."""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cloud_stub.store import SqliteCloudStore, WeakKey
from sync_client.outbox import Outbox
from sync_client.schema import MAX_AMOUNT_CENTS, SchemaError
from tests.cloud.cloud_helpers import CAB, OTHER, Cloud, make_event

SALE = {
    "sale_id": "s-1",
    "sku": "BIKE-C7",
    "amount_cents": 129900,
    "currency": "EUR",
    "method": "card",
    "receipt_no": None,
    "trace_no": None,
}


def sale(seq: int, **changes: Any) -> dict:
    return make_event(seq, type_="payment.approved", payload={**SALE, **changes})


@pytest.mark.parametrize(
    "event, reason",
    [
        (sale(1, amount_cents=10**30), f"payload.amount_cents: a 100-bit integer exceeds the cap {MAX_AMOUNT_CENTS}"),
        (sale(1, amount_cents=MAX_AMOUNT_CENTS + 1), f"payload.amount_cents: {MAX_AMOUNT_CENTS + 1} exceeds the cap"),
        (sale(1, amount_cents=-5), "payload.amount_cents: -5 is below the minimum 1"),
        (sale(1, amount_cents=9e99), "payload.amount_cents: expected int, got float"),
        (sale(1, sku="x" * 9000), "payload.sku: 9000 characters, more than 8192"),
        (sale(1, sku="\ud800"), "payload.sku: not valid Unicode (a lone surrogate)"),
        (
            make_event(1, type_="heartbeat", payload={"extra": {"k" * 9000: 1}}),
            "payload.extra key: 9000 characters, more than 8192",
        ),
        (
            make_event(1, type_="heartbeat", payload={"\udc00": True}),
            "payload key: not valid Unicode (a lone surrogate)",
        ),
        (
            make_event(1, type_="heartbeat", payload={"faults": ["ok", "\ud800"]}),
            "payload.faults[1]: not valid Unicode",
        ),
        (make_event(1, type_="door.closed", payload={"open_s": 1e300}), "payload.open_s: 1e+300 exceeds the longest"),
        (
            make_event(1, type_="door.unlocked", payload={"reason": "x", "seconds": -1}),
            "payload.seconds: -1 is below the minimum 0",
        ),
        (
            make_event(1, type_="heartbeat", payload={"faults": [[[[[[[[["deep"]]]]]]]]]}),
            "payload.faults[0][0][0][0][0][0][0]: nested deeper than 8 levels",
        ),
        ({**make_event(1), "mono_time": -0.5}, "mono_time: -0.5 is not a finite number of seconds >= 0"),
        ({**make_event(1), "mono_time": 10**30}, "mono_time: a 100-bit integer is not a finite number"),
        (
            {**make_event(1), "wall_time": "2026-02-30T10:00:00Z"},
            "wall_time: '2026-02-30T10:00:00Z' is not a valid date",
        ),
        (
            {**make_event(1), "wall_time": "1970-01-01T00:00:00Z"},
            "wall_time: 1970-01-01T00:00:00Z is more than 10 years",
        ),
        (
            {**make_event(1), "wall_time": "2199-01-01T00:00:00Z"},
            "wall_time: 2199-01-01T00:00:00Z is more than 10 years",
        ),
        ({**make_event(1), "seq": 0}, "seq: must be between 1 and"),
    ],
)
async def test_an_out_of_range_value_is_refused_naming_the_field_and_nothing_else_is_lost(
    cloud: Cloud, event: dict, reason: str | None
) -> None:
    good = make_event(2)
    reply = await cloud.post([event, good])
    assert reply.status == 200
    assert reply.body["acked"] == [good["id"]] if reason else [event["id"], good["id"]]
    if reason:
        [rejected] = reply.body["rejected"]
        assert (rejected["index"], rejected["reason"][: len(reason)]) == (0, reason)


def test_the_cabinet_refuses_the_same_values_when_it_appends(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "cabinet.db", CAB)
    with pytest.raises(SchemaError, match=f"payload.amount_cents: {MAX_AMOUNT_CENTS + 1} exceeds the cap"):
        with outbox.transaction(durable=True) as tx:
            tx.append("payment.approved", {**SALE, "amount_cents": MAX_AMOUNT_CENTS + 1})
    with pytest.raises(SchemaError, match="payload.open_s: inf exceeds the longest duration"):
        outbox.append("door.closed", {"open_s": float("inf")})
    with pytest.raises(SchemaError, match="payload.open_s: nan is not a finite number"):
        outbox.append("door.closed", {"open_s": float("nan")})
    assert outbox.status().pending == 0


async def test_a_scan_to_pay_amount_over_the_cap_gets_400(cloud: Cloud) -> None:
    reply = await cloud.signed(
        "POST", "/v1/payments", {"sale_id": "s", "amount_cents": MAX_AMOUNT_CENTS + 1, "currency": "EUR"}
    )
    assert reply.status == 400 and reply.body["error"].startswith(f"amount_cents: expected 1 to {MAX_AMOUNT_CENTS}")
    bad_text = await cloud.signed("POST", "/v1/payments", {"sale_id": "\udc00", "amount_cents": 1, "currency": "EUR"})
    assert bad_text.status == 400 and bad_text.body["error"] == "sale_id: not valid Unicode (a lone surrogate)"


async def test_an_event_resent_with_other_content_gets_409_and_is_recorded_for_the_retailer(cloud: Cloud) -> None:
    original, other = sale(1), make_event(2)
    first = await cloud.post([original])
    assert first.status == 200
    forged = {**original, "payload": {**SALE, "amount_cents": 1}, "seq": 9}
    reply = await cloud.post([other, forged])
    assert reply.status == 409
    assert reply.body["error"] == (
        f"events[1].id: {original['id']} is already stored with other content (seq, "
        "payload differ); nothing of the batch is stored and the conflict is recorded "
        "for the retailer"
    )
    assert [e["id"] for e in cloud.store.export_events()] == [original["id"]]  # the other one waits too
    assert (await cloud.post([forged])).status == 409

    seen = await cloud.retailer("GET", f"/v1/retailer/cabinets/{CAB}/event-conflicts")
    [conflict] = seen.body["conflicts"]
    assert (conflict["event_id"], conflict["differs"], conflict["times"]) == (original["id"], ["seq", "payload"], 2)
    assert (
        conflict["stored"]["payload"]["amount_cents"] == 129900 and conflict["received"]["payload"]["amount_cents"] == 1
    )
    hidden = await cloud.retailer("GET", f"/v1/retailer/cabinets/{CAB}/event-conflicts", retailer="shop-b")
    assert hidden.status == 404

    # The same content again keeps its acknowledgement, as before.
    replay = await cloud.post([original, other])
    assert (replay.status, replay.body) == (200, {"acked": [original["id"], other["id"]], "rejected": []})


async def test_an_id_held_by_another_cabinet_is_still_rejected_per_event_not_409(cloud: Cloud) -> None:
    theirs = make_event(1, cabinet_id=OTHER)
    await cloud.post([theirs], cabinet_id=OTHER)
    reply = await cloud.post([{**theirs, "cabinet_id": CAB, "seq": 5}])
    assert reply.status == 200 and reply.body["rejected"][0]["reason"] == "id: already stored for another cabinet"


def test_the_database_and_its_wal_files_are_readable_by_the_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        store = SqliteCloudStore(tmp_path / "cloud.db")
        store.add_cabinet(CAB)
        files = sorted(tmp_path.iterdir())
        assert [f.name for f in files] == ["cloud.db", "cloud.db-shm", "cloud.db-wal"]
        assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {f.name: 0o600 for f in files}
        store.close()
        assert os.umask(0o022) == 0o022  # the process's umask is left as it was
    finally:
        os.umask(old)


def test_a_database_left_readable_by_others_is_tightened_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "cloud.db"
    SqliteCloudStore(path).close()
    path.chmod(0o644)
    SqliteCloudStore(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "key, error",
    [
        (bytes(32), "key: every byte is 00; a cabinet key must be random"),
        (b"\xff" * 64, "key: every byte is ff"),
        (secrets.token_bytes(16), "key: 16 bytes; a cabinet key is at least 32 random bytes (64 hex digits)"),
        (b"0123456789abcdef" * 2, "key: only 16 different byte values in 32 bytes"),
        (b"ab" * 32, "key: only 2 different byte values in 64 bytes"),
    ],
    ids=["all-zero", "all-ff", "too-short", "16-values", "2-values"],  # stable: one key is random
)
async def test_enrollment_refuses_a_zero_or_low_entropy_key(cloud: Cloud, key: bytes, error: str) -> None:
    token = cloud.store.add_enroll_token("shop-a", 3600, now=cloud.clock.t)
    async with cloud.session.post(
        cloud.url + "/v1/enroll", json={"cabinet_id": "cab-new", "key": key.hex(), "token": token}
    ) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"].startswith(error)
    assert cloud.store.cabinet("cab-new") is None
    with pytest.raises(WeakKey):
        cloud.store.set_cabinet_key("cab-new", key)
    # The token was not spent: the technician retries with a proper key.
    good = secrets.token_bytes(32)
    async with cloud.session.post(
        cloud.url + "/v1/enroll", json={"cabinet_id": "cab-new", "key": good.hex(), "token": token}
    ) as resp:
        assert resp.status == 201
    assert cloud.store.cabinet_key("cab-new") == good


def test_kiosk_cloud_cabinet_add_makes_a_strong_key(tmp_path: Path) -> None:
    db = tmp_path / "cloud.db"
    out = subprocess.run(
        [sys.executable, "-m", "cloud_stub.cli", "cabinet", "add", "cab-9", "--db", str(db)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    key = bytes.fromhex(out)
    assert len(key) == 32 and len(set(key)) >= 20
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
