"""The catalogue form without a browser: prices in units, schedule lines, a stored document through the form
and back, and every parse_config problem placed at its field."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from multidict import MultiDict, MultiDictProxy

from cloud_stub.console.catalogue import (
    document_of,
    field_for,
    form_from_post,
    form_of,
    parse_windows,
    place_problems,
    price_cents,
)
from cloud_stub.console.i18n import PROBLEMS, placeholders, problem_text
from sync_client.cabinet_config import PROBLEM_TEXTS, ConfigInvalid, parse_config

STORED = {
    "currency": "EUR",
    "languages": ["en", "zh"],
    "products": [
        {
            "sku": "BIKE-C7",
            "name": {"en": "Cruiser", "zh": "巡航"},
            "price_cents": 129900,
            "specs": {"range": "80 km"},
            "materials": [{"en": "aluminium", "zh": "铝"}, "leather"],
            "variants": [{"sku": "BIKE-C7-M", "name": {"en": "Mint", "zh": "薄荷绿"}, "colour": "#1f8a70"}],
        }
    ],
    "ads": [
        {"id": "ad-1", "kind": "image", "url": "ads/c7.png", "duration_s": 6, "product": "BIKE-C7",
         "windows": [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}]},
    ],
}  # fmt: skip


def posted(form_values: dict[str, str]) -> MultiDictProxy[str]:
    return MultiDictProxy(MultiDict(form_values))


def fields_of(document: dict) -> dict[str, str]:
    """What the browser posts for the form of ``document``, untouched."""
    form = form_of(document)
    values: dict[str, str] = {}
    for i, p in enumerate(form.products):
        values |= {f"p{i}-sku": p.sku, f"p{i}-price": p.price, f"p{i}-kept": p.kept}
        for name in ("name", "summary", "materials", "design_notes"):
            values |= {f"p{i}-{name}-{lang}": text for lang, text in getattr(p, name).items()}
        for j, v in enumerate(p.variants):
            values |= {f"p{i}-v{j}-sku": v.sku, f"p{i}-v{j}-colour": v.colour}
            values |= {f"p{i}-v{j}-name-{lang}": text for lang, text in v.name.items()}
    for i, a in enumerate(form.ads):
        values |= {
            f"a{i}-{k}": getattr(a, k) for k in ("id", "kind", "url", "duration", "product", "variant", "windows")
        }
        values |= {f"a{i}-text-{lang}": text for lang, text in a.text.items()}
        values[f"a{i}-order"] = str(i + 1)
    return values


def test_the_stored_document_comes_back_from_an_untouched_form() -> None:
    form = form_from_post(posted(fields_of(STORED)), form_of(STORED))
    document, problems = document_of(form, STORED)
    assert problems == {}
    assert parse_config({**document, "version": 1}) == parse_config({**STORED, "version": 1})


def test_a_price_typed_in_units_is_stored_in_cents_and_the_playlist_follows_its_positions() -> None:
    two_ads = {**STORED, "ads": [*STORED["ads"], {"id": "ad-2", "kind": "image", "url": "ads/x.png", "duration_s": 4}]}
    values = fields_of(two_ads) | {"p0-price": "1199.5", "a0-order": "2", "a1-order": "1"}
    document, _ = document_of(form_from_post(posted(values), form_of(two_ads)), two_ads)
    assert document["products"][0]["price_cents"] == 119950
    assert [ad["id"] for ad in document["ads"]] == ["ad-2", "ad-1"]
    assert document["products"][0]["specs"] == {"range": "80 km"}, "what the form does not edit is kept"


def test_removed_items_leave_the_document() -> None:
    values = fields_of(STORED) | {"p0-v0-remove": "1", "a0-remove": "1"}
    document, _ = document_of(form_from_post(posted(values), form_of(STORED)), STORED)
    assert "variants" not in document["products"][0] and document["ads"] == []


def test_prices() -> None:
    assert price_cents("499", "EUR") == 49900
    assert price_cents("499.9", "EUR") == 49990
    assert price_cents("499,90", "EUR") == 49990
    assert price_cents("1500", "JPY") == 1500
    for bad in ("", "4.999", "-3", "1e3", "abc", "1.5", " 3"):
        assert price_cents(bad, "EUR" if bad != "1.5" else "JPY") is None, bad


@given(st.text(max_size=30), st.sampled_from(["EUR", "JPY", "KWD"]))
def test_any_typed_price_is_an_amount_or_refused(typed: str, currency: str) -> None:
    cents = price_cents(typed, currency)
    assert cents is None or (isinstance(cents, int) and cents >= 0)


def test_schedule_lines() -> None:
    assert parse_windows("1-5 09:00-18:00\n6,7 10:00-14:00") == [
        {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"},
        {"days": [5, 6], "start": "10:00", "end": "14:00"},
    ]
    assert parse_windows("") == []
    assert parse_windows("weekdays 9-18") is None


@given(st.text(max_size=60))
def test_any_schedule_text_is_windows_or_refused(typed: str) -> None:
    windows = parse_windows(typed)
    assert windows is None or all(set(w["days"]) <= set(range(7)) for w in windows)


def test_every_problem_of_the_cabinets_rules_lands_next_to_its_field() -> None:
    bad = {
        **STORED,
        "products": [
            {**STORED["products"][0], "variants": [*STORED["products"][0]["variants"], {"sku": "BIKE-C7-M", "name": "M"}]},  # noqa: E501
            {"sku": "OTHER", "name": "", "price_cents": 0},
        ],
        "ads": [{**STORED["ads"][0], "product": "GONE", "windows": [{"days": [], "start": "9", "end": "18:00"}]}],
    }  # fmt: skip
    try:
        parse_config({**bad, "version": 1})
    except ConfigInvalid as exc:
        problems = exc.details
    else:
        raise AssertionError("accepted")
    by_field, general = place_problems(problems, form_of(bad), "en")
    assert general == []
    assert "is already the SKU of" in " ".join(
        by_field["p1-v0-sku"] if "p1-v0-sku" in by_field else by_field["p0-v1-sku"]
    )
    assert any("does not carry" in m for m in by_field["a0-product"])
    assert "a0-windows" in by_field and "p1-price" in by_field and "p1-name-en" in by_field
    # The same problems for a Chinese-speaking user: each field's message in Chinese, values kept.
    zh, _ = place_problems(problems, form_of(bad), "zh")
    assert zh["p1-name-en"] == ["不能为空"]
    assert any("此柜机不售卖该商品" in m and "'GONE'" in m for m in zh["a0-product"])


def test_every_problem_code_has_chinese_with_the_same_placeholders() -> None:
    """The validator's codes and the console's Chinese table cannot drift apart (a code without Chinese would
    show English to a Chinese-speaking owner)."""
    assert set(PROBLEMS["zh"]) == set(PROBLEM_TEXTS) - {"text"}
    for code, text in PROBLEMS["zh"].items():
        assert placeholders(text) == placeholders(PROBLEM_TEXTS[code]), code


def test_a_problem_keeps_its_english_text_for_the_api() -> None:
    try:
        parse_config({"version": 1, "currency": "EURO", "products": [{"sku": "A", "name": "", "price_cents": 0}]})
    except ConfigInvalid as exc:
        assert exc.problems == [p.text for p in exc.details]
        assert "currency: expected an ISO 4217 code like EUR, got 'EURO'" in exc.problems
        assert any(p.startswith("products[0].price_cents: expected an integer >= 1 and <= ") for p in exc.problems)
        assert problem_text(
            exc.details[exc.problems.index("currency: expected an ISO 4217 code like EUR, got 'EURO'")], "zh"
        ) == ("currency: 应为 ISO 4217 币种代码（如 EUR），实际为 'EURO'")
    else:
        raise AssertionError("accepted")


def test_paths_to_fields() -> None:
    ids = {"p0-v1-sku", "p0-name-en", "p0-name-zh", "p0-price", "a2-text-zh", "a0-windows", "p0-materials-en"}
    assert field_for("products[0].variants[1].sku", ids, "en") == "p0-v1-sku"
    assert field_for("products[0].name", ids, "en") == "p0-name-en"
    assert field_for("products[0].name.zh", ids, "en") == "p0-name-zh"
    assert field_for("products[0].price_cents", ids, "en") == "p0-price"
    assert field_for("ads[2].text.zh", ids, "en") == "a2-text-zh"
    assert field_for("ads[0].windows[1].start", ids, "en") == "a0-windows"
    assert field_for("products[0].materials[3].en", ids, "en") == "p0-materials-en"
    assert field_for("currency", ids, "en") is None
