"""Variants (each with its own SKU and stock) and ads tied to the catalog, in the configuration document:
parsed the same way by the cabinet and the cloud, refused whole with the reason when they do not fit."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sync_client.cabinet_config import ConfigInvalid, ConfigVariant, Text, parse_config
from sync_client.config_sync import ConfigSync
from tests.sync.conftest import CAB, GOOD_CONFIG, Site

AD = {"id": "ad-volt", "kind": "image", "url": "ads/urban-glide.png", "duration_s": 6}
VARIANTS = [
    {"sku": "SCOOT-S1-MINT", "name": "Mint", "colour": "#2ede9f"},
    {"sku": "SCOOT-S1-GRAPHITE", "name": "Graphite", "colour": "graphite"},
    {"sku": "SCOOT-S1-XL", "name": "XL frame"},  # an option that is no colour
]
SCOOTER = {"sku": "SCOOT-S1", "name": "Volt S1 e-scooter", "price_cents": 49900, "variants": VARIANTS}
BIKE = {"sku": "BIKE-C7", "name": "Cruiser C7 e-bike", "price_cents": 129900}


def document(**changes: Any) -> dict[str, Any]:
    return {"version": 1, "currency": "EUR", "products": [SCOOTER, BIKE], **changes}


def refusal(doc: dict[str, Any]) -> list[str]:
    try:
        parse_config(doc)
    except ConfigInvalid as refused:
        return refused.problems
    raise AssertionError("the document was accepted")


def test_variants_each_have_their_sku_name_and_swatch_and_survive_the_round_trip() -> None:
    config = parse_config(document())
    scooter, bike = config.product("SCOOT-S1"), config.product("BIKE-C7")
    assert scooter is not None and bike is not None
    assert scooter.sold_variants() == (
        ConfigVariant("SCOOT-S1-MINT", Text.plain("Mint"), "#2ede9f"),
        ConfigVariant("SCOOT-S1-GRAPHITE", Text.plain("Graphite"), "graphite"),
        ConfigVariant("SCOOT-S1-XL", Text.plain("XL frame"), ""),
    )
    assert bike.sold_variants() == ()  # counted under its own SKU
    assert parse_config(config.to_json()) == config


def test_a_configuration_from_before_variants_still_loads_its_colours_as_variants() -> None:
    old = {**SCOOTER, "colours": ["Mint", "Signature:#1f8a70", "Graphite", "mint"]}
    del old["variants"]
    config = parse_config(document(products=[old, BIKE]))
    scooter = config.product("SCOOT-S1")
    assert scooter is not None
    variants = scooter.sold_variants()
    assert [(v.sku, v.name.fallback, v.colour) for v in variants] == [
        ("SCOOT-S1-mint", "Mint", "Mint"),
        ("SCOOT-S1-signature", "Signature", "#1f8a70"),
        ("SCOOT-S1-graphite", "Graphite", "Graphite"),
        ("SCOOT-S1-mint-4", "mint", "mint"),  # two colours of one name still get two SKUs
    ]
    assert parse_config(config.to_json()) == config  # cached and read back as it came


def test_variants_that_do_not_fit_are_named() -> None:
    assert refusal(document(products=[{**SCOOTER, "colours": ["Mint"]}, BIKE])) == [
        "products[0].colours: give the colours as variants (each with its SKU), not beside them"
    ]
    twice = [VARIANTS[0], {**VARIANTS[1], "sku": "SCOOT-S1-MINT"}]
    assert refusal(document(products=[{**SCOOTER, "variants": twice}, BIKE])) == [
        "products[0].variants[1].sku: 'SCOOT-S1-MINT' is already the SKU of a variant of 'SCOOT-S1'"
    ]
    clash = [{"sku": "BIKE-C7", "name": "Mint"}]
    assert refusal(document(products=[{**SCOOTER, "variants": clash}, BIKE])) == [
        "products[0].variants[0].sku: 'BIKE-C7' is already the SKU of product 'BIKE-C7'"
    ]
    bad = [{"sku": "no spaces", "name": " ", "colour": "#12", "size": "M"}]
    assert refusal(document(products=[{**SCOOTER, "variants": bad}, BIKE])) == [
        "products[0].variants[0].size: unknown key (known: sku, name, colour, store_url)",
        "products[0].variants[0].sku: 'no spaces' is not 1-64 characters from A-Z a-z 0-9 . _ -",
        "products[0].variants[0].name: must not be empty",
        "products[0].variants[0].colour: expected #rrggbb or a colour name, got '#12'",
    ]


def test_an_ad_names_a_product_and_variant_the_cabinet_carries_or_is_refused_with_the_reason() -> None:
    config = parse_config(document(ads=[{**AD, "product": "SCOOT-S1", "variant": "SCOOT-S1-XL"}, AD]))
    assert [(a.product, a.variant) for a in config.ads] == [("SCOOT-S1", "SCOOT-S1-XL"), ("", "")]
    assert refusal(document(ads=[AD, {**AD, "id": "ad-trike", "product": "TRIKE-T3"}])) == [
        "ads[1].product: ad 'ad-trike' advertises 'TRIKE-T3', which this cabinet does not carry"
    ]
    assert refusal(document(ads=[{**AD, "product": "BIKE-C7", "variant": "SCOOT-S1-MINT"}])) == [
        "ads[0].variant: ad 'ad-volt' names 'SCOOT-S1-MINT', which is not a variant of 'BIKE-C7'"
    ]
    assert refusal(document(ads=[{**AD, "variant": "SCOOT-S1-MINT"}])) == [
        "ads[0].variant: ad 'ad-volt' names variant 'SCOOT-S1-MINT' without its product"
    ]


def test_a_pickup_order_may_name_a_variant() -> None:
    from sync_client.cabinet_config import hash_secret

    order = {"order_id": "o-1", "code_hash": hash_secret("12345678", n=2**4), "expires_at": "2030-01-01T00:00:00Z"}
    config = parse_config(document(pickup_orders=[{**order, "sku": "SCOOT-S1-MINT"}]))
    assert config.pickup_orders[0].sku == "SCOOT-S1-MINT"
    assert refusal(document(pickup_orders=[{**order, "sku": "SCOOT-S1-RED"}])) == [
        "pickup_orders[0].sku: 'SCOOT-S1-RED' is not in products"
    ]


async def test_an_ad_for_a_product_not_carried_is_refused_by_the_cloud_and_by_the_cabinet(site: Site) -> None:
    bad = {**GOOD_CONFIG, "ads": [{**AD, "id": "ad-trike", "product": "TRIKE-T3"}]}
    status, body = await site.retailer("PUT", f"/v1/retailer/cabinets/{CAB}/config", bad)
    assert isinstance(body, dict)
    assert (status, body["error"]) == (
        422,
        "ads[0].product: ad 'ad-trike' advertises 'TRIKE-T3', which this cabinet does not carry",
    )

    sync = ConfigSync(site.outbox, site.client)
    good = {**GOOD_CONFIG, "ads": [{**AD, "product": "BIKE-C7"}]}
    assert (await site.retailer("PUT", f"/v1/retailer/cabinets/{CAB}/config", good))[0] == 200
    assert (await sync.pull()).outcome == "applied"
    good_etag = sync.current_etag()
    site.store.put_config(CAB, bad)  # past the API: a cloud on other rules, or a bug
    result = await sync.pull()
    assert result.outcome == "rejected"
    assert result.reason == "ads[0].product: ad 'ad-trike' advertises 'TRIKE-T3', which this cabinet does not carry"
    current = sync.current()
    assert sync.current_etag() == good_etag and current is not None
    assert current.ads[0].product == "BIKE-C7"  # the last good one stays
    [rejected] = site.outbox.events("config.rejected")
    assert "ad-trike" in rejected.payload["reason"] and "TRIKE-T3" in rejected.payload["reason"]


skus = st.sampled_from(["SCOOT-S1", "BIKE-C7", "SCOOT-S1-MINT", "SCOOT-S1-XL", "TRIKE", "", "bad sku"])
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=8), skus)


@settings(max_examples=300, deadline=None)
@given(
    ads=st.lists(st.fixed_dictionaries({"product": json_scalars}, optional={"variant": json_scalars}), max_size=3),
    variants=st.lists(
        st.fixed_dictionaries({"sku": json_scalars, "name": json_scalars}, optional={"colour": json_scalars}),
        max_size=3,
    ),
)
def test_any_variants_and_ad_products_load_consistently_or_are_refused_by_field(
    ads: list[dict[str, Any]], variants: list[dict[str, Any]]
) -> None:
    doc = document(
        products=[{**SCOOTER, "variants": variants}, BIKE],
        ads=[{**AD, "id": f"ad-{i}", **ad} for i, ad in enumerate(ads)],
    )
    try:
        config = parse_config(doc)
    except ConfigInvalid as refused:
        assert refused.problems and all(
            p.startswith(("ads[", "products[0].variants[")) and ": " in p for p in refused.problems
        ), refused.problems
        return
    all_skus = [p.sku for p in config.products] + [v.sku for p in config.products for v in p.sold_variants()]
    assert len(all_skus) == len(set(all_skus)), "every stock SKU names one count"
    for ad in config.ads:
        product = config.product(ad.product)
        assert ad.product == "" or product is not None, "an ad advertises only what the cabinet carries"
        assert ad.variant == "" or product is not None and ad.variant in {v.sku for v in product.sold_variants()}
    assert parse_config(config.to_json()) == config
