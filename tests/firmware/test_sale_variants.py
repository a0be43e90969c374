"""The sale of a variant with real parts (the rig of test_sale_journey: the ZVT emulator over a PTY, mock pins, the
store on disk): the variant chosen is paid for, recorded and counted, also across a power cut."""

from typing import Any

import pytest

from firmware.catalog import product_from_cloud
from firmware.clock import FakeClock
from firmware.door_cycle import DoorCycle
from firmware.journeys.sale import IllegalTransition, S, SaleJourney
from sync_client.cabinet_config import parse_config
from sync_client.store.sales import SalesRepo
from tests.firmware.test_sale_journey import rig, until  # noqa: F401  (rig: a fixture)

MINT, GRAPHITE, CORAL = "SCOOT-S1-MINT", "SCOOT-S1-GRAPHITE", "SCOOT-S1-CORAL"
DOCUMENT = {
    "version": 1,
    "currency": "EUR",
    "products": [
        {
            "sku": "SCOOT-S1",
            "name": "Volt S1 e-scooter",
            "price_cents": 49900,
            "variants": [
                {"sku": CORAL, "name": "Coral", "colour": "coral"},
                {"sku": MINT, "name": "Mint", "colour": "mint"},
                {"sku": GRAPHITE, "name": "Graphite", "colour": "graphite"},
            ],
        },
        {"sku": "BIKE-C7", "name": "Cruiser C7 e-bike", "price_cents": 129900},
    ],
}


def with_variants(rig: Any) -> None:  # noqa: F811
    """The configuration's products replace the file's: the scooters counted as a whole (3) become the
    first variant's, until a restock counts each."""
    config = parse_config(DOCUMENT)
    rig.catalog.replace_products([product_from_cloud(p, "media") for p in config.products])


def test_a_product_counted_as_a_whole_hands_its_count_to_its_first_variant(rig: Any) -> None:  # noqa: F811
    with_variants(rig)
    counts = {sku: rig.catalog.stock(sku) for sku in ("SCOOT-S1", CORAL, MINT, GRAPHITE, "BIKE-C7")}
    assert counts == {"SCOOT-S1": 0, CORAL: 3, MINT: 0, GRAPHITE: 0, "BIKE-C7": 2}
    changed = [(e.payload["sku"], e.payload["count"]) for e in rig.outbox.events("stock.changed")]
    assert changed == [(CORAL, 3), ("SCOOT-S1", 0)]
    with_variants(rig)  # the same configuration again: nothing moves twice
    assert rig.catalog.stock(CORAL) == 3 and len(rig.outbox.events("stock.changed")) == 2


async def test_the_variant_chosen_is_the_one_paid_for_recorded_and_given_back_when_unclaimed(rig: Any) -> None:  # noqa: F811
    with_variants(rig)
    with rig.outbox.transaction() as tx:
        rig.catalog.set_count(tx, CORAL, 0, "restock")
        rig.catalog.set_count(tx, GRAPHITE, 2, "restock")
    journey = rig.journey
    journey.start()
    journey.select("SCOOT-S1")
    assert journey.view().variant_sku == GRAPHITE, "the page opens on the first variant in stock"
    with pytest.raises(IllegalTransition, match="out of stock"):
        journey.choose_variant(CORAL)
    with pytest.raises(IllegalTransition):
        journey.choose_variant("BIKE-C7")  # not a variant of this product
    with rig.outbox.transaction() as tx:
        rig.catalog.set_count(tx, MINT, 1, "restock")
    journey.choose_variant(MINT)
    journey.buy()
    journey.pay("terminal")
    await rig.emulator.wait_for_card_prompt()
    rig.emulator.approve()
    await until(lambda: journey.state is S.DOOR_UNLOCKED)  # type: ignore[no-untyped-call]
    sale_id = journey.sale.sale_id
    [approved] = [e.payload for e in rig.outbox.events("payment.approved")]
    assert (approved["sku"], approved["variant_sku"]) == ("SCOOT-S1", MINT)
    assert (rig.catalog.stock(MINT), rig.catalog.stock(GRAPHITE)) == (0, 2)
    record = SalesRepo(rig.outbox).get(sale_id)
    assert record is not None and record.variant_sku == MINT

    # Power cut before the door opened: the next boot gives the money and the mint scooter back.
    rig.lock.lock()
    fresh = SaleJourney(
        outbox=rig.outbox,
        catalog=rig.catalog,
        lock=rig.lock,
        terminals={},
        lock_config=journey.lock_config,
        currency="EUR",
        door=DoorCycle(rig.lock, FakeClock()),
    )
    assert fresh.recover_after_restart() == [sale_id]
    [unclaimed] = [e.payload for e in rig.outbox.events("sale.unclaimed")]
    assert (unclaimed["sku"], unclaimed["variant_sku"]) == ("SCOOT-S1", MINT)
    assert (rig.catalog.stock(MINT), rig.catalog.stock(GRAPHITE)) == (1, 2)


async def test_a_variant_sold_out_since_the_page_opened_is_not_sold(rig: Any) -> None:  # noqa: F811
    with_variants(rig)
    rig.journey.start()
    rig.journey.select("SCOOT-S1")
    assert rig.journey.view().variant_sku == CORAL
    with rig.outbox.transaction() as tx:
        rig.catalog.set_count(tx, CORAL, 0, "pickup")
    rig.journey.buy()
    assert rig.journey.state is S.PRODUCT and rig.journey.message == "sold_out"


def test_a_pickup_order_for_a_variant_takes_that_variant(rig: Any) -> None:  # noqa: F811
    with_variants(rig)
    assert rig.catalog.stock_sku(MINT) == MINT
    assert rig.catalog.stock_sku("BIKE-C7") == "BIKE-C7"
    assert rig.catalog.stock_sku("SCOOT-S1") is None, "which colour left is not known: the next restock counts it"
