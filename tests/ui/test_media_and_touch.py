"""Ads with proof of play, swipes with inertia, the 360° view, QR codes read back from screenshots."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pygame
import pytest
import zxingcpp

from kiosk_ui import ads as ads_module
from kiosk_ui import assets, moving
from kiosk_ui.app import KioskUi
from kiosk_ui.intents import Activity, AdShown, Buy, ChooseVariant, Intent, OpenAd, SelectProduct, Turn
from kiosk_ui.samples import ADS, PRODUCTS, sample_views, store_url
from kiosk_ui.view import AdView, AttractScreen, CatalogScreen, ProductScreen
from tests.ui.conftest import RunningUi

ACTIVITY = Activity()
VIEWS = sample_views("en")


def decode_qr_codes(png: Path) -> list[str]:
    pixels = pygame.surfarray.array3d(pygame.image.load(png))  # width x height x RGB
    grey = np.ascontiguousarray(pixels.mean(axis=2).T.astype(np.uint8))
    return [result.text for result in zxingcpp.read_barcodes(grey)]


def not_activity(intents: list[Intent]) -> list[Intent]:
    return [i for i in intents if i.name != "activity"]


async def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


# -- QR codes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(1024, 600), (1920, 1080)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("language", ["en", "zh"])
def test_product_qr_is_the_store_url_with_the_cabinet_id(tmp_path: Path, size, language: str) -> None:
    ui = KioskUi(size, on_intent=lambda intent: None)
    ui.start()
    try:
        for name in ("product", "product_online"):
            view = sample_views(language, cabinet_id="CAB-7781")[name]
            ui.set_state(view)
            ui.settle()
            png = tmp_path / f"{name}-{language}.png"
            ui.screenshot(png)
            assert decode_qr_codes(png) == [store_url(view.product.sku, "CAB-7781")]
            assert "cabinet=CAB-7781" in store_url(view.product.sku, "CAB-7781")
    finally:
        ui.close()


def test_scan_to_pay_shows_the_payment_qr_and_no_qr_without_a_store_url(static_ui: KioskUi, tmp_path: Path) -> None:
    view = VIEWS["checkout_scan_to_pay"]
    static_ui.set_state(view)
    static_ui.screenshot(tmp_path / "pay.png")
    assert decode_qr_codes(tmp_path / "pay.png") == [view.payment_qr]
    static_ui.set_state(ProductScreen(product=PRODUCTS[0]))
    static_ui.screenshot(tmp_path / "none.png")
    assert decode_qr_codes(tmp_path / "none.png") == []
    assert "store_qr" not in {w.id for w in static_ui.widgets()}


def test_scan_to_pay_is_offered_only_online(static_ui: KioskUi) -> None:
    static_ui.set_state(VIEWS["checkout_offline"])
    widgets = {w.id: w for w in static_ui.widgets()}
    assert widgets["pay:qr"].enabled is False and widgets["pay:terminal"].enabled is True
    static_ui.set_state(VIEWS["checkout"])
    assert {w.id: w for w in static_ui.widgets()}["pay:qr"].enabled is True


def test_online_only_product_offers_the_store_instead_of_buy(static_ui: KioskUi) -> None:
    static_ui.set_state(VIEWS["product_online"])
    widgets = {w.id: w for w in static_ui.widgets()}
    assert "buy" not in widgets and "online_only" in widgets
    assert widgets["stock"].label == "Order online"
    assert widgets["store_qr"].extra["text"] == store_url(PRODUCTS[3].sku, "CAB-0042")


# -- swipes ----------------------------------------------------------------------------------------------


def carousel(running_ui: RunningUi):
    return running_ui.widget("carousel")


async def test_swipe_moves_the_carousel_and_is_not_a_tap(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(VIEWS["catalog"])
    await running_ui.wait_frames()
    x, y, w, h = running_ui.widget(f"product:{PRODUCTS[1].sku}").rect
    # Start the swipe on a card: lifting the finger must not select it.
    await ui.swipe(x + w // 2, y + h // 2, x + w // 2 - 300, y + h // 2, duration_s=0.2)
    await wait_for(lambda: not carousel(running_ui).extra["moving"])
    assert carousel(running_ui).extra["page"] > 0
    assert running_ui.intents == [ACTIVITY]
    visible = [w.id for w in ui.widgets() if w.id.startswith("product:")]
    assert f"product:{PRODUCTS[0].sku}" not in visible and len(visible) == 3
    # The cards now in view take taps.
    await ui.tap_widget(visible[-1])
    assert running_ui.intents[-1] == SelectProduct(visible[-1].split(":", 1)[1])


async def test_a_flick_travels_further_than_a_slow_drag_of_the_same_length(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(CatalogScreen(products=PRODUCTS * 3))  # 15 cards
    await running_ui.wait_frames()
    y = ui.size[1] // 2
    await ui.swipe(700, y, 500, y, duration_s=0.8, steps=16)  # slow: no inertia
    await wait_for(lambda: not carousel(running_ui).extra["moving"])
    slow = carousel(running_ui).extra["page"]
    ui.set_state(VIEWS["attract"])
    ui.set_state(CatalogScreen(products=PRODUCTS * 3))  # a new visit starts at the first card
    await running_ui.wait_frames()
    assert carousel(running_ui).extra["page"] == 0
    await ui.swipe(700, y, 500, y, duration_s=0.08, steps=6)  # a flick coasts on
    await wait_for(lambda: not carousel(running_ui).extra["moving"])
    assert carousel(running_ui).extra["page"] > slow >= 0
    assert not_activity(running_ui.intents) == []


async def test_arrow_buttons_step_the_carousel_without_telling_the_firmware(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(VIEWS["catalog"])
    await ui.tap_widget("carousel:next")
    await wait_for(lambda: carousel(running_ui).extra["page"] == 1 and not carousel(running_ui).extra["moving"])
    await ui.tap_widget("carousel:prev")
    await wait_for(lambda: carousel(running_ui).extra["page"] == 0 and not carousel(running_ui).extra["moving"])
    assert running_ui.intents == [ACTIVITY, ACTIVITY]


async def test_small_finger_wobble_is_still_a_tap(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(VIEWS["product"])
    x, y, w, h = running_ui.widget("buy").rect
    await ui.swipe(x + w // 2, y + h // 2, x + w // 2 + 5, y + h // 2 + 3, duration_s=0.05, steps=3)
    assert running_ui.intents == [ACTIVITY, Buy()]


async def test_swipe_outside_the_touchscreen_is_refused(running_ui: RunningUi) -> None:
    with pytest.raises(ValueError, match="outside"):
        await running_ui.ui.swipe(10, 10, running_ui.ui.size[0] + 50, 10)


# -- the 360° view -------------------------------------------------------------------------------------------


async def test_dragging_turns_the_product_and_it_turns_by_itself_when_left(
    running_ui: RunningUi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(moving, "AUTO_AFTER_S", 0.6)
    ui = running_ui.ui
    ui.set_state(VIEWS["product"])
    await wait_for(lambda: running_ui.widget("spinner").extra["frames"] == 36)
    x, y, w, h = running_ui.widget("spinner").rect
    await ui.swipe(x + w // 4, y + h // 2, x + w * 3 // 4, y + h // 2, duration_s=0.5, steps=10)
    turned = running_ui.widget("spinner").extra["angle"]
    assert 60 < turned < 300  # half the card's width is a good part of a turn
    await wait_for(lambda: running_ui.widget("spinner").extra["angle"] != turned, timeout=3)
    first = running_ui.widget("spinner").extra["angle"]
    await asyncio.sleep(0.5)
    assert running_ui.widget("spinner").extra["angle"] != first  # still turning, on its own
    assert not_activity(running_ui.intents) == [Turn()], "the turn is told to the firmware once (the funnel counts it)"


def test_drawn_turntable_squashes_and_mirrors(static_ui: KioskUi) -> None:
    static_ui.set_state(VIEWS["product"])
    static_ui.settle()
    spinner = next(w for w in static_ui._widgets if w.id == "spinner")
    frames = spinner.frames()
    assert len(frames) == 36

    def drawn_width(frame: pygame.Surface) -> int:
        bounds = frame.get_bounding_rect()  # opaque frames: measure against the background instead
        pixels = pygame.surfarray.array3d(frame).astype(int)
        background = np.array(static_ui.theme.palette.surface)
        columns = np.nonzero((np.abs(pixels - background).sum(axis=2) > 30).any(axis=1))[0]
        return int(columns[-1] - columns[0]) if len(columns) else bounds.w

    side, edge_on, back = drawn_width(frames[0]), drawn_width(frames[9]), drawn_width(frames[18])
    assert edge_on < side * 0.4 and abs(back - side) <= 2
    mirrored = pygame.surfarray.array3d(pygame.transform.flip(frames[0], True, False))
    assert np.abs(mirrored.astype(int) - pygame.surfarray.array3d(frames[18]).astype(int)).mean() < 2


async def test_variant_choice_is_shown_at_once_and_reported(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(VIEWS["product"])
    await ui.tap_widget("variant:SC-URBAN-S2-GRAPHITE")
    assert not_activity(running_ui.intents) == [ChooseVariant("SC-URBAN-S2-GRAPHITE")]
    chips = {w.id: w.extra["chosen"] for w in ui.widgets() if w.id.startswith("variant:")}
    assert chips == {
        "variant:SC-URBAN-S2-MINT": False,
        "variant:SC-URBAN-S2-GRAPHITE": True,
        "variant:SC-URBAN-S2-CORAL": False,
    }


async def test_a_variant_out_of_stock_says_so_and_cannot_be_chosen(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(VIEWS["product"])
    coral = next(w for w in ui.widgets() if w.id == "variant:SC-URBAN-S2-CORAL")
    assert not coral.enabled and not coral.extra["in_stock"]
    assert coral.label == "Coral · sold out"
    await ui.tap_widget("variant:SC-URBAN-S2-CORAL")
    assert not_activity(running_ui.intents) == [], "no choice of a variant that is not there"
    chosen = [w.id for w in ui.widgets() if w.id.startswith("variant:") and w.extra["chosen"]]
    assert chosen == ["variant:SC-URBAN-S2-MINT"]


async def test_animation_frames_never_load_from_disk(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    for name in ("product", "catalog"):
        ui.set_state(VIEWS[name])
        await running_ui.wait_frames()
    await asyncio.sleep(0.3)  # frames of the 360° view made on the worker
    before, frames = assets.loads_on_thread(), ui.frame_count
    ui.set_state(VIEWS["product"])
    x, y, w, h = running_ui.widget("spinner").rect
    await ui.swipe(x + 20, y + h // 2, x + w - 20, y + h // 2, duration_s=0.3)
    ui.set_state(VIEWS["catalog"])
    await ui.swipe(900, 300, 200, 300, duration_s=0.15)
    await running_ui.wait_frames(10)
    assert ui.frame_count - frames > 10
    assert assets.loads_on_thread() == before


# -- ads ------------------------------------------------------------------------------------------------------


async def test_image_ad_reports_its_impression_once_it_is_on_screen(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(VIEWS["attract_ad"])
    await wait_for(lambda: AdShown(ADS[1].id) in running_ui.intents)
    stage = running_ui.widget("stage").extra
    assert (stage["showing"], stage["ad"]) == ("ad", ADS[1].id)
    await asyncio.sleep(0.2)
    assert running_ui.intents.count(AdShown(ADS[1].id)) == 1  # once per showing
    await ui.tap(ui.size[0] // 2, ui.size[1] // 2)  # touch anywhere over the ad: what it advertises
    assert running_ui.intents[-2:] == [ACTIVITY, OpenAd(ADS[1].id)]


async def test_video_ad_plays_at_its_frame_rate(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(VIEWS["attract_video"])
    await wait_for(lambda: AdShown(ADS[0].id) in running_ui.intents)
    stage = pygame.Rect(running_ui.widget("stage").rect)
    probe = pygame.Rect(stage.x, stage.y + stage.h // 3, stage.w, stage.h // 3)

    def picture() -> bytes:
        return pygame.image.tobytes(pygame.display.get_surface().subsurface(probe), "RGB")

    first, frames = picture(), ui.frame_count
    await asyncio.sleep(0.5)
    drawn = ui.frame_count - frames
    assert picture() != first  # the scooter rides across
    assert 5 <= drawn <= 20  # ~25 video frames/s, not the loop's 60


async def test_playlist_alternates_ads_and_showcases_and_skips_broken_ads(
    running_ui: RunningUi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(ads_module, "SHOWCASE_S", 0.3)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    playlist = (
        AdView("a", "image", ADS[1].path, 0.3),
        AdView("broken", "image", str(broken), 0.3),
        AdView("b", "image", ADS[2].path, 0.3),
    )
    ui = running_ui.ui
    ui.set_state(AttractScreen(products=PRODUCTS, ads=playlist))
    seen: list[str] = []

    def record() -> bool:
        showing = running_ui.widget("stage").extra
        label = showing["ad"] or "showcase"
        if not seen or seen[-1] != label:
            seen.append(label)
        return AdShown("b") in running_ui.intents

    await wait_for(record, timeout=8)
    shown = [i.ad_id for i in running_ui.intents if isinstance(i, AdShown)]
    assert shown == ["a", "b"]
    assert seen == ["a", "showcase", "b"]  # the broken ad never showed: one showcase ran on


def test_attract_without_ads_showcases_products(static_ui: KioskUi) -> None:
    static_ui.set_state(VIEWS["attract"])
    widgets = {w.id: w for w in static_ui.widgets()}
    assert widgets["stage"].extra["showing"] == "showcase"
    assert widgets["hero_name"].label == PRODUCTS[0].name
    assert widgets["pickup"].rect[3] >= 64 and widgets["help"].rect[3] >= 64
