"""The idle timeout on the cabinet's clock (a FakeClock, no sleeps), on a whole Cabinet (real SQLite on
disk, gpiozero mock pins): "still there?" before a shopper's work is dropped, a payment's ending that
stays, help that knows where it was opened and steps aside, and home."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from firmware.cabinet import Cabinet
from firmware.clock import FakeClock
from firmware.idle_watch import ENDING_S, IdleWatch
from firmware.journeys.sale import S
from kiosk_ui.intents import Activity, Buy, Home, OpenHelp, SelectProduct, Start
from kiosk_ui.view import HelpScreen, View
from sync_client.outbox import Outbox
from tests.firmware.cabinet_rig import Cabinets
from tests.sync.conftest import CAB


@pytest.fixture
async def fake(tmp_path: Path) -> AsyncIterator[Cabinets]:
    (tmp_path / "cabinet").mkdir()
    cabinets = Cabinets(tmp_path / "cabinet", clock=FakeClock())
    yield cabinets
    if cabinets.cabinet is not None:
        await cabinets.cut()


async def at_a_failed_payment(cabinets: Cabinets) -> tuple[Cabinet, FakeClock, list[View]]:
    """A shopper on the product whose payment just failed (no terminal here: "fault")."""
    cabinet = await cabinets.boot()
    views: list[View] = []
    cabinet.on_view = views.append
    for intent in (Activity(), Start(), SelectProduct("BIKE-C7"), Buy()):
        cabinet.handle_intent(intent)
    assert cabinet.sale.state is S.PRODUCT and cabinet.sale.message == "fault"
    assert isinstance(cabinets.clock, FakeClock)
    return cabinet, cabinets.clock, views


async def test_still_there_is_asked_before_the_idle_timeout_drops_a_shopper_who_tried_to_pay(fake: Cabinets) -> None:
    cabinet, clock, views = await at_a_failed_payment(fake)
    idle_s, ask_s = cabinet.config.screen.idle_timeout_s, cabinet.config.screen.still_there_s
    await clock.run(idle_s)
    asked_at = clock.now
    assert views[-1].chrome.still_there_until == asked_at + ask_s, "asked, with the time it waits"
    assert cabinet.sale.state is S.PRODUCT and views[-1].screen == "product", "nothing dropped yet"
    await clock.run(ask_s - 0.5)
    cabinet.handle_intent(Activity())  # "I'm still here"
    assert views[-1].chrome.still_there_until is None and cabinet.sale.state is S.PRODUCT
    await clock.run(idle_s)
    assert views[-1].chrome.still_there_until == clock.now + ask_s, "asked again after another idle timeout"
    await clock.run(ask_s)
    assert cabinet.sale.state.value == "idle" and views[-1].screen == "attract"
    assert views[-1].chrome.still_there_until is None


async def test_browsing_alone_goes_home_at_the_idle_timeout_without_asking(fake: Cabinets) -> None:
    cabinet = await fake.boot()
    views: list[View] = []
    cabinet.on_view = views.append
    cabinet.handle_intent(Activity())
    cabinet.handle_intent(Start())
    assert isinstance(fake.clock, FakeClock)
    await fake.clock.run(cabinet.config.screen.idle_timeout_s)
    assert cabinet.sale.state is S.IDLE and views[-1].screen == "attract"
    assert all(view.chrome.still_there_until is None for view in views)


async def test_help_knows_where_it_was_opened_and_home_leaves_for_the_start(fake: Cabinets) -> None:
    cabinet, clock, views = await at_a_failed_payment(fake)
    cabinet.handle_intent(OpenHelp())
    shown = views[-1]
    assert isinstance(shown, HelpScreen) and shown.context == "product", "its tip is the product's, back returns there"
    cabinet.handle_intent(Home())
    assert cabinet.sale.state.value == "idle" and views[-1].screen == "attract" and not cabinet.help.shown


async def test_a_payment_under_way_holds_the_idle_timeout_and_its_ending_gets_at_least_ENDING_S(tmp_path: Path) -> None:
    clock, paying, idled = FakeClock(), [True], list[float]()
    outbox = Outbox(tmp_path / "store.db", CAB)
    watch = IdleWatch(
        outbox, lambda: (), 3600, 1.0, lambda: idled.append(clock.now), lambda: True, lambda: None, clock,
        holding=lambda: paying[0],
    )  # fmt: skip
    watch.activity()
    for _ in range(20):  # ten seconds of a payment waiting: nobody needs to touch the screen
        watch.tick()
        clock.advance(0.5)
    assert idled == []
    paying[0] = False  # the payment ended (declined, timed out...)
    ended = clock.now
    watch.tick()
    clock.advance(ENDING_S - 0.001)
    assert idled == [], "the ending stays at least ENDING_S, though the idle timeout is 1 s"
    clock.advance(0.001)
    assert idled == [ended + ENDING_S]
    outbox.close()
