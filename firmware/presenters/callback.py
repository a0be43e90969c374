"""Call me back: from a product's screen, the phone number and the consent, then a thank-you."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from firmware.journeys.callback import C, CallbackJourney, Consent
from firmware.journeys.sale import S, SaleJourney
from firmware.presenters import Shop
from kiosk_ui.intents import Back, Done, Intent, OpenCallback, RequestCallback
from kiosk_ui.view import CallbackMessage, CallbackScreen, Chrome, View, one_of

CALLBACK_MESSAGES: tuple[CallbackMessage, ...] = ("phone_invalid",)


@dataclass
class CallbackPresenter:
    callback: CallbackJourney
    sale: SaleJourney  # the product the shopper is looking at
    shop: Shop
    retention_days: Callable[[], int | None]  # from the configuration in force; None: not offered
    name: str = "callback"

    def offered(self) -> bool:
        return self.retention_days() is not None

    def active(self) -> bool:
        return self.callback.active

    def handles(self, intent: Intent) -> bool:
        state = self.callback.state
        match intent:
            case Back() | RequestCallback():
                return state is C.ENTRY
            case Done():
                return state is C.SENT
        return False

    def opens(self, intent: Intent) -> bool:
        return isinstance(intent, OpenCallback) and self.sale.state is S.PRODUCT and self.offered()

    def handle(self, intent: Intent) -> None:
        match intent:
            case OpenCallback():
                assert self.sale.product is not None  # state PRODUCT has one
                self.callback.open(self.sale.product.sku)
            case Back():
                self.callback.back()
            case RequestCallback(phone=phone, consent_text=text, consent_version=version, language=language):
                self.callback.send(phone, Consent(text, version, language))
            case Done():
                self.callback.finish()

    def view(self, chrome: Chrome) -> View:
        journey = self.callback
        product = self.shop.product(journey.sku) if journey.sku else None
        if product is None:
            raise ValueError(f"the call-back for {journey.sku!r} has no product to show")
        return CallbackScreen(
            chrome=chrome,
            product=product,
            message=one_of(CALLBACK_MESSAGES, journey.message, "callback message"),
            sent=journey.state is C.SENT,
            retention_days=self.retention_days() or 30,
        )
