"""A call-back for the manufacturer's customer service: an explicit state machine.

    idle ─open→ entry ─send→ sent ─finish | timeout | idle→ idle
    entry ─refuse→ entry   (the number is not one: the screen says why, what was typed stays)
    entry ─back | idle→ idle

Opened from a product's screen (the sale journey stays on that product underneath: back returns there). The
shopper types a phone number and taps the button that agrees to the consent shown on the screen; the request is
``callback.requested`` with the number, the product, the consent text as shown and its version, and the
language. It is an ordinary event (not a money commit, never shed by a full outbox): it waits in the outbox
while the cabinet is offline and is uploaded when the network returns. Nothing of it is kept on the cabinet
beyond the outbox, which forgets an event once the cloud has acknowledged it.
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from firmware.clock import Clock, LoopClock, TimerHandle
from firmware.journeys.machine import later, transition
from sync_client.outbox import Outbox
from sync_client.schema import normalise_phone

log = logging.getLogger(__name__)

PHONE_INVALID = "phone_invalid"  # the screen's message key (kiosk_ui/i18n.py callback.phone_invalid)


class C(enum.StrEnum):
    IDLE = "idle"
    ENTRY = "entry"
    SENT = "sent"


TRANSITIONS: dict[C, dict[str, C]] = {
    C.IDLE: {"open": C.ENTRY},
    C.ENTRY: {"send": C.SENT, "refuse": C.ENTRY, "back": C.IDLE, "idle": C.IDLE},
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
class CallbackJourney:
    outbox: Outbox
    on_change: Callable[[], None] = lambda: None
    sent_s: float = 8.0  # the confirmation stays this long
    state: C = C.IDLE
    sku: str | None = None
    message: str | None = None  # PHONE_INVALID after a refused number
    clock: Clock = field(default_factory=LoopClock)
    _timer: TimerHandle | None = None

    @property
    def active(self) -> bool:
        return self.state is not C.IDLE

    def _go(self, trigger: str) -> C:
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
        request_id = str(uuid.uuid4())
        self.outbox.append(
            "callback.requested",
            {
                "request_id": request_id,
                "sku": self.sku,
                "phone": phone,
                "consent_text": consent.text,
                "consent_version": consent.version,
                "language": consent.language,
            },
        )
        log.info("call-back requested", extra={"request_id": request_id})
        self.message = None
        self._go("send")
        later(self, self.sent_s, self._sent_timeout)
        return request_id

    def finish(self) -> None:
        if self.state is C.SENT:
            self._go("finish")

    def idle_timeout(self) -> None:
        if self.active:
            self._go("idle")

    def _sent_timeout(self) -> None:
        if self.state is C.SENT:
            self._go("timeout")
