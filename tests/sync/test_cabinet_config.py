"""The configuration document: valid ones parse, bad ones are refused whole with every problem named."""
import pytest

from sync_client.cabinet_config import (
    ConfigInvalid,
    hash_secret,
    parse_config,
    verify_secret,
)
from tests.sync.conftest import GOOD_CONFIG


def test_a_full_document_parses_into_typed_records():
    pin = hash_secret("4711", n=2**10)
    code = hash_secret("12345678", n=2**10)
    config = parse_config({
        **GOOD_CONFIG, "version": 3, "store_base_url": "https://shop.example/",
        "ads": [{"id": "spring", "kind": "video", "url": "https://cdn.example/spring.mp4", "duration_s": 15,
                 "windows": [{"days": [5, 6], "start": "10:00", "end": "20:00"}]}],
        "retailer": {"pin_hashes": [pin], "staff_cards": [{"uid": "04a1b2c3", "role": "technician"}]},
        "pickup_orders": [{"order_id": "o-1", "sku": "BIKE-C7", "code_hash": code,
                           "expires_at": "2030-01-01T00:00:00.000Z"}]})
    assert config.version == 3 and config.currency == "EUR"
    scooter = config.product("SCOOT-S1")
    assert scooter.price_cents == 49900 and scooter.currency == "EUR"
    assert scooter.specs == (("range", "35 km"),) and scooter.media[0].url == "media/scoot-s1.jpg"
    assert config.ads[0].windows[0].days == (5, 6)
    assert config.retailer.role_of_card("04A1B2C3") == "technician"
    assert config.retailer.pin_ok("4711") and not config.retailer.pin_ok("4712")
    assert config.order_for_code("12345678").order_id == "o-1"
    assert config.order_for_code("00000000") is None
    assert config.scan_to_pay.enabled
    assert parse_config(config.to_json()) == config


def test_a_bad_document_names_every_problem():
    bad = {**GOOD_CONFIG, "version": 0, "currency": "euro", "colour": "red",
           "products": [{"sku": "A B", "name": "", "price_cents": -5},
                        {"sku": "X", "name": "x", "price_cents": True},
                        {"sku": "Y", "name": "y", "price_cents": 100, "media": [{"kind": "gif", "url": "../etc"}]}],
           "ads": [{"id": "a", "kind": "image", "url": "a.png", "duration_s": 5,
                    "windows": [{"days": [7], "start": "25:00", "end": "10:00"}]}],
           "retailer": {"pin_hashes": ["1234"], "staff_cards": [{"uid": "zz", "role": "boss"}]},
           "pickup_orders": [{"order_id": "o", "sku": "NOPE", "code_hash": "x", "expires_at": "tomorrow"}]}
    with pytest.raises(ConfigInvalid) as refused:
        parse_config(bad)
    assert refused.value.problems == [
        ("colour: unknown key (known: version, currency, products, config_schema, ads, retailer, pickup_orders, "
         "scan_to_pay, store_base_url)"),
        "version: expected a positive integer, got 0",
        "currency: expected an ISO 4217 code like EUR, got 'euro'",
        "products[0].sku: 'A B' is not 1-64 characters from A-Z a-z 0-9 . _ -",
        "products[0].name: must not be empty",
        "products[0].price_cents: -5 is not between 1 and 10000000",
        "products[1].price_cents: expected integer, got boolean",
        "products[2].media[0].kind: expected one of image, video, got 'gif'",
        "products[2].media[0].url: expected an http(s) URL or a relative media path, got '../etc'",
        "ads[0].windows[0].days: expected a non-empty array of weekdays 0 (Monday) to 6",
        "ads[0].windows[0].start: expected HH:MM, got '25:00'",
        "retailer.pin_hashes[0]: expected scrypt$n$r$p$salt_hex$hash_hex",
        "retailer.staff_cards[0].uid: expected 4 to 10 bytes of lower-case hex, got 'zz'",
        "retailer.staff_cards[0].role: expected one of retailer, technician, got 'boss'",
        "pickup_orders[0].sku: 'NOPE' is not in products",
        "pickup_orders[0].code_hash: expected scrypt$n$r$p$salt_hex$hash_hex",
        "pickup_orders[0].expires_at: expected ISO 8601 UTC like 2026-11-25T16:39:53.123Z",
    ]


@pytest.mark.parametrize("document, problem", [
    ([], "config: expected object, got array"),
    ({"version": 1, "products": []}, "currency: required"),
    ({**GOOD_CONFIG, "version": 1, "config_schema": 2}, "config_schema: 2 not supported by this cabinet (it reads 1)"),
    ({**GOOD_CONFIG, "version": 1, "products": [GOOD_CONFIG["products"][1]] * 2},
     "products[1].sku: 'BIKE-C7' appears twice"),
    ({**GOOD_CONFIG, "version": 1, "products": [{**GOOD_CONFIG["products"][1], "currency": "USD"}]},
     "products[0].currency: 'USD' differs from the cabinet's currency 'EUR'"),
])
def test_single_problems_are_named(document, problem):
    with pytest.raises(ConfigInvalid) as refused:
        parse_config(document)
    assert problem in refused.value.problems


def test_secrets_verify_only_with_the_right_value_and_sane_parameters():
    hashed = hash_secret("2468", n=2**10)
    assert verify_secret("2468", hashed) and not verify_secret("2469", hashed)
    assert not verify_secret("2468", "scrypt$4194304$8$1$" + "00" * 16 + "$" + "00" * 32)   # would stall the Pi
    assert not verify_secret("2468", "plain")


def test_a_wrong_container_is_reported_once():
    with pytest.raises(ConfigInvalid) as refused:
        parse_config({"version": 1, "currency": "EUR", "products": {}, "retailer": [], "ads": "none"})
    assert refused.value.problems == ["products: expected array, got object", "ads: expected array, got string",
                                      "retailer: expected object, got array"]
