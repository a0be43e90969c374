"""Every screen, both languages, two sizes: texts fit their widgets, targets are touchable."""

from __future__ import annotations

import pygame
import pytest

from kiosk_ui import screens
from kiosk_ui.app import KioskUi
from kiosk_ui.i18n import LANGUAGES, t
from kiosk_ui.samples import PRODUCTS, sample_views
from kiosk_ui.theme import MIN_TOUCH
from kiosk_ui.view import CatalogScreen, CheckoutScreen, Chrome, DoorScreen, ProductScreen, ProductView, View
from tests.ui.conftest import assert_refused
from tests.ui.readable import show_readable

SIZES = [(1024, 600), (1920, 1080)]
VIEW_NAMES = list(sample_views())
INTERACTIVE = {"button", "tile", "area", "field", "scrim"}
# Calibration has no header: a button near a corner would catch the touch meant for the corner's target.
HEADLESS = {"calibrate"}


@pytest.fixture(scope="module", params=SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def ui(request: pytest.FixtureRequest):
    ui = KioskUi(request.param, on_intent=lambda intent: None)
    ui.start()
    yield ui
    ui.close()


def inside(inner: tuple[int, int, int, int], outer: tuple[int, int, int, int]) -> bool:
    return pygame.Rect(outer).contains(pygame.Rect(inner))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", VIEW_NAMES)
def test_texts_fit_widgets_and_screen(ui: KioskUi, name: str, language: str) -> None:
    infos = show_readable(ui, sample_views(language)[name])  # no text below the minimum, none overflowing
    assert infos, name
    placed = []
    layer = 0  # a modal prompt is drawn over the screen on a scrim: its texts cover, never collide
    for info in infos:
        layer += info.extra["kind"] == "scrim"
        for text_rect in info.extra["text_rects"]:
            placed.append((info.id, layer, pygame.Rect(text_rect)))
        if info.extra["kind"] in INTERACTIVE:
            assert info.rect[2] >= MIN_TOUCH and info.rect[3] >= MIN_TOUCH, f"{info.id} is too small to touch"
    # No two widgets' texts are drawn over each other.
    for i, (id_a, layer_a, a) in enumerate(placed):
        for id_b, layer_b, b in placed[i + 1 :]:
            assert id_a == id_b or layer_a != layer_b or not a.colliderect(b), f"texts of {id_a} and {id_b} overlap"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", VIEW_NAMES)
def test_language_button_on_every_screen(ui: KioskUi, name: str, language: str) -> None:
    view = sample_views(language)[name]
    ui.set_state(view)
    if view.screen in HEADLESS:
        assert "lang" not in ids(ui)
        return
    lang = next(w for w in ui.widgets() if w.id == "lang")
    assert lang.label == ("中文" if language == "en" else "English")


def ids(ui: KioskUi) -> set[str]:
    return {w.id for w in ui.widgets()}


def test_screens_have_their_documented_widgets(static_ui: KioskUi) -> None:
    views = sample_views("en")
    expected = {
        "attract": {"start", "stage", "pickup", "help"},
        "catalog": {"carousel", "help"} | {f"product:{p.sku}" for p in PRODUCTS[:3]},  # three cards in view
        "product": {"buy", "back"},
        "product_declined": {"buy", "back", "message"},
        "checkout": {"pay:terminal", "pay:qr", "back"},
        "checkout_present_card": {"cancel"},
        "checkout_enter_pin": {"cancel"},
        "checkout_processing": {"cancel"},
        "door_unlocked": {"countdown"},
        "door_unlock_again": {"unlock_again"},
        "thanks": {"done"},
        "door_stuck": {"alarm", "unlock_again", "staff"},
        "pin_pad": {"pin_dots", "pin:submit", "cancel", "key:back"} | {f"key:{d}" for d in "0123456789"},
        "restock_opened": {"title", "count:SC-URBAN-S2-MINT", "count:SC-KIDS-1:minus", "count:SC-KIDS-1:plus"},
        "restock_recorded": {"done", "change:SC-URBAN-S2-CORAL"},
        "repair_vehicle": {"back", "next", "field:vehicle", "kbd:back", "kbd:A", "kbd:0"},
        "repair_contact": {"field:name", "field:phone", "next", "kbd:space"},
        "repair_fault": {"field:description", "next"}
        | {f"fault:{c}" for c in ("battery", "brakes", "tyre", "motor", "display", "other")},
        "repair_consent": {"agree", "cancel", "back"},
        "repair_ticket": {"ticket", "ticket_qr", "keep", "done"},
        "service": {"selftest", "lock_test", "calibrate", "restart", "exit", "pending", "config_version"},
        "service_fingerprint": {"selftest", "lock_test", "calibrate", "enrol", "restart", "exit"},
        "enrol_place": {"step", "detail", "cancel"},
        "enrol_failed": {"step", "detail", "back"},
        "out_of_service": {"title", "subtitle", "staff"},
        "out_of_service_not_charged": {"title", "message"},
        "out_of_service_refund": {"title", "message", "support_phone", "cabinet"},
        "technician": {"need:key", "need:enrolment", "need:config", "hardware_qr", "hardware_id", "fix"},
    }
    for name, wanted in expected.items():
        static_ui.set_state(views[name])
        assert wanted | {"lang"} <= ids(static_ui), (name, wanted | {"lang"} - ids(static_ui))
    static_ui.set_state(views["checkout_terminal_only"])
    assert "pay:terminal" in ids(static_ui) and "pay:qr" not in ids(static_ui)
    static_ui.set_state(views["product"])
    assert "message" not in ids(static_ui)
    static_ui.set_state(views["door_opened"])
    assert not {"unlock_again", "countdown"} & ids(static_ui)
    static_ui.set_state(views["checkout_processing"])
    assert not {"pay:terminal", "pay:qr"} & ids(static_ui)
    static_ui.set_state(views["out_of_service"])
    assert not {"pay:terminal", "pay:qr", "buy", "start", "message", "support_phone"} & ids(static_ui)
    static_ui.set_state(views["service"])
    assert "enrol" not in ids(static_ui), "no fingerprint module: nothing to enrol"
    static_ui.set_state(views["calibrate"])
    assert {"calibration", "cancel", "target:0", "target:3"} <= ids(static_ui)


def test_sold_out_product_shows_sold_out_and_disables_buy(static_ui: KioskUi) -> None:
    static_ui.set_state(sample_views("en")["product_sold_out"])
    widgets = {w.id: w for w in static_ui.widgets()}
    assert widgets["buy"].enabled is False
    assert widgets["stock"].label == "Sold out"
    static_ui.set_state(sample_views("zh")["product"])
    assert {w.id: w for w in static_ui.widgets()}["buy"].enabled is True


def test_prices_and_messages_are_shown(static_ui: KioskUi) -> None:
    cny = ProductView("SC-1", "Scooter", 129900, "CNY", 2)
    static_ui.set_state(ProductScreen(chrome=Chrome(language="zh"), product=cny, message="timed_out"))
    labels = {w.id: w.label for w in static_ui.widgets()}
    assert labels["price"] == "¥1,299.00"
    assert labels["message"] == "付款超时，未扣款。"


def test_offline_indicator_and_cabinet_id(static_ui: KioskUi) -> None:
    static_ui.set_state(CatalogScreen(chrome=Chrome(cabinet_id="CAB-7", online=False)))
    widgets = {w.id: w for w in static_ui.widgets()}
    assert widgets["cabinet_id"].label == "Cabinet CAB-7"
    x, y, w, h = widgets["offline"].rect
    assert x + w > static_ui.size[0] * 0.8 and y + h > static_ui.size[1] * 0.85  # bottom-right corner
    static_ui.set_state(CatalogScreen(chrome=Chrome(cabinet_id="CAB-7", online=True)))
    assert "offline" not in ids(static_ui)


def test_long_texts_are_fitted_not_overflowing(static_ui: KioskUi) -> None:
    long = ProductView(
        "X",
        "Extraordinarily Long Product Name " * 4,
        99999999,
        "EUR",
        1,
        "word " * 200,
        tuple((f"spec{i}", "a very long value " * 5) for i in range(8)),
    )
    views = (ProductScreen(product=long), CheckoutScreen(product=long), DoorScreen(product=long, door="opened"))
    for view in views:
        screen = view.screen
        static_ui.set_state(view)
        for info in static_ui.widgets():
            for text_rect in info.extra["text_rects"]:
                assert inside(text_rect, info.rect), (screen, info.id)
    static_ui.set_state(CatalogScreen(products=(long,) * 8))
    widgets = static_ui.widgets()
    assert len([w for w in widgets if w.id.startswith("product:")]) == 3  # in view; the rest a swipe away
    assert next(w for w in widgets if w.id == "carousel").extra["pages"] == 6


@pytest.mark.parametrize(
    ("field", "view"),
    [
        ("language", CatalogScreen(chrome=Chrome(language="fr"))),  # type: ignore[arg-type]
        ("payment_status", CheckoutScreen(product=PRODUCTS[0], payment_status="paying")),  # type: ignore[arg-type]
        ("message", ProductScreen(product=PRODUCTS[0], message="oops")),  # type: ignore[arg-type]
        ("door", DoorScreen(door="ajar")),  # type: ignore[arg-type]
        ("payment_methods", CheckoutScreen(product=PRODUCTS[0], payment_methods=("cash",))),  # type: ignore[arg-type]
    ],
)
def test_a_bad_view_shows_the_error_screen_and_reports_the_field(
    static_ui: KioskUi, screen_faults: list[str | None], field: str, view: View
) -> None:
    assert_refused(static_ui, screen_faults, view, field)


def test_a_screen_that_fails_to_build_shows_the_error_screen_in_the_view_language(
    static_ui: KioskUi, screen_faults: list[str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(view: object, kit: object, context: object) -> list:
        raise KeyError("a bug in the door screen")

    monkeypatch.setitem(screens.BUILDERS, DoorScreen, broken)
    static_ui.set_state(DoorScreen(chrome=Chrome(language="zh"), door="opened"))
    assert static_ui.screen_id == "error"
    labels = {w.id: w.label for w in static_ui.widgets()}
    assert labels["title"] == t("error.title", "zh") and labels["lang"] == t("lang.toggle", "zh")
    assert screen_faults == ["door screen: 'a bug in the door screen'"]
    static_ui.set_state(DoorScreen(chrome=Chrome(language="zh"), door="closed"))  # the journey moved on
    assert static_ui.screen_id == "error" and screen_faults[-1] == screen_faults[0]  # still refused
    monkeypatch.undo()
    static_ui.set_state(DoorScreen(door="unlocked"))
    assert static_ui.screen_id == "door" and screen_faults[-1] is None


def test_screenshot_is_the_touchscreen(static_ui: KioskUi, tmp_path) -> None:
    static_ui.set_state(sample_views("zh")["thanks"])
    path = tmp_path / "thanks.png"
    static_ui.screenshot(path)
    image = pygame.image.load(path)
    assert image.get_size() == static_ui.size
    done = next(w for w in static_ui.widgets() if w.id == "done")
    x, y, w, h = done.rect
    assert tuple(image.get_at((x + 8, y + h // 2)))[:3] == static_ui.theme.palette.accent
