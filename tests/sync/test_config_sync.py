"""Configuration flows down: pulled with ETags, applied atomically, cached, and a bad one refused whole."""

from __future__ import annotations

import json

import pytest

from sync_client.cloud_client import CloudClient, CloudUnavailable
from sync_client.config_sync import ConfigSync
from sync_client.outbox import Outbox
from sync_client.uploader import Uploader
from tests.sync.conftest import CAB, GOOD_CONFIG, Site


async def test_pull_applies_then_answers_304_until_the_retailer_edits(site: Site) -> None:
    applied = []
    sync = ConfigSync(site.outbox, site.client, on_applied=applied.append)
    assert (await sync.pull()).outcome == "none"  # nothing configured yet: the cabinet keeps going
    assert sync.current() is None

    assert await site.retailer("PUT", f"/v1/retailer/cabinets/{CAB}/config", GOOD_CONFIG) == (200, {"version": 1})
    first = await sync.pull()
    assert first.outcome == "applied" and first.config.product("SCOOT-S1").price_cents == 49900
    assert applied == [first.config]
    assert (await sync.pull()).outcome == "unchanged"

    status, _ = await site.retailer("PATCH", f"/v1/retailer/cabinets/{CAB}/products/SCOOT-S1", {"price_cents": 45900})
    assert status == 200
    second = await sync.pull()
    assert second.outcome == "applied" and second.config.version == 2
    assert sync.current().product("SCOOT-S1").price_cents == 45900
    assert [e.payload["version"] for e in site.outbox.events("config.applied")] == [1, 2]


async def test_a_bad_catalog_is_refused_whole_the_last_good_one_stays_and_the_cloud_hears_why(site: Site) -> None:
    sync = ConfigSync(site.outbox, site.client)
    await site.retailer("PUT", f"/v1/retailer/cabinets/{CAB}/config", GOOD_CONFIG)
    await sync.pull()
    good_etag = sync.current_etag()

    # The cloud's own check refuses it too, so it is written past the API: a cloud on a newer schema.
    bad = {**GOOD_CONFIG, "products": [*GOOD_CONFIG["products"], {"sku": "TRIKE", "name": "Trike", "price_cents": 0}]}
    site.store.put_config(CAB, bad)
    result = await sync.pull()
    assert result.outcome == "rejected"
    assert result.reason == "products[2].price_cents: expected an integer >= 1 and <= 10000000, got 0"
    assert sync.current_etag() == good_etag
    assert [p.sku for p in sync.current().products] == ["SCOOT-S1", "BIKE-C7"]  # still selling from these
    [rejected] = site.outbox.events("config.rejected")
    assert rejected.payload["version"] == 2 and "price_cents" in rejected.payload["reason"]
    assert (await sync.pull()).outcome == "unchanged"  # not fetched and reported again and again

    await Uploader(site.outbox, site.url, site.key).upload_pending()
    status, body = await site.retailer("GET", "/v1/retailer/cabinets")
    assert status == 200
    report = body["cabinets"][0]["config_report"]
    assert (report["type"], report["version"]) == ("config.rejected", 2)
    assert "price_cents" in report["reason"]

    fixed = {**bad, "products": [*GOOD_CONFIG["products"], {"sku": "TRIKE", "name": "Trike", "price_cents": 99900}]}
    assert (await site.retailer("PUT", f"/v1/retailer/cabinets/{CAB}/config", fixed))[0] == 200
    assert (await sync.pull()).outcome == "applied"
    assert sync.current().product("TRIKE").price_cents == 99900


async def test_the_retailer_api_refuses_a_bad_catalog_with_every_problem(site: Site) -> None:
    bad = {**GOOD_CONFIG, "products": [{"sku": "X", "name": "", "price_cents": 5}]}
    status, body = await site.retailer("PUT", f"/v1/retailer/cabinets/{CAB}/config", bad)
    assert status == 422 and body["error"] == "products[0].name: must not be empty"
    assert site.store.config(CAB) is None


COSTLY_PIN = "scrypt$1048576$8$1$" + "ab" * 16 + "$" + "cd" * 32  # n = 2**20: seconds and 1 GiB per check


async def test_a_pin_hash_out_of_bounds_refuses_the_whole_configuration_and_the_last_good_one_stays(site: Site) -> None:
    sync = ConfigSync(site.outbox, site.client)
    await site.retailer("PUT", f"/v1/retailer/cabinets/{CAB}/config", GOOD_CONFIG)
    await sync.pull()
    good_etag = sync.current_etag()
    site.store.put_config(CAB, {**GOOD_CONFIG, "retailer": {"pin_hashes": [COSTLY_PIN]}})  # past the API
    result = await sync.pull()
    assert result.outcome == "rejected"
    assert result.reason == "retailer.pin_hashes[0]: n must be a power of two from 2 to 32768, got 1048576"
    assert sync.current_etag() == good_etag and sync.current().retailer.pin_hashes == ()
    [rejected] = site.outbox.events("config.rejected")
    assert rejected.payload["reason"].startswith("retailer.pin_hashes[0]: ")


