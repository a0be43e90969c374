"""The fleet's read model (``cabinet_status``, ``stock_counts``): after any sequence of uploads, configuration
changes, threshold changes and acknowledged alarms, in any order of arrival, what ``fleet_page`` reads equals a
recomputation from the stored events; a database from before the read model gets it filled at startup; the
page's filters, search and paging select the right cabinets of the right retailer."""

from __future__ import annotations

import sqlite3
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud_stub.store import DEFAULT_STOCK_THRESHOLD, SqliteCloudStore
from sync_client.schema import Event, utc_iso

RETAILER, OTHER_RETAILER = "shop-a", "shop-b"
CABINETS = ("cab-1", "cab-2")
DAYS = ("2026-11-28", "2026-11-29", "2026-11-30")
STATUS_TYPES = ("heartbeat", "config.applied", "config.rejected", "alarm", "sale.completed", "stock.changed")
ONLINE_SINCE = "2026-11-30T00:00:00.000Z"
SEEN_AT = 1_890_000_000.0  # the last signed request of the online cabinets of ``fleet``
# Two catalogues: with variants (a unit's product is another SKU) and without (the unit is its product).
CATALOGUES = {
    "variants": {
        "currency": "EUR",
        "products": [
            {
                "sku": "SCOOT",
                "name": "Scooter",
                "price_cents": 100,
                "variants": [{"sku": "SCOOT-mint", "name": "Mint"}, {"sku": "SCOOT-coal", "name": "Coal"}],
            }
        ],
    },
    "plain": {"currency": "EUR", "products": [{"sku": "SCOOT-mint", "name": "Mint scooter", "price_cents": 100}]},
}
UNITS = {"variants": {"SCOOT-mint": "SCOOT", "SCOOT-coal": "SCOOT"}, "plain": {"SCOOT-mint": "SCOOT-mint"}}


def event(cabinet_id: str, seq: int, kind: str, at: str, payload: dict[str, Any]) -> Event:
    return Event(str(uuid.uuid4()), cabinet_id, seq, kind, at, float(seq), payload)


payloads = {
    "heartbeat": st.fixed_dictionaries(
        {"faults": st.lists(st.sampled_from(["printer", "media"]), max_size=2), "backlog": st.integers(0, 50)},
        optional={"software": st.sampled_from(["1.0", "1.1"])},
    ),
    "config.applied": st.fixed_dictionaries({"version": st.integers(1, 9)}),
    "config.rejected": st.fixed_dictionaries({"version": st.integers(1, 9), "reason": st.just("bad")}),
    "alarm": st.fixed_dictionaries({"kind": st.sampled_from(["door_forced", "door_left_open"])}),
    "sale.completed": st.fixed_dictionaries(
        {
            "sale_id": st.uuids().map(str),
            "amount_cents": st.integers(1, 999),
            "currency": st.sampled_from(["EUR", "CHF"]),
        }
    ),
    "stock.changed": st.fixed_dictionaries(
        {"sku": st.sampled_from(["SCOOT-mint", "SCOOT-coal", "GONE-1"]), "count": st.integers(-1, 4)}
    ),
}
facts = st.tuples(
    st.sampled_from(CABINETS),
    st.sampled_from(STATUS_TYPES).flatmap(lambda kind: st.tuples(st.just(kind), payloads[kind])),
    st.sampled_from(DAYS),
    st.integers(0, 86399),
)
# Besides uploads: a new configuration, a threshold, an acknowledgement (of the n-th alarm stored so far).
actions = st.one_of(
    st.tuples(st.just("upload"), st.lists(facts, min_size=1, max_size=6), st.booleans()),
    st.tuples(st.just("config"), st.sampled_from(CABINETS), st.sampled_from(sorted(CATALOGUES))),
    st.tuples(st.just("level"), st.sampled_from(["SCOOT", "SCOOT-mint", "GONE-1"]), st.integers(0, 5)),
    st.tuples(st.just("acknowledge"), st.integers(0, 20)),
)


