"""Anonymous shopper sessions for the funnel, on a whole Cabinet (real SQLite on disk, mock pins) and a fake
clock: the first touch starts one, the idle timeout ends it; what was looked at, for how long, turned,
listened to and paid is one ``session.ended`` event, committed with a heartbeat (no write per tap)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from firmware.cabinet import Cabinet
from firmware.clock import FakeClock
from firmware.shopper_sessions import MAX_PENDING
from kiosk_ui.intents import Activity, AdShown, Back, Buy, OpenStaff, SelectProduct, Start, Turn
from sync_client.schema import parse_utc_iso, validate_payload
from tests.firmware.cabinet_rig import Cabinets

IDLE_S = 60.0
ASK_S = 20.0  # screen.still_there_s


@pytest.fixture
async def fake(tmp_path: Path) -> AsyncIterator[Cabinets]:
    (tmp_path / "cabinet").mkdir()
    cabinets = Cabinets(tmp_path / "cabinet", clock=FakeClock())
    cabinets.config.screen = dataclasses.replace(
        cabinets.config.screen, idle_timeout_s=IDLE_S, sessions_commit_s=600.0, ad_touch_s=5.0
    )
    yield cabinets
    if cabinets.cabinet is not None:
        await cabinets.cut()


async def shop(cabinet: Cabinet, clock: FakeClock, *steps: object) -> None:
    """Intents, and seconds of the fake clock passing between them."""
    for step in steps:
        if isinstance(step, (int, float)):
            await clock.run(float(step))
        else:
            cabinet.handle_intent(Activity())
            cabinet.handle_intent(step)  # type: ignore[arg-type]


async def test_a_shopper_session_is_one_event_with_what_was_seen_turned_and_tried(fake: Cabinets) -> None:
    cabinet = await fake.boot()
    clock = fake.clock
    assert isinstance(clock, FakeClock)
    cabinet.handle_intent(AdShown("ad-spring"))
    await clock.run(2.0)
    commits = 0

    def counted() -> None:
        nonlocal commits
        commits += 1

    cabinet.outbox.on_append(counted)
    # The shopper touches the ad, looks at the scooter 12 s turning it twice, then the bike 5 s, tries to buy
    # it (no terminal here: the payment ends in "fault"), goes back and walks away.
    await shop(cabinet, clock, Start(), 1.0, SelectProduct("SCOOT-S1"), 4.0, Turn(), 8.0, Turn(), Back())
    await shop(cabinet, clock, SelectProduct("BIKE-C7"), 5.0, Buy(), 3.0)
    assert commits == 0, "nothing written while the shopper taps"
    assert cabinet.outbox.events("session.ended") == []
    await clock.run(IDLE_S + ASK_S + 1.0)  # a failed payment asks "still there?" first
    assert cabinet.sessions.session is None, "the idle timeout ended the session"
    await clock.run(600.0)  # the next heartbeat after sessions_commit_s carries it
    (event,) = cabinet.outbox.events("session.ended")
    assert commits <= 3, "the session rode in a heartbeat's commit"
    payload = event.payload
    validate_payload("session.ended", payload)
    visits = {p["sku"]: p for p in payload["products"]}
    assert visits["SCOOT-S1"]["dwell_s"] == pytest.approx(12.0)
    assert visits["SCOOT-S1"]["turns"] == 2 and not visits["SCOOT-S1"]["checkout"]
    assert visits["BIKE-C7"]["checkout"] and visits["BIKE-C7"]["payment"] == "fault"
    assert visits["BIKE-C7"]["dwell_s"] >= 5.0
    assert payload["step"] == "checkout" and payload["ad_id"] == "ad-spring"
    assert payload["left_at"] == "product" and payload["ended_by"] == "idle"
    assert payload["screens"][:3] == ["attract", "catalog", "product"]
    span = parse_utc_iso(payload["ended_at"], "e") - parse_utc_iso(payload["started_at"], "s")
    # from the first touch to the idle timeout, counted from the last touch (buy) and its question
    assert span == pytest.approx(1.0 + 4.0 + 8.0 + 5.0 + IDLE_S + ASK_S, abs=0.6)


async def test_a_touch_long_after_the_ad_is_not_its_touch_and_a_staff_visit_is_no_session(fake: Cabinets) -> None:
    cabinet = await fake.boot()
    clock = fake.clock
    assert isinstance(clock, FakeClock)
    cabinet.handle_intent(AdShown("ad-spring"))
    await clock.run(6.0)  # past ad_touch_s
    await shop(cabinet, clock, Start(), 1.0)
    await clock.run(IDLE_S + 1.0)
    await shop(cabinet, clock, OpenStaff(), 1.0)  # the retailer's PIN pad
    await clock.run(IDLE_S + 1.0)
    await cabinet.stop()  # what is pending is committed at the stop
    sessions = [e.payload for e in cabinet.outbox.events("session.ended")]
    assert len(sessions) == 1, "the staff visit is not a shopper's session"
    assert sessions[0]["ad_id"] is None and sessions[0]["step"] == "touch"
    fake.cabinet = None
    cabinet.outbox.close()


async def test_sessions_the_store_refuses_wait_in_memory_bounded(fake: Cabinets) -> None:
    cabinet = await fake.boot()
    clock = fake.clock
    assert isinstance(clock, FakeClock)
    cabinet.outbox.max_pending = 0  # a full outbox refuses optional events: money keeps its room
    for _ in range(MAX_PENDING + 5):
        await shop(cabinet, clock, Start(), IDLE_S + 1.0)
    await clock.run(600.0)
    assert cabinet.outbox.events("session.ended") == []
    assert len(cabinet.sessions.ended) == MAX_PENDING, "the oldest dropped beyond the bound"
    cabinet.outbox.max_pending = 100_000
    await clock.run(300.0)
    assert len(cabinet.outbox.events("session.ended")) == MAX_PENDING
