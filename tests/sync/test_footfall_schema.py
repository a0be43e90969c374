"""The one check of a ``footfall.counted`` payload (the cabinet when it appends, the cloud when it ingests):
fuzzed with hypothesis, it takes what the cabinet's tally makes and refuses anything else with a SchemaError
naming the field; the payload holds integers and two times, nothing else."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync_client.schema import MAX_FOOTFALL, SHEDDABLE_EVENTS, SchemaError, utc_iso, validate_payload
from tests.sync.test_session_schema import json_values


@st.composite
def counted(draw: st.DrawFn) -> dict[str, Any]:
    day = draw(st.integers(19_700, 21_900)) * 86_400.0  # a UTC midnight
    first = day + draw(st.floats(0, 86_399))
    return {
        "started_at": utc_iso(first),
        "ended_at": utc_iso(first + draw(st.floats(0, day + 86_399.99 - first))),
        "passers": draw(st.integers(0, MAX_FOOTFALL)),
        "stoppers": draw(st.integers(0, MAX_FOOTFALL)),
    }


@settings(max_examples=200, deadline=None)
@given(payload=counted())
def test_every_count_the_cabinet_can_make_is_taken(payload: dict[str, Any]) -> None:
    validate_payload("footfall.counted", payload)


@settings(max_examples=400, deadline=None)
@given(
    payload=counted(),
    key=st.sampled_from(["started_at", "ended_at", "passers", "stoppers"]),
    value=json_values,
)
def test_any_field_replaced_is_taken_or_refused_with_a_schema_error_naming_it(
    payload: dict[str, Any], key: str, value: Any
) -> None:
    try:
        validate_payload("footfall.counted", {**payload, key: value})
    except SchemaError as exc:
        assert str(exc).startswith("payload."), exc


GOOD = {"started_at": "2026-11-30T10:00:00Z", "ended_at": "2026-11-30T10:05:00Z", "passers": 12, "stoppers": 3}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"passers": -1}, "payload.passers"),
        ({"stoppers": 1.5}, "payload.stoppers: expected int"),
        ({"passers": MAX_FOOTFALL + 1}, "payload.passers"),
        ({"ended_at": "2026-11-30T09:00:00Z"}, "payload.ended_at: before started_at"),
        ({"ended_at": "2026-12-01T00:00:01Z"}, "payload.ended_at: not on started_at's UTC day"),
        ({"started_at": "yesterday"}, "payload.started_at"),
    ],
)
def test_a_bad_count_is_refused_naming_what_is_wrong(change: dict[str, Any], message: str) -> None:
    validate_payload("footfall.counted", GOOD)
    with pytest.raises(SchemaError, match=message):
        validate_payload("footfall.counted", {**GOOD, **change})


def test_footfall_counts_are_low_priority() -> None:
    """A full outbox refuses them: money and alarms keep their room."""
    assert "footfall.counted" in SHEDDABLE_EVENTS
