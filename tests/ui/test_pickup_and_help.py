"""Pickup keypad and the help screen, through real taps; bad values of their views are refused."""

from __future__ import annotations

import time

import pytest

from kiosk_ui.app import KioskUi
from kiosk_ui.intents import Activity, PressKey, SubmitPickupCode
from kiosk_ui.samples import ADS, PRODUCTS, SUPPORT_PHONE, sample_views
from kiosk_ui.view import AdView, AttractScreen, CheckoutScreen, Chrome, HelpScreen, PickupScreen, View
from tests.ui.conftest import RunningUi, assert_refused

VIEWS = sample_views("en")


def typed(ui: KioskUi) -> str:
    return "".join(
        w.label
        for w in sorted((w for w in ui.widgets() if w.id.startswith("code:")), key=lambda w: int(w.id.split(":")[1]))
    )


def enabled(ui: KioskUi, widget_id: str) -> bool:
    return next(w for w in ui.widgets() if w.id == widget_id).enabled


async def test_typing_a_pickup_code_and_submitting_it(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(PickupScreen(code_length=4))
    assert not enabled(ui, "pickup:submit") and not enabled(ui, "key:back")
    for key in "4071":
        await ui.tap_widget(f"key:{key}")
    await ui.tap_widget("key:9")  # a fifth digit does not fit a 4-digit code
    assert typed(ui) == "4071"
    await ui.tap_widget("key:back")
    await ui.tap_widget("key:5")
    assert typed(ui) == "4075" and enabled(ui, "pickup:submit")
    await ui.tap_widget("pickup:submit")
    keys = [i.key for i in running_ui.intents if isinstance(i, PressKey)]
    assert keys == ["4", "0", "7", "1", "9", "back", "5"]
    assert running_ui.intents[-1] == SubmitPickupCode("4075")
    ui.set_state(PickupScreen(code_length=4, message="pickup_wrong_code"))
    assert typed(ui) == "4075", "a wrong code stays typed, so the shopper can correct it"
    assert running_ui.widget("message").label == "That code is wrong. Check the digits and correct them."
    await ui.tap_widget("key:back")
    await ui.tap_widget("key:6")
    await ui.tap_widget("pickup:submit")
    assert running_ui.intents[-1] == SubmitPickupCode("4076")


async def test_wrong_code_and_locked_keypad(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(VIEWS["pickup_wrong_code"])
    assert running_ui.widget("message").label == "That code is wrong. Check the digits and correct them."
    ui.set_state(PickupScreen(message="pickup_locked", deadline=time.monotonic() + 30.2))
    assert running_ui.widget("message_text").label == "Too many tries. Please wait 31 s."
    assert not any(w.enabled for w in ui.widgets() if w.id.startswith("key:"))
    await ui.tap_widget("key:1")
    assert running_ui.intents == [Activity()] and typed(ui) == ""


async def test_a_used_code_says_already_collected_and_a_code_being_checked_holds_the_keys(
    running_ui: RunningUi,
) -> None:
    ui = running_ui.ui
    ui.set_state(VIEWS["pickup_already_collected"])
    assert running_ui.widget("message").label == "This order has already been collected."
    assert enabled(ui, "key:1"), "a used code does not lock the keypad"
    ui.set_state(sample_views("zh")["pickup_already_collected"])
    assert running_ui.widget("message").label == "该订单已被提取。"
    ui.set_state(VIEWS["pickup_checking"])
    assert running_ui.widget("message").label == "Checking…"
    assert not any(w.enabled for w in ui.widgets() if w.id.startswith(("key:", "pickup:")))
    await ui.tap_widget("key:1")
    assert running_ui.intents == [Activity()] and typed(ui) == ""


async def test_attract_offers_pickup_and_help_and_catalog_help(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(VIEWS["attract"])
    await ui.tap_widget("pickup")
    await ui.tap_widget("help")
    ui.set_state(VIEWS["catalog"])
    await ui.tap_widget("help")
    ui.set_state(VIEWS["help"])
    await ui.tap_widget("back")
    assert [i.name for i in running_ui.intents if i.name != "activity"] == ["pickup", "help", "help", "back"]


def test_help_shows_how_to_reach_the_retailer_and_the_cabinet(static_ui: KioskUi) -> None:
    static_ui.set_state(sample_views("zh", cabinet_id="CAB-0099")["help"])
    labels = {w.id: w.label for w in static_ui.widgets()}
    assert labels["support_phone"] == SUPPORT_PHONE and labels["cabinet"] == "CAB-0099"
    static_ui.set_state(HelpScreen(chrome=Chrome(cabinet_id="CAB-1")))
    labels = {w.id: w.label for w in static_ui.widgets()}
    assert labels["support_phone"] == "Please ask at the mall's information desk."
    assert "support_qr" not in labels


@pytest.mark.parametrize(
    ("field", "view"),
    [
        ("payment_qr", CheckoutScreen(product=PRODUCTS[0], payment_status="scan_to_pay")),
        ("code_length", PickupScreen(code_length=0)),
        ("ads", AttractScreen(ads=(AdView("x", "gif", ADS[1].path, 5.0),))),  # type: ignore[arg-type]
        ("ads", AttractScreen(ads=(AdView("x", "image", ADS[1].path, 0),))),
    ],
)
def test_bad_new_fields_are_refused_by_name(
    static_ui: KioskUi, screen_faults: list[str | None], field: str, view: View
) -> None:
    assert_refused(static_ui, screen_faults, view, field)
