"""What an idle cabinet writes: ad plays are counted in memory and committed a few times an hour, every play
counted; the store is probed with a real commit only now and then; checkpoints run when the cabinet is idle,
off the event loop, and never while a payment is under way. A whole Cabinet on real parts, on a fake clock."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest

from firmware.clock import FakeClock
from firmware.faults import Faults
from firmware.storage import StorageGuard
from firmware.storage_watch import StorageWatch
from firmware.store_checkpoints import TICK_S, StoreCheckpoints
from kiosk_ui.intents import AdShown
from sync_client.cabinet_config import Ad, CabinetConfig
from sync_client.outbox import Outbox
from sync_client.schema import event_from_json, parse_utc_iso
from tests.firmware.cabinet_rig import Cabinets

AD_S = 6.0
ADS = ("ad-a", "ad-b")


@pytest.fixture
async def idle(tmp_path):
    (tmp_path / "cabinet").mkdir()
    cabinets = Cabinets(tmp_path / "cabinet", clock=FakeClock())
    cabinets.config.screen = dataclasses.replace(cabinets.config.screen, ad_plays_commit_s=600.0)
    yield cabinets
    if cabinets.cabinet is not None:
        await cabinets.cut()


async def play_ads(cabinets: Cabinets, seconds: float) -> tuple[int, int]:
    """The attract screen shows the two ads in turn for ``seconds`` of the fake clock; returns the plays shown
    and the commits that appended events meanwhile."""
    cabinet = cabinets.cabinet
    assert cabinet is not None and isinstance(cabinets.clock, FakeClock)
    commits = 0

    def counted() -> None:
        nonlocal commits
        commits += 1

    cabinet.outbox.on_append(counted)
    plays = 0
    for _ in range(int(seconds / AD_S)):
        cabinet.handle_intent(AdShown(ADS[plays % 2]))
        plays += 1
        await cabinets.clock.run(AD_S)
    return plays, commits


async def boot_with_ads(cabinets: Cabinets):
    cabinet = await cabinets.boot()
    ads = tuple(Ad(ad_id, "image", f"ads/{ad_id}.png", AD_S) for ad_id in ADS)
    cabinet.apply_cloud_config(CabinetConfig(1, "EUR", (), ads=ads, retailer=cabinets.retailer))
    return cabinet


async def test_an_idle_hour_of_ads_is_a_handful_of_commits_and_every_play_is_counted(idle):
    cabinet = await boot_with_ads(idle)
    plays, commits = await play_ads(idle, 3600.0)
    assert plays == 600
    # 6 heartbeats (one every sync.heartbeat_store_s, 10 minutes), the ad plays riding in each: not 600
    # impressions, and not the 12 heartbeats of every 5-minute beat.
    assert commits <= 6 + 1, commits
    assert cabinet.outbox.events("ad.impression") == []
    await cabinet.stop()  # the plays counted since the last commit are committed at the stop
    events = cabinet.outbox.events("ad.plays")
    assert 6 <= len(events) <= 7
    counted = [entry for event in events for entry in event.payload["plays"]]
    assert sum(entry["count"] for entry in counted) == plays
    assert {entry["ad_id"] for entry in counted} == set(ADS)
    assert all(entry["shown_s"] == AD_S for entry in counted)
    for entry in counted:
        assert parse_utc_iso(entry["first_at"], "first") <= parse_utc_iso(entry["last_at"], "last")
    idle.cabinet = None
    cabinet.outbox.close()


async def test_a_heartbeat_is_stored_only_with_news_or_every_heartbeat_store_s(idle):
    cabinet = await idle.boot()
    assert (cabinet.idle_watch.heartbeat_s, cabinet.idle_watch.heartbeat_store_s) == (300.0, 600.0)
    clock = idle.clock
    assert isinstance(clock, FakeClock)

    def heartbeats() -> list[list[str]]:
        return [event.payload["faults"] for event in cabinet.outbox.events("heartbeat")]

    await clock.run(1.0)
    assert heartbeats() == [[]], "the first beat after the start is stored"
    await clock.run(3600.0)
    assert heartbeats() == [[]] * 7, "nothing new: one every 10 minutes, not one every 5"
    # A fault is news: the next beat (5 minutes at most) stores it, and its recovery the beat after.
    cabinet.fault_list.raise_fault("nfc", "no answer", "device_offline")
    await clock.run(300.0)
    assert heartbeats()[-1] == ["nfc"]
    cabinet.fault_list.recovered("nfc")
    await clock.run(300.0)
    assert heartbeats()[-1] == []
    assert len(heartbeats()) == 9


async def test_plays_the_store_refused_are_kept_and_committed_with_the_next(idle):
    cabinet = await boot_with_ads(idle)
    cabinet.outbox.max_pending = 0  # the outbox refuses sheddable events: the plays stay in memory
    plays, _ = await play_ads(idle, 700.0)
    assert cabinet.outbox.events("ad.plays") == []
    cabinet.outbox.max_pending = 1000
    more, _ = await play_ads(idle, 600.0)
    cabinet.ad_plays.commit()
    events = cabinet.outbox.events("ad.plays")
    assert sum(entry["count"] for event in events for entry in event.payload["plays"]) == plays + more


async def test_the_cloud_takes_an_ad_plays_event_as_the_cabinet_writes_it(idle):
    cabinet = await boot_with_ads(idle)
    await play_ads(idle, 610.0)
    (event,) = cabinet.outbox.events("ad.plays")
    seq, event_id, body = cabinet.outbox.pending_json(1, 10_000, after_seq=event.seq - 1)[0]
    parsed = event_from_json(json.loads(body))
    assert parsed.type == "ad.plays" and parsed.payload == event.payload


async def test_the_store_is_probed_with_a_commit_only_every_probe_s_while_it_works(tmp_path, monkeypatch):
    monkeypatch.setattr("sync_client.outbox.RECENT_COMMIT_S", 0.0)  # the fake half hour is real milliseconds
    outbox = Outbox(tmp_path / "cabinet.db", "cab-1")
    guard = StorageGuard(outbox, reserve_bytes=0)
    clock = FakeClock()
    watch = StorageWatch(guard, Faults(outbox), check_s=30.0, probe_s=1800.0, sleep=clock.sleep)
    rows_before = outbox.db.conn.total_changes
    task = asyncio.ensure_future(watch.run())
    await clock.run(3600.0 - 1)
    task.cancel()
    # One row written per probe: at the start and 30 minutes later, not at each of the 120 checks.
    assert outbox.db.conn.total_changes - rows_before == 2
    outbox.close()


async def test_checkpoints_wait_for_an_idle_cabinet_and_never_run_during_a_payment(tmp_path):
    outbox = Outbox(tmp_path / "cabinet.db", "cab-1")
    clock = FakeClock()
    state = {"idle": False, "paying": False}
    policy = StoreCheckpoints(
        outbox, clock, lambda: state["idle"], lambda: state["paying"], 64 * 1024, 256 * 1024, 3600.0
    )
    outbox.append("heartbeat", {})
    assert not policy.due(), "busy, a small WAL: later"
    state["idle"] = True
    assert policy.due(), "idle, never checkpointed since the start"
    assert (await policy.checkpoint()).restarted
    outbox.append("heartbeat", {})
    assert not policy.due(), "idle, but the WAL is small and the last checkpoint recent"
    while outbox.wal_bytes() < 64 * 1024:
        outbox.append("heartbeat", {"pad": "x" * 500})
    assert policy.due(), "idle and past the soft limit"
    state["idle"] = False
    assert not policy.due(), "past the soft limit but busy: at the next idle moment"
    while outbox.wal_bytes() < 256 * 1024:
        outbox.append("heartbeat", {"pad": "x" * 500})
    state["paying"] = True
    assert not policy.due(), "past the hard limit, but a payment is under way"
    state["paying"] = False
    assert policy.due(), "past the hard limit: at once, idle or not"
    await policy.checkpoint()
    assert outbox.wal_bytes() < 64 * 1024, "the WAL was copied and cut back"
    clock.advance(3600.0)
    state["idle"] = True
    assert policy.due(), "idle, an hour since the last checkpoint"
    assert TICK_S <= 5.0
    outbox.close()
