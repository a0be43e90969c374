"""Dropping a vehicle off for repair: an explicit state machine.

    idle ─open→ vehicle ─next→ contact ─next→ fault ─next→ consent ─agree→ ticket ─done | timeout→ idle
    contact, fault, consent ─back→ the step before (what was entered stays, to be corrected)
    vehicle, contact, fault, consent ─phone→ ticket   (the form filled in on the shopper's phone)
    vehicle ─back→ idle;  any step ─cancel | idle→ idle   (everything entered is discarded)

The UI sends a step's fields (``field``), then ``next``: the step is validated
with all its values in hand and either moves on or reports ``field_errors``.
Agreeing issues a short ticket number, unique in the ``repair_tickets`` table,
and appends ``repair.ticket`` with the name and phone in the payload (the
retailer calls the owner) in the same durable transaction: the number on the
screen is the promise that the drop-off was recorded. Name and phone never reach
a log line, the local tables or an exception message; after the ticket they are
dropped from memory too.

"Continue on your phone" (firmware/journeys/phone_handoff.py): ``continue_on_phone`` offers the form and shows
<link_base>/f/<token> as a QR for PHONE_FORM_S seconds; the cloud sends ``form_opened`` then ``repair_form``
down as commands. The submitted form passes the same checks as typed values and issues the ticket in the
command's transaction.
While the hand-off is open the idle timeout waits (the shopper types on the phone, not on the screen).
"""

from __future__ import annotations

import enum
import logging
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from firmware.clock import Clock, LoopClock, TimerHandle
from firmware.journeys.machine import later, transition
from firmware.journeys.phone_handoff import PHONE_FORM_S, OnPhone, PhoneOffer
from sync_client.outbox import Outbox, Transaction
from sync_client.schema import (  # the rules the phone's form shares
    CATEGORY_MISSING,
    FAULT_CATEGORIES,
    REPAIR_FIELD_CHECKS,
    VEHICLE_INVALID,
    SchemaError,
    normalise_vehicle,
    parse_repair_form,
)
from sync_client.schema import normalise_name as normalise_name  # re-exported: the journey's rules in one place
from sync_client.schema import normalise_phone as normalise_phone
from sync_client.store.repair_tickets import RepairTicketsRepo

log = logging.getLogger(__name__)

# Base32 without the look-alikes 0/O and 1/I (RFC 4648 has no 0 or 1 to begin with).
TICKET_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ234567"
TICKET_PREFIX, TICKET_CHARS = "R-", 6
_VEHICLE_PREFIXES = ("VIN:", "FRAME:", "VEHICLE:")
_VEHICLE_QUERY_KEYS = ("vin", "frame", "vehicle", "id")


class Step(enum.StrEnum):
    IDLE = "idle"
    VEHICLE = "vehicle"
    CONTACT = "contact"
    FAULT = "fault"
    CONSENT = "consent"
    TICKET = "ticket"


TRANSITIONS: dict[Step, dict[str, Step]] = {
    Step.IDLE: {"open": Step.VEHICLE},
    Step.VEHICLE: {"next": Step.CONTACT, "back": Step.IDLE, "cancel": Step.IDLE, "idle": Step.IDLE},
    Step.CONTACT: {"next": Step.FAULT, "back": Step.VEHICLE, "cancel": Step.IDLE, "idle": Step.IDLE},
    Step.FAULT: {"next": Step.CONSENT, "back": Step.CONTACT, "cancel": Step.IDLE, "idle": Step.IDLE},
    Step.CONSENT: {"agree": Step.TICKET, "back": Step.FAULT, "cancel": Step.IDLE, "idle": Step.IDLE},
    Step.TICKET: {"done": Step.IDLE, "timeout": Step.IDLE, "idle": Step.IDLE},
}

# The fields the person types on each step (the category is a tap: fault_category).
STEP_FIELDS: dict[Step, tuple[str, ...]] = {
    Step.VEHICLE: ("vehicle",),
    Step.CONTACT: ("name", "phone"),
    Step.FAULT: ("description",),
}
FIELD_ORDER = ("vehicle", "name", "phone", "description")


for _step in (Step.VEHICLE, Step.CONTACT, Step.FAULT, Step.CONSENT):
    TRANSITIONS[_step]["phone"] = Step.TICKET


class RepairRefused(Exception):
    pass


