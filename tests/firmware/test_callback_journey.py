"""Call me back on a whole Cabinet (real SQLite on disk, gpiozero mock pins): offered on a product's screen when
the configuration sets a retention, the number checked, the consent as shown recorded with its version, the
request an ordinary event in the outbox, and the shopper back on the product afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.cabinet import Cabinet
from firmware.clock import FakeClock
from firmware.journeys.callback import C, CallbackJourney, CallbackRefused, Consent
from firmware.journeys.sale import S
from kiosk_ui.i18n import CALLBACK_CONSENT_VERSION, LANGUAGES, t
from kiosk_ui.intents import (
    Back,
    CancelPhone,
    ContinueOnPhone,
    Done,
    OpenCallback,
    RequestCallback,
    SelectProduct,
    Start,
)
from kiosk_ui.view import CallbackScreen, ProductScreen
from sync_client.cabinet_config import CabinetConfig
from sync_client.outbox import Outbox
from sync_client.schema import SchemaError
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


# --- continue on the phone ---------------------------------------------------------------
def on_product_with_pages(cabinet: Cabinet) -> None:
    config = CabinetConfig(2, "EUR", (), callback_retention_days=14, link_base="https://c.example")
    cabinet.apply_cloud_config(config)
    cabinet.router.route(Start())
    cabinet.router.route(SelectProduct("BIKE-C7"))


async def test_the_call_back_continued_on_the_phone_is_recorded_with_the_consent_the_phone_showed(
    cabinets: Cabinets,
) -> None:
    cabinet = await cabinets.boot()
    on_product_with_pages(cabinet)
    cabinet.router.route(OpenCallback())
    view = cabinet.view_state()
    assert isinstance(view, CallbackScreen) and view.phone == "offer", "online with consumer pages: offered"
    cabinet.router.route(ContinueOnPhone())
    view = cabinet.view_state()
    assert isinstance(view, CallbackScreen) and view.phone == "waiting" and view.phone_link
    token = view.phone_link.removeprefix("https://c.example/f/")
    (offered,) = cabinets.events("form.offered")
    consent = {lang: t("callback.consent", lang, days=14) for lang in LANGUAGES}
    assert offered == {
        "token": token,
        "form": "callback",
        "valid_s": 300.0,
        "sku": "BIKE-C7",
        "consent_version": CALLBACK_CONSENT_VERSION,
        "consent": consent,
    }, "the phone's page gets the consent exactly as this screen shows it, in each language"

    journey = cabinet.journeys.callback
    cabinet.journeys.idle_timeout()
    assert journey.state is C.ENTRY, "nobody touches the screen while the phone types: the form waits"
    assert cabinet.sale.state is S.PRODUCT, "and the product under it"
    assert journey.phone_opened(token) == "opened"
    view = cabinet.view_state()
    assert isinstance(view, CallbackScreen) and view.phone == "opened"

    sent = {"phone": "+86 138 0013 8000", "consent_version": CALLBACK_CONSENT_VERSION, "language": "zh"}
    with cabinet.outbox.transaction() as tx, pytest.raises(SchemaError, match="not the consent"):
        journey.phone_form(tx, token, {**sent, "consent_text": "I agree to anything."})
    with cabinet.outbox.transaction() as tx, pytest.raises(SchemaError, match="phone"):
        journey.phone_form(tx, token, {**sent, "phone": "12", "consent_text": consent["zh"]})
    with cabinet.outbox.transaction() as tx, pytest.raises(SchemaError, match="no longer offers"):
        journey.phone_form(tx, "x" * 22, {**sent, "consent_text": consent["zh"]})
    assert cabinets.events("callback.requested") == []

    with cabinet.outbox.transaction() as tx:
        result = journey.phone_form(tx, token, {**sent, "consent_text": consent["zh"]})
    (request,) = cabinets.events("callback.requested")
    assert result == f"call-back {request['request_id']}"
    assert {k: v for k, v in request.items() if k != "request_id"} == {
        "sku": "BIKE-C7",
        "phone": "+8613800138000",
        "consent_text": consent["zh"],
        "consent_version": CALLBACK_CONSENT_VERSION,
        "language": "zh",
    }
    view = cabinet.view_state()
    assert isinstance(view, CallbackScreen) and view.sent and journey.phone is None
    assert cabinets.events("form.closed") == [], "submitted: the cloud marked the link used itself"
    cabinet.router.route(Done())
    assert cabinet.view_state().screen == "product", "back to the product the shopper asked about"
    with cabinet.outbox.transaction() as tx, pytest.raises(SchemaError):  # used: a second one finds nothing
        journey.phone_form(tx, token, {**sent, "consent_text": consent["zh"]})


async def test_leaving_the_call_back_withdraws_the_phone_link(cabinets: Cabinets) -> None:
    cabinet = await cabinets.boot()
    on_product_with_pages(cabinet)
    cabinet.router.route(OpenCallback())
    cabinet.router.route(ContinueOnPhone())
    first = cabinet.journeys.callback.phone
    assert first is not None
    cabinet.router.route(CancelPhone())
    view = cabinet.view_state()
    assert isinstance(view, CallbackScreen) and view.phone == "offer" and not view.phone_link, "typing here again"
    cabinet.router.route(ContinueOnPhone())
    second = cabinet.journeys.callback.phone
    assert second is not None
    cabinet.router.route(Back())
    assert cabinet.view_state().screen == "product" and cabinet.journeys.callback.phone is None
    closed = [e["token"] for e in cabinets.events("form.closed")]
    assert closed == [first.token, second.token]


def test_the_phone_link_lapses_back_to_typing_at_the_cabinet(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "c.db", "cab-1")
    clock = FakeClock()
    journey = CallbackJourney(outbox, clock=clock)
    journey.open("BIKE-C7")
    token = journey.continue_on_phone((Consent(CONSENT, "1", "en"),))
    clock.advance(300.0)
    assert journey.phone is None and journey.state is C.ENTRY
    assert journey.phone_opened(token).startswith("ignored")
    assert [e.payload["token"] for e in outbox.events() if e.type == "form.closed"] == [token]
    outbox.close()
