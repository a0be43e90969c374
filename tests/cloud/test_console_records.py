"""The store's records behind the console's stock, orders and repair pages: an ended order leaves the
configuration the cabinet downloads, storefronts and restock lines stay within their retailer, and a database
made before the repair board keeps its tickets and takes the new statuses."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cloud_stub.store import Conflict, NotFound, SqliteCloudStore
from sync_client.schema import event_from_json
from tests.cloud.cloud_helpers import CAB, OTHER, make_event

NOW = 1_800_000_000.0


@pytest.fixture
def shops(store: SqliteCloudStore) -> SqliteCloudStore:
    store.add_retailer("shop-a")
    store.add_retailer("shop-b")
    store.add_cabinet(CAB, "shop-a")
    store.add_cabinet(OTHER, "shop-b")
    store.put_config(CAB, {"products": []})
    return store


def test_an_ended_order_leaves_the_cabinets_configuration_once(shops: SqliteCloudStore) -> None:
    order = shops.add_order(CAB, "BIKE-C7", "scrypt$x", "2030-01-01T00:00:00.000Z", created_by="a@shop.example")
    version = shops.config(CAB)[0]  # type: ignore[index]
    assert [o["order_id"] for o in shops.open_orders(CAB)] == [order]
    with pytest.raises(NotFound):
        shops.end_order("shop-b", order, "cancelled", "b@shop.example")  # another retailer's order
    shops.end_order("shop-a", order, "cancelled", "a@shop.example", now=NOW)
    assert shops.open_orders(CAB) == []
    assert shops.config(CAB)[0] == version + 1  # type: ignore[index]  # the cabinet fetches the change
    with pytest.raises(Conflict):
        shops.end_order("shop-a", order, "expired", "a@shop.example")
    listed = shops.orders_of("shop-a")
    assert [(o["ended_as"], o["ended_by"], o["created_by"]) for o in listed] == [
        ("cancelled", "a@shop.example", "a@shop.example")
    ]
    assert "code_hash" not in listed[0] and shops.orders_of("shop-b") == []
    with pytest.raises(ValueError, match="ending"):
        shops.end_order("shop-a", order, "lost", "a@shop.example")


def test_a_collected_order_cannot_be_cancelled(shops: SqliteCloudStore) -> None:
    order = shops.add_order(CAB, "BIKE-C7", "scrypt$x", "2030-01-01T00:00:00.000Z")
    completed = make_event(1, CAB, "pickup.completed", {"order_id": order, "sku": "BIKE-C7"})
    shops.store_events(CAB, [event_from_json(completed)])
    with pytest.raises(Conflict):
        shops.end_order("shop-a", order, "cancelled", "a@shop.example")


def test_storefronts_and_restock_lines_stay_with_their_retailer(shops: SqliteCloudStore) -> None:
    front = shops.add_storefront("shop-a", "Velo Mall shop", "Alexanderplatz 1")
    with pytest.raises(NotFound):
        shops.set_cabinet_storefront("shop-b", OTHER, front)  # not shop-b's storefront
    with pytest.raises(NotFound):
        shops.set_cabinet_storefront("shop-a", OTHER, front)  # not shop-a's cabinet
    shops.set_cabinet_storefront("shop-a", CAB, front)
    assert shops.cabinet_storefronts("shop-a") == {CAB: front}
    assert shops.storefronts_of("shop-b") == []

    items = [{"sku": "S-mint", "product_sku": "S", "count": 1, "bring": 2, "expected": 3}]
    with pytest.raises(NotFound):
        shops.add_restock_line("shop-b", CAB, items, "b@shop.example")
    line = shops.add_restock_line("shop-a", CAB, items, "a@shop.example", now=NOW)
    with pytest.raises(Conflict):  # one open line per cabinet
        shops.add_restock_line("shop-a", CAB, items, "a@shop.example")
    (listed,) = shops.restock_lines_of("shop-a", closed_since="2000-01-01T00:00:00.000Z")
    assert (listed["id"], listed["storefront_id"], listed["items"], listed["planned_seq"]) == (line, front, items, 0)
    shops.close_restock_line("shop-b", line, "2027-01-15T08:00:00.000Z", None, [])  # not theirs: no change
    assert shops.restock_lines_of("shop-a", closed_since="2000-01-01")[0]["closed_at"] is None
    shops.close_restock_line("shop-a", line, "2027-01-15T08:00:00.000Z", "pin", [{"sku": "S-mint"}])
    assert shops.restock_lines_of("shop-a", closed_since="2027-01-16T00:00:00.000Z") == []
    assert shops.restock_lines_of("shop-b", closed_since="2000-01-01") == []


def test_a_database_from_before_the_repair_board_keeps_its_tickets_and_takes_the_new_statuses(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    SqliteCloudStore(path).close()
    conn = sqlite3.connect(path)  # the table as the previous release created it
    conn.executescript(
        "DROP TABLE schema_migrations; DROP TABLE repair_tickets;"
        " CREATE TABLE repair_tickets (cabinet_id TEXT NOT NULL REFERENCES cabinets(id),"
        " ticket_id TEXT NOT NULL, device TEXT NOT NULL, detail TEXT NOT NULL, name TEXT, phone TEXT, category TEXT,"
        " status TEXT NOT NULL CHECK (status IN ('dropped_off', 'collected', 'returned')), dropped_off_at TEXT,"
        " collected_at TEXT, returned_at TEXT, updated_at TEXT NOT NULL, PRIMARY KEY (cabinet_id, ticket_id));"
        "INSERT INTO retailers VALUES ('shop-a', 'x', '2026-01-01');"
        "INSERT INTO cabinets (id, key, retailer, created_at) VALUES ('cab-1', 'aa', 'shop-a', '2026-01-01');"
        "INSERT INTO repair_tickets (cabinet_id, ticket_id, device, detail, status, collected_at, updated_at)"
        " VALUES ('cab-1', 'R-0001', 'VIN1', 'brakes', 'collected', '2026-11-26', '2026-11-26');"
    )
    conn.close()
    store = SqliteCloudStore(path)
    moved = store.move_ticket("cab-1", "R-0001", "in_repair", by="a@shop.example", now=NOW)
    assert (moved["status"], moved["collected_at"], moved["device"]) == ("in_repair", "2026-11-26", "VIN1")
    assert moved["in_repair_at"] is not None
    store.close()
    SqliteCloudStore(path).close()  # opening again changes nothing
