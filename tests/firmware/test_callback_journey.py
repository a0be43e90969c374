"""Call me back on a whole Cabinet (real SQLite on disk, gpiozero mock pins): offered on a product's screen when
the configuration sets a retention, the number checked, the consent as shown recorded with its version, the
request an ordinary event in the outbox, and the shopper back on the product afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.cabinet import Cabinet
from firmware.journeys.callback import C, CallbackJourney, CallbackRefused, Consent
from firmware.journeys.sale import S
from kiosk_ui.intents import Back, Done, OpenCallback, RequestCallback, SelectProduct, Start
from kiosk_ui.view import CallbackScreen, ProductScreen
from sync_client.cabinet_config import CabinetConfig
from sync_client.outbox import Outbox
from tests.firmware.cabinet_rig import Cabinets

CONSENT = "I agree that my phone number is kept 30 days."


def on_product(cabinet: Cabinet, retention_days: int | None) -> None:
    cabinet.apply_cloud_config(CabinetConfig(2, "EUR", (), callback_retention_days=retention_days))
    cabinet.router.route(Start())
    cabinet.router.route(SelectProduct("BIKE-C7"))
    assert cabinet.sale.state is S.PRODUCT


async def test_without_a_retention_in_the_configuration_no_call_back_is_offered(cabinets: Cabinets) -> None:
    cabinet = await cabinets.boot()
    on_product(cabinet, None)
    view = cabinet.view_state()
    assert isinstance(view, ProductScreen) and not view.callback
    assert cabinet.router.route(OpenCallback()) is None, "nothing opens it"


async def test_a_call_back_is_recorded_with_its_consent_and_the_shopper_returns_to_the_product(
    cabinets: Cabinets,
) -> None:
    cabinet = await cabinets.boot()
    on_product(cabinet, 30)
    product = cabinet.view_state()
    assert isinstance(product, ProductScreen) and product.callback, "the product screen offers it"
    taker = cabinet.router.route(OpenCallback())
    assert taker is not None and taker.name == "callback"
    view = cabinet.view_state()
    assert isinstance(view, CallbackScreen) and view.retention_days == 30 and view.product.sku == "BIKE-C7"

    cabinet.router.route(RequestCallback("0170 55", CONSENT, "1", "en"))
    view = cabinet.view_state()
    assert isinstance(view, CallbackScreen) and view.message == "phone_invalid" and not view.sent
    assert cabinets.events("callback.requested") == [], "a refused number records nothing"

    cabinet.router.route(RequestCallback("+49 170 555-0000", CONSENT, "1", "zh"))
    (request,) = cabinets.events("callback.requested")
    assert {k: v for k, v in request.items() if k != "request_id"} == {
        "sku": "BIKE-C7",
        "phone": "+491705550000",
        "consent_text": CONSENT,
        "consent_version": "1",
        "language": "zh",
    }
    assert cabinet.outbox.pending_count() >= 1, "waiting in the outbox for the uploader"
    view = cabinet.view_state()
    assert isinstance(view, CallbackScreen) and view.sent
    cabinet.router.route(Done())
    assert cabinet.view_state().screen == "product" and cabinet.sale.state is S.PRODUCT


async def test_back_and_the_idle_timeout_leave_the_call_back_without_a_trace(cabinets: Cabinets) -> None:
    cabinet = await cabinets.boot()
    on_product(cabinet, 7)
    cabinet.router.route(OpenCallback())
    cabinet.router.route(Back())
    assert cabinet.view_state().screen == "product"
    cabinet.router.route(OpenCallback())
    cabinet.journeys.idle_timeout()
    assert cabinet.journeys.callback.state is C.IDLE and cabinet.sale.state is S.IDLE
    assert cabinet.view_state().screen == "attract" and cabinets.events("callback.requested") == []


def test_the_journey_refuses_a_send_outside_its_entry(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "c.db", "cab-1")
    journey = CallbackJourney(outbox)
    with pytest.raises(CallbackRefused, match="'send' is not allowed in callback state idle"):
        journey.send("+491705550000", Consent(CONSENT, "1", "en"))
    outbox.close()
