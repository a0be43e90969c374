"""The door screen tells what the door cycle says: the latch's real pulse first, then the time left to open
the door, with "unlock again" only where the journey allows another release."""

from __future__ import annotations

import time

from kiosk_ui.app import KioskUi
from kiosk_ui.samples import PRODUCTS
from kiosk_ui.view import Chrome, DoorScreen


def labels(ui: KioskUi) -> dict[str, str]:
    return {w.id: w.label for w in ui.widgets()}


def test_while_the_latch_is_released_the_countdown_is_the_pulse_not_the_time_to_open(static_ui: KioskUi) -> None:
    now = time.monotonic()
    static_ui.set_state(DoorScreen(product=PRODUCTS[0], door="unlocked", latch_until=now + 3.5, deadline=now + 44.5))
    shown = labels(static_ui)
    assert shown["title"] == "Open the door and take your product"
    assert shown["countdown"] == "4"
    assert shown["countdown_text"] == "The lock is open for 4 s: pull the door now"
    assert "unlock_again" not in shown


def test_once_the_latch_holds_again_it_says_so_and_counts_down_the_time_to_unlock_again(static_ui: KioskUi) -> None:
    now = time.monotonic()
    view = DoorScreen(product=PRODUCTS[0], door="unlocked", deadline=now + 40.5, can_unlock_again=True)
    static_ui.set_state(view)
    shown = labels(static_ui)
    assert shown["title"] == "The door locked again"
    assert shown["countdown"] == "41"
    assert shown["countdown_text"] == "Unlock it again within 41 s"
    assert shown["unlock_again"] == "Unlock the door again"
    static_ui.set_state(
        DoorScreen(chrome=Chrome(language="zh"), product=PRODUCTS[0], door="unlocked", deadline=now + 40.5)
    )
    shown = labels(static_ui)
    assert shown["title"] == "柜门已重新上锁" and shown["countdown_text"] == "柜门保持锁定，41 秒后结束"


def test_no_unlock_again_is_offered_when_the_journey_allows_no_more(static_ui: KioskUi) -> None:
    now = time.monotonic()
    static_ui.set_state(DoorScreen(product=PRODUCTS[0], door="unlocked", deadline=now + 9.5, alarm="door_stuck"))
    shown = labels(static_ui)
    assert "unlock_again" not in shown, "a stuck door with no release left offers nothing it cannot do"
    assert shown["countdown_text"] == "The door stays locked. This ends in 10 s"
