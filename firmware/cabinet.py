"""The orchestrator: wires devices, the local store, the journeys and the screen.

It turns journey state into a ViewState for the UI, turns the UI's intents
into journey calls, watches the door and the readers, and keeps snapshots.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from firmware.catalog import Catalog
from firmware.config import Config
from firmware.devices import Devices
from firmware.journeys.sale import IllegalTransition, S, SaleJourney
from hal.card_reader import CardReader
from hal.code_reader import CodeReader
from hal.errors import DeviceFault
from kiosk_ui.view import Intent, ProductView, ViewState
from sync_client.outbox import Outbox

log = logging.getLogger(__name__)

SCREEN_OF_STATE = {
    S.IDLE: "attract", S.BROWSE: "catalog", S.PRODUCT: "product", S.PAY: "checkout",
    S.APPROVED: "door", S.DOOR_UNLOCKED: "door", S.DOOR_OPENED: "door",
    S.DOOR_CLOSED: "thanks", S.DONE: "thanks",
}
RECONNECT_S = 2.0
DOOR_OF_STATE = {S.APPROVED: "closed", S.DOOR_UNLOCKED: "unlocked", S.DOOR_OPENED: "opened"}


@dataclass
class Cabinet:
    config: Config
    devices: Devices
    outbox: Outbox
    data_dir: Path
    is_online: Callable[[], bool] = lambda: True
    language: str = "en"
    on_view: Callable[[ViewState], None] = lambda view: None
    last_activity: float = field(default_factory=time.monotonic)
    faults: dict[str, str] = field(default_factory=dict)
    overlay: str | None = None                 # "help": a screen over the journey, left with "back"
    colour: str | None = None                  # the shopper's colour choice on the product screen
    _tasks: list[asyncio.Task] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.language = self.config.screen.language
        self.catalog = Catalog(self.outbox, self.config.products)
        self.sale = SaleJourney(
            outbox=self.outbox, catalog=self.catalog, lock=self.devices.lock,
            terminals=self.devices.terminals, lock_config=self.config.lock,
            currency=self.config.cabinet.currency, thanks_s=self.config.screen.thanks_s,
            on_change=self.refresh, on_door_event=self._door_snapshot, on_fault=self._fault,
            available_methods=self.payment_methods)
        self.snapshot_dir = self.data_dir / "snapshots"
        self.snapshot_dir.mkdir(parents=True, exist_ok=True)

    # --- lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.devices.lock.lock()          # fail-secure at start-up, whatever state we died in
        self.sale.recover_after_restart()
        start = getattr(self.devices.door, "start", None)
        if start is not None:
            start(loop)
        self.devices.door.subscribe(self._door_changed)
        for device in self.devices.openable():
            try:
                await device.open()
            except DeviceFault as exc:
                self._fault(exc)
        if self.devices.card_reader is not None:
            self._tasks.append(loop.create_task(self._read_forever(
                self.devices.card_reader, lambda card: self.outbox.append("card.read", {"uid": card.uid_hex}))))
        if self.devices.code_reader is not None:
            self._tasks.append(loop.create_task(self._read_forever(
                self.devices.code_reader,
                lambda code: self.outbox.append("code.scanned", {"text": code.text, "source": code.source}))))
        self._tasks.append(loop.create_task(self._watch()))
        self._tasks.append(loop.create_task(self._check_terminals()))
        self.refresh()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for device in self.devices.openable():
            try:
                await device.close()
            except DeviceFault:
                pass
        self.devices.lock.close()
        self.devices.door.close()

    # --- the screen ------------------------------------------------------------
    def view_state(self) -> ViewState:
        sale = self.sale.view()
        products = tuple(self._product_view(sku) for sku in self.catalog.products)
        current = self._product_view(sale.product.sku) if sale.product else None
        cabinet = self.config.cabinet
        return ViewState(
            screen=self.overlay or SCREEN_OF_STATE[sale.state], language=self.language,
            cabinet_id=cabinet.id, online=self.is_online(), products=products,
            product=current, payment_methods=self.payment_methods(),
            payment_status=sale.payment_status, message=sale.message,
            door=DOOR_OF_STATE.get(sale.state, "closed"), deadline=sale.deadline,
            can_unlock_again=sale.can_unlock_again,
            store_url=f"{cabinet.store_base_url.rstrip('/')}/p/{current.sku}?cabinet={cabinet.id}" if current else "",
            selected_colour=self.colour, support_phone=cabinet.support_phone, support_url=cabinet.support_url)

    def payment_methods(self) -> tuple[str, ...]:
        """The ways to pay right now: a faulted device is not offered."""
        return tuple(method for method, terminal in self.devices.terminals.items()
                     if terminal.name not in self.faults)

    def _product_view(self, sku: str) -> ProductView:
        p = self.catalog.products[sku]
        return ProductView(sku=p.sku, name=p.name, price_cents=p.price_cents, currency=self.config.cabinet.currency,
                           stock=self.catalog.stock(sku), summary=p.summary, specs=p.specs, colour=p.colour)

    def refresh(self) -> None:
        self.on_view(self.view_state())

    # --- intents from the touchscreen -------------------------------------------
    def handle_intent(self, intent: Intent) -> None:
        if intent.name == "activity":
            self.last_activity = time.monotonic()
            return
        try:
            self._dispatch(intent)
        except IllegalTransition as exc:
            # A stale tap (the screen changed under the finger) is not an error worth more than a log line.
            log.info("intent ignored", extra={"intent": intent.name, "arg": intent.arg, "reason": str(exc)})

    def _dispatch(self, intent: Intent) -> None:
        name, arg = intent.name, intent.arg
        if name == "lang":
            self.language = "zh" if self.language == "en" else "en"
            self.refresh()
        elif name == "help" and self.sale.state in (S.IDLE, S.BROWSE, S.PRODUCT):
            self.overlay = "help"
            self.refresh()
        elif name == "back" and self.overlay:
            self.overlay = None
            self.refresh()
        elif name == "colour" and arg:
            self.colour = arg
            self.refresh()
        elif name == "start":
            self.sale.start()
        elif name == "select_product" and arg:
            self.colour = None
            self.sale.select(arg)
        elif name == "buy":
            self.sale.buy()
        elif name == "pay" and arg:
            self.sale.pay(arg)
        elif name == "cancel":
            self._spawn(self.sale.cancel())
        elif name == "back":
            self.sale.back()
        elif name == "unlock_again":
            self.sale.unlock_again()
        elif name == "done":
            self.sale.finish()
        else:
            raise IllegalTransition(f"unknown intent {name!r}")

    async def _watch(self) -> None:
        """Twice a second: the idle timeout, the online indicator, and the heartbeat when it is due."""
        shown_online = self.is_online()
        next_heartbeat = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= next_heartbeat:
                self.outbox.append("heartbeat", {"faults": sorted(self.faults)})
                next_heartbeat = now + self.config.sync.heartbeat_s
            if now - self.last_activity > self.config.screen.idle_timeout_s:
                if self.overlay:
                    self.overlay = None
                    self.refresh()
                self.sale.idle_timeout()
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
            await asyncio.sleep(self.config.payment.check_s if not self.faults else RECONNECT_S)

    # --- the door and the readers -------------------------------------------------
    def _door_changed(self, is_open: bool) -> None:
        if not self.sale.door_changed(is_open):
            with self.outbox.transaction(durable=True) as tx:
                tx.append("door.opened", {"authorized": False})
                tx.append("alarm", {"kind": "door_forced", "detail": "door opened without an authorized unlock"})
            log.error("door opened without an authorized unlock")
            self._door_snapshot("forced", None)
        elif not is_open and self.sale.state not in (S.DONE, S.DOOR_CLOSED):
            self.outbox.append("door.closed", {"open_s": 0})

    def _door_snapshot(self, kind: str, sale_id: str | None) -> None:
        camera = self.devices.camera
        if camera is None:
            return

        async def take() -> None:
            try:
                jpeg = await camera.snapshot()
            except DeviceFault as exc:
                self._fault(exc)
                return
            name = f"{time.strftime('%Y%m%dT%H%M%S')}-{kind}-{sale_id or 'none'}.jpg"
            path = self.snapshot_dir / name
            await asyncio.to_thread(path.write_bytes, jpeg)
            log.info("snapshot saved", extra={"file": name, "bytes": len(jpeg)})
        self._spawn(take())

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

    def _fault(self, exc: DeviceFault) -> None:
        if self.faults.get(exc.device) != exc.detail:
            self.faults[exc.device] = exc.detail
            log.error("device fault", extra={"device": exc.device, "detail": exc.detail})
            self.outbox.append("device.fault", {"device": exc.device, "detail": exc.detail})
            self.refresh()

    def _recovered(self, device: str) -> None:
        if self.faults.pop(device, None) is not None:
            log.info("device back", extra={"device": device})
            self.refresh()

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.append(task)
        task.add_done_callback(lambda t: self._tasks.remove(t) if t in self._tasks else None)