def recomputed(store: SqliteCloudStore, cabinet_id: str, catalogue: str | None) -> dict[str, Any]:
    """The status of a cabinet straight from its stored events, the thresholds and its configuration."""
    events = store.events_of(cabinet_id, STATUS_TYPES, limit=10_000)

    def newest(kind: str) -> dict[str, Any] | None:
        of_kind = [e for e in events if e["type"] == kind]
        return max(of_kind, key=lambda e: e["seq"]) if of_kind else None

    heartbeat, applied, rejected = newest("heartbeat"), newest("config.applied"), newest("config.rejected")
    sales = [e for e in events if e["type"] == "sale.completed"]
    day = max((e["wall_time"][:10] for e in sales), default=None)
    totals: dict[str, int] = {}
    for sale in (e for e in sales if e["wall_time"][:10] == day):
        totals[sale["payload"]["currency"]] = (
            totals.get(sale["payload"]["currency"], 0) + sale["payload"]["amount_cents"]
        )
    counts: dict[str, dict[str, Any]] = {}
    for e in sorted((e for e in events if e["type"] == "stock.changed"), key=lambda e: e["seq"]):
        counts[e["payload"]["sku"]] = e["payload"]
    levels = store.stock_levels_of(RETAILER)
    units = UNITS[catalogue] if catalogue else {}

    def threshold(sku: str) -> int:
        level = levels.get(units.get(sku, sku))
        return level["threshold"] if level else DEFAULT_STOCK_THRESHOLD

    short = sorted((sku, c["count"]) for sku, c in counts.items() if c["count"] <= 0 or c["count"] < threshold(sku))
    return {
        "backlog": heartbeat["payload"]["backlog"] if heartbeat else None,
        "software": heartbeat["payload"].get("software") if heartbeat else None,
        "faults": heartbeat["payload"]["faults"] if heartbeat else [],
        "applied_version": applied["payload"]["version"] if applied else None,
        "rejected": rejected["payload"] if rejected else None,
        "open_alarms": len(store.alarms_of(RETAILER, state="open", cabinet_id=cabinet_id)),
        "sales_day": day,
        "sales_count": sum(1 for e in sales if e["wall_time"][:10] == day),
        "sales_totals": totals,
        "stock_short": short,
        "stock_low": sum(1 for _, c in short if c > 0),
        "stock_out": sum(1 for _, c in short if c <= 0),
    }


def read_model(store: SqliteCloudStore) -> dict[str, dict[str, Any]]:
    rows, total = store.fleet_page(RETAILER, online_since=ONLINE_SINCE)
    assert total == len(CABINETS)
    keys = recomputed(store, CABINETS[0], None).keys()
    return {r["id"]: {k: r[k] for k in keys} for r in rows}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(actions, min_size=1, max_size=12))
