"""The shopper funnel's read model, kept at ingest on a real SQLite file: sessions, product views, dwell,
checkouts, payments and sales per cabinet, day and product, ad impressions and touches, QR scans; each event
counted once however often it is sent; another retailer's cabinets never counted."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from cloud_stub.store import SqlCloudStore, SqliteCloudStore, open_store
from sync_client.schema import Event, event_from_json, new_event_id
from tests.cloud.cloud_helpers import CAB, OTHER, Cloud
from tests.sync.test_session_schema import sessions

DAY = "2026-11-25"


def event(seq: int, kind: str, payload: dict[str, Any], cabinet: str = CAB, at: str = f"{DAY}T10:00:00Z") -> Event:
    return event_from_json(
        {
            "id": new_event_id(),
            "cabinet_id": cabinet,
            "seq": seq,
            "type": kind,
            "schema_version": 1,
            "wall_time": at,
            "mono_time": float(seq),
            "payload": payload,
        }
    )


def visit(sku: str, dwell_s: float, *, checkout: bool = False, payment: str | None = None) -> dict[str, Any]:
    return {
        "sku": sku,
        "dwell_s": dwell_s,
        "turns": 2,
        "narrations": 1,
        "variant": None,
        "checkout": checkout,
        "payment": payment,
    }


def session(step: str, products: list[dict[str, Any]], left_at: str, ad_id: str | None = None) -> dict[str, Any]:
    return {
        "started_at": f"{DAY}T10:00:00Z",
        "ended_at": f"{DAY}T10:03:00Z",
        "ended_by": "idle",
        "screens": ["attract", "catalog", "product"],
        "products": products,
        "step": step,
        "left_at": left_at,
        "ad_id": ad_id,
    }


def sale(seq: int, sale_id: str, sku: str) -> list[Event]:
    money = {"sale_id": sale_id, "sku": sku, "amount_cents": 49900, "currency": "EUR"}
    return [
        event(seq, "payment.approved", {**money, "method": "terminal", "receipt_no": "1", "trace_no": "1"}),
        event(
            seq + 1,
            "sale.completed",
            {**money, "door_opened_at": f"{DAY}T10:02:00Z", "door_closed_at": f"{DAY}T10:02:30Z"},
        ),
    ]


@pytest.fixture
def shops(cloud_target: str) -> Iterator[SqlCloudStore]:
    """On SQLite and on PostgreSQL."""
    store = open_store(cloud_target)
    store.add_retailer("shop-a")
    store.add_retailer("shop-b")
    store.add_cabinet(CAB, "shop-a")
    store.add_cabinet(OTHER, "shop-b")
    yield store
    store.close()


def test_the_funnel_counts_each_step_per_day_and_product_once(shops: SqlCloudStore) -> None:
    events = [
        event(1, "session.ended", session("touch", [], "attract", ad_id="ad-1")),
        event(2, "session.ended", session("product", [visit("SCOOT-S1", 30.0)], "product")),
        event(
            3,
            "session.ended",
            session(
                "paid",
                [visit("SCOOT-S1", 12.5, checkout=True, payment="approved"), visit("BIKE-C7", 4.0)],
                "thanks",
                ad_id="ad-1",
            ),
        ),
        *sale(4, "11111111-1111-4111-8111-111111111111", "SCOOT-S1"),
        event(
            6,
            "ad.plays",
            {
                "plays": [
                    {
                        "ad_id": "ad-1",
                        "count": 40,
                        "shown_s": 6,
                        "first_at": f"{DAY}T08:00:00Z",
                        "last_at": f"{DAY}T11:00:00Z",
                    }
                ]
            },
        ),
    ]
    assert shops.store_events(CAB, events).stored == len(events)
    again = shops.store_events(CAB, events)  # the cabinet sends the batch again (its ack was lost)
    assert again.stored == 0 and len(again.acked) == len(events)
    # the cabinet tells the same sale's completion again in another event (a resumed journey): one sale still
    shops.store_events(CAB, sale(7, "11111111-1111-4111-8111-111111111111", "SCOOT-S1")[1:])
    # the other retailer's cabinet, on the same day: never in shop-a's figures
    shops.store_events(
        OTHER, [event(1, "session.ended", session("product", [visit("SCOOT-S1", 9.0)], "product"), OTHER)]
    )

    funnel = shops.funnel("shop-a", since_day=DAY, until_day=DAY)
    assert funnel["days"] == [
        {"day": DAY, "passers": 0, "stoppers": 0, "sessions": 3, "viewed": 2, "checkouts": 1, "paid": 1, "sold": 1}
    ]
    products = {p["sku"]: p for p in funnel["products"]}
    assert products["SCOOT-S1"] == {
        "sku": "SCOOT-S1",
        "views": 2,
        "dwell_s": 42.5,
        "turns": 4,
        "narrations": 2,
        "variants": 0,
        "checkouts": 1,
        "paid": 1,
        "sold": 1,
    }
    assert products["BIKE-C7"]["views"] == 1 and products["BIKE-C7"]["sold"] == 0
    assert funnel["ads"] == [{"ad_id": "ad-1", "impressions": 40, "touches": 2}]
    assert {e["left_at"]: e["sessions"] for e in funnel["exits"]} == {"attract": 1, "product": 1, "thanks": 1}
    # one cabinet, and a range outside the day
    assert shops.funnel("shop-a", since_day=DAY, until_day=DAY, cabinet_id=OTHER)["days"] == []
    assert shops.funnel("shop-a", since_day="2026-11-26", until_day="2026-11-30")["products"] == []
    assert shops.funnel("shop-b", since_day=DAY, until_day=DAY)["days"][0]["sessions"] == 1


def test_qr_scans_by_code_are_in_the_funnel(shops: SqlCloudStore) -> None:
    shops.record_scan(CAB, "c0de1", "product", "SCOOT-S1", "", now=1764064800.0)  # 2025-11-25
    shops.record_scan(CAB, "c0de1", "product", "SCOOT-S1", "", now=1764064900.0)
    shops.record_scan(OTHER, "c0de2", "store", "", "", now=1764064900.0)
    funnel = shops.funnel("shop-a", since_day="2025-11-25", until_day="2025-11-25")
    assert funnel["qr"] == [{"code": "c0de1", "kind": "product", "sku": "SCOOT-S1", "variant_sku": "", "scans": 2}]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=sessions())
def test_any_session_the_schema_takes_is_counted_once(shops: SqlCloudStore, payload: dict[str, Any]) -> None:
    day = payload["started_at"][:10]
    before = shops.funnel("shop-a", since_day=day, until_day=day)["days"]
    shops.store_events(CAB, [event(1, "session.ended", payload)])
    after = shops.funnel("shop-a", since_day=day, until_day=day)["days"]
    sessions_before = before[0]["sessions"] if before else 0
    assert after[0]["sessions"] == sessions_before + 1


async def test_the_retailer_api_gives_the_funnel_of_its_own_cabinets_only(cloud: Cloud) -> None:
    events = [
        e.to_json()
        for e in (
            event(
                1,
                "session.ended",
                session("paid", [visit("SCOOT-S1", 8.0, checkout=True, payment="approved")], "thanks"),
            ),
            *sale(2, "22222222-2222-4222-8222-222222222222", "SCOOT-S1"),
        )
    ]
    assert (await cloud.post(events)).status == 200
    assert (await cloud.post(events)).status == 200  # resent: counted once
    reply = await cloud.retailer("GET", f"/v1/retailer/funnel?from={DAY}&to={DAY}")
    assert reply.status == 200, reply.body
    assert [(s["name"], s["count"], s["conversion"]) for s in reply.body["steps"]] == [
        ("passers", 0, None),
        ("stoppers", 0, None),
        ("sessions", 1, None),
        ("viewed", 1, 1.0),
        ("checkouts", 1, 1.0),
        ("paid", 1, 1.0),
        ("sold", 1, 1.0),
    ]
    assert reply.body["products"][0]["sku"] == "SCOOT-S1" and reply.body["products"][0]["conversion"] == 1.0
    other = await cloud.retailer("GET", f"/v1/retailer/funnel?from={DAY}&to={DAY}", retailer="shop-b")
    assert [s["count"] for s in other.body["steps"]] == [0, 0, 0, 0, 0, 0, 0]
    refused = await cloud.retailer("GET", f"/v1/retailer/funnel?cabinet_id={CAB}", retailer="shop-b")
    assert refused.status == 404 and "cabinet_id" in refused.body["error"]
    bad = await cloud.retailer("GET", f"/v1/retailer/funnel?from={DAY}&to=2026-11-01")
    assert bad.status == 400 and bad.body["error"] == "from: after to"


def test_the_fleet_is_the_sum_of_its_cabinets_and_one_cabinet_is_its_own(shops: SqlCloudStore) -> None:
    shops.add_cabinet("cab-a2", "shop-a")
    shops.store_events(CAB, [event(1, "session.ended", session("product", [visit("SCOOT-S1", 3.0)], "product"))])
    shops.store_events("cab-a2", [event(1, "session.ended", session("touch", [], "attract"), "cab-a2")])
    shops.store_events(
        "cab-a2", [event(2, "session.ended", session("product", [visit("SCOOT-S1", 4.0)], "product"), "cab-a2")]
    )

    def figures(cabinet: str | None) -> tuple[int, int, float]:
        found = shops.funnel("shop-a", since_day=DAY, until_day=DAY, cabinet_id=cabinet)
        return found["days"][0]["sessions"], found["days"][0]["viewed"], found["products"][0]["dwell_s"]

    assert figures(CAB) == (1, 1, 3.0)
    assert figures("cab-a2") == (2, 1, 4.0)
    assert figures(None) == (3, 2, 7.0)


def footfall(
    seq: int, passers: int, stoppers: int, at: str = f"{DAY}T09:00:00Z", end: str = f"{DAY}T09:05:00Z"
) -> Event:
    return event(seq, "footfall.counted", {"started_at": at, "ended_at": end, "passers": passers, "stoppers": stoppers})


def test_footfall_counts_are_the_funnels_first_two_steps_per_cabinet_and_day_once(shops: SqlCloudStore) -> None:
    shops.add_cabinet("cab-a2", "shop-a")
    counted = [
        footfall(1, 30, 6),
        footfall(2, 12, 2, f"{DAY}T18:00:00Z", f"{DAY}T18:04:00Z"),
        footfall(3, 9, 1, "2026-11-26T08:00:00Z", "2026-11-26T08:05:00Z"),
        event(4, "session.ended", session("product", [visit("SCOOT-S1", 3.0)], "product")),
    ]
    assert shops.store_events(CAB, counted).stored == 4
    assert shops.store_events(CAB, counted).stored == 0  # resent: counted once
    shops.store_events("cab-a2", [event(1, "footfall.counted", footfall(1, 8, 0).payload, "cab-a2")])
    shops.store_events(OTHER, [event(1, "footfall.counted", footfall(1, 99, 99).payload, OTHER)])

    def days(cabinet: str | None) -> list[tuple[str, int, int, int]]:
        found = shops.funnel("shop-a", since_day=DAY, until_day="2026-11-26", cabinet_id=cabinet)
        return [(d["day"], d["passers"], d["stoppers"], d["sessions"]) for d in found["days"]]

    assert days(CAB) == [(DAY, 42, 8, 1), ("2026-11-26", 9, 1, 0)]
    assert days(None) == [(DAY, 50, 8, 1), ("2026-11-26", 9, 1, 0)]  # the fleet: both cabinets, not shop-b's


async def test_the_retailer_api_gives_passers_and_stoppers_with_conversion(cloud: Cloud) -> None:
    sent = [
        footfall(1, 40, 10).to_json(),
        event(2, "session.ended", session("product", [visit("SCOOT-S1", 3.0)], "product")).to_json(),
        event(3, "session.ended", session("touch", [], "attract")).to_json(),
    ]
    assert (await cloud.post(sent)).status == 200
    reply = await cloud.retailer("GET", f"/v1/retailer/funnel?from={DAY}&to={DAY}")
    assert [(s["name"], s["count"], s["conversion"]) for s in reply.body["steps"]][:4] == [
        ("passers", 40, None),
        ("stoppers", 10, 0.25),
        ("sessions", 2, 0.2),
        ("viewed", 1, 0.5),
    ]
    assert reply.body["days"][0]["passers"] == 40 and reply.body["days"][0]["stoppers"] == 10


def test_a_store_from_before_the_funnel_gets_it_from_its_events_once(tmp_path: Path) -> None:
    """A database whose events came in before the funnel's tables existed (made here by storing them, then
    dropping those tables and the columns added since, as an older version left it): opening it fills the
    funnel from the stored events exactly as ingest would have, once; opening it again changes nothing."""
    shops = SqliteCloudStore(tmp_path / "cloud.db")  # a file an older version left: SQLite's story
    shops.add_retailer("shop-a")
    shops.add_retailer("shop-b")
    shops.add_cabinet(CAB, "shop-a")
    shops.add_cabinet(OTHER, "shop-b")
    shops.add_cabinet("cab-a2", "shop-a")
    shops.store_events(
        CAB,
        [
            event(1, "session.ended", session("touch", [], "attract", ad_id="ad-1")),
            event(
                2, "session.ended", session("paid", [visit("SCOOT-S1", 8.0, checkout=True, payment="approved")], "x")
            ),
            *sale(3, "33333333-3333-4333-8333-333333333333", "SCOOT-S1"),
            event(5, "ad.impression", {"ad_id": "ad-1", "shown_s": 6}),
        ],
    )
    shops.store_events(
        "cab-a2", [event(1, "session.ended", session("product", [visit("BIKE-C7", 2.0)], "p"), "cab-a2")]
    )
    shops.store_events(OTHER, [event(1, "session.ended", session("touch", [], "attract"), OTHER)])

    def figures(store: SqliteCloudStore) -> list[dict[str, Any]]:
        return [
            store.funnel(retailer, since_day=DAY, until_day=DAY, cabinet_id=cabinet)
            for retailer, cabinet in (("shop-a", None), ("shop-a", CAB), ("shop-a", "cab-a2"), ("shop-b", None))
        ]

    ingested = figures(shops)
    assert ingested[0]["days"][0]["sessions"] == 3 and ingested[0]["days"][0]["sold"] == 1
    path = shops.path
    shops.close()
    with sqlite3.connect(path) as old:
        for table in ("funnel_days", "funnel_products", "funnel_exits", "funnel_ads"):
            old.execute(f"DROP TABLE {table}")
        for column in ("sku", "consent_version", "consent"):
            old.execute(f"ALTER TABLE phone_forms DROP COLUMN {column}")
        old.execute("DROP TABLE schema_migrations")  # from before versioned migrations too
    old.close()

    for _ in range(2):  # migrated, then opened again
        reopened = SqliteCloudStore(path)
        try:
            assert figures(reopened) == ingested
            columns = {r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(phone_forms)")}
            assert {"sku", "consent_version", "consent"} <= columns
        finally:
            reopened.close()
