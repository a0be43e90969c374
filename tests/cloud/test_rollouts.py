"""Rollouts of a signed release in the cloud's store (SQLite on disk): an update_check naming the version for
each cabinet of the rollout; the cabinets' update.installed / update.failed counted; the rollout pauses itself
once its failures reach the limit (the commands not yet answered expire), and runs again when resumed."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from cloud_stub.store import SqliteCloudStore
from sync_client.schema import Event, utc_iso

NOW = 1_800_000_000.0
SHOP = "velo-mall"


@pytest.fixture
def store(tmp_path: Path) -> SqliteCloudStore:
    store = SqliteCloudStore(tmp_path / "cloud.db")
    store.add_retailer(SHOP)
    store.add_retailer("other")
    for n in range(1, 5):
        store.add_cabinet(f"cab-{n}", SHOP)
    store.add_cabinet("cab-x", "other")
    return store


def report(store: SqliteCloudStore, cabinet: str, seq: int, kind: str, payload: dict[str, Any]) -> None:
    event = Event(str(uuid.uuid4()), cabinet, seq, kind, utc_iso(NOW), float(seq), payload)
    store.store_events(cabinet, [event], now=NOW)


def failed(version: str) -> dict[str, Any]:
    return {"version": version, "running": "1.0.0", "reason": "no sync within 600 s"}


def test_a_rollout_queues_an_update_check_naming_its_version_for_each_of_its_cabinets(store: SqliteCloudStore) -> None:
    rollout = store.start_rollout(SHOP, "1.1.0", ["cab-1", "cab-2"], 1, now=NOW, created_by="owner@velo.example")
    for cabinet in ("cab-1", "cab-2"):
        [command] = store.pending_commands(cabinet)
        assert (command["kind"], command["args"]) == ("update_check", {"version": "1.1.0"})
    assert store.pending_commands("cab-3") == []
    [listed] = store.rollouts_of(SHOP)
    assert listed["id"] == rollout and (listed["state"], listed["cabinets"], listed["waiting"]) == ("running", 2, 2)
    assert store.rollouts_of("other") == []


def test_a_rollout_refuses_another_retailers_cabinet_and_a_limit_under_one(store: SqliteCloudStore) -> None:
    with pytest.raises(ValueError, match="cabinets: not this retailer's: cab-x"):
        store.start_rollout(SHOP, "1.1.0", ["cab-1", "cab-x"], 1, now=NOW)
    with pytest.raises(ValueError, match="failure_limit: expected at least 1, got 0"):
        store.start_rollout(SHOP, "1.1.0", ["cab-1"], 0, now=NOW)
    assert store.rollouts_of(SHOP) == [] and store.pending_commands("cab-1") == []


def test_failures_at_the_limit_pause_the_rollout_and_its_unanswered_commands_expire(store: SqliteCloudStore) -> None:
    rollout = store.start_rollout(SHOP, "1.1.0", ["cab-1", "cab-2", "cab-3", "cab-4"], 2, now=NOW)
    report(store, "cab-1", 1, "update.installed", {"version": "1.1.0", "previous": "1.0.0"})
    report(store, "cab-2", 1, "update.failed", failed("1.1.0"))
    report(store, "cab-3", 1, "update.failed", failed("1.0.9"))  # another version's: not this rollout's
    [listed] = store.rollouts_of(SHOP)
    assert (listed["state"], listed["installed"], listed["failed"], listed["waiting"]) == ("running", 1, 1, 2)

    report(store, "cab-3", 2, "update.failed", failed("1.1.0"))
    [listed] = store.rollouts_of(SHOP)
    assert (listed["state"], listed["paused_reason"]) == ("paused", "2 failed updates (limit 2)")
    [waiting] = store.pending_commands("cab-4")
    assert waiting["expires_at"] == utc_iso(NOW)  # the cabinet refuses it as expired: no more installs

    assert not store.pause_rollout("other", rollout, "not mine", now=NOW)
    assert store.resume_rollout("other", rollout, now=NOW) == 0
    assert store.resume_rollout(SHOP, rollout, now=NOW + 60) == 1  # only cab-4 has not reported
    fresh = [c for c in store.pending_commands("cab-4") if c["expires_at"] > utc_iso(NOW + 60)]
    assert [c["args"] for c in fresh] == [{"version": "1.1.0"}]
    assert store.rollouts_of(SHOP)[0]["state"] == "running"
    assert store.pause_rollout(SHOP, rollout, "by hand", now=NOW + 120)
    assert store.rollouts_of(SHOP)[0]["paused_reason"] == "by hand"


def counts(store: SqliteCloudStore, at: float) -> tuple[Any, ...]:
    [listed] = store.rollouts_of(SHOP, now=at)
    keys = ("state", "installed", "failed", "waiting", "timed_out", "timed_out_cabinets")
    return tuple(listed[key] for key in keys)


def test_a_cabinet_silent_past_the_rollouts_time_counts_as_timed_out_apart_from_failures(
    store: SqliteCloudStore,
) -> None:
    store.start_rollout(SHOP, "1.1.0", ["cab-1", "cab-2", "cab-3", "cab-4"], 1, now=NOW, report_within_s=3600)
    report(store, "cab-1", 1, "update.installed", {"version": "1.1.0", "previous": "1.0.0"})
    assert counts(store, NOW + 3599) == ("running", 1, 0, 3, 0, [])
    # an hour on, three have said nothing: timed out, shown by name; with a failure limit of 1 the rollout runs
    # on, since silence is a cabinet offline far more often than a bad version (which reports its rollback)
    assert counts(store, NOW + 3600) == ("running", 1, 0, 0, 3, ["cab-2", "cab-3", "cab-4"])
    # a cabinet back online reports late: its outcome counts as any other
    report(store, "cab-2", 1, "update.installed", {"version": "1.1.0", "previous": "1.0.0"})
    assert counts(store, NOW + 7200) == ("running", 2, 0, 0, 2, ["cab-3", "cab-4"])


def test_the_time_to_report_is_a_day_by_default_and_starts_again_when_resumed(store: SqliteCloudStore) -> None:
    rollout = store.start_rollout(SHOP, "1.1.0", ["cab-1", "cab-2"], 1, now=NOW)
    assert counts(store, NOW + 24 * 3600 - 1) == ("running", 0, 0, 2, 0, [])
    assert counts(store, NOW + 24 * 3600) == ("running", 0, 0, 0, 2, ["cab-1", "cab-2"])
    resumed_at = NOW + 30 * 3600
    assert store.pause_rollout(SHOP, rollout, "by hand", now=resumed_at - 60)
    assert store.resume_rollout(SHOP, rollout, now=resumed_at) == 2  # a new command each: a new day to report
    assert counts(store, resumed_at + 24 * 3600 - 1) == ("running", 0, 0, 2, 0, [])
    assert counts(store, resumed_at + 24 * 3600)[4] == 2
    with pytest.raises(ValueError, match="report_within_s: expected at least 1, got 0"):
        store.start_rollout(SHOP, "1.2.0", ["cab-1"], 1, now=NOW, report_within_s=0)


def test_a_rollout_every_cabinet_reported_on_is_finished_and_a_silent_one_keeps_it_open(
    store: SqliteCloudStore,
) -> None:
    store.start_rollout(SHOP, "1.1.0", ["cab-1", "cab-2", "cab-3"], 2, now=NOW)
    report(store, "cab-1", 1, "update.installed", {"version": "1.1.0", "previous": "1.0.0"})
    report(store, "cab-2", 1, "update.failed", failed("1.1.0"))  # one failure, under the limit
    [listed] = store.rollouts_of(SHOP, now=NOW)
    assert (listed["state"], listed["waiting"]) == ("running", 1)
    [listed] = store.rollouts_of(SHOP, now=NOW + 10 * 86400)  # cab-3 silent past its time: still not finished
    assert (listed["state"], listed["timed_out"]) == ("running", 1)

    report(store, "cab-3", 1, "update.installed", {"version": "1.1.0", "previous": "1.0.0"})  # late, still counted
    [listed] = store.rollouts_of(SHOP, now=NOW + 10 * 86400)
    assert (listed["state"], listed["installed"], listed["failed"], listed["waiting"]) == ("finished", 2, 1, 0)
