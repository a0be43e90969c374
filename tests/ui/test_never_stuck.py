"""Never stuck, as the screens show it: help and a way back or home on every screen a shopper reaches, the
payment's time left, buy off with its reason, and a message that never shrinks the product's text."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from kiosk_ui.app import KioskUi
from kiosk_ui.samples import accessible_views, sample_views
from kiosk_ui.theme import MIN_TEXT_DESIGN_PX
from kiosk_ui.view import SCREENS, Language, ProductScreen

STAFF = {"pin_pad", "restock", "service", "calibrate", "enrol"}  # reached with a card or a hidden hold, not a shopper's
# The screens without a way back or home, and why: attract is home; at the door a paid sale goes on by
# itself; a cabinet that needs a technician has no other screen (it sells nothing, offers no help).
NO_WAY_BACK = {"attract", "door", "technician"}
NO_HELP = {"help", "technician"}  # help itself; the technician's screen
PRODUCT_TEXT = {"name", "price", "stock", "details"}  # details: summary, materials, design notes (scrolled)


@pytest.fixture(scope="module", params=[(1024, 600), (1920, 1080)], ids=lambda s: f"{s[0]}x{s[1]}")
def ui(request: pytest.FixtureRequest) -> Iterator[KioskUi]:
    ui = KioskUi(request.param, on_intent=lambda intent: None)
    ui.start()
    yield ui
    ui.close()


@pytest.mark.parametrize("accessible", [False, True], ids=["standard", "accessible"])
@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_shopper_screen_has_help_and_a_way_back_or_home(
    ui: KioskUi, language: Language, accessible: bool
) -> None:
    seen = set()
    views = accessible_views(language) if accessible else sample_views(language)
    for name, view in views.items():
        if view.screen in STAFF:
            continue
        ui.set_state(view)
        ids = {w.id for w in ui.widgets() if w.enabled}
        seen.add(view.screen)
        assert ("help" in ids) == (view.screen not in NO_HELP), f"{name}: help"
        assert bool(ids & {"back", "home"}) == (view.screen not in NO_WAY_BACK), f"{name}: back or home"
    assert seen == set(SCREENS) - STAFF, "every shopper's screen id was walked"


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("message", ["declined", "timed_out", "sold_out"])
def test_a_message_on_the_product_leaves_its_text_at_its_size(ui: KioskUi, language: Language, message: str) -> None:
    plain = sample_views(language)["product"]
    assert isinstance(plain, ProductScreen)

    def text_heights(view: ProductScreen) -> dict[str, list[int]]:
        ui.set_state(view)
        return {w.id: [r[3] for r in w.extra["text_rects"]] for w in ui.widgets() if w.id in PRODUCT_TEXT}

    without = text_heights(plain)
    with_message = text_heights(ProductScreen(**{**plain.__dict__, "message": message}))
    assert set(without) == set(PRODUCT_TEXT)
    assert with_message == without, "the banner took its own room, not the text's"
    banner = next(w for w in ui.widgets() if w.id == "message")
    assert all(h >= MIN_TEXT_DESIGN_PX for h in (r[3] for r in banner.extra["text_rects"]))


def test_the_payment_wait_shows_the_time_left(ui: KioskUi) -> None:
    views = sample_views("en", deadline=time.monotonic() + 42.5)
    ui.set_state(views["checkout_present_card_countdown"])
    countdown = next(w for w in ui.widgets() if w.id == "payment_countdown")
    assert countdown.label in ("42 s left to pay", "43 s left to pay")


def test_no_way_to_pay_turns_buy_off_and_says_why(ui: KioskUi) -> None:
    ui.set_state(sample_views("en")["product_no_method"])
    widgets = {w.id: w for w in ui.widgets()}
    assert not widgets["buy"].enabled
    assert "unavailable" in widgets["buy_reason"].label
    ui.set_state(sample_views("en")["checkout_no_method"])
    widgets = {w.id: w for w in ui.widgets()}
    assert not any(i.startswith("pay:") for i in widgets) and widgets["message"].label.startswith("No way to pay")
