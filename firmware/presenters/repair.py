"""Repair drop-off: vehicle, contact, fault, consent, ticket."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

from firmware.journeys.repair import RepairJourney
from kiosk_ui.intents import Agree, Back, Cancel, ChooseFaultCategory, Done, Intent, Next, OpenRepair, SetField
from kiosk_ui.view import (
    Chrome,
    FaultCategory,
    FieldError,
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
CATEGORIES: tuple[FaultCategory, ...] = get_args(FaultCategory)
REPAIR_INTENTS = (SetField, ChooseFaultCategory, Next, Agree, Back, Cancel, Done)


@dataclass
class RepairPresenter:
    repair: RepairJourney
    may_open: Callable[[], bool]  # nothing else under way
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
        )
