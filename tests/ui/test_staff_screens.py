"""The hidden staff entry, the PIN pad, restock, door alarms, the service menu and touch calibration,
through real touches on the running frame loop."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pygame
import pytest

from kiosk_ui.app import KioskUi
from kiosk_ui.intents import (
    Activity,
    Cancel,
    Done,
    ExitService,
    Intent,
    LockTest,
    OpenCalibration,
    OpenStaff,
    Restart,
    RunSelfTest,
    SetCount,
    SubmitCalibration,
    SubmitPin,
    UnlockAgain,
)
from kiosk_ui.samples import ACCESSORIES, PRODUCTS, sample_views
from kiosk_ui.screens import service
from kiosk_ui.screens.calibrate import target_centres
from kiosk_ui.view import STAFF_HOLD_S, Chrome, Language, PinPadScreen, RestockScreen, ServiceScreen, SyncView
from tests.ui.conftest import RunningUi, with_chrome

ACTIVITY = Activity()
VIEWS = sample_views("en")


def said(running_ui: RunningUi) -> list[Intent]:
    return [i for i in running_ui.intents if i.name != "activity"]


def widget(ui: KioskUi, widget_id: str):
    return next(w for w in ui.widgets() if w.id == widget_id)


def ids(ui: KioskUi) -> set[str]:
    return {w.id for w in ui.widgets()}


# -- the hidden staff entry --------------------------------------------------------------------------


async def test_holding_the_brand_for_the_default_time_emits_staff(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(VIEWS["attract"])
    assert STAFF_HOLD_S >= 3
    await ui.press_widget("brand", STAFF_HOLD_S)
    assert running_ui.intents == [ACTIVITY, OpenStaff()]


async def test_a_tap_or_a_short_press_on_the_brand_does_nothing(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(with_chrome(VIEWS["attract"], staff_hold_s=0.8))
    await ui.tap_widget("brand")
    await ui.tap_widget("brand_mark")
    await ui.press_widget("brand", 0.4)
    assert running_ui.intents == [ACTIVITY] * 3  # not even "start", which lies under the brand
    await ui.press_widget("brand_mark", 0.8)
    assert said(running_ui) == [OpenStaff()]


async def test_the_hold_happens_while_the_finger_is_still_down(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(with_chrome(VIEWS["door_opened"], staff_hold_s=0.5))
    centre = pygame.Rect(widget(ui, "brand").rect).center
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=centre, button=1))
    await asyncio.sleep(0.8)
    assert said(running_ui) == [OpenStaff()]
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=centre, button=1))
    await running_ui.wait_frames()
    assert said(running_ui) == [OpenStaff()]  # the lift adds nothing


async def test_a_refresh_of_the_same_screen_keeps_a_hold_but_a_new_screen_drops_it(running_ui: RunningUi) -> None:
    """The online dot flipping under the retailer's finger must not cancel the hidden entry; a screen
    that changed under the finger must not receive the lift."""
    ui = running_ui.ui
    attract = with_chrome(VIEWS["attract"], staff_hold_s=0.5, online=False)
    ui.set_state(attract)
    centre = pygame.Rect(widget(ui, "brand").rect).center
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=centre, button=1))
    await running_ui.wait_frames()
    ui.set_state(with_chrome(attract, online=True))  # the uploader got through meanwhile
    await asyncio.sleep(0.7)
    assert said(running_ui) == [OpenStaff()]
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=centre, button=1))
    await running_ui.wait_frames()
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=centre, button=1))
    await running_ui.wait_frames()
    ui.set_state(with_chrome(VIEWS["thanks"], staff_hold_s=0.5))
    await asyncio.sleep(0.7)
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=centre, button=1))
    await running_ui.wait_frames()
    assert said(running_ui) == [OpenStaff()], "no hold on a screen that was not under the finger"


async def test_a_finger_that_slides_off_the_brand_does_not_hold(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(with_chrome(VIEWS["door_opened"], staff_hold_s=0.5))
    x, y = pygame.Rect(widget(ui, "brand").rect).center
    await ui.swipe(x, y, x + 200, y + 200, duration_s=0.7)
    assert said(running_ui) == []


async def test_press_refuses_bad_arguments(running_ui: RunningUi) -> None:
    with pytest.raises(ValueError, match="outside"):
        await running_ui.ui.press(-1, 10, 1.0)
    with pytest.raises(ValueError, match="hold_s"):
        await running_ui.ui.press(10, 10, -1)


# -- PIN pad -----------------------------------------------------------------------------------------


async def test_typing_a_pin_shows_dots_never_digits_and_submits_it(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(VIEWS["pin_pad"])
    for key in "258":
        await ui.tap_widget(f"key:{key}")
    assert widget(ui, "pin_dots").extra["filled"] == 3
    assert not widget(ui, "pin:submit").enabled  # 4 digits at least
    await ui.tap_widget("key:0")
    assert widget(ui, "pin:submit").enabled
    shown = " ".join(w.label for w in ui.widgets())
    assert "2580" not in shown and "258" not in shown
    for key in "123456789":  # 13 digits typed: 12 kept
        await ui.tap_widget(f"key:{key}")
    await ui.tap_widget("key:back")
    await ui.tap_widget("pin:submit")
    assert said(running_ui) == [SubmitPin("25801234567")]  # no key reached the firmware
    assert widget(ui, "pin_dots").extra["filled"] == 0


async def test_wrong_pin_tells_the_tries_left_and_a_locked_pad_counts_down(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(VIEWS["pin_pad_wrong"])
    assert widget(ui, "message").label == "Wrong PIN. 2 tries left."
    ui.set_state(with_chrome(replace(VIEWS["pin_pad_wrong"], attempts_left=1), language="zh"))
    assert widget(ui, "message").label == "密码错误，再错一次将锁定键盘。"
    ui.set_state(PinPadScreen(message="pin_wrong"))
    assert widget(ui, "message").label == "Wrong PIN. Please try again."
    ui.set_state(PinPadScreen(message="pin_locked", deadline=time.monotonic() + 9.5))
    assert widget(ui, "message_text").label == "Too many tries. Try again in 10 s."
    assert not any(w.enabled for w in ui.widgets() if w.id.startswith("key:"))
    await ui.tap_widget("key:1")
    await ui.tap_widget("cancel")
    assert said(running_ui) == [Cancel()] and widget(ui, "pin_dots").extra["filled"] == 0


async def test_the_pad_says_checking_and_takes_no_presses_while_a_pin_is_checked(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(VIEWS["pin_pad_checking"])
    assert widget(ui, "message").label == "Checking…"
    assert not any(w.enabled for w in ui.widgets() if w.id.startswith(("key:", "pin:")))
    await ui.tap_widget("key:1")
    assert said(running_ui) == [] and widget(ui, "pin_dots").extra["filled"] == 0
    ui.set_state(sample_views("zh")["pin_pad_checking"])
    assert widget(ui, "message").label == "正在验证…"


# -- restock -----------------------------------------------------------------------------------------


def test_restock_shows_what_to_do_with_the_door(static_ui: KioskUi) -> None:
    static_ui.set_state(VIEWS["restock_unlocked"])
    assert widget(static_ui, "title").label == "Open the door"
    assert widget(static_ui, "countdown_text").label.startswith("The lock is open for")
    assert not [i for i in ids(static_ui) if i.endswith((":plus", ":minus"))]  # counted once it is open
    assert widget(static_ui, "count:SC-URBAN-S2-MINT").label == "2"  # each variant counted on its own
    static_ui.set_state(VIEWS["restock_opened"])
    assert widget(static_ui, "title").label == "Count the stock, then close the door"
    assert widget(static_ui, "name:SC-URBAN-S2-CORAL").label == "Urban Glide S2 Scooter · Coral"
    assert widget(static_ui, "name:SC-KIDS-1").label == "Junior Dash Scooter"
    static_ui.set_state(with_chrome(VIEWS["restock_opened"], language="zh"))
    assert widget(static_ui, "title").label == "请清点库存，然后关好柜门"


async def test_minus_and_plus_ask_the_firmware_for_the_new_count(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(replace(VIEWS["restock_opened"], counts=(("SC-URBAN-S2", 5), ("SC-KIDS-1", 0))))
    await ui.tap_widget("count:SC-URBAN-S2:plus")
    await ui.tap_widget("count:SC-URBAN-S2:minus")
    assert not widget(ui, "count:SC-KIDS-1:minus").enabled
    await ui.tap_widget("count:SC-KIDS-1:minus")
    await ui.tap_widget("count:SC-KIDS-1:plus")
    assert said(running_ui) == [
        SetCount("SC-URBAN-S2", 6),
        SetCount("SC-URBAN-S2", 4),
        SetCount("SC-KIDS-1", 1),
    ]
    ui.set_state(replace(VIEWS["restock_opened"], counts=(("SC-URBAN-S2", 6), ("SC-KIDS-1", 1))))
    assert widget(ui, "count:SC-URBAN-S2").label == "6"  # the firmware's count is what is shown


async def test_recorded_restock_lists_the_changes_and_finishes(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(replace(VIEWS["restock_recorded"], changes=(("SC-URBAN-S2-MINT", 2), ("EB-CITY-7-AMBER", -1))))
    assert widget(ui, "title").label == "Stock recorded"
    assert widget(ui, "change:SC-URBAN-S2-MINT").label == "+2" and widget(ui, "change:EB-CITY-7-AMBER").label == "−1"
    assert "change:SC-KIDS-1" not in ids(ui)
    assert not [i for i in ids(ui) if i.endswith((":plus", ":minus"))]
    await ui.tap_widget("done")
    ui.set_state(replace(VIEWS["restock_recorded"], changes=()))
    assert widget(ui, "hint").label == "Nothing changed."
    assert said(running_ui) == [Done()]


async def test_many_products_are_paginated(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    more = tuple(replace(p, sku=f"{p.sku}-B", name=f"{p.name} (B)") for p in ACCESSORIES)
    products = PRODUCTS + ACCESSORIES + more
    ui.set_state(RestockScreen(door="opened", products=products, counts=tuple((p.sku, 1) for p in products)))
    per_page = len({i for i in ids(ui) if i.startswith("row:")})
    pages = -(-len(products) // per_page)
    assert per_page >= 4 and pages >= 2 and not widget(ui, "page:prev").enabled
    seen: list[set[str]] = []
    for page in range(1, pages + 1):
        assert widget(ui, "page").label == f"Page {page} of {pages}"
        seen.append({i for i in ids(ui) if i.startswith("row:")})
        if page < pages:
            await ui.tap_widget("page:next")
    assert not widget(ui, "page:next").enabled
    assert set().union(*seen) == {f"row:{p.sku}" for p in products} and sum(map(len, seen)) == len(products)
    await ui.tap_widget("count:ACC-LIGHTS-B:plus")
    assert said(running_ui) == [SetCount("ACC-LIGHTS-B", 2)]  # page turns tell the firmware nothing


# -- door alarms ---------------------------------------------------------------------------------------


async def test_door_alarms_are_shown_and_a_stuck_door_offers_unlock_again(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    for name in ("door_open_too_long", "restock_open_too_long"):
        ui.set_state(VIEWS[name])
        assert widget(ui, "alarm").label == "Please close the door" and "unlock_again" not in ids(ui)
    for name in ("door_stuck", "restock_door_stuck"):
        ui.set_state(VIEWS[name])
        assert widget(ui, "alarm").label == "The door did not open. Try unlocking it again."
        await ui.tap_widget("unlock_again")
    ui.set_state(with_chrome(VIEWS["door_stuck"], language="zh"))
    assert widget(ui, "alarm").label == "柜门未能打开，请再次尝试开锁。"
    ui.set_state(VIEWS["door_unlocked"])
    assert "alarm" not in ids(ui)
    assert said(running_ui) == [UnlockAgain()] * 2


# -- service -------------------------------------------------------------------------------------------


def test_service_shows_alarms_network_version_and_each_devices_state_first(static_ui: KioskUi) -> None:
    static_ui.set_state(VIEWS["service"])
    labels = {w.id: w.label for w in static_ui.widgets()}
    assert labels["device:nfc"] == "Card reader" and labels["device:nfc:status"] == "Fault"
    assert labels["device:lock:status"] == "OK" and labels["device:lock:detail"] == "Locked"
    assert labels["device:nfc:detail"] == "no answer from PN532 on /dev/ttyNFC"
    assert labels["selftest_result"] == "Self-test failed: 1 faulty"
    assert labels["alarm:door"] == "Door: Left open too long"
    assert labels["alarm:nfc"] == "Card reader: no answer from PN532 on /dev/ttyNFC"
    assert (labels["network"], labels["cloud"], labels["version"]) == ("eth0 192.168.1.20", "Offline", "0.1.0")
    assert (labels["pending"], labels["last_success"], labels["dead_letters"]) == ("3", "2024-05-14 10:42:07", "1")
    assert labels["config_version"] == "v42 (etag 7c1e)"
    static_ui.set_state(replace(VIEWS["service"], chrome=Chrome(language="zh")))
    labels = {w.id: w.label for w in static_ui.widgets()}
    assert (labels["alarms_title"], labels["alarm:door"]) == ("未处理警报", "柜门: 开门时间过长")
    assert (labels["device:door"], labels["device:door:detail"], labels["cloud"]) == ("柜门", "关闭", "离线")
    assert (labels["network_label"], labels["version_label"]) == ("网络", "软件版本")
    static_ui.set_state(ServiceScreen(sync=SyncView(), chrome=Chrome(language="zh")))
    labels = {w.id: w.label for w in static_ui.widgets()}
    assert labels["last_success"] == "从未" and labels["no_devices"] == "尚无设备状态。"
    assert labels["no_alarms"] == "无" and labels["network"] == "无网络" and "selftest_result" not in labels


@pytest.mark.parametrize("language", ["en", "zh"])
def test_service_says_the_link_is_down_and_why(static_ui: KioskUi, language: Language) -> None:
    static_ui.set_state(sample_views(language)["service_link_down"])
    labels = {w.id: w.label for w in static_ui.widgets()}
    down, link = ("Link down", "Network link") if language == "en" else ("链路断开", "网络链路")
    assert labels["network"] == f"{down}: eth0: no carrier"
    assert labels["alarm:network"] == f"{link}: eth0: no carrier"


async def test_service_actions_and_a_running_selftest(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(VIEWS["service"])
    for widget_id in ("selftest", "lock_test", "calibrate", "exit"):
        await ui.tap_widget(widget_id)
    ui.set_state(VIEWS["service_running"])
    assert widget(ui, "selftest_result").label == "Self-test running…"
    await ui.tap_widget("selftest")
    assert said(running_ui) == [RunSelfTest(), LockTest(), OpenCalibration(), ExitService()]


async def test_restart_asks_again_and_forgets_after_a_while(
    running_ui: RunningUi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "RESTART_CONFIRM_S", 0.6)
    ui = running_ui.ui
    ui.set_state(VIEWS["service"])
    await ui.tap_widget("restart")
    assert said(running_ui) == [] and widget(ui, "restart").label == "Tap again to restart"
    await asyncio.sleep(0.9)  # not confirmed in time: it reverts by itself
    assert widget(ui, "restart").label == "Restart"
    probe = (widget(ui, "restart").rect[0] + 8, widget(ui, "restart").rect[1] + 30)
    assert tuple(pygame.display.get_surface().get_at(probe))[:3] == ui.theme.palette.surface_high
    await ui.tap_widget("restart")
    ui.set_state(replace(VIEWS["service"], config_version="v43"))  # a new state keeps the question
    await ui.tap_widget("restart")
    assert said(running_ui) == [Restart()]
    assert widget(ui, "restart").label == "Restart"


# -- calibration -----------------------------------------------------------------------------------------


async def test_calibration_reports_where_the_four_targets_were_touched(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(VIEWS["calibrate"])
    centres = target_centres(ui.size)
    assert centres == [(102, 60), (922, 60), (922, 540), (102, 540)]
    assert [widget(ui, f"target:{i}").extra["state"] for i in range(4)] == ["now", "later", "later", "later"]
    touched = [(x + 7, y - 5) for x, y in centres]  # a panel a little off
    for i, (x, y) in enumerate(touched[:3]):
        await ui.tap(x, y)
        assert widget(ui, "progress").label == f"Target {i + 2} of 4"
    assert widget(ui, "target:3").extra["state"] == "now" and said(running_ui) == []
    await ui.tap(*touched[3])
    assert said(running_ui) == [SubmitCalibration(((109, 55), (929, 55), (929, 535), (109, 535)))]
    assert widget(ui, "target:0").extra["state"] == "now"  # ready to go round again
    await ui.tap_widget("cancel")
    assert said(running_ui)[-1] == Cancel()
