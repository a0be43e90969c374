"""Pickup: the code of an online order, then the door."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import get_args

from firmware.journeys.pickup import P, PickupJourney
from firmware.presenters import Check, Shop
from kiosk_ui.intents import Back, Done, Intent, OpenPickup, PressKey, SubmitPickupCode, UnlockAgain
from kiosk_ui.view import Chrome, DoorScreen, DoorState, PickupMessage, PickupScreen, ThanksScreen, View, one_of
from sync_client.cabinet_config import PICKUP_CODE_DIGITS

PICKUP_MESSAGES: tuple[PickupMessage, ...] = get_args(PickupMessage)


@dataclass
class PickupPresenter:
    pickup: PickupJourney
    shop: Shop
    may_open: Callable[[], bool]  # from the attract screen, nothing else under way
    checked: Check
    name: str = "pickup"

    def active(self) -> bool:
        return self.pickup.active

    def handles(self, intent: Intent) -> bool:
        state = self.pickup.state
        match intent:
            case Back() | PressKey():
                return state is P.CODE_ENTRY
            case SubmitPickupCode():
                return state in (P.CODE_ENTRY, P.CODE_CHECKING)  # a second tap is refused by the journey
            case UnlockAgain():
                return state is P.DOOR_UNLOCKED
            case Done():
                return state is P.DONE
        return False

    def opens(self, intent: Intent) -> bool:
        return isinstance(intent, OpenPickup) and self.may_open()

    def handle(self, intent: Intent) -> None:
        match intent:
            case OpenPickup():
                self.pickup.open()
            case Back():
                self.pickup.back()
            case PressKey():
                pass  # the keypad keeps the code being typed; only the submit matters
            case SubmitPickupCode(code=code):
                self.shop.spawn(self.checked(self.pickup.submit(code)), "pickup-code-check")
            case UnlockAgain():
                self.pickup.unlock_again()
            case Done():
                self.pickup.finish()

    def view(self, chrome: Chrome) -> View:
        pickup, state = self.pickup, self.pickup.state
        if state in (P.CODE_ENTRY, P.CODE_CHECKING):
            return PickupScreen(
                chrome=chrome,
                message=one_of(PICKUP_MESSAGES, pickup.message, "pickup message"),
                deadline=pickup.deadline,
                code_length=PICKUP_CODE_DIGITS,
            )
        sku = pickup.order.sku if pickup.order else None
        product = self.shop.product(sku) if sku is not None else None
        if state is P.DONE:
            reference = pickup.order.order_id if pickup.order else ""
            return ThanksScreen(
                chrome=chrome,
                product=product,
                money="collected",
                reference=reference,
                receipt_qr=reference,
                prepaid=True,
            )
        door: DoorState = "opened" if state is P.DOOR_OPENED else "unlocked"
        return DoorScreen(
            chrome=chrome,
            product=product,
            door=door,
            deadline=pickup.deadline,
            latch_until=pickup.door.released_until,
            can_unlock_again=pickup.can_unlock_again,
            prepaid=True,
        )
