"""Event ids: UUID version 7, so the cloud's unique index on them grows at its end (RFC 9562, section 5.7)."""

from __future__ import annotations

import uuid
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from sync_client.outbox import Outbox
from sync_client.schema import UUID_RE, new_event_id, parse_utc_iso


@given(st.floats(min_value=0, max_value=(2**48 - 1) / 1000, allow_nan=False))
def test_an_event_id_is_a_version_7_uuid_carrying_its_events_millisecond(at: float) -> None:
    event_id = new_event_id(at)
    parsed = uuid.UUID(event_id)
    assert UUID_RE.fullmatch(event_id) and str(parsed) == event_id
    assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
    assert parsed.int >> 80 == int(at * 1000)


def test_ids_minted_in_later_milliseconds_sort_later_and_never_repeat() -> None:
    ids = [new_event_id(1_800_000_000 + n / 1000) for n in range(2000)]
    assert sorted(ids) == ids
    same_ms = {new_event_id(1_800_000_000.0) for _ in range(10_000)}
    assert len(same_ms) == 10_000  # 74 random bits within one millisecond


def test_an_outbox_event_s_id_carries_its_wall_time(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "cabinet.db", "cab-1")
    try:
        events = [outbox.append("heartbeat", {"faults": []}) for _ in range(3)]
    finally:
        outbox.close()
    for event in events:
        at = parse_utc_iso(event.wall_time, "wall_time")
        assert uuid.UUID(event.id).int >> 80 == int(at * 1000), "the id's millisecond is the event's"
