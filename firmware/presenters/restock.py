"""Restock: the staff PIN pad (or card, or the retailer's remote unlock), then the counts with the door open."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import get_args

from firmware.journeys.restock import R, RestockJourney
from firmware.presenters import Check, Shop
from kiosk_ui.intents import Cancel, Done, Intent, OpenStaff, SetCount, SubmitPin, UnlockAgain
from kiosk_ui.view import Chrome, DoorAlarm, DoorState, PinMessage, PinPadScreen, RestockScreen, View, one_of

PIN_MESSAGES: tuple[PinMessage, ...] = get_args(PinMessage)
DOOR_OF_STATE: dict[R, DoorState] = {R.UNLOCKED: "unlocked", R.COUNTING: "opened", R.RECORDED: "closed"}


@dataclass
class RestockPresenter:
    """Also the remote unlock's screen: the retailer's unlock through the cloud opens a restock."""

    restock: RestockJourney
    shop: Shop
    may_open: Callable[[], bool]  # nothing else under way
    door_reminder: Callable[[], DoorAlarm | None]
    enter_pin: Callable[[str], Awaitable[None]]  # the pad's PIN: a retailer's here, a technician's to service
    checked: Check
    name: str = "restock"

    def active(self) -> bool:
        return self.restock.active

    def handles(self, intent: Intent) -> bool:
        state = self.restock.state
        match intent:
            case SubmitPin():
                return state in (R.PIN_ENTRY, R.PIN_CHECKING)  # a second tap is refused by the journey
            case Cancel():
                return state is R.PIN_ENTRY
            case SetCount():
                return state in (R.UNLOCKED, R.COUNTING)
            case UnlockAgain():
                return state is R.UNLOCKED
            case Done():
                return state is R.RECORDED
        return False

    def opens(self, intent: Intent) -> bool:
        return isinstance(intent, OpenStaff) and self.may_open()

    def handle(self, intent: Intent) -> None:
        match intent:
            case OpenStaff():
                self.restock.open_pin_pad()
            case SubmitPin(pin=pin):
                self.shop.spawn(self.checked(self.enter_pin(pin)), "restock-pin-check")
            case Cancel():
                self.restock.cancel()
            case SetCount(sku=sku, count=count):
                self.restock.set_count(sku, count)
            case UnlockAgain():
                self.restock.unlock_again()
            case Done():
                self.restock.finish()

    def view(self, chrome: Chrome) -> View:
        restock, state = self.restock, self.restock.state
        if state in (R.PIN_ENTRY, R.PIN_CHECKING):
            locked = restock.message == "pin_locked"
            return PinPadScreen(
                chrome=chrome,
                message=one_of(PIN_MESSAGES, restock.message, "PIN pad message"),
                attempts_left=max(0, restock.guard.free_attempts - restock.guard.failures),
                deadline=restock.clock.monotonic() + restock.pin_lock_remaining() if locked else restock.deadline,
            )
        return RestockScreen(
            chrome=chrome,
            products=self.shop.products(),
            door=DOOR_OF_STATE[state],
            deadline=restock.deadline,
            latch_until=restock.door.released_until,
            can_unlock_again=restock.can_unlock_again,
            counts=tuple(restock.counts.items()),
            changes=tuple(restock.changes.items()),
            alarm=self.door_reminder() if state is R.COUNTING else None,
        )
