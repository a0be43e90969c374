"""Repair drop-off: vehicle, contact, fault, consent, ticket."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from firmware.journeys.phone_handoff import PhoneHandOff
from firmware.journeys.repair import RepairJourney
from kiosk_ui.intents import (
    Agree,
    Back,
    Cancel,
    CancelPhone,
    ChooseFaultCategory,
    ContinueOnPhone,
    Done,
    Intent,
    Next,
    OpenRepair,
    SetField,
)
from kiosk_ui.view import (
    Chrome,
    FaultCategory,
    FieldError,
    PhoneStatus,
    RepairField,
    RepairScreen,
    RepairStep,
    View,
    member,
    one_of,
)

STEPS: tuple[RepairStep, ...] = get_args(RepairStep)
FIELDS: tuple[RepairField, ...] = get_args(RepairField)
ERROR_FIELDS: tuple[RepairField | Literal["category"], ...] = (*FIELDS, "category")
ERRORS: tuple[FieldError, ...] = get_args(FieldError)
PHONE: tuple[PhoneStatus, ...] = get_args(PhoneStatus)
CATEGORIES: tuple[FaultCategory, ...] = get_args(FaultCategory)
REPAIR_INTENTS = (SetField, ChooseFaultCategory, Next, Agree, Back, Cancel, Done, ContinueOnPhone, CancelPhone)


@dataclass
class RepairPresenter:
    repair: RepairJourney
    may_open: Callable[[], bool]  # nothing else under way
    # the configuration's consumer pages (link_base) while the cabinet is online, else None: no phone hand-off
    phone_base: Callable[[], str | None] = lambda: None
    name: str = "repair"

    def active(self) -> bool:
        return self.repair.active

    def handles(self, intent: Intent) -> bool:
        return isinstance(intent, REPAIR_INTENTS)  # each step refuses what it does not take

    def opens(self, intent: Intent) -> bool:
        return isinstance(intent, OpenRepair) and self.may_open()

    def handle(self, intent: Intent) -> None:
        repair = self.repair
        match intent:
            case OpenRepair():
                repair.open()
            case SetField(field=name, value=value):
                repair.set_field(name, value)
            case ChooseFaultCategory(category=category):
                repair.choose_category(category)
            case Next():
                repair.next()
            case Agree():
                repair.agree()
            case Back():
                repair.back()
            case Cancel():
                repair.cancel()
            case Done():
                repair.done()
            case ContinueOnPhone():
                repair.continue_on_phone()
            case CancelPhone():
                repair.cancel_phone()

    def view(self, chrome: Chrome) -> View:
        repair = self.repair
        return RepairScreen(
            chrome=chrome,
            step=member(STEPS, repair.step, "repair step"),
            fields=tuple((member(FIELDS, name, "repair field"), value) for name, value in repair.fields()),
            field_errors=tuple(
                (member(ERROR_FIELDS, name, "repair field"), member(ERRORS, key, f"repair {name} error"))
                for name, key in repair.field_errors()
            ),
            fault_category=one_of(CATEGORIES, repair.fault_category, "fault category"),
            ticket=repair.ticket,
            **self._phone(chrome),
        )

    def _phone(self, chrome: Chrome) -> dict[str, Any]:
        offer = chrome.online and self.repair.step == "vehicle"  # offered before anything is typed here
        return phone_view(self.repair.phone, self.phone_base(), offer)


def phone_view(handoff: PhoneHandOff | None, base: str | None, offer: bool) -> dict[str, Any]:
    """A screen's "Continue on your phone" fields: the link's QR and status while a form is on offer, else the
    button when ``offer`` (and the configuration has consumer pages)."""
    if handoff is not None and base:
        return {"phone": member(PHONE, handoff.status, "phone status"), "phone_link": f"{base}/f/{handoff.token}"}
    return {"phone": "offer"} if base and offer else {}
