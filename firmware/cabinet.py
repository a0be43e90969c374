"""The orchestrator: wires devices, the local store, the journeys and the screen.

Each journey's presenter (firmware.presenters) gives its screen's view and takes the intents it handles;
the cabinet keeps them in one priority order (the Router), watches the door and the readers, and keeps
snapshots.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from firmware.catalog import Catalog, product_from_cloud
from firmware.clock import Clock, LoopClock
from firmware.cloud_config import MEDIA_DIR, ads_due, playable_ads
from firmware.config import Config
from firmware.devices import Devices
from firmware.door_alarms import DoorAlarms
from firmware.door_cycle import DoorCycle
from firmware.journeys.pickup import P, PickupJourney, PickupRefused
from firmware.journeys.repair import RepairJourney, RepairRefused
from firmware.journeys.restock import RestockJourney, RestockRefused
from firmware.journeys.sale import IllegalTransition, S, SaleJourney
from firmware.journeys.service import ServiceJourney, ServiceRefused
from firmware.presenters import Router, Shop
from firmware.presenters.browse import BrowsePresenter
from firmware.presenters.help import HelpPresenter
from firmware.presenters.out_of_service import OutOfServicePresenter
from firmware.presenters.pickup import PickupPresenter
from firmware.presenters.repair import RepairPresenter
from firmware.presenters.restock import RestockPresenter
from firmware.presenters.sale import SalePresenter
from firmware.presenters.service import ServicePresenter
from firmware.scan_to_pay_terminal import ScanToPayTerminal
from firmware.selftest import run_checks
from firmware.storage import StorageGuard
from firmware.supervisor import Supervisor, TaskFailure
from hal.card_reader import CardRead, CardReader
from hal.code_reader import CodeRead, CodeReader
from hal.errors import DeviceFault
from kiosk_ui.i18n import LANGUAGES
from kiosk_ui.intents import Activity, AdShown, Intent, ToggleLanguage
from kiosk_ui.view import (
    AdView,
    Chrome,
    ColourOption,
    DoorAlarm,
    ErrorScreen,
    Language,
    ProductView,
    SyncView,
    View,
    member,
    one_of,
)
from sync_client.cabinet_config import Ad, CabinetConfig
from sync_client.outbox import STORAGE_ERRORS, Outbox, OutboxFull, Transaction
from sync_client.snapshots import snapshot_name

log = logging.getLogger(__name__)
DOOR_ALARMS: tuple[DoorAlarm, ...] = get_args(DoorAlarm)

RECONNECT_S = 2.0


@dataclass
class Cabinet:
    config: Config
    devices: Devices
    outbox: Outbox
    data_dir: Path
    is_online: Callable[[], bool] = lambda: True
    language: Language = "en"
    on_view: Callable[[View], None] = lambda view: None
    last_activity: float = field(default_factory=time.monotonic)
    faults: dict[str, str] = field(default_factory=dict)
    cloud: CabinetConfig | None = None  # the configuration from the cloud in force, if any yet
    _ads: tuple[tuple[Ad, AdView], ...] = ()  # its ads with their media resolved (playable_ads)
    sync_status: Callable[[], SyncView] = SyncView  # the uploader's view of things, for the service menu
    restart: Callable[[], None] = lambda: None  # the service menu's restart: stop; systemd starts us again
    on_snapshot: Callable[[], None] = lambda: None  # a new photo to upload
    # Whether the store can record a sale; the runtime's keeps the store marker, None makes one without.
    storage: StorageGuard = None  # type: ignore[assignment]
    clock: Clock = field(default_factory=LoopClock)  # journeys, the door and its alarms read time here
    # Every background task starts through it (the runtime's, shared with the uploader and the others).
    supervisor: Supervisor = field(default_factory=Supervisor)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)  # the cabinet's own, cancelled by stop()

    def __post_init__(self) -> None:
        self.language = member(LANGUAGES, self.config.screen.language, "screen.language")
        self.catalog = Catalog(self.outbox, self.config.products)
        if self.storage is None:
            self.storage = StorageGuard(self.outbox, int(self.config.storage.reserve_mb * 2**20))
        self.storage.on_change = self._storage_changed
        # The one door: every journey that opens it goes through this cycle (timers, snapshots, relock).
        self.door_cycle = DoorCycle(self.devices.lock, self.clock, on_change=self.refresh, snapshot=self._door_snapshot)
        self.supervisor.on_failure = self._task_failed
        self.sale = SaleJourney(
            outbox=self.outbox,
            catalog=self.catalog,
            lock=self.devices.lock,
            terminals=self.devices.terminals,
            lock_config=self.config.lock,
            currency=self.config.cabinet.currency,
            thanks_s=self.config.screen.thanks_s,
            on_change=self.refresh,
            on_fault=self._fault,
            available_methods=self.payment_methods,
            can_record=self.storage.check,
            on_storage_failed=self.storage.failed,
            clock=self.clock,
            door=self.door_cycle,
        )
        self.pickup = PickupJourney(
            outbox=self.outbox,
            catalog=self.catalog,
            lock=self.devices.lock,
            lock_config=self.config.lock,
            orders=lambda: self.cloud.pickup_orders if self.cloud else (),
            on_change=self.refresh,
            thanks_s=self.config.screen.thanks_s,
            clock=self.clock,
            door=self.door_cycle,
        )
        self.restock = RestockJourney(
            outbox=self.outbox,
            catalog=self.catalog,
            lock=self.devices.lock,
            lock_config=self.config.lock,
            pin_hashes=self._pin_hashes,
            staff_cards=self._staff_cards,
            on_change=self.refresh,
            technician_pin_hashes=self._technician_pin_hashes,
            clock=self.clock,
            door=self.door_cycle,
        )
        self.repair = RepairJourney(self.outbox, on_change=self.refresh, clock=self.clock)
        self.service = ServiceJourney(
            outbox=self.outbox,
            lock=self.devices.lock,
            pin_hashes=self._technician_pin_hashes,
            staff_cards=self._staff_cards,
            selftest_checks=self._live_selftest,
            restart_service=lambda: self.restart(),
            on_change=self.refresh,
            screen_size=(self.config.screen.width, self.config.screen.height),
            clock=self.clock,
        )
        self.alarms = DoorAlarms(
            self.outbox,
            reminder_s=self.config.lock.door_reminder_s,
            alarm_s=self.config.lock.door_alarm_s,
            on_change=self.refresh,
            snapshot=lambda kind: self._door_snapshot(kind, None),
            clock=self.clock,
        )
        self.snapshot_dir = self.data_dir / "snapshots"
        self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        self.router = self._presenters()

    def _presenters(self) -> Router:
        """Every journey's presenter, highest priority first: the first active one gives the screen and the
        first crack at each intent (so "back" and "done" go where the person is)."""
        shop = Shop(product=self._product_view_of, products=self.products_view, spawn=self._spawn)
        reminder = self._door_reminder
        support = self.config.cabinet
        self.help = HelpPresenter(self._help_offered, support.support_phone, support.support_url, self.refresh)
        sale = SalePresenter(
            self.sale,
            shop,
            door_reminder=reminder,
            payment_methods=self.payment_methods,
            payment_qr=self._payment_qr,
            store_url=self._store_url,
        )
        return Router(
            (
                ServicePresenter(
                    self.service, shop, self.sync_status, self._config_version, lambda: self.faults, self._checked
                ),
                RepairPresenter(self.repair, may_open=self.idle),
                RestockPresenter(self.restock, shop, self.idle, reminder, self._pin, self._checked),
                PickupPresenter(self.pickup, shop, lambda: self.idle() and self.sale.state is S.IDLE, self._checked),
                OutOfServicePresenter(
                    self.out_of_service,
                    self.storage.check,
                    lambda: self.storage.problem,
                    lambda: self.sale.message,
                    support.support_phone,
                ),
                self.help,
                sale,
                BrowsePresenter(self.sale, shop, self._ads_due, on_select=sale.forget_colour),
            )
        )

    # --- lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.door_cycle.recover()  # fail-secure at start-up, whatever state we died in
        # Every journey that can open the door settles what a power cut interrupted; none opens it again.
        self.sale.recover_after_restart(self.config.lock.resume_window_s)
        self.pickup.recover_after_restart()
        self.restock.recover_after_restart()
        self.devices.lock.start(loop)
        self.devices.door.start(loop)
        self.devices.door.subscribe(self._door_changed)
        if self.devices.tamper is not None:
            self.devices.tamper.start(loop)
            self.devices.tamper.subscribe(self.alarms.tamper_changed)
        for device in self.devices.openable():
            try:
                await device.open()
            except DeviceFault as exc:
                self._fault(exc)
        run = self.supervisor.run
        if self.devices.card_reader is not None:
            self._tasks.append(run("card-reader", self._read_forever(self.devices.card_reader, self._card)))
        if self.devices.code_reader is not None:
            self._tasks.append(run("code-reader", self._read_forever(self.devices.code_reader, self._code)))
        self._tasks.append(run("heartbeat-and-idle", self._watch()))
        self._tasks.append(run("terminal-check", self._check_terminals()))
        self._tasks.append(run("storage-check", self._watch_storage()))
        self._storage_changed()  # a store found replaced at start-up is a fault from the first frame
        self.refresh()

    async def stop(self) -> None:
        await self.supervisor.cancel(list(self._tasks))
        for device in self.devices.openable():
            try:
                await device.close()
            except DeviceFault:
                pass
        self.devices.lock.close()
        self.devices.door.close()
        if self.devices.tamper is not None:
            self.devices.tamper.close()

    # --- the configuration from the cloud -----------------------------------------
    def apply_cloud_config(self, config: CabinetConfig) -> None:
        """A configuration the cloud sent (or the cached one at boot): products, ads, access, orders."""
        self.cloud = config
        self._ads = playable_ads(config)
        if config.products:
            self.catalog.replace_products([product_from_cloud(p, str(MEDIA_DIR)) for p in config.products])
        log.info(
            "configuration in force",
            extra={
                "version": config.version,
                "products": len(config.products),
                "ads": len(config.ads),
                "orders": len(config.pickup_orders),
            },
        )
        self.refresh()

    def _pin_hashes(self) -> list[str]:
        hashes = list(self.cloud.retailer.pin_hashes) if self.cloud else []
        return hashes + ([self.config.retailer.pin_hash] if self.config.retailer.pin_hash else [])

    def _staff_cards(self) -> dict[str, str]:
        return {c.uid.upper(): c.role for c in self.cloud.retailer.staff_cards} if self.cloud else {}

    def _technician_pin_hashes(self) -> list[str]:
        return [self.config.retailer.technician_pin_hash] if self.config.retailer.technician_pin_hash else []

    async def _live_selftest(self) -> list[tuple[str, bool, str]]:
        return [(c.device, c.ok, c.detail) for c in await run_checks(self.devices, self.config, faults=self.faults)]

    def idle(self) -> bool:
        """No one is using the cabinet: no journey beyond the attract or catalog screens."""
        return (
            self.sale.state in (S.IDLE, S.BROWSE)
            and not self.pickup.active
            and not self.restock.active
            and not self.repair.active
            and not self.service.active
        )

    def can_unlock_remotely(self) -> bool:
        return self.idle()

    def record_remote_unlock(self, tx: Transaction, command_id: str, seconds: float) -> str:
        """Inside the transaction that marks the cloud's command applied: the unlock, recorded (or refused)."""
        if not self.can_unlock_remotely():
            return "refused: the cabinet is busy with a shopper"
        try:
            self.restock.record_remote_unlock(tx, command_id, seconds)
        except RestockRefused as exc:
            return f"refused: {exc}"
        return "unlocking"

    def remote_unlock(self, command_id: str) -> None:
        """After that transaction committed: the relay, for an unlock recorded there (once)."""
        try:
            self.restock.remote_unlock(command_id)
        except RestockRefused as exc:
            log.warning("remote unlock not done", extra={"command_id": command_id, "reason": str(exc)})

    def _append_optional(self, event_type: str, payload: dict[str, Any]) -> None:
        """Events the cabinet can do without when the outbox is full (money and alarms keep their room) or
        the store fails (the storage check reports that)."""
        try:
            self.outbox.append(event_type, payload)
        except OutboxFull:
            log.warning("outbox full: event dropped", extra={"type": event_type})
        except STORAGE_ERRORS as exc:
            log.warning("store failing: event dropped", extra={"type": event_type, "error": str(exc)})

    # --- the screen ------------------------------------------------------------
    @property
    def overlay(self) -> str | None:
        """ "help" while the help screen is over the shopper's journey."""
        return "help" if self.help.shown else None

    @overlay.setter
    def overlay(self, value: str | None) -> None:
        self.help.shown = value == "help"

    def view_state(self) -> View:
        chrome = Chrome(language=self.language, cabinet_id=self.config.cabinet.id, online=self.is_online())
        return self.router.view(chrome)

    def _door_reminder(self) -> DoorAlarm | None:
        return one_of(DOOR_ALARMS, self.alarms.reminder, "door reminder")

    def _help_offered(self) -> bool:
        """Help opens over the attract, catalog and product screens."""
        return self.sale.state in (S.IDLE, S.BROWSE, S.PRODUCT) and not self.pickup.active

    def _ads_due(self) -> tuple[AdView, ...]:
        return ads_due(self._ads, datetime.datetime.now())

    def _store_url(self, sku: str) -> str:
        """The product's page in the online store, carrying the cabinet: its QR on the product screen."""
        cabinet = self.config.cabinet
        store = self.cloud.store_base_url if self.cloud and self.cloud.store_base_url else cabinet.store_base_url
        return f"{store.rstrip('/')}/p/{sku}?cabinet={cabinet.id}"

    def _config_version(self) -> str:
        return str(self.cloud.version) if self.cloud else "local file"

    def out_of_service(self) -> bool:
        """The store cannot record a sale and no sale is under way (a paid sale keeps its door screens)."""
        return (
            self.storage.problem is not None
            and not self.sale.paying
            and self.sale.state in (S.IDLE, S.BROWSE, S.PRODUCT, S.PAY)
        )

    def _storage_changed(self) -> None:
        if self.storage.problem is None:
            self._recovered("storage")
        else:
            self.faults["storage"] = self.storage.problem
            self.refresh()

    async def _watch_storage(self) -> None:
        """Re-check the store on a timer (often while out of service) and keep its marker up to date."""
        while True:
            self.storage.check()
            self.storage.save_marker()
            await asyncio.sleep(RECONNECT_S if self.storage.problem else self.config.storage.check_s)

    def _payment_qr(self) -> str | None:
        terminal = self.devices.terminals.get("qr")
        return terminal.qr_text if isinstance(terminal, ScanToPayTerminal) else None

    def payment_methods(self) -> tuple[str, ...]:
        """The ways to pay right now: a faulted device is not offered, nor one whose authorization a
        restart interrupted until that is settled; scan-to-pay only when the configuration turns it on
        and the cabinet is online."""
        methods = []
        unsettled = self.sale.unsettled_methods()
        for method, terminal in self.devices.terminals.items():
            if terminal.name in self.faults or method in unsettled:
                continue
            if method == "qr" and not (self.cloud and self.cloud.scan_to_pay.enabled and self.is_online()):
                continue
            methods.append(method)
        return tuple(methods)

    def products_view(self) -> tuple[ProductView, ...]:
        """The cabinet's products as the screens show them (stock included)."""
        return tuple(self._product_view(sku) for sku in self.catalog.products)

    def _product_view_of(self, sku: str) -> ProductView | None:
        return self._product_view(sku) if sku in self.catalog.products else None

    def _product_view(self, sku: str) -> ProductView:
        p = self.catalog.products[sku]
        return ProductView(
            sku=p.sku,
            name=p.name,
            price_cents=p.price_cents,
            currency=self.config.cabinet.currency,
            stock=self.catalog.stock(sku),
            summary=p.summary,
            specs=p.specs,
            colour=p.colour,
            materials=p.materials,
            design_notes=p.design_notes,
            colours=tuple(ColourOption(name, hex_value) for name, hex_value in p.colours),
            images=p.images,
            online_only=p.online_only,
        )

    def refresh(self) -> None:
        try:
            view = self.view_state()
        except ValueError as exc:
            # A view that cannot be built is a bug to fix, never a reason to stop a journey mid-way (this
            # runs inside state changes that move money and doors): the safe screen, and a named fault.
            log.exception("the view could not be built")
            self.screen_fault(str(exc))
            view = ErrorScreen(chrome=Chrome(language=self.language, cabinet_id=self.config.cabinet.id))
        self.on_view(view)

    def screen_fault(self, detail: str | None) -> None:
        """The screen could not show a view (detail), or shows one again (None): the "screen" fault."""
        if detail is None:
            self._recovered("screen")
        else:
            self._fault(DeviceFault("screen", detail))

    # --- intents from the touchscreen -------------------------------------------
    def handle_intent(self, intent: Intent) -> None:
        """The cabinet's own intents here; a journey's go to the first active presenter that handles them."""
        match intent:
            case Activity():
                self.last_activity = time.monotonic()
            case ToggleLanguage():
                self.language = "zh" if self.language == "en" else "en"
                self.refresh()
            case AdShown(ad_id=ad_id):
                ad = next((a for a in (self.cloud.ads if self.cloud else ()) if a.id == ad_id), None)
                self._append_optional("ad.impression", {"ad_id": ad_id, "shown_s": ad.duration_s if ad else 0})
            case _:
                self._route(intent)

    def _route(self, intent: Intent) -> None:
        try:
            taker = self.router.route(intent)
        except (IllegalTransition, PickupRefused, RestockRefused, RepairRefused, ServiceRefused, ValueError) as exc:
            # A stale tap (the screen changed under the finger) is not an error worth more than a log line.
            log.info("intent ignored", extra={"intent": intent.name, "arg": intent.log_arg, "reason": str(exc)})
            return
        if taker is None:
            log.info("intent ignored", extra={"intent": intent.name, "arg": intent.log_arg, "reason": "not taken"})

    async def _pin(self, pin: str) -> None:
        """One PIN pad for the staff: a technician's PIN opens the service menu, any other is a retailer's
        attempt at restock (and counted against the pad's limit). Checked off the event loop."""
        if await self.restock.enter_pin(pin) == "technician":
            self.service.open_pin_pad()
            await self.service.enter_pin(pin)

    @staticmethod
    async def _checked(check: Awaitable[object]) -> None:
        """A code or PIN being checked: a second one sent meanwhile is refused by its journey, like any
        stale tap (logged, never counted)."""
        try:
            await check
        except (PickupRefused, RestockRefused, ServiceRefused) as exc:
            log.info("code ignored", extra={"reason": str(exc)})

    async def _watch(self) -> None:
        """Twice a second: the idle timeout, the online indicator, and the heartbeat when it is due."""
        shown_online = self.is_online()
        next_heartbeat = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= next_heartbeat:
                self._append_optional("heartbeat", {"faults": sorted(self.faults)})
                next_heartbeat = now + self.config.sync.heartbeat_s
            if now - self.last_activity > self.config.screen.idle_timeout_s:
                if self.overlay:
                    self.overlay = None
                    self.refresh()
                self.sale.idle_timeout()
                self.pickup.idle_timeout()
                self.restock.cancel()
                self.repair.idle_timeout()
                self.service.idle_timeout()
                self.last_activity = now
            if self.is_online() != shown_online:
                shown_online = self.is_online()
                self.refresh()
            await asyncio.sleep(0.5)

    async def _check_terminals(self) -> None:
        """Between sales, ask each payment device whether it can take a payment; a device that went
        away is reported (and not offered), one that came back is offered again."""
        while True:
            for terminal in self.devices.terminals.values():
                if self.sale.paying:
                    break
                try:
                    await terminal.check()
                except DeviceFault as exc:
                    self._fault(exc)
                else:
                    self._recovered(terminal.name)
            devices_faulty = self.faults.keys() - {"storage"}  # the store is watched by _watch_storage
            await asyncio.sleep(RECONNECT_S if devices_faulty else self.config.payment.check_s)

    # --- the door and the readers -------------------------------------------------
    def _door_changed(self, is_open: bool) -> None:
        self.alarms.door_changed(is_open)
        if self.service.active and self.service.door_changed(is_open):
            self._door_snapshot("opened" if is_open else "closed", None)
        elif self.door_cycle.door_changed(is_open):
            pass  # an opening a journey asked for: the cycle told it, and took the photo
        elif is_open:
            self.alarms.forced()
        else:
            self.outbox.append("door.closed", {"open_s": 0})

    def _door_snapshot(self, kind: str, sale_id: str | None) -> None:
        """A photo at every door open and close (and alarm), kept under a size and age limit and uploaded
        as a thumbnail that only the cabinet's retailer can see."""
        camera = self.devices.camera
        if camera is None:
            return

        async def take() -> None:
            try:
                jpeg = await camera.snapshot()
            except DeviceFault as exc:
                self._fault(exc)
                return
            name = snapshot_name(kind, sale_id, self.clock.time())
            path = self.snapshot_dir / name
            await asyncio.to_thread(_write_atomically, path, jpeg)
            log.info("snapshot saved", extra={"file": name, "bytes": len(jpeg)})
            self.on_snapshot()

        self._spawn(take(), "snapshot")

    async def _read_forever(self, reader: CardReader | CodeReader, record: Callable[[Any], None]) -> None:
        """Read a device until cancelled; a device that goes away is reported and reopened when back."""
        while True:
            try:
                record(await reader.read())
            except DeviceFault as exc:
                self._fault(exc)
                await asyncio.sleep(RECONNECT_S)
                try:
                    await reader.open()
                except DeviceFault:
                    continue
            self._recovered(reader.name)

    def _card(self, card: CardRead) -> None:
        role = self._staff_cards().get(card.uid_hex)
        if role == "technician" and self.idle():
            self.service.technician_card(card.uid_hex)  # audited there
        elif role == "retailer" and self.idle():
            self.restock.staff_card(card.uid_hex)  # audited there, with the role
        else:
            self._append_optional("card.read", {"uid": card.uid_hex})

    def _code(self, code: CodeRead) -> None:
        self._append_optional("code.scanned", {"text": code.text, "source": code.source})
        if self.repair.step == "vehicle":  # the vehicle's own QR
            self.repair.scanned(code.text)
        elif self.pickup.state is P.CODE_ENTRY:  # an order's QR shown to the scanner or camera
            pickup_code = pickup_code_in(code.text)
            if pickup_code:
                submit = self.pickup.submit(pickup_code, source=code.source or "scanner")
                self._spawn(self._checked(submit), "pickup-code-check")

    def _fault(self, exc: DeviceFault) -> None:
        if self.faults.get(exc.device) != exc.detail:
            log.error("device fault", extra={"device": exc.device, "detail": exc.detail})
            self._raise_fault(exc.device, exc.detail, "device_offline")

    def _task_failed(self, failure: TaskFailure) -> None:
        """A background task died of an exception (the supervisor logged its traceback)."""
        self._raise_fault(f"task:{failure.task}", failure.error, "task_failed")

    def _raise_fault(self, name: str, detail: str, alarm: str) -> None:
        """A named fault: in /state, the heartbeat and `kiosk status`, and an alarm to the cloud. In memory
        first: a store that cannot take the events (a full disk) must not hide the fault."""
        self.faults[name] = detail
        try:
            with self.outbox.transaction() as tx:
                tx.append("device.fault", {"device": name, "detail": detail})
                tx.append("alarm", {"kind": alarm, "detail": f"{name}: {detail}"})
        except STORAGE_ERRORS as exc:
            log.error("fault not recorded in the store", extra={"fault": name, "error": str(exc)})
        self.refresh()

    def _recovered(self, device: str) -> None:
        if self.faults.pop(device, None) is not None:
            log.info("device back", extra={"device": device})
            self.refresh()

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        """A short job (a snapshot, a code check); its failure is a fault named after it, never silent."""
        task = self.supervisor.spawn(name, coro)
        self._tasks.append(task)
        task.add_done_callback(lambda t: self._tasks.remove(t) if t in self._tasks else None)


def _write_atomically(path: Path, data: bytes) -> None:
    """The uploader never sees half a file: write beside it, then rename."""
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(data)
    os.replace(partial, path)


PICKUP_QR = re.compile(r"(?:^|[?&/:=])(?:code=|PICKUP:)?(\d{4,12})$")


def pickup_code_in(text: str) -> str | None:
    """The pickup code in an order's QR: the digits alone, "PICKUP:<code>", or a link ending in code=<code>."""
    match = PICKUP_QR.search(text.strip())
    return match.group(1) if match else None
