"""The ending screen says what became of the money, with the reference and a QR to keep; the restock and pickup
door screens say the truth about the latch and the order."""

from __future__ import annotations

import time

from kiosk_ui.app import KioskUi
from kiosk_ui.samples import RECEIPT, REFERENCE, SUPPORT_PHONE, sample_views
from kiosk_ui.view import ThanksScreen
from tests.ui.conftest import assert_refused

VIEWS = sample_views("en")


def labels(ui: KioskUi) -> dict[str, str]:
    return {w.id: w.label for w in ui.widgets()}


def qr_text(ui: KioskUi) -> str:
    return str(next(w.extra["text"] for w in ui.widgets() if w.id == "receipt_qr"))


def test_a_collected_sale_thanks_with_its_reference_receipt_and_a_qr_to_keep(static_ui: KioskUi) -> None:
    static_ui.set_state(VIEWS["thanks"])
    shown = labels(static_ui)
    assert (shown["title"], shown["subtitle"]) == ("Thank you!", "Enjoy your new ride.")
    assert shown["reference"] == f"Reference: {REFERENCE}" and shown["receipt"] == "Terminal receipt no. 0042"
    assert "tick" in shown and "money" not in shown and "support_phone" not in shown
    assert qr_text(static_ui) == RECEIPT


def test_an_unclaimed_sale_never_says_enjoy_your_ride(static_ui: KioskUi) -> None:
    static_ui.set_state(VIEWS["thanks_reversed"])
    shown = labels(static_ui)
    assert shown["money"] == "The door was not opened: your payment was reversed."
    assert shown["title"] == "You have not been charged" and "tick" not in shown
    assert "Enjoy" not in " ".join(shown.values())
    static_ui.set_state(VIEWS["thanks_reversing"])
    shown = labels(static_ui)
    assert shown["money"] == "The door was not opened: your payment is being reversed."
    assert shown["support_phone"] == f"Call us: {SUPPORT_PHONE}" and qr_text(static_ui) == REFERENCE


def test_a_refund_flagged_names_whom_to_call_and_the_reference_in_both_languages(static_ui: KioskUi) -> None:
    static_ui.set_state(VIEWS["thanks_refund_flagged"])
    shown = labels(static_ui)
    assert shown["title"] == "A refund is due to you"
    assert shown["support_phone"] == f"Call us: {SUPPORT_PHONE}" and shown["reference"] == f"Reference: {REFERENCE}"
    static_ui.set_state(sample_views("zh")["thanks_refund_flagged"])
    shown = labels(static_ui)
    assert shown["title"] == "我们将为您退款" and shown["reference"] == f"参考号: {REFERENCE}"


def test_an_ending_about_money_owed_without_a_reference_is_refused(
    static_ui: KioskUi, screen_faults: list[str | None]
) -> None:
    assert_refused(static_ui, screen_faults, ThanksScreen(money="refund_flagged"), "ThanksScreen.reference")
    assert_refused(static_ui, screen_faults, ThanksScreen(money="paid"), "ThanksScreen.money")  # type: ignore[arg-type]


def test_a_prepaid_order_shows_no_total_on_its_door_and_thanks_screens(static_ui: KioskUi) -> None:
    static_ui.set_state(VIEWS["door_pickup"])
    shown = labels(static_ui)
    assert "price" not in shown and "total_label" not in shown and shown["prepaid"] == "Paid online"
    static_ui.set_state(VIEWS["thanks_pickup"])
    assert labels(static_ui)["reference"] == "Order: W-10432"


def test_restock_says_locked_again_once_the_latch_holds_and_offers_unlock_again(static_ui: KioskUi) -> None:
    views = sample_views("en")  # made now: the samples' latch is released 4.5 s after they are made
    static_ui.set_state(views["restock_unlocked"])
    shown = labels(static_ui)
    assert shown["title"] == "Open the door" and "unlock_again" not in shown
    static_ui.set_state(views["restock_relocked"])
    shown = labels(static_ui)
    assert shown["title"] == "The door locked again" and shown["unlock_again"] == "Unlock the door again"
    left = int(views["restock_relocked"].deadline - time.monotonic() + 0.999)  # type: ignore[union-attr]
    assert shown["countdown_text"] in {f"Unlock it again within {s} s" for s in (left - 1, left)}
