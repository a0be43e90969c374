"""Arbitrary JSON-ish bodies at the device API: never a 5xx; at /v1/events nothing stored when refused and
every event accounted for. Values reach past every bound: huge and negative amounts, far-off and impossible
dates, huge clocks, long strings and lone surrogates."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aiohttp
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cloud_stub.server import start_cloud
from cloud_stub.store import open_store
from sync_client.schema import sign_request
from tests.cloud.cloud_helpers import CAB, OTHER, START, make_event

extremes = st.sampled_from([10**30, -1, 0, 2**63, 1e300, -1e-300, "\ud800", "x" * 9000, "9999-99-99T99:99:99Z"])
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | extremes,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
# A few ids shared across examples, so repeats within and across batches happen.
shared_ids = [str(uuid.UUID(int=n)) for n in range(1, 6)]
event_fields = ["id", "cabinet_id", "seq", "type", "wall_time", "mono_time", "payload", "schema_version", "extra"]


wall_times = st.datetimes().map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.000Z")) | st.just("2026-11-25T16:39:53.123Z")


@st.composite
def sales(draw: st.DrawFn) -> dict:
    event = make_event(
        draw(st.integers(1, 50)),
        type_="payment.approved",
        payload={
            "sale_id": "s",
            "sku": draw(st.text(max_size=4) | extremes),
            "amount_cents": draw(st.integers() | extremes),
            "currency": "EUR",
            "method": "card",
            "receipt_no": None,
            "trace_no": None,
        },
    )
    event["wall_time"] = draw(wall_times)
    event["mono_time"] = draw(st.floats(allow_nan=False, allow_infinity=False) | st.integers() | extremes)
    return event


@st.composite
def events(draw: st.DrawFn) -> Any:
    event = (
        make_event(draw(st.integers(1, 50)), type_="door.opened", payload={"authorized": draw(st.booleans())})
        if draw(st.booleans())
        else draw(sales())
    )
    event["id"] = draw(st.sampled_from(shared_ids) | st.uuids().map(str))
    if draw(st.booleans()):  # break it somewhere, or give it to another cabinet
        field = draw(st.sampled_from(event_fields))
        event[field] = draw(st.sampled_from([OTHER, CAB]) if field == "cabinet_id" else json_values)
    return draw(st.just(event) | json_values)


batches = st.fixed_dictionaries(
    {
        "cabinet_id": st.sampled_from([CAB, CAB, OTHER]) | json_values,
        "events": st.lists(events(), max_size=5) | json_values,
    }
)
bodies = st.one_of(
    batches.map(lambda b: json.dumps(b).encode()),
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    st.binary(max_size=40),
)


def test_any_body_gets_a_4xx_or_200_and_refusals_store_nothing(cloud_target: str) -> None:
    loop = asyncio.new_event_loop()
    store = open_store(cloud_target)
    keys = {CAB: store.add_cabinet(CAB), OTHER: store.add_cabinet(OTHER)}
    runner, url = loop.run_until_complete(start_cloud(store, now=lambda: START))
    session: aiohttp.ClientSession = loop.run_until_complete(_session())

    async def send(body: bytes, signer: str) -> tuple[int, Any]:
        key = keys.get(signer, b"unregistered-cabinet-key")
        headers = sign_request(key, signer, "POST", "/v1/events", body, now=START)
        async with session.post(url + "/v1/events", data=body, headers=headers) as resp:
            return resp.status, await resp.json()

    @settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    # Each kind of answer is checked at least once, whatever hypothesis draws.
    @example(
        body=json.dumps({"cabinet_id": CAB, "events": [make_event(1), {**make_event(2), "seq": 0}]}).encode(),
        signer=CAB,
    )
    @example(body=json.dumps({"cabinet_id": CAB, "events": [make_event(1, OTHER)]}).encode(), signer=CAB)
    @example(body=b"\xff{", signer=CAB)
    @example(body=b"{}", signer="cab-unknown")
    @given(body=bodies, signer=st.sampled_from([CAB, CAB, CAB, OTHER, "cab-unknown"]))
    def check(body: bytes, signer: str) -> None:
        before = store.count_events()
        status, reply = loop.run_until_complete(send(body, signer))
        assert status in (200, 400, 401, 403, 409), (status, reply)  # 409: a shared id with other content
        if status != 200:
            assert isinstance(reply["error"], str) and reply["error"]
            assert store.count_events() == before
            return
        sent = json.loads(body)["events"]
        held = {r["id"] for r in store.export_events() if r["cabinet_id"] == signer}
        assert set(reply["acked"]) <= held
        assert store.count_events() - before <= len(reply["acked"])
        rejected = [entry["index"] for entry in reply["rejected"]]
        assert rejected == sorted(set(rejected)) and set(rejected) <= set(range(len(sent)))
        for index, event in enumerate(sent):  # every event is either acked or rejected
            assert index in rejected or event["id"] in reply["acked"]

    try:
        check()
    finally:
        loop.run_until_complete(session.close())
        loop.run_until_complete(runner.cleanup())
        loop.close()
        store.close()


async def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession()


ROUTES = [("POST", "/v1/payments"), ("POST", "/v1/commands/c-1/ack"), ("POST", "/v1/enroll")]


def test_any_body_at_the_other_device_routes_gets_an_answer_below_500(cloud_target: str) -> None:
    loop = asyncio.new_event_loop()
    store = open_store(cloud_target)
    key = store.add_cabinet(CAB)
    runner, url = loop.run_until_complete(start_cloud(store, now=lambda: START))
    session: aiohttp.ClientSession = loop.run_until_complete(_session())

    async def send(method: str, path: str, body: bytes) -> tuple[int, Any]:
        headers = sign_request(key, CAB, method, path, body, now=START)
        async with session.request(method, url + path, data=body, headers=headers) as resp:
            return resp.status, await resp.json()

    objects = st.fixed_dictionaries(
        {},
        optional={
            "sale_id": json_values,
            "amount_cents": json_values,
            "currency": st.sampled_from(["EUR", "eur"]) | json_values,
            "result": json_values,
            "cabinet_id": json_values,
            "key": st.just("00" * 32) | json_values,
            "token": json_values,
        },
    ).map(lambda d: json.dumps(d).encode())

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @example(route=ROUTES[0], body=b'{"sale_id": "\\ud800", "amount_cents": 1, "currency": "EUR"}')
    @example(route=ROUTES[1], body=b'{"result": "\\udfff"}')
    @example(route=ROUTES[2], body=b'{"cabinet_id": "c", "key": "00", "token": "\\ud800"}')
    @given(route=st.sampled_from(ROUTES), body=objects | bodies)
    def check(route: tuple[str, str], body: bytes) -> None:
        status, reply = loop.run_until_complete(send(*route, body))
        assert status < 500, (status, reply)
        assert status in (200, 201) or isinstance(reply["error"], str) and reply["error"]

    try:
        check()
    finally:
        loop.run_until_complete(session.close())
        loop.run_until_complete(runner.cleanup())
        loop.close()
        store.close()


@settings(max_examples=300, deadline=None)
@given(
    plays=json_values
    | st.lists(
        st.dictionaries(
            st.sampled_from(["ad_id", "count", "shown_s", "first_at", "last_at", "x"]),
            json_values | extremes | wall_times,
            max_size=6,
        ),
        max_size=3,
    )
)
def test_any_ad_plays_payload_is_taken_or_refused_with_a_schema_error(plays: Any) -> None:
    """The one check of an ``ad.plays`` payload (on the cabinet and at ingest) never raises anything else."""
    from sync_client.schema import SchemaError, validate_payload

    try:
        validate_payload("ad.plays", {"plays": plays})
    except SchemaError as exc:
        assert str(exc).startswith("payload.plays")
