from __future__ import annotations

import pytest
from fontTools.ttLib import TTFont

from kiosk_ui.i18n import CURRENCY_SYMBOLS, LANGUAGES, STRINGS, SYMBOLS, font_characters, format_price, t
from kiosk_ui.theme import FONT_FILES


def test_every_string_has_every_language() -> None:
    for key, entry in STRINGS.items():
        assert set(entry) == set(LANGUAGES), key
        assert all(text.strip() for text in entry.values()), key


@pytest.mark.parametrize("weight", sorted(FONT_FILES))
def test_font_subset_holds_every_character_of_every_string(weight: str) -> None:
    cmap = TTFont(FONT_FILES[weight]).getBestCmap()
    needed = {ch for entry in STRINGS.values() for text in entry.values() for ch in text}
    needed |= set("".join(CURRENCY_SYMBOLS.values())) | set(SYMBOLS)
    missing = sorted(ch for ch in needed if ord(ch) not in cmap)
    assert not missing, f"run scripts/subset_cjk_font.py; {FONT_FILES[weight].name} lacks {''.join(missing)!r}"
    assert set(font_characters()) >= needed


def test_zh_strings_are_chinese_not_copies_of_english() -> None:
    assert any("\u4e00" <= ch <= "\u9fff" for ch in t("checkout.title", "zh"))
    untranslated = [k for k, v in STRINGS.items() if v["en"] == v["zh"] and not k.startswith("lang")]
    assert untranslated == []


@pytest.mark.parametrize(
    ("cents", "currency", "text"),
    [
        (129900, "EUR", "€1,299.00"),
        (129900, "CNY", "¥1,299.00"),
        (5, "EUR", "€0.05"),
        (123456789, "cny", "¥1,234,567.89"),
        (1000, "CHF", "CHF 10.00"),
    ],
)
def test_prices_are_formatted_per_currency(cents: int, currency: str, text: str) -> None:
    assert format_price(cents, currency) == text


@pytest.mark.parametrize("bad", [-1, 12.5, "100"])
def test_bad_price_is_refused_by_name(bad: object) -> None:
    with pytest.raises(ValueError, match="price"):
        format_price(bad, "EUR")  # type: ignore[arg-type]


def test_placeholders_are_filled_and_unknown_language_is_refused() -> None:
    assert t("door.latch_countdown", "en", seconds=7) == "The lock is open for 7 s: pull the door now"
    assert "7" in t("door.latch_countdown", "zh", seconds=7)
    with pytest.raises(ValueError, match="language"):
        t("brand", "fr")