# --- validation: each returns the normalised value, or None when it is not acceptable --------------
def vehicle_from_scan(text: str) -> str | None:
    """The vehicle id a scanned code carries: "VIN:…", a URL ending in /v/<id> (or with ?vin=, ?frame=,
    ?vehicle=, ?id=), or a bare frame number. None when the code carries none (a product QR, say)."""
    text = text.strip()
    upper = text.upper()
    for prefix in _VEHICLE_PREFIXES:
        if upper.startswith(prefix):
            return normalise_vehicle(text[len(prefix) :])
    if "://" in text:
        url = urlsplit(text)
        segments = [s for s in url.path.split("/") if s]
        if len(segments) >= 2 and segments[-2].lower() == "v":
            return normalise_vehicle(segments[-1])
        query = parse_qs(url.query)
        for key in _VEHICLE_QUERY_KEYS:
            if query.get(key):
                return normalise_vehicle(query[key][0])
        return None
    return normalise_vehicle(text)


_VALIDATORS = REPAIR_FIELD_CHECKS


@dataclass
class RepairJourney(OnPhone):
    outbox: Outbox
    on_change: Callable[[], None] = lambda: None
    ticket_s: float = 60.0  # how long the ticket stays on screen
    rng: random.Random = field(default_factory=secrets.SystemRandom)
    state: Step = Step.IDLE
    ticket: str | None = None  # the last ticket, while it is on screen
    fault_category: str | None = None
    _values: dict[str, str] = field(default_factory=dict, repr=False)  # personal data: never logged
    _errors: list[tuple[str, str]] = field(default_factory=list)
    clock: Clock = field(default_factory=LoopClock)
    _timer: TimerHandle | None = None
    phone_s: float = PHONE_FORM_S

    def __post_init__(self) -> None:
        self.tickets = RepairTicketsRepo(self.outbox)
        self.handoff = PhoneOffer(self.outbox, "repair", self.phone_s)

    def _go(self, trigger: str) -> Step:
        if TRANSITIONS[self.state].get(trigger) is Step.IDLE:
            self._discard()  # personal data goes before anything is drawn again
        return transition(self, TRANSITIONS, trigger, RepairRefused, "repair")

    def _discard(self) -> None:
        self.handoff.close()
        self._values.clear()
        self._errors.clear()
        self.fault_category = None
        self.ticket = None

    # --- for the view -------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.state is not Step.IDLE

    @property
    def step(self) -> str | None:
        return self.state.value if self.active else None

    def fields(self) -> tuple[tuple[str, str], ...]:
        """The values the journey holds, (field, value), for RepairScreen.fields."""
        return tuple((name, self._values[name]) for name in FIELD_ORDER if self._values.get(name))

    def field_errors(self) -> tuple[tuple[str, str], ...]:
        """What was wrong with the current step at the last ``next``, (field or "category", error key)."""
        return tuple(self._errors)

    # --- the person's intents ---------------------------------------------------------
    def open(self) -> None:
        self._discard()
        self._go("open")

    def set_field(self, name: str, value: str) -> None:
        """SetField(name, value): a value typed on the current step, validated at ``next``."""
        if name not in STEP_FIELDS.get(self.state, ()):
            raise RepairRefused(f"field {name!r} is not entered on repair step {self.state.value}")
        self._values[name] = value

    def scanned(self, text: str) -> bool:
        """A code the scanner read while the vehicle step is shown: True when it carried a vehicle id."""
        if self.state is not Step.VEHICLE:
            return False
        vehicle = vehicle_from_scan(text)
        if vehicle is None:
            self._errors = [("vehicle", VEHICLE_INVALID)]
        else:
            self._values["vehicle"], self._errors = vehicle, []
        self.on_change()
        return vehicle is not None

    def choose_category(self, category: str) -> None:
        """ChooseFaultCategory(category)."""
        if self.state is not Step.FAULT:
            raise RepairRefused(f"a fault category is chosen on the fault step, not {self.state.value}")
        if category not in FAULT_CATEGORIES:
            raise RepairRefused(f"unknown fault category {category!r} (expected one of {', '.join(FAULT_CATEGORIES)})")
        self.fault_category = category
        self._errors = [e for e in self._errors if e[0] != "category"]
        self.on_change()

    def next(self) -> bool:
        """Validate the current step; move on (True) or report field_errors and stay (False)."""
        if self.state not in STEP_FIELDS:
            raise RepairRefused(f"'next' is not allowed in repair step {self.state.value}")
        errors, accepted = [], {}
        if self.state is Step.FAULT and self.fault_category is None:
            errors.append(("category", CATEGORY_MISSING))
        for name in STEP_FIELDS[self.state]:
            normalise, error = _VALIDATORS[name]
            value = normalise(self._values.get(name, ""))
            if value is None:
                errors.append((name, error))
            else:
                accepted[name] = value
        self._errors = errors
        if errors:
            log.info(
                "repair step incomplete", extra={"step": self.state.value, "errors": ",".join(key for _, key in errors)}
            )
            self.on_change()
            return False
        self._values.update(accepted)
        self._go("next")
        return True

    def back(self) -> None:
        self._errors = []
        self._go("back")

    def cancel(self) -> None:
        if self.active:
            self._go("cancel")

    def idle_timeout(self) -> None:
        """Nobody touched the screen for a while: whatever was entered goes (unless typed on a phone now)."""
        if self.active and self.phone is None:
            self._go("idle")

    def agree(self) -> str:
        """Consent given: issue the ticket and record the drop-off. Returns the ticket number."""
        if self.state is not Step.CONSENT:
            raise RepairRefused(f"'agree' is not allowed in repair step {self.state.value}")
        with self.outbox.transaction(durable=True) as tx:
            ticket = self._record(tx)
        self._issued(ticket, "agree")
        return ticket

    def _record(self, tx: Transaction) -> str:
        """The ticket and its repair.ticket event, in ``tx``, from the values held."""
        values, category = self._values, self.fault_category
        assert category is not None  # the fault step does not pass without one
        ticket = self._new_ticket_id(tx)
        self.tickets.insert(tx, ticket, values["vehicle"], category, "dropped_off")
        tx.append(
            "repair.ticket",
            {
                "ticket_id": ticket,
                "device": values["vehicle"],
                "status": "dropped_off",
                "detail": f"{category}: {values['description']}",
                "category": category,
                "description": values["description"],
                "name": values["name"],
                "phone": values["phone"],
            },
        )
        return ticket

    def _issued(self, ticket: str, trigger: str) -> None:
        log.info("repair ticket issued", extra={"ticket_id": ticket})
        self._values.clear()  # recorded; the screen now needs only the ticket number
        self.ticket = ticket
        self._go(trigger)
        later(self, self.ticket_s, self._ticket_timeout)

    # --- continue on the shopper's phone ------------------------------------------------
    def continue_on_phone(self) -> str:
        """Offer the form on the shopper's phone: a fresh token, announced to the cloud. Returns it."""
        if "phone" not in TRANSITIONS[self.state]:
            raise RepairRefused(f"the form is not offered on a phone in repair step {self.state.value}")
        token = self.handoff.offer(self.clock, self.cancel_phone)
        self.on_change()
        return token

    def phone_form(self, tx: Transaction, token: str, fields: dict[str, str]) -> str:
        """The form filled in on the phone (the repair_form command): the ticket is issued in ``tx``, exactly
        as if the values had been typed here. Returns the command's result; SchemaError refuses it."""
        if not self.handoff.offers(token):
            raise SchemaError("token: this cabinet no longer offers that form")
        values, errors = parse_repair_form(fields)
        if errors:  # the cloud checked with the same rules: only a different version gets here
            raise SchemaError(", ".join(f"{name}: {key}" for name, key in errors))
        self.fault_category = values.pop("category")
        self._values = values
        ticket = self._record(tx)
        self.handoff.forget()  # submitted: the cloud has marked the link used
        self._issued(ticket, "phone")
        return f"ticket {ticket}"

    def done(self) -> None:
        if self.state is Step.TICKET:
            self._go("done")

    def _ticket_timeout(self) -> None:
        if self.state is Step.TICKET:
            self._go("timeout")

    def _new_ticket_id(self, tx: Transaction) -> str:
        """A fresh number, checked inside the transaction that records it (BEGIN IMMEDIATE: no race)."""
        while True:
            ticket = TICKET_PREFIX + "".join(self.rng.choice(TICKET_ALPHABET) for _ in range(TICKET_CHARS))
            if not self.tickets.exists(tx, ticket):
                return ticket
