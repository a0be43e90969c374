"""The console's stock, orders and repairs logic without a browser: which variants a restock line lists,
how the first restock after a plan closes it (and what it counts as different), an order's state, and
which door snapshots belong to a drop-off. The restock reading is fuzzed over event sequences."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from cloud_stub.console.orders import order_state
from cloud_stub.console.repairs import drop_off_photos, next_status
from cloud_stub.console.stock import (
    DEFAULT_LEVEL,
    Level,
    StockRow,
    StockUnit,
    restock_items,
    restock_outcome,
    stock_units,
)

LINE = {
    "items": [
        {"sku": "S-mint", "label": "S · Mint", "count": 1, "bring": 3, "expected": 4},
        {"sku": "BIKE", "label": "Bike", "count": 0, "bring": 2, "expected": 2},
    ]
}


def event(seq: int, kind: str, **payload: Any) -> dict[str, Any]:
    return {"seq": seq, "type": kind, "wall_time": f"2027-01-15T08:00:{seq:02d}.000Z", "payload": payload}


def test_the_first_restock_after_the_plan_closes_the_line_and_flags_what_differs() -> None:
    events = [
        event(10, "stock.changed", sku="S-mint", count=0, reason="sale"),  # a sale after the plan
        event(11, "door.closed", open_s=3.0, reason="sale"),  # a sale's door is no restock
        event(20, "door.closed", open_s=30.0, reason="restock"),
        event(21, "stock.changed", sku="S-mint", count=4, reason="restock"),
        event(22, "restock.recorded", sku="S-mint", added=4, count=4, staff_uid="04AB", who="card:04AB"),
        event(30, "stock.changed", sku="BIKE", count=5, reason="restock"),  # not the same restock (a gap)
    ]
    outcome = restock_outcome(LINE, events)
    assert outcome is not None and outcome.at == "2027-01-15T08:00:20.000Z" and outcome.who == "card:04AB"
    assert [(r["sku"], r["expected"], r["recorded"], r["difference"]) for r in outcome.result] == [
        ("S-mint", 4, 4, 0),
        ("BIKE", 2, 0, -2),  # nothing brought: flagged
    ]
    assert restock_outcome(LINE, events[:2]) is None  # no restock yet: the line stays open


def test_a_restock_that_changed_nothing_closes_the_line_with_every_item_short() -> None:
    outcome = restock_outcome(LINE, [event(5, "door.closed", open_s=4.0, reason="restock")])
    assert outcome is not None and outcome.who is None
    assert [r["difference"] for r in outcome.result] == [-3, -2]


SKUS = st.sampled_from(["S-mint", "BIKE", "OTHER"])
EVENTS = st.lists(
    st.one_of(
        st.builds(lambda s, c: ("stock.changed", {"sku": s, "count": c, "reason": "x"}), SKUS, st.integers(0, 999)),
        st.builds(
            lambda s, c: ("restock.recorded", {"sku": s, "added": 1, "count": c, "staff_uid": None}),
            SKUS,
            st.integers(0, 999),
        ),
        st.builds(
            lambda r: ("door.closed", {"open_s": 1.0, "reason": r}), st.sampled_from(["restock", "sale", "pickup"])
        ),
    ),
    max_size=30,
)


@given(EVENTS, st.lists(st.integers(1, 3), max_size=30))
def test_any_sequence_of_the_cabinets_events_gives_a_whole_comparison_or_none(
    kinds: list[tuple[str, dict[str, Any]]], gaps: list[int]
) -> None:
    seq, events = 0, []
    for i, (kind, payload) in enumerate(kinds):
        seq += gaps[i] if i < len(gaps) else 1
        events.append(event(seq % 60, kind, **payload) | {"seq": seq})
    outcome = restock_outcome(LINE, events)
    has_restock = any(k == "door.closed" and p["reason"] == "restock" for k, p in kinds)
    assert (outcome is not None) == has_restock
    if outcome:
        assert [r["sku"] for r in outcome.result] == ["S-mint", "BIKE"]
        assert all(r["difference"] == r["recorded"] - r["expected"] for r in outcome.result)


def unit_row(count: int | None, level: Level = DEFAULT_LEVEL) -> StockRow:
    return StockRow("cab-1", StockUnit("S-mint", "S", "S", "Mint"), count, None, level)


def test_a_line_lists_only_variants_under_their_threshold_with_what_brings_them_to_the_target() -> None:
    assert restock_items([unit_row(2), unit_row(None)]) == []  # 2 is not under 2; never counted: unknown
    (item,) = restock_items([unit_row(1, Level(threshold=3, target=5))])
    assert (item["sku"], item["count"], item["bring"], item["expected"], item["label"]) == (
        "S-mint",
        1,
        4,
        5,
        "S · Mint",
    )
    assert [unit_row(0).state, unit_row(1).state, unit_row(2).state, unit_row(None).state] == [
        "out",
        "low",
        "ok",
        "unknown",
    ]


def test_the_units_of_a_catalogue_are_its_variants_or_the_product_itself() -> None:
    document = {
        "currency": "EUR",
        "products": [
            {
                "sku": "S",
                "name": {"en": "Scooter", "zh": "滑板车"},
                "price_cents": 100,
                "colours": [{"en": "Mint", "zh": "薄荷绿"}],
            },
            {"sku": "B", "name": "Bike", "price_cents": 100},
        ],
        "languages": ["en", "zh"],
    }
    assert [(u.sku, u.label) for u in stock_units(document, "zh")] == [("S-mint", "滑板车 · 薄荷绿"), ("B", "Bike")]
    assert stock_units({"products": "not a list"}, "en") == [] and stock_units(None, "en") == []


def test_an_orders_state() -> None:
    base = {"collected_at": None, "ended_as": None, "expires_at": "2027-01-02T00:00:00.000Z"}
    assert order_state(base, "2027-01-01T00:00:00.000Z") == "open"
    assert order_state(base, "2027-01-03T00:00:00.000Z") == "expired"
    assert order_state({**base, "ended_as": "cancelled"}, "2027-01-01T00:00:00.000Z") == "cancelled"
    collected = {**base, "ended_as": "cancelled", "collected_at": "2027-01-01T00:00:00.000Z"}
    assert order_state(collected, "2027-01-01T00:00:00.000Z") == "collected"  # the cabinet's fact wins


def test_the_drop_offs_photos_are_the_door_snapshots_taken_around_it() -> None:
    ticket = {"dropped_off_at": "2027-01-15T08:00:00.000Z"}
    snapshots = [
        {"name": "20270115T075000-opened-none.jpg", "taken_at": "2027-01-15T07:50:00.000Z"},
        {"name": "20270115T081600-closed-none.jpg", "taken_at": "2027-01-15T08:16:00.000Z"},  # 16 min later
        {"name": "20270114T080000-opened-none.jpg", "taken_at": "2027-01-14T08:00:00.000Z"},
    ]
    assert drop_off_photos(ticket, snapshots) == ["20270115T075000-opened-none.jpg"]
    assert drop_off_photos({"dropped_off_at": None}, snapshots) == []
    assert [next_status("dropped_off"), next_status("returned"), next_status("handed_back")] == [
        "collected",
        "handed_back",
        None,
    ]
