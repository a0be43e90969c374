"""The configuration document: valid ones parse, bad ones are refused whole with every problem named."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync_client.cabinet_config import (
    MAX_PIN_HASHES,
    ConfigInvalid,
    content_warnings,
    hash_secret,
    parse_config,
    verify_secret,
)
from tests.sync.conftest import GOOD_CONFIG


def test_a_full_document_parses_into_typed_records():
    pin = hash_secret("4711", n=2**10)
    code = hash_secret("12345678", n=2**10)
    config = parse_config(
        {
            **GOOD_CONFIG,
            "version": 3,
            "store_base_url": "https://shop.example/",
            "ads": [
                {
                    "id": "spring",
                    "kind": "video",
                    "url": "https://cdn.example/spring.mp4",
                    "duration_s": 15,
                    "windows": [{"days": [5, 6], "start": "10:00", "end": "20:00"}],
                }
            ],
            "retailer": {"pin_hashes": [pin], "staff_cards": [{"uid": "04a1b2c3", "role": "technician"}]},
            "pickup_orders": [
                {"order_id": "o-1", "sku": "BIKE-C7", "code_hash": code, "expires_at": "2030-01-01T00:00:00.000Z"}
            ],
        }
    )
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
    bad = {
        **GOOD_CONFIG,
        "version": 0,
        "currency": "euro",
        "colour": "red",
        "products": [
            {"sku": "A B", "name": "", "price_cents": -5},
            {"sku": "X", "name": "x", "price_cents": True},
            {"sku": "Y", "name": "y", "price_cents": 100, "media": [{"kind": "gif", "url": "../etc"}]},
        ],
        "ads": [
            {
                "id": "a",
                "kind": "image",
                "url": "a.png",
                "duration_s": 5,
                "windows": [{"days": [7], "start": "25:00", "end": "10:00"}],
            }
        ],
        "retailer": {"pin_hashes": ["1234"], "staff_cards": [{"uid": "zz", "role": "boss"}]},
        "pickup_orders": [{"order_id": "o", "sku": "NOPE", "code_hash": "x", "expires_at": "tomorrow"}],
    }
    with pytest.raises(ConfigInvalid) as refused:
        parse_config(bad)
    assert refused.value.problems == [
        (
            "colour: unknown key (known: version, currency, products, config_schema, ads, retailer, pickup_orders, "
            "scan_to_pay, store_base_url, link_base, support_phone, fallback_language, languages, place, "
            "callback_retention_days)"
        ),
        "version: expected an integer >= 1 and <= 9223372036854775807, got 0",
        "currency: expected an ISO 4217 code like EUR, got 'euro'",
        "products[0].price_cents: expected an integer >= 1 and <= 10000000, got -5",
        "products[0].sku: 'A B' is not 1-64 characters from A-Z a-z 0-9 . _ -",
        "products[0].name: must not be empty",
        "products[1].price_cents: expected integer, got boolean",
        "products[2].media[0].kind: expected one of image, video, got 'gif'",
        "products[2].media[0].url: expected an http(s) URL or a relative media path, got '../etc'",
        "ads[0].windows[0].days[0]: expected an integer >= 0 and <= 6, got 7",
        "ads[0].windows[0].start: expected HH:MM, got '25:00'",
        "retailer.pin_hashes[0]: expected scrypt$n$r$p$salt_hex$hash_hex (salt and hash 16 to 64 bytes of "
        "lower-case hex)",
        "retailer.staff_cards[0].uid: expected 4 to 10 bytes of lower-case hex, got 'zz'",
        "retailer.staff_cards[0].role: expected one of retailer, technician, got 'boss'",
        "pickup_orders[0].sku: 'NOPE' is not in products",
        "pickup_orders[0].code_hash: expected scrypt$n$r$p$salt_hex$hash_hex (salt and hash 16 to 64 bytes of "
        "lower-case hex)",
        "pickup_orders[0].expires_at: expected ISO 8601 UTC like 2026-11-25T16:39:53.123Z",
    ]


@pytest.mark.parametrize(
    "document, problem",
    [
        ([], "config: expected object, got array"),
        ({"version": 1, "products": []}, "currency: required"),
        (
            {**GOOD_CONFIG, "version": 1, "config_schema": 2},
            "config_schema: 2 not supported by this cabinet (it reads 1)",
        ),
        (
            {**GOOD_CONFIG, "version": 1, "products": [GOOD_CONFIG["products"][1]] * 2},
            "products[1].sku: 'BIKE-C7' appears twice",
        ),
        (
            {**GOOD_CONFIG, "version": 1, "products": [{**GOOD_CONFIG["products"][1], "currency": "USD"}]},
            "products[0].currency: 'USD' differs from the cabinet's currency 'EUR'",
        ),
    ],
)
def test_single_problems_are_named(document, problem):
    with pytest.raises(ConfigInvalid) as refused:
        parse_config(document)
    assert problem in refused.value.problems


def test_secrets_verify_only_with_the_right_value_and_sane_parameters():
    hashed = hash_secret("2468", n=2**10)
    assert verify_secret("2468", hashed) and not verify_secret("2469", hashed)
    assert not verify_secret("2468", "scrypt$4194304$8$1$" + "00" * 16 + "$" + "00" * 32)  # would stall the Pi
    assert not verify_secret("2468", "plain")


def test_a_wrong_container_is_reported_once():
    with pytest.raises(ConfigInvalid) as refused:
        parse_config({"version": 1, "currency": "EUR", "products": {}, "retailer": [], "ads": "none"})
    assert refused.value.problems == [
        "products: expected array, got object",
        "ads: expected array, got string",
        "retailer: expected object, got array",
    ]


AD = {"id": "a", "kind": "image", "url": "a.png", "duration_s": 5}


@pytest.mark.parametrize(
    "text, problem",
    [
        ('{"duration_s": NaN}', "ads[0].duration_s: expected a finite number > 0 and <= 600, got nan"),
        ('{"duration_s": Infinity}', "ads[0].duration_s: expected a finite number > 0 and <= 600, got inf"),
        ('{"duration_s": 1e999}', "ads[0].duration_s: expected a finite number > 0 and <= 600, got inf"),
        ('{"duration_s": -Infinity}', "ads[0].duration_s: expected a finite number > 0 and <= 600, got -inf"),
        ('{"duration_s": 0}', "ads[0].duration_s: expected a finite number > 0 and <= 600, got 0"),
        ('{"duration_s": -0.5}', "ads[0].duration_s: expected a finite number > 0 and <= 600, got -0.5"),
        (
            '{"windows": [{"days": [-1], "start": "10:00", "end": "11:00"}]}',
            "ads[0].windows[0].days[0]: expected an integer >= 0 and <= 6, got -1",
        ),
    ],
)
def test_every_number_the_cloud_sends_is_finite_and_in_range_or_the_field_is_named(text, problem):
    """What the cabinet's JSON parser makes of a hostile cloud's NaN, Infinity and overflowing literals."""
    document = {**GOOD_CONFIG, "version": 1, "ads": [{**AD, **json.loads(text)}]}
    with pytest.raises(ConfigInvalid) as refused:
        parse_config(document)
    assert refused.value.problems == [problem]


@pytest.mark.parametrize(
    "field, value, problem",
    [
        ("price_cents", 0, "expected an integer >= 1 and <= 10000000, got 0"),
        ("price_cents", -100, "expected an integer >= 1 and <= 10000000, got -100"),
        ("price_cents", 10**30, "expected an integer >= 1 and <= 10000000, got 1000000000000000000000000000000"),
        ("price_cents", float("nan"), "expected integer, got number"),
    ],
)
def test_prices_are_in_range(field, value, problem):
    document = {**GOOD_CONFIG, "version": 1, "products": [{**GOOD_CONFIG["products"][1], field: value}]}
    with pytest.raises(ConfigInvalid) as refused:
        parse_config(document)
    assert refused.value.problems == [f"products[0].{field}: {problem}"]


def test_a_version_beyond_what_the_store_can_hold_is_refused():
    with pytest.raises(ConfigInvalid, match="version: expected an integer >= 1 and <= 9223372036854775807"):
        parse_config({**GOOD_CONFIG, "version": 2**63})


SALT, DIGEST = "ab" * 16, "cd" * 32


@pytest.mark.parametrize(
    "hashed, problem",
    [
        (f"scrypt$1000$8$1${SALT}${DIGEST}", "n must be a power of two from 2 to 32768, got 1000"),
        (f"scrypt$3$8$1${SALT}${DIGEST}", "n must be a power of two from 2 to 32768, got 3"),
        (f"scrypt$1$8$1${SALT}${DIGEST}", "n must be a power of two from 2 to 32768, got 1"),
        (f"scrypt$0$8$1${SALT}${DIGEST}", "n must be a power of two from 2 to 32768, got 0"),
        (f"scrypt$65536$8$1${SALT}${DIGEST}", "n must be a power of two from 2 to 32768, got 65536"),
        (f"scrypt$1048576$1$1${SALT}${DIGEST}", "n must be a power of two from 2 to 32768, got 1048576"),
        (f"scrypt$16384$9$1${SALT}${DIGEST}", "r must be 1 to 8, got 9"),
        (f"scrypt$16384$0$1${SALT}${DIGEST}", "r must be 1 to 8, got 0"),
        (f"scrypt$16384$8$3${SALT}${DIGEST}", "p must be 1 to 2, got 3"),
        (f"scrypt$16384$8$0${SALT}${DIGEST}", "p must be 1 to 2, got 0"),
        (f"scrypt$16384$8$1${'ab' * 8}${DIGEST}", "expected scrypt$n$r$p$salt_hex$hash_hex"),  # 8-byte salt
        (f"scrypt$16384$8$1${SALT}a${DIGEST}", "expected scrypt$n$r$p$salt_hex$hash_hex"),  # half a byte
        (f"scrypt$16384$8$1${SALT}${'cd' * 8}", "expected scrypt$n$r$p$salt_hex$hash_hex"),  # 8-byte hash
        (f"scrypt$16384$8$1${SALT}${'cd' * 65}", "expected scrypt$n$r$p$salt_hex$hash_hex"),  # 65 bytes
        (f"scrypt$16384$8$1${SALT.upper()}${DIGEST}", "expected scrypt$n$r$p$salt_hex$hash_hex"),
        (f"scrypt$99999999999$8$1${SALT}${DIGEST}", "expected scrypt$n$r$p$salt_hex$hash_hex"),
        (f"bcrypt$16384$8$1${SALT}${DIGEST}", "expected scrypt$n$r$p$salt_hex$hash_hex"),
    ],
)
@pytest.mark.parametrize("where", ["retailer.pin_hashes[0]", "pickup_orders[0].code_hash"])
def test_a_secret_hash_out_of_format_or_bounds_refuses_the_whole_document(hashed, problem, where):
    document = (
        {**GOOD_CONFIG, "version": 1, "retailer": {"pin_hashes": [hashed]}}
        if where.startswith("retailer")
        else {
            **GOOD_CONFIG,
            "version": 1,
            "pickup_orders": [
                {"order_id": "o-1", "sku": "BIKE-C7", "code_hash": hashed, "expires_at": "2030-01-01T00:00:00.000Z"}
            ],
        }
    )
    with pytest.raises(ConfigInvalid) as refused:
        parse_config(document)
    [found] = refused.value.problems
    assert found.startswith(f"{where}: {problem}")
    assert not verify_secret("1234", hashed)  # and it is never run, whoever asks


def test_the_bounds_themselves_are_accepted_and_verify():
    hashed = hash_secret("1234", n=2**15, r=8, p=2)
    config = parse_config({**GOOD_CONFIG, "version": 1, "retailer": {"pin_hashes": [hashed]}})
    assert config.retailer.pin_ok("1234") and not config.retailer.pin_ok("4321")


def test_at_most_twenty_pin_hashes():
    hashes = [f"scrypt$2$1$1${f'{i:032x}'}${DIGEST}" for i in range(MAX_PIN_HASHES + 1)]
    parse_config({**GOOD_CONFIG, "version": 1, "retailer": {"pin_hashes": hashes[:MAX_PIN_HASHES]}})
    with pytest.raises(ConfigInvalid) as refused:
        parse_config({**GOOD_CONFIG, "version": 1, "retailer": {"pin_hashes": hashes}})
    assert refused.value.problems == ["retailer.pin_hashes: at most 20 PIN hashes, got 21"]


hash_parts = st.tuples(
    st.sampled_from(["scrypt", "bcrypt"]),
    st.one_of(st.integers(0, 2**21), st.sampled_from([2**k for k in range(1, 17)])),
    st.integers(0, 20),
    st.integers(0, 5),
    st.text("0123456789abcdefABC", max_size=140),
    st.text("0123456789abcdef", max_size=140),
)


@settings(max_examples=300, deadline=None)
@given(duration=st.floats(allow_nan=True, allow_infinity=True), parts=hash_parts)
def test_any_number_and_any_hash_is_either_in_bounds_or_refused_by_name(duration, parts):
    hashed = "$".join(str(x) for x in parts)
    document = {
        **GOOD_CONFIG,
        "version": 1,
        "ads": [{**AD, "duration_s": duration}],
        "retailer": {"pin_hashes": [hashed]},
    }
    try:
        config = parse_config(document)
    except ConfigInvalid as refused:
        assert all(p.startswith(("ads[0].duration_s: ", "retailer.pin_hashes[0]: ")) for p in refused.problems)
        return
    assert 0 < config.ads[0].duration_s <= 600
    scheme, n, r, p, salt, digest = parts
    assert scheme == "scrypt" and n & (n - 1) == 0 and 2 <= n <= 2**15 and 1 <= r <= 8 and 1 <= p <= 2
    assert 32 <= len(salt) <= 128 and 32 <= len(digest) <= 128 and salt == salt.lower()


def test_texts_are_plain_strings_or_per_language_and_round_trip():
    old = parse_config({**GOOD_CONFIG, "version": 1})  # a document from before languages
    assert old.languages == ("en",) and old.product("SCOOT-S1").name.in_("zh") == old.product("SCOOT-S1").name.fallback
    document = {
        **GOOD_CONFIG,
        "version": 2,
        "fallback_language": "en",
        "languages": ["en", "zh"],
        "products": [
            {
                **GOOD_CONFIG["products"][0],
                "name": {"zh": "滑板车", "en": "Scooter"},
                "colours": [{"en": "Mint:#2ee59d", "zh": "薄荷绿"}, "Graphite"],
            }
        ],
        "ads": [{"id": "a", "kind": "image", "url": "a.png", "duration_s": 5, "text": {"en": "Ride", "zh": "骑行"}}],
    }
    config = parse_config(document)
    name = config.products[0].name
    assert name.in_("zh") == "滑板车" and name.in_("en") == "Scooter" and name.fallback == "Scooter"
    assert config.ads[0].text.in_("zh") == "骑行"
    missing = content_warnings(config)
    assert "products[0] (SCOOT-S1).colours[1]: no zh text; the en text is shown instead" in missing
    assert not [m for m in missing if ".name" in m or "colours[0]" in m or m.startswith("ads")]
    assert parse_config(config.to_json()) == config
    assert config.to_json()["products"][0]["name"] == {"en": "Scooter", "zh": "滑板车"}


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"languages": ["en", "fr"]}, "languages: 'fr' is not a language the screen speaks (en, zh)"),
        ({"fallback_language": "zh", "languages": ["en"]}, "fallback_language: 'zh' is not in languages (en)"),
        (
            {"products": [{**GOOD_CONFIG["products"][0], "name": {"en": "S", "zh": "滑板车"}}]},
            "products[0].name.zh: language not declared in languages (declared: en)",
        ),
        (
            {"languages": ["en", "zh"], "products": [{**GOOD_CONFIG["products"][0], "summary": {"zh": "城市"}}]},
            "products[0].summary: no text in the fallback language 'en'",
        ),
        (
            {"languages": ["en", "zh"], "products": [{**GOOD_CONFIG["products"][0], "name": {"en": "S", "zh": 7}}]},
            "products[0].name.zh: expected string, got integer",
        ),
        (
            {"languages": ["en", "zh"], "products": [{**GOOD_CONFIG["products"][0], "name": {"en": "S", "zh": " "}}]},
            "products[0].name.zh: must not be empty",
        ),
        (
            {"ads": [{"id": "a", "kind": "image", "url": "a.png", "duration_s": 5, "text": ["x"]}]},
            "ads[0].text: expected string or object, got array",
        ),
    ],
)
def test_a_bad_localized_text_is_refused_naming_the_field_and_language(change, problem):
    with pytest.raises(ConfigInvalid) as refused:
        parse_config({**GOOD_CONFIG, "version": 1, **change})
    assert problem in refused.value.problems


_language = st.sampled_from(["en", "zh", "fr", "", "EN"])
_localized = st.one_of(
    st.text(max_size=20), st.dictionaries(_language, st.one_of(st.text(max_size=20), st.integers(), st.none()))
)


@given(name=_localized, summary=_localized, colours=st.lists(_localized, max_size=3), ad=_localized, fallback=_language)
@settings(max_examples=300, deadline=None)
def test_any_localized_text_is_parsed_or_refused_by_name(name, summary, colours, ad, fallback):
    product = {**GOOD_CONFIG["products"][0], "name": name, "summary": summary, "colours": colours}
    document = {**GOOD_CONFIG, "version": 1, "fallback_language": fallback, "languages": ["en", "zh"]}
    document["products"] = [product]
    document["ads"] = [{**AD, "text": ad}]
    try:
        config = parse_config(document)
    except ConfigInvalid as refused:
        assert refused.problems and all(
            p.split(":")[0].startswith(
                (
                    "ads[0].text",
                    "products[0].name",
                    "products[0].summary",
                    "products[0].colours",
                    "fallback_language",
                    "languages",
                )
            )
            for p in refused.problems
        ), refused.problems
        return
    parsed = config.products[0]
    for lang in ("en", "zh"):  # every language shows something, the fallback's where no translation is
        expected = name.get(lang, name[fallback]) if isinstance(name, dict) else name
        assert parsed.name.in_(lang) == expected
        shown = ad.get(lang, ad[fallback]) if isinstance(ad, dict) else ad
        assert config.ads[0].text.in_(lang) == shown
    assert parse_config(config.to_json()) == config


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (0, "expected an integer >= 1 and <= 365, got 0"),
        (366, "expected an integer >= 1 and <= 365, got 366"),
        ("30", "expected integer, got string"),
        (True, "expected integer, got boolean"),
    ],
)
def test_the_call_back_retention_is_days_within_a_year_or_refused_by_name(value, says):
    config = parse_config({**GOOD_CONFIG, "version": 1, "callback_retention_days": 30})
    assert config.callback_retention_days == 30 and parse_config(config.to_json()) == config
    assert parse_config({**GOOD_CONFIG, "version": 1}).callback_retention_days is None, "absent: not offered"
    with pytest.raises(ConfigInvalid) as refused:
        parse_config({**GOOD_CONFIG, "version": 1, "callback_retention_days": value})
    assert refused.value.problems == [f"callback_retention_days: {says}"]
