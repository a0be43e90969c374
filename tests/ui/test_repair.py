"""Repair drop-off through real touches: typing on the keyboards, the firmware's values and errors,
the categories, the consent and the ticket QR; and bad values of the staff and repair views refused by name."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pygame
import pytest

from kiosk_ui.app import KioskUi
from kiosk_ui.intents import (
    Activity,
    Agree,
    Back,
    Cancel,
    ChooseFaultCategory,
    Done,
    Intent,
    Next,
    OpenRepair,
    SetField,
)
from kiosk_ui.samples import PRODUCTS, sample_views
from kiosk_ui.text import ELLIPSIS, tail
from kiosk_ui.theme import Fonts
from kiosk_ui.view import (
    AttractScreen,
    Chrome,
    DoorScreen,
    PinPadScreen,
    RepairScreen,
    RestockScreen,
    ServiceScreen,
    SyncView,
    View,
)
from tests.ui.conftest import RunningUi, assert_refused, with_chrome
from tests.ui.keys import text_key_taps
from tests.ui.test_media_and_touch import decode_qr_codes

VIEWS = sample_views("en")


def said(running_ui: RunningUi) -> list[Intent]:
    return [i for i in running_ui.intents if i.name != "activity"]


def widget(ui: KioskUi, widget_id: str):
    return next(w for w in ui.widgets() if w.id == widget_id)


def ids(ui: KioskUi) -> set[str]:
    return {w.id for w in ui.widgets()}


async def type_text(ui: KioskUi, text: str) -> None:
    """On the frame number's keys (upper case and digits), or the layered text keyboard."""
    if "kbd:shift" not in ids(ui):
        for char in text:
            await ui.tap_widget(f"kbd:{char}")
        return
    for key in text_key_taps(text):
        await ui.tap_widget(key)


async def test_attract_offers_the_repair_drop_off(running_ui: RunningUi) -> None:
    running_ui.ui.set_state(VIEWS["attract"])
    await running_ui.ui.tap_widget("repair")
    assert running_ui.intents == [Activity(), OpenRepair()]


