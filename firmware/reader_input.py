"""What a card or a code read means now: a staff card opens the service menu or the restock when no one
is using the cabinet; a vehicle's QR goes to the repair, an order's QR to the pickup; anything else is
only recorded."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from firmware.journeys.pickup import P, PickupJourney
from firmware.journeys.repair import RepairJourney
from firmware.journeys.restock import RestockJourney
from firmware.journeys.service import ServiceJourney
from firmware.optional_events import append_optional
from firmware.presenters import Check, Spawn
from hal.card_reader import CardRead
from hal.code_reader import CodeRead
from hal.fingerprint_sensor import FingerRead
from sync_client.cabinet_config import StaffFingerprint
from sync_client.outbox import Outbox

log = logging.getLogger(__name__)
PICKUP_QR = re.compile(r"(?:^|[?&/:=])(?:code=|PICKUP:)?(\d{4,12})$")


def pickup_code_in(text: str) -> str | None:
    """The pickup code in an order's QR: the digits alone, "PICKUP:<code>", or a link ending in code=<code>."""
    match = PICKUP_QR.search(text.strip())
    return match.group(1) if match else None


@dataclass
class ReaderInput:
    outbox: Outbox
    staff_cards: Callable[[], Mapping[str, str]]  # card UID (upper-case hex) -> role
    idle: Callable[[], bool]  # no one is using the cabinet
    service: ServiceJourney
    restock: RestockJourney
    repair: RepairJourney
    pickup: PickupJourney
    spawn: Spawn
    checked: Check  # a code check: a stale one only logged
    # fingerprint module slot -> whose finger (from the configuration)
    staff_fingerprints: Callable[[], Mapping[int, StaffFingerprint]] = dict

    def card(self, card: CardRead) -> None:
        role = self.staff_cards().get(card.uid_hex)
        if role == "technician" and self.idle():
            self.service.technician_card(card.uid_hex)  # audited there
        elif role == "retailer" and self.idle():
            self.restock.staff_card(card.uid_hex)  # audited there, with the role
        else:
            append_optional(self.outbox, "card.read", {"uid": card.uid_hex})

    def finger(self, read: FingerRead) -> None:
        """A finger on the sensor while no one uses the cabinet: a technician's opens the service menu, any
        other goes to the restock (which opens for a retailer's and counts the rest as wrong)."""
        if not self.idle():
            log.info("fingerprint: a finger while the cabinet is in use, ignored")
            return
        staff = self.staff_fingerprints().get(read.slot) if read.slot is not None else None
        if staff is not None and staff.role == "technician" and read.slot is not None:
            self.service.technician_finger(read.slot)  # audited there
        else:
            self.restock.staff_finger(read.slot)  # audited there

    def code(self, code: CodeRead) -> None:
        append_optional(self.outbox, "code.scanned", {"text": code.text, "source": code.source})
        if self.repair.step == "vehicle":  # the vehicle's own QR
            self.repair.scanned(code.text)
        elif self.pickup.state is P.CODE_ENTRY:  # an order's QR shown to the scanner or camera
            pickup_code = pickup_code_in(code.text)
            if pickup_code:
                self.spawn(
                    self.checked(self.pickup.submit(pickup_code, source=code.source or "scanner")), "pickup-code-check"
                )
