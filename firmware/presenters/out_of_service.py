"""Out of service: the store cannot record a sale, so selling intents are refused until it can."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import get_args

from firmware.presenters import Passive
from kiosk_ui.intents import Buy, Intent, OpenPickup, OpenRepair, Pay, SelectProduct, Start
from kiosk_ui.view import Chrome, OutOfServiceScreen, ShopperNotice, View, one_of

log = logging.getLogger(__name__)
SELLING = (Start, SelectProduct, Buy, Pay, OpenPickup, OpenRepair)  # staff, help and language still work
SHOPPER_NOTICES: tuple[ShopperNotice, ...] = get_args(ShopperNotice)


@dataclass
class OutOfServicePresenter(Passive):
    out_of_service: Callable[[], bool]  # no sale under way and the store cannot record one
    can_record: Callable[[], bool]  # checks the store again (it may work by now)
    problem: Callable[[], str | None]
    notice: Callable[[], str | None]  # the sale's message: what happened to the last buyer's money
    support_phone: str
    reference: Callable[[], str] = lambda: ""  # the last buyer's sale reference, told with the notice
    name: str = "out_of_service"

    def active(self) -> bool:
        return self.out_of_service()

    def handles(self, intent: Intent) -> bool:
        return isinstance(intent, SELLING) and not self.can_record()

    def handle(self, intent: Intent) -> None:
        log.info("intent refused: out of service", extra={"intent": intent.name, "reason": self.problem()})

    def view(self, chrome: Chrome) -> View:
        notice = self.notice()
        message = one_of(SHOPPER_NOTICES, notice if notice in SHOPPER_NOTICES else None, "notice")
        return OutOfServiceScreen(
            chrome=chrome,
            message=message,
            support_phone=self.support_phone,
            reference=self.reference() if message else "",
        )
