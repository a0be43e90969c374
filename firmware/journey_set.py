"""The cabinet's journeys, built together, and what depends on all of them: whether anyone is using the
cabinet, where help is offered, when the shop is out of service, the staff's one PIN pad, the idle
timeout and the recovery at boot."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from firmware.catalog import Catalog
from firmware.clock import Clock
from firmware.config import Config
from firmware.config_in_force import ConfigInForce
from firmware.devices import Devices
from firmware.door_cycle import DoorCycle
from firmware.journeys.callback import CallbackJourney, CallbackRefused
from firmware.journeys.pickup import PickupJourney, PickupRefused
from firmware.journeys.repair import RepairJourney, RepairRefused
from firmware.journeys.restock import RestockJourney, RestockRefused
from firmware.journeys.sale import IllegalTransition, S, SaleJourney
from firmware.journeys.service import ServiceJourney, ServiceRefused
from firmware.storage import StorageGuard
from hal.errors import DeviceFault
from sync_client.outbox import Outbox

log = logging.getLogger(__name__)
# A journey's refusal of a stale tap (the screen changed under the finger): a log line, never an error.
STALE = (IllegalTransition, PickupRefused, RestockRefused, RepairRefused, ServiceRefused, CallbackRefused, ValueError)


async def checked(check: Awaitable[object]) -> None:
    """A code or PIN being checked: a second one sent meanwhile is refused by its journey, like any
    stale tap (logged, never counted)."""
    try:
        await check
    except (PickupRefused, RestockRefused, ServiceRefused) as exc:
        log.info("code ignored", extra={"reason": str(exc)})


@dataclass
class Journeys:
    sale: SaleJourney
    pickup: PickupJourney
    restock: RestockJourney
    repair: RepairJourney
    service: ServiceJourney
    callback: CallbackJourney

    async def staff_pin(self, pin: str) -> None:
        """One PIN pad for the staff: a technician's PIN opens the service menu, any other is a retailer's
        attempt at restock (and counted against the pad's limit). Checked off the event loop."""
        if await self.restock.enter_pin(pin) == "technician":
            self.service.open_pin_pad()
            await self.service.enter_pin(pin)

    def idle(self) -> bool:
        """No one is using the cabinet: no journey beyond the attract or catalog screens."""
        return (
            self.sale.state in (S.IDLE, S.BROWSE)
            and not self.pickup.active
            and not self.restock.active
            and not self.repair.active
            and not self.service.active
        )

    def help_offered(self) -> bool:
        """Help opens over every shopper's screen (a sale, a pickup, a repair drop-off), not the staff's."""
        return not self.restock.active and not self.service.active

    def pickup_may_open(self) -> bool:
        return self.idle() and self.sale.state is S.IDLE

    def out_of_service(self, storage_problem: str | None) -> bool:
        """The store cannot record a sale and no sale is under way (a paid sale keeps its door screens)."""
        return (
            storage_problem is not None
            and not self.sale.paying
            and self.sale.state in (S.IDLE, S.BROWSE, S.PRODUCT, S.PAY)
        )

    def idle_timeout(self) -> None:
        """No touch for the idle timeout: every journey goes back to where it waits for someone. Not while a
        call-back is typed on the shopper's phone: its product waits under it (the phone's link lapses in
        minutes; then the next timeout applies)."""
        if self.callback.phone is not None:
            return
        self.sale.idle_timeout()
        self.pickup.idle_timeout()
        self.restock.cancel()
        self.repair.idle_timeout()
        self.service.idle_timeout()
        self.callback.idle_timeout()

    def recover_after_restart(self, resume_window_s: float) -> None:
        """Every journey that can open the door settles what a power cut interrupted; none opens it again."""
        self.sale.recover_after_restart(resume_window_s)
        self.pickup.recover_after_restart()
        self.restock.recover_after_restart()


@dataclass
class Parts:
    """What the journeys share, from the cabinet."""

    config: Config
    outbox: Outbox
    catalog: Catalog
    devices: Devices
    clock: Clock
    door: DoorCycle  # the one door cycle
    access: ConfigInForce  # the staff's PINs and cards, the pickup orders
    storage: StorageGuard  # whether a sale can be recorded
    on_change: Callable[[], None]  # a journey moved: refresh the screen
    on_fault: Callable[[DeviceFault], None]


def build_journeys(
    parts: Parts,
    payment_methods: Callable[[], tuple[str, ...]],
    selftest: Callable[[], Awaitable[list[tuple[str, bool, str]]]],
    restart: Callable[[], None],
) -> Journeys:
    config, lock, refresh, clock, door, access = (
        parts.config, parts.devices.lock, parts.on_change, parts.clock, parts.door, parts.access,
    )  # fmt: skip
    sale = SaleJourney(
        outbox=parts.outbox,
        catalog=parts.catalog,
        lock=lock,
        terminals=parts.devices.terminals,
        lock_config=config.lock,
        currency=config.cabinet.currency,
        thanks_s=config.screen.thanks_s,
        on_change=refresh,
        on_fault=parts.on_fault,
        available_methods=payment_methods,
        can_record=parts.storage.check,
        on_storage_failed=parts.storage.failed,
        clock=clock,
        door=door,
    )
    pickup = PickupJourney(
        outbox=parts.outbox,
        catalog=parts.catalog,
        lock=lock,
        lock_config=config.lock,
        orders=access.pickup_orders,
        on_change=refresh,
        thanks_s=config.screen.thanks_s,
        clock=clock,
        door=door,
    )
    restock = RestockJourney(
        outbox=parts.outbox,
        catalog=parts.catalog,
        lock=lock,
        lock_config=config.lock,
        pin_hashes=access.pin_hashes,
        staff_cards=access.staff_cards,
        staff_fingerprints=access.staff_fingerprints,
        on_change=refresh,
        technician_pin_hashes=access.technician_pin_hashes,
        clock=clock,
        door=door,
    )
    service = ServiceJourney(
        outbox=parts.outbox,
        lock=lock,
        pin_hashes=access.technician_pin_hashes,
        staff_cards=access.staff_cards,
        selftest_checks=selftest,
        restart_service=restart,
        on_change=refresh,
        screen_size=(config.screen.width, config.screen.height),
        clock=clock,
        fingerprint=parts.devices.fingerprint,
        staff_fingerprints=access.staff_fingerprints,
    )
    repair = RepairJourney(parts.outbox, on_change=refresh, clock=clock)
    callback = CallbackJourney(parts.outbox, on_change=refresh, sent_s=config.screen.thanks_s, clock=clock)
    return Journeys(sale, pickup, restock, repair, service, callback)