def test_the_read_model_equals_a_recomputation_from_the_events(steps: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cloud.db"
        store = SqliteCloudStore(path)
        store.add_retailer(RETAILER)
        for cabinet_id in CABINETS:
            store.add_cabinet(cabinet_id, RETAILER)
        seqs = dict.fromkeys(CABINETS, 0)
        catalogues: dict[str, str | None] = dict.fromkeys(CABINETS)
        late: list[Event] = []  # batches held back: they arrive after newer ones
        for step in steps:
            if step[0] == "upload":
                _, batch, hold = step
                events = []
                for cabinet_id, (kind, payload), day, second in batch:
                    seqs[cabinet_id] += 1
                    at = f"{day}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}.000Z"
                    events.append(event(cabinet_id, seqs[cabinet_id], kind, at, payload))
                if hold:
                    late += events
                    continue
                for cabinet_id in CABINETS:
                    store.store_events(cabinet_id, [e for e in events if e.cabinet_id == cabinet_id])
            elif step[0] == "config":
                store.put_config(step[1], CATALOGUES[step[2]])
                catalogues[step[1]] = step[2]
            elif step[0] == "level":
                store.set_stock_level(RETAILER, step[1], step[2], max(step[2], 1), "owner@shop-a.example")
            else:
                open_alarms = store.alarms_of(RETAILER, state="open")
                if open_alarms:
                    alarm = open_alarms[step[1] % len(open_alarms)]
                    store.handle_alarm(RETAILER, alarm["id"], "acknowledge", "owner@shop-a.example")
        for cabinet_id in CABINETS:  # the held-back batches, last
            store.store_events(cabinet_id, [e for e in late if e.cabinet_id == cabinet_id])

        expected = {cabinet_id: recomputed(store, cabinet_id, catalogues[cabinet_id]) for cabinet_id in CABINETS}
        assert read_model(store) == expected
        store.close()

        # A database from before the read model: filled once when the store opens it.
        with sqlite3.connect(path) as conn:
            conn.executescript(
                "DROP TABLE schema_migrations; DROP TABLE cabinet_status; DROP TABLE stock_counts;"
                " DROP TABLE cabinet_units;"
            )
        reopened = SqliteCloudStore(path)
        assert read_model(reopened) == expected
        reopened.close()


@pytest.fixture
def fleet(store: SqliteCloudStore) -> SqliteCloudStore:
    """Shop A with 120 cabinets (every third offline, every fifth with an alarm, every seventh out of a unit);
    shop B with one of each."""
    store.add_retailer(RETAILER)
    store.add_retailer(OTHER_RETAILER)
    for retailer, n, prefix in ((RETAILER, 120, "a"), (OTHER_RETAILER, 3, "b")):
        for i in range(n):
            cabinet_id = f"{prefix}-{i:03d}"
            store.add_cabinet(cabinet_id, retailer)
            store.put_config(cabinet_id, {**CATALOGUES["plain"], "place": {"address": f"Mall {i}", "lat": 1, "lon": 2}})
            events = []
            if i % 5 == 0:
                events.append(event(cabinet_id, 1, "alarm", "2026-11-30T10:00:00.000Z", {"kind": "door_forced"}))
            if i % 7 == 0:
                events.append(
                    event(cabinet_id, 2, "stock.changed", "2026-11-30T10:00:00.000Z", {"sku": "SCOOT-mint", "count": 0})
                )
            store.store_events(cabinet_id, events)
            if i % 3:
                store.remember_nonce(cabinet_id, uuid.uuid4().hex, keep_s=600, now=SEEN_AT)
    return store


def ids(store: SqliteCloudStore, **query: Any) -> tuple[list[str], int]:
    rows, total = store.fleet_page(RETAILER, online_since=utc_iso(SEEN_AT - 180), **query)
    return [r["id"] for r in rows], total


def test_the_fleet_pages_filters_and_search_select_the_retailers_cabinets(fleet: SqliteCloudStore) -> None:
    first, total = ids(fleet, limit=50)
    assert total == 120 and first == [f"a-{i:03d}" for i in range(50)]
    last, _ = ids(fleet, limit=50, offset=100)
    assert last == [f"a-{i:03d}" for i in range(100, 120)]
    assert ids(fleet, state="offline") == ([f"a-{i:03d}" for i in range(0, 120, 3)], 40)
    assert ids(fleet, state="alarms") == ([f"a-{i:03d}" for i in range(0, 120, 5)], 24)
    assert ids(fleet, state="low_stock") == ([f"a-{i:03d}" for i in range(0, 120, 7)], 18)
    assert ids(fleet, search="MALL 11") == (["a-011"] + [f"a-{i:03d}" for i in range(110, 120)], 11)
    assert ids(fleet, search="a-10", state="alarms") == (["a-100", "a-105"], 2)
    assert ids(fleet, search="b-0") == ([], 0)  # shop B's cabinets are not shop A's
    with pytest.raises(ValueError, match="state"):
        ids(fleet, state="broken")


def test_a_threshold_change_moves_the_cabinets_in_and_out_of_low_stock(fleet: SqliteCloudStore) -> None:
    cabinet_id = "a-001"
    fleet.store_events(
        cabinet_id,
        [event(cabinet_id, 9, "stock.changed", "2026-11-30T11:00:00.000Z", {"sku": "SCOOT-mint", "count": 3})],
    )
    assert cabinet_id not in ids(fleet, state="low_stock")[0]  # 3 left: not under the default threshold of 2
    fleet.set_stock_level(RETAILER, "SCOOT-mint", 4, 6, "owner@shop-a.example")
    (row,), _ = fleet.fleet_page(RETAILER, online_since=ONLINE_SINCE, cabinet_id=cabinet_id)
    assert (row["stock_low"], row["stock_out"], row["stock_short"]) == (1, 0, [("SCOOT-mint", 3)])
    # Shop B's threshold for the same SKU changes nothing at shop A.
    fleet.set_stock_level(OTHER_RETAILER, "SCOOT-mint", 0, 1, "owner@shop-b.example")
    assert cabinet_id in ids(fleet, state="low_stock")[0]
    fleet.set_stock_level(RETAILER, "SCOOT-mint", 3, 6, "owner@shop-a.example")
    assert cabinet_id not in ids(fleet, state="low_stock")[0]


def test_every_configuration_of_a_retailer_in_one_read(fleet: SqliteCloudStore) -> None:
    fleet.add_cabinet("a-new", RETAILER)
    configs = fleet.configs_of(RETAILER)
    assert len(configs) == 121 and configs["a-new"] is None and not any(c.startswith("b-") for c in configs)
    assert configs["a-007"] == fleet.config("a-007")
