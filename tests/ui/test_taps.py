"""Real touches through pygame's event queue, with the frame loop running on asyncio."""

from __future__ import annotations

import asyncio
import time

import pygame
import pytest

from kiosk_ui.intents import (
    Activity,
    Back,
    Bench,
    Buy,
    Cancel,
    Done,
    Home,
    Intent,
    OpenHelp,
    Pay,
    SelectProduct,
    Start,
    ToggleLanguage,
    UnlockAgain,
)
from kiosk_ui.samples import PRODUCTS, sample_views
from kiosk_ui.view import AttractScreen, CatalogScreen, CheckoutScreen, DoorScreen, ProductScreen, View
from tests.ui.conftest import RunningUi

ACTIVITY = Activity()
VIEWS = sample_views("en")

# (sample view, widget id, the intent a tap on it emits)
DOCUMENTED = [
    ("attract", "start", Start()),
    ("attract", "lang", ToggleLanguage()),
    ("catalog", f"product:{PRODUCTS[1].sku}", SelectProduct(PRODUCTS[1].sku)),
    ("catalog", f"product:{PRODUCTS[2].sku}", SelectProduct(PRODUCTS[2].sku)),
    ("product", "buy", Buy()),
    ("product", "back", Back()),
    ("product_declined", "buy", Buy()),
    ("checkout", "pay:terminal", Pay("terminal")),
    ("checkout", "pay:qr", Pay("qr")),
    ("checkout", "back", Back()),
    ("checkout_present_card", "cancel", Cancel()),
    ("checkout_processing", "cancel", Cancel()),
    ("door_unlock_again", "unlock_again", UnlockAgain()),
    ("door_unlocked", "lang", ToggleLanguage()),
    ("thanks", "done", Done()),
    # Never stuck: the header's way out on every shopper's screen, and the answer to "still there?"
    ("catalog", "back", Back()),
    ("checkout_present_card", "back", Cancel()),  # back while a payment waits cancels it
    ("thanks", "home", Done()),
    ("error", "home", Home()),
    ("door_unlocked", "help", OpenHelp()),
    ("checkout_present_card", "help", OpenHelp()),
    ("checkout_still_there", "continue", Activity()),
    ("checkout_still_there", "still_there:backdrop", Activity()),  # a touch anywhere answers, presses nothing
]


@pytest.mark.parametrize(("view", "widget_id", "intent"), DOCUMENTED, ids=[f"{v}-{w}" for v, w, _ in DOCUMENTED])
async def test_tap_on_widget_emits_its_intent(running_ui: RunningUi, view: str, widget_id: str, intent: Intent) -> None:
    running_ui.ui.set_state(VIEWS[view])
    x, y, w, h = running_ui.widget(widget_id).rect
    await running_ui.ui.tap(x + w // 2, y + h // 2)
    assert running_ui.intents == [ACTIVITY, intent]


async def test_tap_outside_any_widget_emits_only_activity(running_ui: RunningUi) -> None:
    running_ui.ui.set_state(VIEWS["catalog"])
    title = running_ui.widget("title").rect
    await running_ui.ui.tap(title[0] + 5, title[1] + title[3] // 2)
    await running_ui.ui.tap(running_ui.ui.size[0] - 2, running_ui.ui.size[1] - 2)
    assert running_ui.intents == [ACTIVITY, ACTIVITY]


async def test_disabled_buy_emits_only_activity(running_ui: RunningUi) -> None:
    running_ui.ui.set_state(VIEWS["product_sold_out"])
    await running_ui.ui.tap_widget("buy")
    assert running_ui.intents == [ACTIVITY]


async def test_finger_sliding_to_another_widget_emits_no_widget_intent(running_ui: RunningUi) -> None:
    running_ui.ui.set_state(VIEWS["checkout"])
    down = pygame.Rect(running_ui.widget("pay:terminal").rect).center
    up = pygame.Rect(running_ui.widget("pay:qr").rect).center
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=down, button=1, touch=True))
    await running_ui.wait_frames()
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=up, button=1, touch=True))
    await running_ui.wait_frames()
    assert running_ui.intents == [ACTIVITY]
    await running_ui.ui.tap(*up)  # a clean tap on the second widget still works
    assert running_ui.intents == [ACTIVITY, ACTIVITY, Pay("qr")]


async def test_pressed_widget_looks_pressed_until_released(running_ui: RunningUi) -> None:
    running_ui.ui.set_state(VIEWS["product"])
    buy = pygame.Rect(running_ui.widget("buy").rect)
    probe = (buy.x + 6, buy.centery)
    palette = running_ui.ui.theme.palette
    await running_ui.wait_frames()
    assert tuple(pygame.display.get_surface().get_at(probe))[:3] == palette.accent
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=buy.center, button=1))
    await running_ui.wait_frames()
    assert tuple(pygame.display.get_surface().get_at(probe))[:3] == palette.accent_pressed
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=buy.center, button=1))
    await running_ui.wait_frames()
    assert tuple(pygame.display.get_surface().get_at(probe))[:3] == palette.accent
    assert running_ui.intents == [ACTIVITY, Buy()]