async def test_typing_the_frame_number_and_moving_on(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(VIEWS["repair_vehicle"])
    assert not widget(ui, "next").enabled and widget(ui, "field:vehicle").label == ""
    assert "kbd:space" not in ids(ui)  # frame numbers have no spaces
    await type_text(ui, "WBX9")
    await ui.tap_widget("kbd:back")
    await type_text(ui, "A1")
    assert widget(ui, "field:vehicle").label == "WBXA1" and widget(ui, "next").enabled
    assert said(running_ui) == []  # keys tell the firmware nothing
    await ui.tap_widget("next")
    assert said(running_ui) == [SetField("vehicle", "WBXA1"), Next()]
    await ui.tap_widget("back")
    assert said(running_ui)[-1] == Back()


async def test_a_scanned_vehicle_id_replaces_the_typed_one_once(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(VIEWS["repair_vehicle"])
    await type_text(ui, "12")
    ui.set_state(replace(VIEWS["repair_vehicle"], fields=(("vehicle", "WBAEB71080C123456"),)))
    assert widget(ui, "field:vehicle").label == "WBAEB71080C123456"
    await ui.tap_widget("kbd:back")
    ui.set_state(
        with_chrome(replace(VIEWS["repair_vehicle"], fields=(("vehicle", "WBAEB71080C123456"),)), online=False)
    )
    assert widget(ui, "field:vehicle").label == "WBAEB71080C12345"  # the same value again: typing stands


async def test_contact_fields_take_the_keyboard_they_need(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(VIEWS["repair_vehicle"])
    await type_text(ui, "WB1")
    ui.set_state(replace(VIEWS["repair_vehicle"], step="contact"))  # the typed vehicle stays with the visit
    assert widget(ui, "field:name").extra["focused"] and "kbd:q" in ids(ui) and "kbd:+" not in ids(ui)
    await type_text(ui, "LI WEI")
    await ui.tap_widget("field:phone")
    assert widget(ui, "field:phone").extra["focused"] and "kbd:+" in ids(ui) and "kbd:q" not in ids(ui)
    await type_text(ui, "+49")
    assert not widget(ui, "kbd:+").enabled  # "+" only first
    await type_text(ui, "1701")
    await ui.tap_widget("next")
    assert said(running_ui) == [SetField("name", "LI WEI"), SetField("phone", "+491701"), Next()]
    await ui.tap_widget("field:name")
    await ui.tap_widget("kbd:back")
    assert widget(ui, "field:name").label == "LI WE" and widget(ui, "field:phone").label == "+491701"


def test_field_errors_show_under_their_field_and_take_the_focus(static_ui: KioskUi) -> None:
    static_ui.set_state(VIEWS["repair_contact"])
    assert widget(static_ui, "field:name").extra["focused"] and "error:phone" not in ids(static_ui)
    static_ui.set_state(VIEWS["repair_contact_errors"])
    error, phone = widget(static_ui, "error:phone"), widget(static_ui, "field:phone")
    assert error.label == "Please enter a valid phone number."
    assert phone.extra["focused"] and error.rect[1] >= phone.rect[1] + phone.rect[3]  # under the field
    assert abs(error.rect[0] - phone.rect[0]) <= 2
    static_ui.set_state(with_chrome(VIEWS["repair_contact_errors"], language="zh"))
    assert widget(static_ui, "error:phone").label == "请输入有效的手机号码。"


async def test_fault_category_and_description(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(replace(VIEWS["repair_fault"], fields=(), fault_category=None))
    assert not widget(ui, "next").enabled  # a category first
    assert {f"fault:{c}" for c in ("battery", "brakes", "tyre", "motor", "display", "other")} <= ids(ui)
    await ui.tap_widget("fault:tyre")
    assert widget(ui, "next").enabled
    await type_text(ui, "FLAT 2X")
    field = widget(ui, "field:description")
    assert field.label == "FLAT 2X" and field.extra["focused"]
    await ui.tap_widget("next")
    assert said(running_ui) == [
        ChooseFaultCategory("tyre"),
        SetField("description", "FLAT 2X"),
        Next(),
    ]


async def test_description_stops_at_200_characters_and_shows_its_end(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    long = "BRAKE " * 33  # 198 characters
    ui.set_state(replace(VIEWS["repair_fault"], fields=(("description", long),)))
    await type_text(ui, "xyz")
    field = widget(ui, "field:description")
    assert field.label == long + "xy" and len(field.label) == 200
    assert not widget(ui, "kbd:q").enabled and widget(ui, "kbd:back").enabled
    texts = field.extra["text_rects"]
    assert len(texts) == 3 and all(pygame.Rect(field.rect).contains(pygame.Rect(t)) for t in texts)


def test_tail_keeps_the_end_that_fits() -> None:
    pygame.font.init()
    font = Fonts().get("regular", 20)
    text = "".join(f"word{i} " for i in range(60)).strip()
    shown = tail(text, font, 300)
    assert shown.startswith(ELLIPSIS) and text.endswith(shown[1:]) and font.size(shown)[0] <= 300
    two = tail(text, font, 300, 2)
    assert len(two) > len(shown) and text.endswith(two[1:].lstrip())
    assert tail("short", font, 300) == "short"


async def test_consent_shows_what_is_kept_and_asks(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(VIEWS["repair_consent"])
    labels = {w.id: w.label for w in ui.widgets()}
    assert "30 days" in labels["notice:kept"] and "Only the retailer" in labels["notice:who"]
    assert all(word in labels["notice:stored"] for word in ("name", "phone", "frame number", "fault"))
    assert (labels["detail:vehicle"], labels["detail:name"], labels["detail:category"]) == (
        "WBAEB71080C123456",
        "LI WEI",
        "Brakes",
    )
    await ui.tap_widget("agree")
    await ui.tap_widget("cancel")
    assert said(running_ui) == [Agree(), Cancel()]


async def test_ticket_is_shown_large_and_as_a_qr_code(running_ui: RunningUi, tmp_path: Path) -> None:
    ui = running_ui.ui
    for language in ("en", "zh"):
        ui.set_state(sample_views(language)["repair_ticket"])
        assert widget(ui, "ticket").label == "R-2024-0815" and "back" not in ids(ui)
        ui.screenshot(tmp_path / "ticket.png")
        assert decode_qr_codes(tmp_path / "ticket.png") == ["R-2024-0815"]
    assert widget(ui, "keep").label == "请妥善保存"
    await ui.tap_widget("done")
    assert said(running_ui) == [Done()]


@pytest.mark.parametrize(
    ("field", "view"),
    [
        ("step", RepairScreen(step="payment")),  # type: ignore[arg-type]
        ("ticket", RepairScreen(step="ticket")),
        ("fields", RepairScreen(step="vehicle", fields=(("email", "a@b"),))),  # type: ignore[arg-type]
        ("fields", RepairScreen(step="fault", fields=(("description", "x" * 201),))),
        ("fields", RepairScreen(step="vehicle", fields=("vehicle",))),  # type: ignore[arg-type]
        ("field_errors", RepairScreen(step="contact", field_errors=(("phone", "bad"),))),  # type: ignore[arg-type]
        ("fault_category", RepairScreen(step="fault", fault_category="wheels")),  # type: ignore[arg-type]
        ("counts", RestockScreen(counts=(("SC-1", -1),))),
        ("counts", RestockScreen(counts=(("SC-1", 1), ("SC-1", 2)))),
        ("changes", RestockScreen(changes=(("SC-1", "2"),))),  # type: ignore[arg-type]
        ("alarm", DoorScreen(alarm="fire")),  # type: ignore[arg-type]
        ("attempts_left", PinPadScreen(message="pin_wrong", attempts_left=-1)),
        ("staff_hold_s", AttractScreen(chrome=Chrome(staff_hold_s=0))),
        ("devices", ServiceScreen(devices=(("lock", "broken", ""),))),  # type: ignore[arg-type]
        ("selftest", ServiceScreen(selftest="done")),  # type: ignore[arg-type]
        ("sync", ServiceScreen(sync=SyncView(pending=-1))),
        ("alarms", ServiceScreen(alarms=(("ok", 3),))),  # type: ignore[arg-type]
    ],
)
def test_bad_new_fields_are_refused_by_name(
    static_ui: KioskUi, screen_faults: list[str | None], field: str, view: View
) -> None:
    assert_refused(static_ui, screen_faults, view, field)


def test_new_fields_default_so_existing_states_stay_valid(static_ui: KioskUi) -> None:
    static_ui.set_state(DoorScreen(product=PRODUCTS[0], door="opened"))
    assert "alarm" not in ids(static_ui)
    static_ui.set_state(RestockScreen())
    assert widget(static_ui, "empty").label == "This cabinet has no products to count."


async def test_the_name_keyboard_types_case_accents_and_punctuation(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(replace(VIEWS["repair_contact"], fields=()))
    assert {"kbd:m", "kbd:shift", "kbd:accents", "kbd:symbols", "kbd:'", "kbd:-"} <= ids(ui)
    await ui.tap_widget("kbd:shift")
    assert "kbd:M" in ids(ui) and "kbd:m" not in ids(ui)  # shift shows the capitals
    await ui.tap_widget("kbd:M")
    assert "kbd:u" in ids(ui)  # one letter, then lower case again
    await ui.tap_widget("kbd:accents")
    assert {"kbd:ä", "kbd:ö", "kbd:ü", "kbd:é", "kbd:è", "kbd:à", "kbd:ç", "kbd:ñ", "kbd:ß"} <= ids(ui)
    await ui.tap_widget("kbd:ü")
    await ui.tap_widget("kbd:letters")
    for key in "ller":
        await ui.tap_widget(f"kbd:{key}")
    assert widget(ui, "field:name").label == "Müller"
    await ui.tap_widget("kbd:space")
    await type_text(ui, "O'Brien-Smith & Co./Ltd.")
    assert widget(ui, "field:name").label == "Müller O'Brien-Smith & Co./Ltd."
    await ui.tap_widget("field:phone")
    await type_text(ui, "01701234567")
    await ui.tap_widget("next")
    assert said(running_ui)[-3:] == [
        SetField("name", "Müller O'Brien-Smith & Co./Ltd."),
        SetField("phone", "01701234567"),
        Next(),
    ]
