"""The consumer pages: the console's fixtures (a real `kiosk-cloud serve`, Debian's Chromium through Playwright;
``new_page(phone=True)`` is a phone's viewport) and ``seed``, which puts a retailer, a configured cabinet, a
sale and a repair ticket into the served database through the cloud's own store (the path events take once
the device API has checked them)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cloud_stub.store import SqlCloudStore, open_store
from sync_client.schema import Event, new_event_id, new_receipt_token, sale_reference
from tests.console.conftest import Console
from tests.console.conftest import browser as browser
from tests.console.conftest import cloud as cloud
from tests.console.conftest import cloud_db as cloud_db
from tests.console.conftest import console as console
from tests.console.conftest import new_page as new_page

CABINET = "cab-mall-1"
RETAILER = "velo-consumer"
PHONE = "+49 170 555 4321"
CONFIG: dict[str, Any] = {
    "currency": "EUR",
    "store_base_url": "https://shop.example.com",
    "link_base": "https://cloud.example.com",
    "support_phone": "+49 30 1234 5678",
    "languages": ["en", "zh"],
    "products": [
        {
            "sku": "SC-1",
            "name": {"en": "City scooter", "zh": "城市滑板车"},
            "price_cents": 49900,
            "store_url": "https://shop.example.com/scooters/city",
            "variants": [
                {
                    "sku": "SC-1-MINT",
                    "name": {"en": "Mint", "zh": "薄荷绿"},
                    "store_url": "https://shop.example.com/c?v=mint",
                },
                {"sku": "SC-1-GRA", "name": {"en": "Graphite", "zh": "石墨灰"}},
            ],
        }
    ],
    "place": {
        "address": "Alexanderplatz 1, Berlin",
        "lat": 52.5219,
        "lon": 13.4132,
        "timezone": "Europe/Berlin",
        "opening_hours": [{"days": [0, 1, 2, 3, 4, 5], "start": "10:00", "end": "20:00"}],
    },
}


@dataclass
class Seeded:
    store: SqlCloudStore
    key: bytes
    sale_id: str
    receipt_token: str
    ticket: str
    seq: int = 10

    def event(self, type_: str, payload: dict[str, Any], wall_time: str = "2026-11-30T13:05:00.000Z") -> None:
        self.seq += 1
        event = Event(new_event_id(), CABINET, self.seq, type_, wall_time, float(self.seq), payload)
        self.store.store_events(CABINET, [event])


def seed_cloud(db: Path | str) -> Seeded:
    """The cloud at ``db`` (a SQLite file or a postgresql:// URL), seeded."""
    store = open_store(db)
    store.add_retailer(RETAILER)
    key = store.add_cabinet(CABINET, RETAILER)
    store.put_config(CABINET, CONFIG)
    sale_id = str(uuid.uuid4())
    seeded = Seeded(store, key, sale_id, new_receipt_token(sale_id), "R-K7QX2M")
    assert sale_reference(sale_id)[2:] == seeded.receipt_token[:8]
    seeded.event(
        "repair.ticket",
        {
            "ticket_id": seeded.ticket,
            "device": "City scooter",
            "detail": "brake",
            "status": "dropped_off",
            "phone": PHONE,
        },
        wall_time="2026-11-28T09:30:00.000Z",
    )
    store.move_ticket(CABINET, seeded.ticket, "collected", by="staff@velo.example")
    return seeded


def approve(seeded: Seeded) -> None:
    """The cabinet's sale of the Mint scooter arrives: approved with its receipt token, then completed."""
    facts = {"sale_id": seeded.sale_id, "sku": "SC-1", "amount_cents": 49900, "currency": "EUR"}
    seeded.event(
        "payment.approved",
        {
            **facts,
            "variant_sku": "SC-1-MINT",
            "method": "terminal",
            "receipt_no": "0042",
            "trace_no": "77",
            "receipt_token": seeded.receipt_token,
        },
    )
    seeded.event(
        "sale.completed",
        {**facts, "door_opened_at": "2026-11-30T13:05:10.000Z", "door_closed_at": "2026-11-30T13:05:30.000Z"},
    )


@pytest.fixture
def seeded(console: Console) -> Iterator[Seeded]:
    seeded = seed_cloud(console.db)
    yield seeded
    seeded.store.close()
