"""Call me back: from a product's screen, the phone number and the consent, then a thank-you."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from firmware.journeys.callback import C, CallbackJourney, Consent
from firmware.journeys.sale import S, SaleJourney
from firmware.presenters import Shop
from firmware.presenters.repair import phone_view
from kiosk_ui.i18n import CALLBACK_CONSENT_VERSION, LANGUAGES, t
from kiosk_ui.intents import Back, CancelPhone, ContinueOnPhone, Done, Intent, OpenCallback, RequestCallback
from kiosk_ui.view import CallbackMessage, CallbackScreen, Chrome, View, one_of

CALLBACK_MESSAGES: tuple[CallbackMessage, ...] = ("phone_invalid",)
DEFAULT_RETENTION_DAYS = 30  # shown when the configuration names none


@dataclass
class CallbackPresenter:
    callback: CallbackJourney
    sale: SaleJourney  # the product the shopper is looking at
    shop: Shop
    retention_days: Callable[[], int | None]  # from the configuration in force; None: not offered
    # the configuration's consumer pages (link_base) while the cabinet is online, else None: no phone hand-off
    phone_base: Callable[[], str | None] = lambda: None
    name: str = "callback"

    def offered(self) -> bool:
        return self.retention_days() is not None

    def active(self) -> bool:
        return self.callback.active

    def handles(self, intent: Intent) -> bool:
        state = self.callback.state
        match intent:
            case Back() | RequestCallback() | ContinueOnPhone() | CancelPhone():
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
            case ContinueOnPhone():
                self.callback.continue_on_phone(self.consents())
            case CancelPhone():
                self.callback.cancel_phone()

    def _days(self) -> int:
        return self.retention_days() or DEFAULT_RETENTION_DAYS

    def consents(self) -> tuple[Consent, ...]:
        """The consent as the screen shows it (kiosk_ui/screens/callback.py consent_text), in every language:
        the phone's page shows the one of its language."""
        days = self._days()
        return tuple(
            Consent(t("callback.consent", lang, days=days), CALLBACK_CONSENT_VERSION, lang) for lang in LANGUAGES
        )

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
            retention_days=self._days(),
            **self._phone(chrome),
        )

    def _phone(self, chrome: Chrome) -> dict[str, Any]:
        journey = self.callback
        return phone_view(journey.phone, self.phone_base(), chrome.online and journey.state is C.ENTRY)
