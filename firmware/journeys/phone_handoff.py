""" "Continue on your phone": a form a journey offers on the shopper's phone, shared by every such form.

``offer`` makes a fresh token (128 random bits), announces it in ``form.offered`` (with the form's kind and
whatever the phone's page needs to show what the cabinet shows) and keeps it for ``valid_s`` seconds; the
cloud serves the form at <link_base>/f/<token> and sends ``form_opened`` then ``<form>_form`` down as commands.
Only the token on offer is taken. ``close`` withdraws it (``form.closed``): the link stops working.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from firmware.clock import Clock, TimerHandle
from sync_client.outbox import Outbox

PHONE_FORM_S = 300.0  # how long the phone's link is good for


@dataclass
class PhoneHandOff:
    token: str
    status: str  # "waiting" (the QR is shown), "opened" (the phone has the form)


@dataclass
class PhoneOffer:
    """The one form of kind ``form`` on offer on a phone, if any (``current``)."""

    outbox: Outbox
    form: str  # the cloud's phone_forms.form: "repair", "callback"
    valid_s: float = PHONE_FORM_S
    current: PhoneHandOff | None = None
    _timer: TimerHandle | None = None

    def offer(self, clock: Clock, on_lapse: Callable[[], None], details: dict[str, Any] | None = None) -> str:
        """A fresh token, announced to the cloud; ``on_lapse`` runs when the link lapses. Returns the token."""
        self.close()
        token = secrets.token_urlsafe(16)
        with self.outbox.transaction() as tx:
            tx.append("form.offered", {"token": token, "form": self.form, "valid_s": self.valid_s, **(details or {})})
        self.current = PhoneHandOff(token, "waiting")
        self._timer = clock.call_later(self.valid_s, on_lapse)
        return token

    def close(self) -> None:
        """Withdraw the offer (back to typing at the cabinet, or the journey ended): the link stops working."""
        if self.current is None:
            return
        with self.outbox.transaction() as tx:
            tx.append("form.closed", {"token": self.current.token})
        self.forget()

    def forget(self) -> None:
        """The offer is over without a word to the cloud (it was submitted: the cloud marked the link used)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.current = None

    def offers(self, token: str) -> bool:
        return self.current is not None and secrets.compare_digest(self.current.token, token)

    def opened(self, token: str) -> bool:
        """The phone has the form (the form_opened command); False when that token is not on offer."""
        if not self.offers(token):
            return False
        assert self.current is not None
        self.current.status = "opened"
        return True


class OnPhone:
    """What a journey that offers its form on a phone does the same way, whatever the form: ``handoff`` and
    ``on_change`` are the journey's own."""

    handoff: PhoneOffer
    on_change: Callable[[], None]

    @property
    def phone(self) -> PhoneHandOff | None:
        """The form offered on the shopper's phone."""
        return self.handoff.current

    def cancel_phone(self) -> None:
        """Back to typing at the cabinet (the shopper's choice, or the link lapsed): the link stops working."""
        if self.phone is not None:
            self.handoff.close()
            self.on_change()

    def phone_opened(self, token: str) -> str:
        """The phone has the form (the form_opened command): the screen says so."""
        if not self.handoff.opened(token):
            return "ignored: this cabinet no longer offers that form"
        self.on_change()
        return "opened"
