"""The one check of a ``session.ended`` payload (the cabinet when it appends, the cloud when it ingests):
fuzzed with hypothesis, it takes a good session and refuses anything else with a SchemaError naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync_client.schema import PAYMENT_OUTCOMES, SESSION_STEPS, SchemaError, utc_iso, validate_payload

names = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FFF), min_size=1, max_size=64)
visits = st.fixed_dictionaries(
    {
        "sku": names,
        "dwell_s": st.floats(0, 86_400),
        "turns": st.integers(0, 1000),
        "narrations": st.integers(0, 1000),
        "variant": st.none() | names,
        "checkout": st.booleans(),
        "payment": st.none() | st.sampled_from(PAYMENT_OUTCOMES),
    }
)


@st.composite
def sessions(draw: st.DrawFn) -> dict[str, Any]:
    start = draw(st.floats(1.7e9, 1.9e9))
    products = draw(st.lists(visits, max_size=5, unique_by=lambda v: v["sku"]))
    return {
        "started_at": utc_iso(start),
        "ended_at": utc_iso(start + draw(st.floats(0, 7200))),
        "ended_by": draw(st.sampled_from(["idle", "stop"])),
        "screens": draw(st.lists(names, max_size=8)),
        "products": products,
        "step": draw(st.sampled_from(SESSION_STEPS)),
        "left_at": draw(names),
        "ad_id": draw(st.none() | names),
    }


VISIT_KEYS = ["sku", "dwell_s", "turns", "narrations", "variant", "checkout", "payment", "x"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(session=sessions())
def test_every_session_the_cabinet_can_record_is_taken(session: dict[str, Any]) -> None:
    validate_payload("session.ended", session)


@settings(max_examples=400, deadline=None)
@given(
    session=sessions(),
    key=st.sampled_from(["started_at", "ended_at", "ended_by", "screens", "products", "step", "left_at", "ad_id"]),
    value=json_values,
)
def test_any_field_replaced_is_taken_or_refused_with_a_schema_error_naming_it(
    session: dict[str, Any], key: str, value: Any
) -> None:
    try:
        validate_payload("session.ended", {**session, key: value})
    except SchemaError as exc:
        assert str(exc).startswith("payload."), exc


@settings(max_examples=300, deadline=None)
@given(session=sessions(), visit=st.dictionaries(st.sampled_from(VISIT_KEYS), json_values))
def test_any_product_entry_is_taken_or_refused_naming_the_product(session: dict[str, Any], visit: Any) -> None:
    try:
        validate_payload("session.ended", {**session, "products": [visit]})
    except SchemaError as exc:
        assert str(exc).startswith("payload.products[0]"), exc


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ended_at": "2026-01-01T00:00:00Z", "started_at": "2026-01-02T00:00:00Z"}, "payload.ended_at: before"),
        ({"step": "bought"}, "payload.step: expected one of touch, product, checkout, paid"),
        ({"ended_by": "crash"}, "payload.ended_by"),
        ({"screens": ["x" * 65]}, "payload.screens[0]: expected 1 to 64 characters"),
        ({"products": [{"sku": "A"}]}, "payload.products[0].dwell_s: required"),
        ({"ad_id": ""}, "payload.ad_id: expected 1 to 64 characters"),
    ],
)
def test_a_bad_session_is_refused_naming_what_is_wrong(change: dict[str, Any], message: str) -> None:
    good = {
        "started_at": "2026-01-01T00:00:00Z",
        "ended_at": "2026-01-01T00:05:00Z",
        "ended_by": "idle",
        "screens": ["attract"],
        "products": [],
        "step": "touch",
        "left_at": "attract",
        "ad_id": None,
    }
    validate_payload("session.ended", good)
    with pytest.raises(SchemaError, match=message.replace("[", r"\[").replace("]", r"\]")):
        validate_payload("session.ended", {**good, **change})


def test_the_same_product_twice_is_refused() -> None:
    visit = {
        "sku": "A",
        "dwell_s": 1.0,
        "turns": 0,
        "narrations": 0,
        "variant": None,
        "checkout": False,
        "payment": None,
    }
    with pytest.raises(SchemaError, match=r"payload.products\[1\].sku: 'A' listed twice"):
        validate_payload(
            "session.ended",
            {
                "started_at": "2026-01-01T00:00:00Z",
                "ended_at": "2026-01-01T00:05:00Z",
                "ended_by": "idle",
                "screens": [],
                "products": [visit, visit],
                "step": "product",
                "left_at": "product",
                "ad_id": None,
            },
        )
