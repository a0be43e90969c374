"""The running cabinet's composition root: builds the journeys (``journey_set``), their presenters in one
priority order (the Router) and the parts that hold the rest, each in its own module; starts and stops
them; routes the touchscreen's intents; refreshes the screen."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import InitVar, dataclass, field, replace
from pathlib import Path
from typing import Any, get_args

from firmware.accessibility import AccessibilitySession
from firmware.ad_plays import AdPlays
from firmware.catalog import Catalog
from firmware.clock import Clock, LoopClock
from firmware.cloud_config import MEDIA_DIR
from firmware.config import Config
from firmware.config_in_force import ConfigInForce
from firmware.device_watch import DeviceWatch
from firmware.devices import Devices
from firmware.door_alarms import DoorAlarms
from firmware.door_cycle import DoorCycle
from firmware.door_events import DoorEvents
from firmware.door_snapshots import DoorSnapshots
from firmware.faults import NETWORK, Faults
from firmware.fingerprint_slots import FingerprintSlots
from firmware.footfall import FootfallTally, FootfallWatch
from firmware.heap_trim import HeapTrim
from firmware.idle_watch import IdleWatch
from firmware.journey_set import STALE, Parts, build_journeys, checked
from firmware.journeys.sale import S
from firmware.journeys.service import LiveFacts, live_devices, open_alarms, software_version
from firmware.link_watch import KernelLink
from firmware.narration import AudioOut, NarrationLibrary, NarrationPlayer, Narrator, SpeechCache
from firmware.network_state import default_route
from firmware.optional_events import Riders, append_optional
from firmware.presenters import Router, Shop
from firmware.presenters.browse import BrowsePresenter
from firmware.presenters.callback import CallbackPresenter
from firmware.presenters.help import HelpPresenter
from firmware.presenters.out_of_service import OutOfServicePresenter
from firmware.presenters.pickup import PickupPresenter
from firmware.presenters.repair import RepairPresenter
from firmware.presenters.restock import RestockPresenter
from firmware.presenters.sale import SalePresenter
from firmware.presenters.service import ServicePresenter
from firmware.reader_input import ReaderInput
from firmware.remote_unlock import RemoteUnlock
from firmware.selftest import run_checks
from firmware.shop import ShopWindow
from firmware.shopper_sessions import ShopperSessions
from firmware.storage import StorageGuard
from firmware.storage_watch import StorageWatch
from firmware.store_checkpoints import StoreCheckpoints
from firmware.supervisor import Supervisor
from kiosk_ui.audio import MixerAudio
from kiosk_ui.i18n import LANGUAGES
from kiosk_ui.intents import Activity, AdShown, Home, Intent, Listen, ToggleAccessibility, ToggleLanguage, Turn
from kiosk_ui.view import Chrome, DoorAlarm, ErrorScreen, Language, NetworkView, SyncView, View, member, one_of
from sync_client.cabinet_config import CabinetConfig
from sync_client.media_fetch import MediaCache
from sync_client.outbox import Outbox

log = logging.getLogger(__name__)
DOOR_ALARMS: tuple[DoorAlarm, ...] = get_args(DoorAlarm)
PAYMENT_ENDINGS = ("declined", "timed_out", "cancelled", "fault")  # how a payment can end without money


@dataclass
class Cabinet:
    config: Config
    devices: Devices
    outbox: Outbox
    data_dir: Path
    is_online: Callable[[], bool] = lambda: True
    language: Language = "en"
    on_view: Callable[[View], None] = lambda view: None
    sync_status: Callable[[], SyncView] = SyncView  # the uploader's view of things, for the service menu
    restart: Callable[[], None] = lambda: None  # the service menu's restart: stop; systemd starts us again
    on_snapshot: Callable[[], None] = lambda: None  # a new photo to upload
    # Whether the store can record a sale (``self.storage``): the runtime's keeps the store marker; None
    # makes one without.
    storage_guard: InitVar[StorageGuard | None] = None
    clock: Clock = field(default_factory=LoopClock)  # journeys, the door and its alarms read time here
    # Every background task starts through it (the runtime's, shared with the uploader and the others).
    supervisor: Supervisor = field(default_factory=Supervisor)
    audio: AudioOut = field(default_factory=MixerAudio)  # the loudspeaker of the product narrations
    link: KernelLink | None = None  # the kernel's network link, watched with the terminals; None: not watched
    on_network: Callable[[bool], None] = lambda up: None  # that link lost or back: the cloud's client is told
    link_key: bytes = b""  # the cabinet's key, from which its QR hand-off codes are derived (b"": no codes)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)  # the cabinet's own, cancelled by stop()

    def __post_init__(self, storage_guard: StorageGuard | None) -> None:
        config = self.config
        self.language = member(LANGUAGES, config.screen.language, "screen.language")
        self.sessions = ShopperSessions(
            self.clock,
            config.screen.sessions_commit_s,
            config.screen.ad_touch_s,
            commit=lambda events: append_optional(self.outbox, *events[0], *events[1:]),
        )
        self.catalog = Catalog(self.outbox, config.products)
        self.media = MediaCache(self.data_dir / "media")  # uploads the configuration names, once downloaded
        self.in_force = ConfigInForce(self.catalog, config.retailer, media=self.media)
        self.narration = Narrator(
            NarrationLibrary(
                SpeechCache(self.data_dir / "narration", config.audio.espeak), MEDIA_DIR, self.refresh, media=self.media
            ),
            NarrationPlayer(self.audio, self.clock, config.audio, on_change=self.refresh),
            attract=config.audio.attract_narration,
        )
        reserve = int(config.storage.reserve_mb * 2**20)
        self.storage = storage_guard if storage_guard is not None else StorageGuard(self.outbox, reserve)
        self.fault_list = Faults(self.outbox, on_change=self.refresh)
        self.supervisor.on_failure = self.fault_list.task_failed
        self.storage_watch = StorageWatch(self.storage, self.fault_list, config.storage.check_s, config.storage.probe_s)
        self.snapshot_dir = self.data_dir / "snapshots"
        self.snapshots = DoorSnapshots(
            self.devices.camera,
            self.snapshot_dir,
            self.clock,
            self._spawn,
            self.fault_list.device,
            on_saved=lambda: self.on_snapshot(),
        )
        # The one door: every journey that opens it goes through this cycle (timers, snapshots, relock).
        self.door_cycle = DoorCycle(self.devices.lock, self.clock, on_change=self.refresh, snapshot=self.snapshots.take)
        self.shop = ShopWindow(
            self.catalog, config.cabinet, self.in_force, self.devices.terminals, self.faults,
            unsettled_methods=lambda: self.sale.unsettled_methods(), is_online=self.online,
            language=lambda: self.language, link_key=self.link_key,
        )  # fmt: skip
        parts = Parts(
            config, self.outbox, self.catalog, self.devices, self.clock, self.door_cycle, self.in_force, self.storage,
            on_change=self.refresh, on_fault=self.fault_list.device,
        )  # fmt: skip
        self.journeys = build_journeys(parts, self.shop.payment_methods, self._live_selftest, lambda: self.restart())
        self.sale, self.pickup, self.restock = self.journeys.sale, self.journeys.pickup, self.journeys.restock
        self.repair, self.service = self.journeys.repair, self.journeys.service
        self.alarms = DoorAlarms(
            self.outbox,
            reminder_s=config.lock.door_reminder_s,
            alarm_s=config.lock.door_alarm_s,
            on_change=self.refresh,
            snapshot=lambda kind: self.snapshots.take(kind, None),
            clock=self.clock,
        )
        self.door_events = DoorEvents(self.alarms, self.service, self.door_cycle, self.outbox, self.snapshots.take)
        self.device_watch = DeviceWatch(
            self.fault_list,
            self.devices.terminals,
            lambda: self.sale.paying,
            config.payment.check_s,
            link_sleep=self.clock.sleep,
            network=self.link,
            on_network=lambda up: self.on_network(up),
        )
        self.reader_input = ReaderInput(
            self.outbox, self.in_force.staff_cards, self.idle, self.service, self.restock, self.repair, self.pickup,
            self._spawn, checked, self.in_force.staff_fingerprints,
        )  # fmt: skip
        self.fingerprint_slots = FingerprintSlots(
            self.outbox, self.devices.fingerprint, self.in_force.staff_fingerprints, self.clock,
            lambda: self.in_force.cloud is not None, name_within_days=config.fingerprint.name_within_days,
        )  # fmt: skip
        self.service.on_enrolled = self.fingerprint_slots.enrolled
        self.in_force.on_fingerprints = self._fingerprints_named
        self.ad_plays = AdPlays(self.outbox, self.clock, config.screen.ad_plays_commit_s, self.in_force.ad_duration_s)
        # People counted by the camera (off unless the configuration turns it on): counts ride like the ad plays.
        self.footfall = FootfallTally(self.outbox, self.clock, config.footfall.commit_s)
        self.footfall_watch: FootfallWatch | None = None  # made at start when footfall is on
        riders = Riders((self.ad_plays, self.sessions, self.footfall))
        software = software_version()  # read once: looking it up scans the installed packages
        self.idle_watch = IdleWatch(
            self.outbox,
            lambda: self.faults,
            config.sync.heartbeat_s,
            config.screen.idle_timeout_s,
            on_idle=self._idle_timeout,
            is_online=self.online,
            on_online_changed=self.refresh,
            clock=self.clock,
            should_ask=self._worth_asking,
            holding=lambda: self.sale.paying,
            on_ask=self.refresh,
            ask_s=config.screen.still_there_s,
            rider=riders.due,
            rider_committed=riders.committed,
            status=lambda: {"software": software, "backlog": self.outbox.pending_count()},
            heartbeat_store_s=config.sync.heartbeat_store_s,
        )
        self.remote = RemoteUnlock(self.restock, may_unlock=self.idle)
        self.accessibility = AccessibilitySession(self.outbox)
        store = config.storage
        self.checkpoints = StoreCheckpoints(
            self.outbox, self.clock, lambda: self.idle() and not self.devices.door.is_open, lambda: self.sale.paying,
            store.checkpoint_kb * 1024, store.checkpoint_hard_kb * 1024, store.checkpoint_max_age_s,
        )  # fmt: skip
        self.heap_trim = HeapTrim(self.idle, self.clock)
        # the service menu's software row: a release being downloaded and how far (firmware/updater/wiring.py)
        self.update_note: Callable[[], str] = lambda: ""
        self.router = self._presenters()

    def _presenters(self) -> Router:
        """Every journey's presenter, highest priority first: the first active one gives the screen and the
        first crack at each intent (so "back" and "done" go where the person is)."""
        shop = Shop(product=self.shop.product, products=self.shop.products, spawn=self._spawn)
        journeys, support = self.journeys, self.config.cabinet

        def reminder() -> DoorAlarm | None:  # the door left open too long
            return one_of(DOOR_ALARMS, self.alarms.reminder, "door reminder")

        self.help = HelpPresenter(
            journeys.help_offered,
            support.support_phone,
            support.support_url,
            self.refresh,
            under=self._under_help,
        )
        callback = CallbackPresenter(
            journeys.callback,
            self.sale,
            shop,
            lambda: self.in_force.cloud.callback_retention_days if self.in_force.cloud else None,
            phone_base=self.shop.link_base,
        )
        sale = SalePresenter(
            self.sale,
            shop,
            door_reminder=reminder,
            payment_methods=self.shop.payment_methods,
            payment_qr=self.shop.payment_qr,
            store_url=self.shop.store_url,
            receipt_qr=self.shop.receipt_qr,
            support_phone=support.support_phone,
            now=self.clock.monotonic,
            payment_time_s=self.config.payment.timeout_s,
            callback_offered=callback.offered,
        )
        return Router(
            (
                ServicePresenter(
                    self.service, shop, self.sync_status, self.in_force.version, checked, self._service_facts
                ),
                self.help,  # over any shopper's screen (it steps aside when that screen moves on)
                RepairPresenter(self.repair, may_open=self.idle, phone_base=self.shop.link_base),
                RestockPresenter(self.restock, shop, self.idle, reminder, self.journeys.staff_pin, checked),
                PickupPresenter(self.pickup, shop, journeys.pickup_may_open, checked),
                OutOfServicePresenter(
                    lambda: journeys.out_of_service(self.storage.problem),
                    self.storage.check,
                    lambda: self.storage.problem,
                    lambda: self.sale.message,
                    support.support_phone,
                    reference=lambda: self.sale.ending.reference if self.sale.ending else "",
                ),
                callback,  # over the product screen it was opened from
                sale,
                BrowsePresenter(self.sale, shop, self.shop.ads_due, ad_product=self.shop.ad_product),
            )
        )

    # --- lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.door_cycle.recover()  # fail-secure at start-up, whatever state we died in
        self.journeys.recover_after_restart(self.config.lock.resume_window_s)
        self.devices.lock.start(loop)
        self.devices.door.start(loop)
        self.devices.door.subscribe(self.door_events.changed)
        if self.devices.tamper is not None:
            self.devices.tamper.start(loop)
            self.devices.tamper.subscribe(self.alarms.tamper_changed)
        await self.devices.open_all(self.fault_list.device)
        run, watch = self.supervisor.run, self.device_watch
        if self.devices.card_reader is not None:
            self._tasks.append(run("card-reader", watch.read_forever(self.devices.card_reader, self.reader_input.card)))
        if self.devices.fingerprint is not None:
            # a module that failed its handshake at start is reconciled once it answers, not an hour later
            reading = watch.read_forever(self.devices.fingerprint, self.reader_input.finger, self._reconcile_fingers)
            self._tasks.append(run("fingerprint", reading))
            self._tasks.append(run("fingerprint-slots", self.fingerprint_slots.run()))
        if self.devices.code_reader is not None:
            self._tasks.append(run("code-reader", watch.read_forever(self.devices.code_reader, self.reader_input.code)))
        if (watch_footfall := self._footfall_watch()) is not None:
            self._tasks.append(run("footfall", watch_footfall.run()))
        self._tasks.append(run("heartbeat-and-idle", self.idle_watch.run()))
        self._tasks.append(run("terminal-check", watch.check_terminals()))
        self._tasks.append(run("terminal-links", watch.watch_links()))
        self._tasks.append(run("storage-check", self.storage_watch.run()))
        self._tasks.append(run("store-checkpoints", self.checkpoints.run()))
        self._tasks.append(run("heap-trim", self.heap_trim.run()))
        self.storage_watch.changed()  # a store found replaced at start-up is a fault from the first frame
        self.refresh()

    def _footfall_watch(self) -> FootfallWatch | None:
        """The camera's people counter, when the configuration turns it on and the camera hands out frames."""
        footfall, camera = self.config.footfall, self.devices.camera
        if not footfall.enabled or camera is None:
            return None
        from hal.camera_backends.frame_camera import FrameCamera  # numpy: only with footfall on
        from hal.footfall import FootfallSettings

        if not isinstance(camera, FrameCamera):
            log.warning("footfall: the camera hands out no frames; not counting")
            return None
        width, height = (int(n) for n in footfall.resolution.split("x"))
        settings = FootfallSettings(size=(width, height), stop_s=footfall.stop_s)
        self.footfall_watch = FootfallWatch(
            camera.frame, settings, footfall.fps, self.clock, self.footfall, on_fault=self.fault_list.device
        )
        return self.footfall_watch

    async def stop(self) -> None:
        await self.supervisor.cancel(list(self._tasks))
        self.narration.player.stop()
        self.ad_plays.commit()  # the plays counted since the last commit
        self.footfall.commit()  # and the people
        self.sessions.stop()  # the session under way ends; the ended ones are committed
        await self.devices.close_all()

    def apply_cloud_config(self, config: CabinetConfig) -> None:
        """A configuration the cloud sent (or the cached one at boot): products, ads, access, orders."""
        self.in_force.apply(config)
        self._spawn(self.narration.library.prepare(config.products), "narration")  # voices made off the loop
        self.refresh()

    def _fingerprints_named(self) -> None:
        """A configuration in force: its fingerprint slots recorded, and the module reconciled once running."""
        self.fingerprint_slots.config_applied()
        self._reconcile_fingers()

    def _reconcile_fingers(self) -> None:
        """The module's slots reconciled now, once the cabinet runs (a configuration, the module back)."""
        if self.fingerprint_slots.running:
            self._spawn(self.fingerprint_slots.reconcile(), "fingerprint-reconcile")

    def media_arrived(self) -> None:
        """The media fetcher downloaded files: the ads switch to the new set once it is whole, narrations
        take their recordings."""
        self.in_force.media_arrived()
        if self.in_force.cloud is not None:
            self._spawn(self.narration.library.prepare(self.in_force.cloud.products), "narration")
        self.refresh()

    def media_failures(self, failures: dict[str, str]) -> None:
        """What the media fetcher could not download (sha256 -> why): the "media" fault while there is any."""
        if not failures:
            self.fault_list.recovered("media")
            return
        detail = f"{len(failures)} media file(s) not downloaded: " + "; ".join(sorted(failures.values()))[:300]
        if self.fault_list.active.get("media") != detail:
            self.fault_list.raise_fault("media", detail, "media_unavailable")

    @property
    def cloud(self) -> CabinetConfig | None:
        """The configuration from the cloud in force, if any yet."""
        return self.in_force.cloud

    @property
    def faults(self) -> dict[str, str]:
        """The named faults now (name -> detail): in /state, the heartbeat and `kiosk status`."""
        return self.fault_list.active

    def online(self) -> bool:
        """The cloud answers, and the kernel has not seen the link go since (a pulled cable counts at once;
        when it is back, the cloud's next answer counts: the runtime's on_network marks it offline till then)."""
        return self.is_online() and NETWORK not in self.faults

    def idle(self) -> bool:
        """No one is using the cabinet: no journey beyond the attract or catalog screens."""
        return self.journeys.idle()

    def _service_facts(self) -> LiveFacts:
        interface, address = default_route()
        tamper = self.devices.tamper
        return LiveFacts(
            live_devices(self.devices, self.faults),
            open_alarms(self.faults, self.alarms.reminder, tamper is not None and tamper.is_open),
            NetworkView(interface, address, self.online(), self.faults.get(NETWORK, "")),
            software_version() + self.update_note(),
        )

    async def _live_selftest(self, pulse_lock: bool = True) -> list[tuple[str, bool, str]]:
        checks = await run_checks(self.devices, self.config, faults=self.faults, pulse_lock=pulse_lock)
        return [(c.device, c.ok, c.detail) for c in checks]

    def remote_selftest(self, command_id: str) -> asyncio.Task[None]:
        """The cloud's self-test command: every check but the latch's pulse (no one is at the door to see it)."""
        return self.service.remote_selftest(command_id, lambda: self._live_selftest(pulse_lock=False))

    def _idle_timeout(self) -> None:
        left_at = self.sessions.screen  # where the shopper was when the idle timeout came
        if self.help.shown:  # the help overlay closes with the journey under it
            self.help.close()
            self.refresh()
        self.journeys.idle_timeout()
        self.accessibility.end()
        self.refresh()
        if self.idle():  # the journeys let go (a payment or a paid door never does): the session ends
            self.sessions.idle(left_at)

    def _under_help(self) -> tuple[str, str]:
        """The screen under the help overlay, and its moment (a door's state): when either moves, help goes."""
        view = self.router.view_under(self.help, Chrome(language=self.language))
        return view.screen, str(getattr(view, "door", ""))

    def _worth_asking(self) -> bool:
        """What a shopper would lose to the idle timeout, so it asks "still there?" first: a checkout, a
        payment's ending not yet acted on, a repair form with something typed."""
        sale = self.sale
        if sale.state is S.PAY or (sale.state is S.PRODUCT and sale.message in PAYMENT_ENDINGS):
            return True
        return self.repair.active and bool(self.repair.fields())

    def _go_home(self) -> None:
        """The header's home: help closes and every journey goes back to where it waits, where it may (the
        idle timeout's rules: never a payment under way, a paid door or a staff task). Out of service, home
        looks at the store again: the start screen if it works by now, else the same screen and its reason."""
        self.help.close()
        self.journeys.idle_timeout()
        if self.storage.problem is not None:
            self.storage.check()
        self.refresh()

    # --- the screen ------------------------------------------------------------
    def view_state(self) -> View:
        chrome = Chrome(
            language=self.language,
            cabinet_id=self.config.cabinet.id,
            online=self.online(),
            still_there_until=self.idle_watch.asking_until,
        )
        view = self.router.view(chrome)
        if self.accessibility.showing(view.screen):
            view = replace(view, chrome=replace(chrome, accessible=True))
        return self.narration.present(view)

    def refresh(self) -> None:
        try:
            view = self.view_state()
        except ValueError as exc:
            # A view that cannot be built is a bug to fix, never a reason to stop a journey mid-way (this
            # runs inside state changes that move money and doors): the safe screen, and a named fault.
            log.exception("the view could not be built")
            self.screen_fault(str(exc))
            chrome = Chrome(language=self.language, cabinet_id=self.config.cabinet.id, accessible=self.accessibility.on)
            view = ErrorScreen(chrome=chrome)
        self.sessions.view(view)  # every view passes here: the shopper funnel follows the screens
        self.on_view(view)

    def screen_fault(self, detail: str | None) -> None:
        """The screen could not show a view (detail), or shows one again (None): the "screen" fault."""
        self.fault_list.screen(detail)

    # --- intents from the touchscreen -------------------------------------------
    def handle_intent(self, intent: Intent) -> None:
        """The cabinet's own intents here; a journey's go to the first active presenter that handles them."""
        self.sessions.intent(intent)  # every intent passes here: the shopper funnel counts what it needs
        match intent:
            case Activity():
                self.idle_watch.activity()
            case Home():
                self._go_home()
            case ToggleLanguage():
                self.language = "zh" if self.language == "en" else "en"
                self.refresh()
            case Listen():
                self.narration.listen(self.view_state())
                self.refresh()
            case ToggleAccessibility():
                self.accessibility.toggle()
                self.refresh()
            case AdShown(ad_id=ad_id):
                self.ad_plays.shown(ad_id)  # counted; committed with a heartbeat every ad_plays_commit_s
            case Turn():
                pass  # the 360° view turned by the shopper: only the funnel counts it (above)
            case _:
                self._route(intent)

    def _route(self, intent: Intent) -> None:
        try:
            taker = self.router.route(intent)
        except STALE as exc:
            # A stale tap (the screen changed under the finger) is not an error worth more than a log line.
            log.info("intent ignored", extra={"intent": intent.name, "arg": intent.log_arg, "reason": str(exc)})
            return
        if taker is None:
            log.info("intent ignored", extra={"intent": intent.name, "arg": intent.log_arg, "reason": "not taken"})

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """A short job (a snapshot, a code check); its failure is a fault named after it, never silent."""
        task = self.supervisor.spawn(name, coro)
        self._tasks.append(task)
        task.add_done_callback(lambda t: self._tasks.remove(t) if t in self._tasks else None)