async def test_other_mouse_buttons_are_not_taps(running_ui: RunningUi) -> None:
    running_ui.ui.set_state(VIEWS["thanks"])
    centre = pygame.Rect(running_ui.widget("done").rect).center
    for kind in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP):
        pygame.event.post(pygame.event.Event(kind, pos=centre, button=3))
    await running_ui.wait_frames()
    await running_ui.ui.tap(1, running_ui.ui.size[1] // 2)
    assert running_ui.intents == [ACTIVITY]


async def test_new_state_is_drawn_on_the_next_frame(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(VIEWS["catalog"])
    await running_ui.wait_frames()
    ui.set_state(VIEWS["thanks"])
    assert ui.screen_id == "thanks"
    await running_ui.wait_frames()
    done = pygame.Rect(running_ui.widget("done").rect)
    assert tuple(pygame.display.get_surface().get_at((done.x + 6, done.centery)))[:3] == ui.theme.palette.accent


async def test_idle_screen_is_not_redrawn(running_ui: RunningUi) -> None:
    running_ui.ui.set_state(VIEWS["catalog"])
    await running_ui.wait_frames()
    before = running_ui.ui.frame_count
    await asyncio.sleep(0.4)  # 24 frame periods at 60 fps
    assert running_ui.ui.frame_count == before


async def test_door_countdown_redraws_once_a_second(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    deadline = time.monotonic() + 2.5
    ui.set_state(DoorScreen(product=PRODUCTS[0], door="unlocked", deadline=deadline + 30, latch_until=deadline))
    await running_ui.wait_frames()
    first = running_ui.widget("countdown").label
    before = ui.frame_count
    await asyncio.sleep(1.2)
    assert 1 <= ui.frame_count - before <= 3
    assert int(running_ui.widget("countdown").label) == int(first) - 1
    assert running_ui.widget("countdown_text").label == f"The lock is open for {int(first) - 1} s: pull the door now"
    await asyncio.sleep(max(0.0, deadline - time.monotonic()) + 0.2)
    assert running_ui.widget("countdown").label == "0"


async def test_bench_buttons_emit_bench_intents_without_activity(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_state(VIEWS["checkout_present_card"])
    bench = {w.id: w for w in ui.bench_widgets()}
    assert not set(bench) & {w.id for w in ui.widgets()}
    for action in ("pos/approve", "pos/decline", "door/open", "door/close", "nfc/present", "qr/show"):
        x, y, w, h = bench[f"bench:{action}"].rect
        assert x >= ui.size[0]  # right of the touchscreen
        await ui.tap_window(x + w // 2, y + h // 2)
    assert running_ui.intents == [
        Bench(a) for a in ("pos/approve", "pos/decline", "door/open", "door/close", "nfc/present", "qr/show")
    ]


async def test_bench_status_lines_are_shown(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    ui.set_bench_status(["lock: energized", "door: open", "outbox: 3 pending"])
    labels = [w.label for w in ui.bench_widgets() if w.id.startswith("bench:status:")]
    assert labels == ["lock: energized", "door: open", "outbox: 3 pending"]


async def test_walk_through_a_sale_with_a_handler_that_changes_state(running_ui: RunningUi) -> None:
    ui = running_ui.ui
    product = PRODUCTS[0]
    script: dict[str, View] = {
        "start": CatalogScreen(products=PRODUCTS),
        "select_product": ProductScreen(product=product),
        "buy": CheckoutScreen(product=product),
        "pay": CheckoutScreen(product=product, payment_status="present_card"),
    }
    seen: list[Intent] = []

    def on_intent(intent: Intent) -> None:
        seen.append(intent)
        if intent.name in script:
            ui.set_state(script[intent.name])

    ui._on_intent = on_intent  # the handler the firmware would pass
    ui.set_state(AttractScreen(products=PRODUCTS))
    for widget_id in ("start", f"product:{product.sku}", "buy", "pay:terminal"):
        await ui.tap_widget(widget_id)
    assert ui.screen_id == "checkout" and "cancel" in {w.id for w in ui.widgets()}
    assert [i for i in seen if i.name != "activity"] == [
        Start(),
        SelectProduct(product.sku),
        Buy(),
        Pay("terminal"),
    ]


async def test_a_failing_handler_does_not_stop_the_screen(running_ui: RunningUi) -> None:
    ui = running_ui.ui

    def broken(intent: Intent) -> None:
        raise RuntimeError("handler bug")

    ui._on_intent = broken
    ui.set_state(VIEWS["thanks"])
    await ui.tap_widget("done")
    assert not running_ui.task.done()


async def test_quit_ends_the_loop_quietly(running_ui: RunningUi) -> None:
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    await asyncio.wait_for(running_ui.task, 5)
    assert running_ui.intents == []
    with pytest.raises(RuntimeError, match="run"):
        await running_ui.ui.tap(10, 10)


async def test_tap_outside_the_touchscreen_is_refused(running_ui: RunningUi) -> None:
    with pytest.raises(ValueError, match="outside"):
        await running_ui.ui.tap(running_ui.ui.size[0] + 5, 10)
