"""A call-back for the manufacturer's customer service: an explicit state machine.

    idle ─open→ entry ─send→ sent ─finish | timeout | idle→ idle
    entry ─refuse→ entry   (the number is not one: the screen says why, what was typed stays)
    entry ─phone→ sent     (the request sent from the shopper's phone)
    entry ─back | idle→ idle

Opened from a product's screen (the sale journey stays on that product underneath: back returns there). The
shopper types a phone number and taps the button that agrees to the consent shown on the screen; the request is
``callback.requested`` with the number, the product, the consent text as shown and its version, and the
language. It is an ordinary event (not a money commit, never shed by a full outbox): it waits in the outbox
while the cabinet is offline and is uploaded when the network returns. Nothing of it is kept on the cabinet
beyond the outbox, which forgets an event once the cloud has acknowledged it.

"Continue on your phone" (firmware/journeys/phone_handoff.py): ``continue_on_phone`` offers the same form on
the shopper's phone with the consent the cabinet shows, in each of its languages, and its version; the
``callback_form`` command brings the number and the consent the phone showed (one of those offered), and the
request is recorded in the command's transaction exactly as if it had been typed here. While the form is on
the phone the idle timeout waits.
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from firmware.clock import Clock, LoopClock, TimerHandle
from firmware.journeys.machine import later, transition
from firmware.journeys.phone_handoff import OnPhone, PhoneOffer
from sync_client.outbox import Outbox, Transaction
from sync_client.schema import SchemaError, normalise_phone

log = logging.getLogger(__name__)

PHONE_INVALID = "phone_invalid"  # the screen's message key (kiosk_ui/i18n.py callback.phone_invalid)


class C(enum.StrEnum):
    IDLE = "idle"
    ENTRY = "entry"
    SENT = "sent"


TRANSITIONS: dict[C, dict[str, C]] = {
    C.IDLE: {"open": C.ENTRY},
    C.ENTRY: {"send": C.SENT, "phone": C.SENT, "refuse": C.ENTRY, "back": C.IDLE, "idle": C.IDLE},
    C.SENT: {"finish": C.IDLE, "timeout": C.IDLE, "idle": C.IDLE},
}


class CallbackRefused(Exception):
    pass


@dataclass(frozen=True)
class Consent:
    """What the shopper agreed to: the text as the screen showed it, its version and language."""

    text: str
    version: str
    language: str


@dataclass
class CallbackJourney(OnPhone):
    outbox: Outbox
    on_change: Callable[[], None] = lambda: None
    sent_s: float = 8.0  # the confirmation stays this long
    state: C = C.IDLE
    sku: str | None = None
    message: str | None = None  # PHONE_INVALID after a refused number
    clock: Clock = field(default_factory=LoopClock)
    _timer: TimerHandle | None = None
    _phone_consents: tuple[Consent, ...] = ()  # what the phone's page shows, one per language

    def __post_init__(self) -> None:
        self.handoff = PhoneOffer(self.outbox, "callback")

    @property
    def active(self) -> bool:
        return self.state is not C.IDLE

    def _go(self, trigger: str) -> C:
        if self.state is C.ENTRY and TRANSITIONS[self.state][trigger] is not C.ENTRY:
            self.handoff.close()  # left the form (or sent it here): the phone's link stops working
        return transition(self, TRANSITIONS, trigger, CallbackRefused, "callback")

    def open(self, sku: str) -> None:
        self.sku, self.message = sku, None
        self._go("open")

    def back(self) -> None:
        self._go("back")

    def send(self, typed_phone: str, consent: Consent) -> str | None:
        """Record the request if the number is one; returns its id, or None (the screen says why)."""
        if self.state is not C.ENTRY or self.sku is None:
            raise CallbackRefused(f"'send' is not allowed in callback state {self.state.value}")
        phone = normalise_phone(typed_phone)
        if phone is None:
            self.message = PHONE_INVALID
            self._go("refuse")
            return None
        with self.outbox.transaction() as tx:
            request_id = self._record(tx, self.sku, phone, consent)
        self._recorded("send")
        return request_id

    def _record(self, tx: Transaction, sku: str, phone: str, consent: Consent) -> str:
        request_id = str(uuid.uuid4())
        tx.append(
            "callback.requested",
            {
                "request_id": request_id,
                "sku": sku,
                "phone": phone,
                "consent_text": consent.text,
                "consent_version": consent.version,
                "language": consent.language,
            },
        )
        log.info("call-back requested", extra={"request_id": request_id})
        return request_id

    def _recorded(self, trigger: str) -> None:
        self.message = None
        self._go(trigger)
        later(self, self.sent_s, self._sent_timeout)

    # --- continue on the shopper's phone ------------------------------------------------
    def continue_on_phone(self, consents: tuple[Consent, ...]) -> str:
        """Offer the form on the shopper's phone with ``consents`` (the text shown here, per language, all of
        one version): a fresh token, announced to the cloud. Returns it."""
        if self.state is not C.ENTRY or self.sku is None:
            raise CallbackRefused(f"the form is not offered on a phone in callback state {self.state.value}")
        versions = {c.version for c in consents}
        if len(versions) != 1:
            raise ValueError(f"a phone's consent is one text per language of one version, not {sorted(versions)}")
        self._phone_consents = consents
        details = {
            "sku": self.sku,
            "consent_version": consents[0].version,
            "consent": {c.language: c.text for c in consents},
        }
        token = self.handoff.offer(self.clock, self.cancel_phone, details)
        self.on_change()
        return token

    def phone_form(self, tx: Transaction, token: str, fields: dict[str, str]) -> str:
        """The form sent from the phone (the callback_form command): the request is recorded in ``tx`` as if
        typed here, with the consent the phone showed, which must be one this cabinet offered. Returns the
        command's result; SchemaError refuses it."""
        if not self.handoff.offers(token) or self.sku is None:
            raise SchemaError("token: this cabinet no longer offers that form")
        phone = normalise_phone(fields.get("phone", ""))
        if phone is None:
            raise SchemaError("phone: expected an optional + and 7 to 15 digits")
        consent = Consent(fields.get("consent_text", ""), fields.get("consent_version", ""), fields.get("language", ""))
        if consent not in self._phone_consents:
            raise SchemaError("consent_text: not the consent this cabinet offered")
        request_id = self._record(tx, self.sku, phone, consent)
        self.handoff.forget()  # submitted: the cloud has marked the link used
        self._recorded("phone")
        return f"call-back {request_id}"

    def finish(self) -> None:
        if self.state is C.SENT:
            self._go("finish")

    def idle_timeout(self) -> None:
        if self.active and self.phone is None:  # unless the shopper types on their phone now
            self._go("idle")

    def _sent_timeout(self) -> None:
        if self.state is C.SENT:
            self._go("timeout")
