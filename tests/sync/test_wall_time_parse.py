"""The event times the cloud checks at ingest are read from their columns, not by strptime: the same dates
and times are refused and the same seconds come out (a wrong date names the field)."""

from __future__ import annotations

import calendar
import datetime
import time
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync_client.schema import SchemaError, event_from_json, parse_utc_iso

NOW = 1_764_089_993.0
# Texts of the wall-time shape whose fields run past what is valid (month 13, day 32, hour 24, second 62).
fields = st.tuples(
    st.integers(0, 9999),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 24),
    st.integers(0, 60),
    st.integers(0, 62),
)


def text_of(y: int, mo: int, d: int, h: int, mi: int, s: int) -> str:
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}"


def heartbeat(wall_time: str) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "cabinet_id": "cab-1",
        "seq": 1,
        "type": "heartbeat",
        "wall_time": wall_time,
        "mono_time": 1.0,
        "payload": {},
        "schema_version": 1,
    }


@settings(max_examples=500, deadline=None)
@given(fields)
def test_parse_utc_iso_agrees_with_strptime(parts: tuple[int, int, int, int, int, int]) -> None:
    text = text_of(*parts)
    try:
        expected: float | None = (
            datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.UTC).timestamp()
        )
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(SchemaError, match="^started_at: not a real date and time"):
            parse_utc_iso(text + ".250Z", "started_at")
    else:
        assert parse_utc_iso(text + ".250Z", "started_at") == expected + 0.25


@settings(max_examples=500, deadline=None)
@given(fields)
def test_event_wall_time_refused_exactly_when_strptime_refuses(parts: tuple[int, int, int, int, int, int]) -> None:
    text = text_of(*parts)
    try:
        at: int | None = calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        at = None
    if at is None:
        with pytest.raises(SchemaError, match="^wall_time: .* is not a valid date and time"):
            event_from_json(heartbeat(text + ".000Z"))
    elif abs(at - NOW) > 10 * 366 * 24 * 3600:
        with pytest.raises(SchemaError, match="^wall_time: .* years from the receiver's clock"):
            event_from_json(heartbeat(text + ".000Z"), now=NOW)
    else:
        assert event_from_json(heartbeat(text + ".000Z"), now=NOW).wall_time == text + ".000Z"


def test_leap_second_wall_time_accepted_and_30_february_refused() -> None:
    assert event_from_json(heartbeat("2026-06-30T23:59:60.000Z"), now=NOW).seq == 1
    with pytest.raises(SchemaError, match="wall_time: '2026-02-30T10:00:00.000Z' is not a valid date and time"):
        event_from_json(heartbeat("2026-02-30T10:00:00.000Z"), now=NOW)
