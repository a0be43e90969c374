"""The retailer's content in the shopper's language, drawn with a font that has its glyphs, readable at both
screen sizes however long it is: it wraps and scrolls, never shrinks below the minimum or leaves its box."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pygame
import pygame.freetype
import pytest

from kiosk_ui.app import KioskUi
from kiosk_ui.i18n import LANGUAGES
from kiosk_ui.samples import ADS, PRODUCTS, sample_views
from kiosk_ui.text import TextRenderer
from kiosk_ui.theme import (
    FONT_FILES,
    MIN_TEXT_DESIGN_PX,
    SYSTEM_CJK_DIR,
    SYSTEM_FONT_FILES,
    Fonts,
    Theme,
    undrawable,
)
from kiosk_ui.view import (
    AttractScreen,
    CatalogScreen,
    CheckoutScreen,
    Chrome,
    DoorScreen,
    ProductScreen,
    RestockScreen,
    View,
)
from tests.ui.conftest import RunningUi
from tests.ui.readable import show_readable

SIZES = [(1024, 600), (1920, 1080)]
BEYOND_SUBSET = "鑫淼犇"  # rare in a UI text: not in the bundled subset, but in Noto Sans CJK
LONG = {
    "en": "Der faltbare Pendlerroller mit Doppelbremse, Federung vorn und hellem LED-Display. " * 8,
    "zh": "可折叠通勤滑板车，双刹车、前避震和明亮的 LED 显示屏；单扣三秒折叠，立管可锁在后挡泥板上。" * 8,
}


def labels(ui: KioskUi) -> dict[str, str]:
    return {w.id: w.label for w in ui.widgets()}


def test_catalog_product_attract_and_restock_show_the_chinese_content(static_ui: KioskUi) -> None:
    views = sample_views("zh")
    static_ui.set_state(views["catalog"])
    assert labels(static_ui)["product:SC-URBAN-S2"] == "城市滑翔 S2 电动滑板车"
    static_ui.set_state(views["product"])
    shown = labels(static_ui)
    assert shown["name"] == "城市滑翔 S2 电动滑板车"
    assert [shown[f"variant:{v.sku}"].split(" ·")[0] for v in views["product"].product.variants] == [  # type: ignore[attr-defined]
        "薄荷绿",
        "石墨灰",
        "珊瑚红",
    ]
    assert "可折叠通勤滑板车" in shown["details"] and "材质: 航空级 6061 铝合金踏板" in shown["details"]
    static_ui.set_state(views["attract_ad"])
    assert labels(static_ui)["ad_text"] == "轻松穿行城市"
    static_ui.set_state(views["restock_opened"])
    assert labels(static_ui)["name:EB-CITY-7-AMBER"] == "城市巡航 7 电助力自行车 · 琥珀色"  # a row per variant
    static_ui.set_state(views["checkout"])
    assert labels(static_ui)["name"] == "城市巡航 7 电助力自行车"
    static_ui.set_state(sample_views("en")["attract_ad"])
    assert labels(static_ui)["ad_text"] == "Glide through the city"


def test_cjk_text_beyond_the_bundled_subset_is_drawn_with_real_glyphs(tmp_path: Path) -> None:
    pygame.font.init()
    assert undrawable(BEYOND_SUBSET, cjk_dir=tmp_path) == BEYOND_SUBSET  # the subset alone has none of them
    assert undrawable(BEYOND_SUBSET) == ""  # the system's Noto Sans CJK has them all
    assert undrawable("Volt \U00030000") == "\U00030000"  # CJK Extension G: no font here

    def drawn(fonts: Fonts, char: str) -> bytes:
        surface = TextRenderer(Theme((1024, 600)), fonts).render(char, "body", (255, 255, 255), 200, 60)
        return pygame.image.tobytes(surface, "RGBA")

    # The subset draws every missing character as the same empty box; the full font, each its own glyph.
    subset_only = Fonts(cjk_dir=tmp_path)
    assert len({drawn(subset_only, c) for c in BEYOND_SUBSET}) == 1
    assert len({drawn(Fonts(), c) for c in BEYOND_SUBSET}) == len(BEYOND_SUBSET)
    system = SYSTEM_CJK_DIR / SYSTEM_FONT_FILES["regular"]
    assert all(m is not None for m in pygame.freetype.Font(system, 20).get_metrics(BEYOND_SUBSET))
    assert all(m is None for m in pygame.freetype.Font(FONT_FILES["regular"], 20).get_metrics(BEYOND_SUBSET))


def long_views(language: str) -> list[View]:
    chrome = Chrome(language=language)  # type: ignore[arg-type]
    text = LONG[language]
    product = replace(PRODUCTS[0], name=text[:120], summary=text, materials=text, design_notes=text + BEYOND_SUBSET)
    return [
        ProductScreen(chrome=chrome, product=product, message="declined"),
        ProductScreen(chrome=chrome, product=product),
        CatalogScreen(chrome=chrome, products=(product,) * 4),
        CheckoutScreen(chrome=chrome, product=product),
        DoorScreen(chrome=chrome, product=product, door="opened"),
        AttractScreen(chrome=chrome, products=(product,), ads=(replace(ADS[1], text=text),)),
        RestockScreen(chrome=chrome, products=(product, *PRODUCTS[1:3]), door="opened"),
    ]


@pytest.fixture(scope="module", params=SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def sized_ui(request: pytest.FixtureRequest) -> Iterator[KioskUi]:
    ui = KioskUi(request.param, on_intent=lambda intent: None)
    ui.start()
    yield ui
    ui.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_long_content_is_readable_at_both_sizes(sized_ui: KioskUi, language: str) -> None:
    assert (
        sized_ui.theme.min_text_px
        == {600: 18, 1080: 32}[sized_ui.size[1]]
        == round(MIN_TEXT_DESIGN_PX * sized_ui.size[1] / 600)
    )
    for view in long_views(language):
        show_readable(sized_ui, view)  # nothing below the minimum, nothing overflowing
    show_readable(sized_ui, long_views(language)[0])
    details = next(w for w in sized_ui.widgets() if w.id == "details")
    assert details.extra["room"] > 0 and details.extra["scroll"] == 0  # more below, a drag away
    assert LONG[language] in details.label  # wrapped whole, never cut


async def test_a_long_description_scrolls_under_the_finger(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(long_views("zh")[1])
    await running_ui.wait_frames()
    x, y, w, h = running_ui.widget("details").rect
    await ui.swipe(x + w // 2, y + h - 5, x + w // 2, y + 5, duration_s=0.3)
    await running_ui.wait_frames(3)
    details = running_ui.widget("details")
    assert 0 < details.extra["scroll"] <= details.extra["room"]
    assert all(pygame.Rect(details.rect).contains(pygame.Rect(r)) for r in details.extra["text_rects"])
    assert [i for i in running_ui.intents if i.name != "activity"] == []  # a scroll is no tap