@pytest.mark.parametrize(
    "pin_hashes, error",
    [
        ([COSTLY_PIN], "retailer.pin_hashes[0]: n must be a power of two from 2 to 32768, got 1048576"),
        (["scrypt$16384$8$3$" + "ab" * 16 + "$" + "cd" * 32], "retailer.pin_hashes[0]: p must be 1 to 2, got 3"),
        (["scrypt$2$1$1$" + "ab" * 16 + "$" + "cd" * 32] * 21, "retailer.pin_hashes: at most 20 PIN hashes, got 21"),
    ],
)
async def test_the_retailer_api_refuses_a_bad_pin_hash_with_422_naming_the_field(site: Site, pin_hashes, error) -> None:
    status, body = await site.retailer(
        "PUT", f"/v1/retailer/cabinets/{CAB}/config", {**GOOD_CONFIG, "retailer": {"pin_hashes": pin_hashes}}
    )
    assert (status, body["error"]) == (422, error)
    assert site.store.config(CAB) is None


async def test_a_cabinet_that_boots_offline_works_from_the_cached_configuration(site: Site) -> None:
    sync = ConfigSync(site.outbox, site.client)
    await site.retailer("PUT", f"/v1/retailer/cabinets/{CAB}/config", GOOD_CONFIG)
    await sync.pull()
    site.outbox.close()

    site.outbox = Outbox(site.outbox.path, CAB)  # reboot, and the cloud is unreachable
    offline = CloudClient("http://127.0.0.1:9", CAB, site.key, request_timeout_s=1)
    rebooted = ConfigSync(site.outbox, offline)
    assert [p.sku for p in rebooted.current().products] == ["SCOOT-S1", "BIKE-C7"]
    with pytest.raises(CloudUnavailable):
        await rebooted.pull()
    assert rebooted.current().version == 1
    await offline.close()


async def test_the_etag_covers_pickup_orders_and_a_collected_order_leaves_the_document(site: Site) -> None:
    sync = ConfigSync(site.outbox, site.client)
    await site.retailer("PUT", f"/v1/retailer/cabinets/{CAB}/config", GOOD_CONFIG)
    await sync.pull()
    status, order = await site.retailer("POST", "/v1/retailer/orders", {"cabinet_id": CAB, "sku": "BIKE-C7"})
    assert status == 201 and len(order["pickup_code"]) == 8
    pulled = await sync.pull()
    assert pulled.outcome == "applied"
    assert pulled.config.order_for_code(order["pickup_code"]).order_id == order["order_id"]
    assert json.dumps(pulled.config.to_json()).count(order["pickup_code"]) == 0  # only its salted hash

    with site.outbox.transaction(durable=True) as tx:
        tx.append("pickup.completed", {"order_id": order["order_id"], "sku": "BIKE-C7"})
    await Uploader(site.outbox, site.url, site.key).upload_pending()
    after = await sync.pull()
    assert after.outcome == "applied" and after.config.pickup_orders == ()


async def test_a_localized_configuration_is_applied_and_its_missing_translations_reported(site: Site) -> None:
    sync = ConfigSync(site.outbox, site.client)
    scooter = {
        **GOOD_CONFIG["products"][0],
        "name": {"en": "Volt S1", "zh": "电动滑板车"},
        "summary": "Foldable",
        "materials": [{"en": "aluminium", "zh": "铝合金"}],
        "colours": [],
    }
    document = {**GOOD_CONFIG, "languages": ["en", "zh"], "products": [scooter]}
    assert (await site.retailer("PUT", f"/v1/retailer/cabinets/{CAB}/config", document))[0] == 200
    pulled = await sync.pull()
    assert pulled.outcome == "applied" and pulled.config.product("SCOOT-S1").name.in_("zh") == "电动滑板车"
    [applied] = site.outbox.events("config.applied")
    assert applied.payload["warnings"] == ["products[0] (SCOOT-S1).summary: no zh text; the en text is shown instead"]
    bad = {**document, "products": [{**scooter, "name": {"en": "Volt S1", "fr": "Trottinette"}}]}
    status, answer = await site.retailer("PUT", f"/v1/retailer/cabinets/{CAB}/config", bad)
    assert status == 422 and "products[0].name.fr: language not declared in languages" in json.dumps(answer)
