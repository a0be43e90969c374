"""`kiosk run`: the composition root. It builds the cabinet on the parts it is handed (the real devices
and the configured cloud, or the simulation's from firmware/sim.py), runs it until SIGTERM, and stops
everything in reverse order through one exit stack, also when start-up fails halfway."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from firmware.cabinet import Cabinet
from firmware.clock import LoopClock
from firmware.commands import register_commands
from firmware.config import Config
from firmware.control_api import create_control_app
from firmware.devices import Devices
from firmware.journeys.callback import CallbackJourney
from firmware.journeys.repair import RepairJourney
from firmware.link_watch import kernel_link
from firmware.scan_to_pay_terminal import ScanToPayTerminal
from firmware.setup_needs import SetupCheck
from firmware.sim import SimBench, show_bench_status, sim_key
from firmware.storage import DB_NAME, StorageGuard
from firmware.supervisor import Supervisor
from firmware.technician import sd_notify
from firmware.updater.wiring import start_updates
from kiosk_ui.intents import Bench, Intent, ToggleAccessibility, ToggleLanguage
from kiosk_ui.view import Chrome, SyncView, TechnicianScreen
from sync_client.cabinet_config import CabinetConfig
from sync_client.cloud_client import CloudClient, UntrustedAnswerAlarm
from sync_client.commands import CommandInbox
from sync_client.config_sync import ConfigSync
from sync_client.keyfile import load_key
from sync_client.media_fetch import MediaFetcher, needed_media
from sync_client.outbox import Outbox
from sync_client.scan_to_pay import ScanToPayClient
from sync_client.snapshots import SnapshotStore, SnapshotUploader
from sync_client.store_marker import marker_path
from sync_client.uploader import Uploader

if TYPE_CHECKING:
    from kiosk_ui.app import KioskUi

log = logging.getLogger(__name__)


@dataclass
class RunOptions:
    sim: bool
    headless: bool
    data_dir: Path
    cloud_url: str | None
    control_port: int | None  # None: no control API
    started_at: float  # time.monotonic() at process start, for the ready log line


def choose_video_driver(headless: bool) -> str | None:
    """Decide before pygame starts. Returns a message to show when falling back to headless."""
    if headless:
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        return None
    if (
        not os.environ.get("SDL_VIDEODRIVER")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
    ):
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        return "no display found (DISPLAY, WAYLAND_DISPLAY and SDL_VIDEODRIVER are unset): running headless"
    return None


@dataclass
class Parts:
    """What the composition root is handed: the devices, the URL its requests to the cloud go to, and in
    simulation the bench (the shopper's hands)."""

    devices: Devices
    cloud_url: str
    bench: SimBench | None = None


# Builds the parts inside the exit stack (which stops what it started): production_parts or the simulation's.
PartsBuilder = Callable[[contextlib.AsyncExitStack, Config, RunOptions, bytes], Awaitable[Parts]]


async def production_parts(stack: contextlib.AsyncExitStack, config: Config, options: RunOptions, key: bytes) -> Parts:
    from firmware.devices import build_devices

    cloud_url = options.cloud_url or config.sync.cloud_url
    if not cloud_url:
        raise ValueError("sync.cloud_url: required outside simulation")
    if config.lock.backend == "lockboard" and config.updates.root:  # signed updates carry the board's firmware
        from firmware.updater.board import board_follows_program

        log.info(await board_follows_program(config.lock.board_port))
    return Parts(build_devices(config), cloud_url)


async def sim_parts(stack: contextlib.AsyncExitStack, config: Config, options: RunOptions, key: bytes) -> Parts:
    from firmware.sim import start_sim

    cloud_url = options.cloud_url or config.sync.cloud_url
    return Parts(*await start_sim(stack, config, options.data_dir, key, cloud_url))


async def run(config: Config, options: RunOptions, build_parts: PartsBuilder | None = None) -> int:
    """Run the cabinet until SIGTERM or SIGINT. ``build_parts`` defaults to the real devices, or the
    simulation's with ``options.sim``."""
    options.data_dir.mkdir(parents=True, exist_ok=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    async with contextlib.AsyncExitStack() as stack:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
            stack.callback(loop.remove_signal_handler, sig)
        supervisor = Supervisor()
        # Fed from the event loop itself, while every task lives: a hung loop or a dead task stops the pings
        # and systemd restarts the service.
        watchdog = loop.create_task(supervisor.keep_watchdog_fed(stop), name="watchdog")
        stack.push_async_callback(_set_and_wait, stop, [watchdog])
        key = load_key(config.cabinet.key_file) if config.cabinet.key_file else sim_key(options.data_dir)
        build = build_parts or (sim_parts if options.sim else production_parts)
        parts = await build(stack, config, options, key)
        await _serve(stack, config, options, parts, key, supervisor, stop)
    log.info("stopped")
    return 0


async def _serve(
    stack: contextlib.AsyncExitStack,
    config: Config,
    options: RunOptions,
    parts: Parts,
    key: bytes,
    supervisor: Supervisor,
    stop: asyncio.Event,
) -> None:
    devices, bench = parts.devices, parts.bench
    stack.callback(devices.lock.close)  # the relay off, whatever fails after this
    clock = LoopClock()  # the one clock of the cabinet: journeys, door, alarms, idle watch, every sync loop's waits
    store = _open_store_and_sync(stack, config, options.data_dir, parts.cloud_url, key, clock)
    outbox, client, uploader = store.outbox, store.client, store.uploader
    config_sync, commands, sync = store.config_sync, store.commands, config.sync
    scan_to_pay = ScanToPayTerminal(ScanToPayClient(client), timeout_s=config.payment.timeout_s)
    devices.terminals["qr"] = scan_to_pay

    def network_up() -> None:  # the link is back: skip the backoffs, ask the cloud now
        uploader.retry_now()
        config_sync.poke()
        commands.poke()

    if bench is not None:
        bench.scan_to_pay, bench.store = scan_to_pay, outbox
        bench.on_network_up = network_up

    cabinet: Cabinet | None = None

    def on_intent(intent: Intent) -> None:
        if isinstance(intent, Bench):
            if bench is not None:
                supervisor.spawn("bench-action", bench.act(intent.action))
        elif cabinet is not None:
            cabinet.handle_intent(intent)

    def on_screen_fault(detail: str | None) -> None:
        if cabinet is not None:
            cabinet.screen_fault(detail)

    link = bench.network if bench is not None else None
    ui = _open_ui(config, options, on_intent, on_screen_fault)
    stack.callback(ui.close)
    cabinet = Cabinet(
        config,
        devices,
        outbox,
        options.data_dir,
        # In simulation the bench's cable is the link: pulled, the cabinet is offline at once (scan-to-pay
        # leaves the screen), not at the next failed upload.
        is_online=lambda: uploader.status.online and (link is None or link.up),
        on_view=ui.set_state,
        restart=stop.set,
        storage_guard=store.storage,
        supervisor=supervisor,
        clock=clock,
        # The kernel's link (a cabinet's cable or Wi-Fi): lost, offline at once; back, online at the cloud's
        # next answer, which is asked for at once.
        link=kernel_link(config.network, sim=bench is not None),
        on_network=lambda up: network_up() if up else uploader.link_lost(),
        link_key=key,
        sync_status=lambda: SyncView(
            pending=outbox.pending_count(),
            last_success=_ago(uploader.status.last_success_at),
            dead_letters=uploader.status.dead_letters,
        ),
    )
    # Uploaded media the configuration names, downloaded beside the configuration sync into the data dir.
    media = MediaFetcher(
        client, cabinet.media, cabinet.media_arrived, cabinet.media_failures, interval_s=sync.config_poll_s,
        sleep=clock.sleep,
    )  # fmt: skip

    def apply_config(applied: CabinetConfig) -> None:
        cabinet.apply_cloud_config(applied)  # products and prices at once; ads once their media are in
        media.want(needed_media(applied))

    cached = config_sync.current()  # works offline: the last good configuration
    if cached is not None:
        apply_config(cached)
    config_sync.on_applied(apply_config)
    register_commands(
        commands,
        cabinet.remote,
        cabinet.idle,
        config_sync,
        stop,
        cabinet.sale.follow_ups,
        selftest=cabinet.remote_selftest,
        snapshot=cabinet.snapshots,
        repair=cabinet.repair,
        callback=cabinet.journeys.callback,
    )
    snapshots = SnapshotUploader(SnapshotStore(cabinet.snapshot_dir), client, clock=clock.time, sleep=clock.sleep)
    stack.callback(snapshots.close)
    cabinet.on_snapshot = snapshots.poke
    stack.push_async_callback(cabinet.stop)  # before start: a device that fails to open closes the others
    if link is not None:
        link.on_change = lambda up: cabinet.refresh() if cabinet is not None else None
    await cabinet.start()

    run = supervisor.run
    ui_task = run("ui", ui.run(stop))
    tasks = [
        ui_task,
        run("uploader", uploader.run(stop)),
        run("config", config_sync.run(stop, interval_s=sync.config_poll_s)),
        run("media", media.run(stop)),
        run("commands", commands.run(stop, interval_s=sync.commands_poll_s)),
        run("snapshots", snapshots.run(stop)),
        run("phone-forms", _follow_phone_forms((cabinet.repair, cabinet.journeys.callback), commands, stop)),
    ]
    if bench is not None:
        tasks.append(run("bench-status", show_bench_status(ui, cabinet, stop)))
    updates = await start_updates(
        stack, config.updates, parts.cloud_url, options.data_dir, cabinet, outbox, commands,
        lambda: ui.frame_count, lambda: uploader.status.last_success_at, supervisor, clock, stop,
    )  # fmt: skip
    tasks += updates.tasks
    stack.push_async_callback(_set_and_wait, stop, tasks)
    if options.control_port is not None:
        runner = web.AppRunner(create_control_app(cabinet, ui, bench), access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await web.TCPSite(runner, "127.0.0.1", options.control_port).start()
        log.info("control API listening", extra={"url": f"http://127.0.0.1:{runner.addresses[0][1]}"})

    await _until_stopped(config, options, ui, ui_task, stop)


async def _until_stopped(
    config: Config, options: RunOptions, ui: KioskUi, ui_task: asyncio.Task[Any], stop: asyncio.Event
) -> None:
    """Ready once the first frame is drawn; then until SIGTERM, a restart from the service menu, or the
    window closed. A failing task is the supervisor's (a fault, and the watchdog left to restart us)."""
    while ui.frame_count == 0 and not stop.is_set() and not ui_task.done():
        await asyncio.sleep(0.005)
    log.info(
        "ready",
        extra={
            "screen": ui.screen_id,
            "startup_s": round(time.monotonic() - options.started_at, 3),
            "sim": options.sim,
            "cabinet_id": config.cabinet.id,
        },
    )
    sd_notify.ready(status=f"cabinet {config.cabinet.id} ready")
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait([stopped, ui_task], return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    sd_notify.stopping()


async def run_technician_needed(
    check: SetupCheck, options: RunOptions, hardware_id: str, watch: tuple[Path, ...], poll_s: float = 1.0
) -> int:
    """A cabinet that cannot start (firmware/setup_needs.py) stays up on the technician-needed screen, opening
    no device, store or cloud connection: ready for systemd (its status says what is missing) and feeding its
    watchdog, so the unit is not restarted every few seconds with a blank screen. Once a watched file changes
    (kiosk provision wrote the key and configuration, a technician edited them) it exits; systemd's restart
    reads them again."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    chrome = Chrome(language=check.config.screen.language)

    def show() -> None:
        needs = tuple((n.need, n.view()) for n in check.needs)
        ui.set_state(TechnicianScreen(chrome=chrome, needs=needs, hardware_id=hardware_id))

    def on_intent(intent: Intent) -> None:  # the header's buttons; nothing else here does anything
        nonlocal chrome
        if isinstance(intent, ToggleLanguage):
            chrome = replace(chrome, language="zh" if chrome.language == "en" else "en")
        elif isinstance(intent, ToggleAccessibility):
            chrome = replace(chrome, accessible=not chrome.accessible)
        show()

    ui = _open_ui(check.config, options, on_intent, lambda detail: None)
    show()
    tasks = [
        loop.create_task(ui.run(stop), name="ui"),
        loop.create_task(sd_notify.keep_watchdog_fed(stop), name="watchdog"),
        loop.create_task(_until_changed(watch, stop, poll_s), name="setup-watch"),
    ]
    try:
        while ui.frame_count == 0 and not stop.is_set() and not tasks[0].done():
            await asyncio.sleep(0.005)
        log.warning(check.summary(), extra={"screen": ui.screen_id, "hardware_id": hardware_id})
        sd_notify.ready(status=check.summary())
        await asyncio.wait([tasks[0], loop.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
    finally:
        sd_notify.stopping()
        await _set_and_wait(stop, tasks)
        ui.close()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    return 0


def _stamps(paths: tuple[Path, ...]) -> list[tuple[int, int] | None]:
    stamps: list[tuple[int, int] | None] = []
    for path in paths:
        try:
            info = path.stat()
        except OSError:  # missing, or in a directory this user cannot read: unchanged while it stays so
            stamps.append(None)
        else:
            stamps.append((info.st_mtime_ns, info.st_size))
    return stamps


async def _until_changed(paths: tuple[Path, ...], stop: asyncio.Event, poll_s: float) -> None:
    """Set ``stop`` once any of ``paths`` appears, vanishes or changes."""
    before = _stamps(paths)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), poll_s)
        if _stamps(paths) != before:
            log.info("the configuration or key changed: starting again", extra={"files": [str(p) for p in paths]})
            stop.set()


@dataclass
class StoreAndSync:
    outbox: Outbox
    client: CloudClient
    uploader: Uploader
    storage: StorageGuard
    config_sync: ConfigSync
    commands: CommandInbox


PHONE_POLL_S = 2.0  # someone types on their phone now: the command poll's interval is for remote unlocks


async def _follow_phone_forms(
    journeys: tuple[RepairJourney | CallbackJourney, ...], commands: CommandInbox, stop: asyncio.Event
) -> None:
    """While a form is offered on a phone, ask the cloud for its progress every PHONE_POLL_S."""
    while not stop.is_set():
        if any(journey.phone is not None for journey in journeys):
            commands.poke()
        with contextlib.suppress(TimeoutError):  # the wait ends at once when the cabinet stops
            await asyncio.wait_for(stop.wait(), PHONE_POLL_S)


def _open_store_and_sync(
    stack: contextlib.AsyncExitStack, config: Config, data_dir: Path, cloud_url: str, key: bytes, clock: LoopClock
) -> StoreAndSync:
    """The local store (refused when it is not the cabinet's own) and what keeps it in step with the cloud."""
    db_path = data_dir / DB_NAME
    existed = db_path.exists()  # a missing store where a marker says there was one is a fault, not a start
    sync = config.sync
    outbox = Outbox(
        db_path, config.cabinet.id, max_pending=sync.outbox_max_pending, alarm_pending=sync.outbox_alarm_pending
    )
    stack.callback(outbox.close)
    # One signed connection to the cloud, shared by the uploader, the configuration, commands and payments.
    # An answer not signed for its request is refused and becomes an alarm (at most one per 10 minutes).
    client = CloudClient(
        cloud_url,
        config.cabinet.id,
        key,
        request_timeout_s=sync.request_timeout_s,
        ca_file=sync.ca_file or None,
        on_untrusted=UntrustedAnswerAlarm(outbox),
    )
    stack.push_async_callback(client.close)
    uploader = Uploader(
        outbox,
        cloud_url,
        key,
        batch_size=sync.batch_size,
        backoff_initial_s=sync.backoff_initial_s,
        backoff_max_s=sync.backoff_max_s,
        request_timeout_s=sync.request_timeout_s,
        client=client,
        monotonic=clock.monotonic,
        wall=clock.time,
        sleep=clock.sleep,
        linger_s=sync.upload_linger_s,
    )
    storage = StorageGuard(
        outbox,
        int(config.storage.reserve_mb * 2**20),
        marker_path(db_path),
        acked_seq=lambda: uploader.status.acked_seq,
    )
    storage.verify_identity(existed)
    stack.callback(storage.save_marker)  # only for a store found to be the cabinet's own
    config_sync = ConfigSync(outbox, client, sleep=clock.sleep)
    commands = CommandInbox(outbox, client, wall_clock=clock.time, monotonic=clock.monotonic, sleep=clock.sleep)
    return StoreAndSync(outbox, client, uploader, storage, config_sync, commands)


async def _set_and_wait(stop: asyncio.Event, tasks: list[asyncio.Task[Any]]) -> None:
    """Ask the tasks to end (they watch ``stop``) and wait for them."""
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)


def _open_ui(
    config: Config,
    options: RunOptions,
    on_intent: Callable[[Intent], None],
    on_screen_fault: Callable[[str | None], None],
) -> KioskUi:
    from kiosk_ui.app import KioskUi  # pygame loads only once the video driver is chosen

    def make_ui() -> KioskUi:
        return KioskUi(
            (config.screen.width, config.screen.height),
            on_intent=on_intent,
            on_fault=on_screen_fault,
            bench_panel=options.sim and os.environ.get("SDL_VIDEODRIVER") != "dummy",
            fullscreen=config.screen.fullscreen,
            fps=config.screen.fps,
            mounting=config.screen.mounting,
        )

    ui = make_ui()
    try:
        ui.start()
    except Exception as exc:  # pygame.error: the display named in the environment is not there
        ui.close()
        if not options.sim:
            raise
        print(f"kiosk: cannot open a window ({exc}): running headless", file=sys.stderr)
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        ui = make_ui()
        ui.start()
    return ui


def _ago(when: float | None) -> str:
    if when is None:
        return "never"
    seconds = int(time.time() - when)
    return f"{seconds} s ago" if seconds < 120 else f"{seconds // 60} min ago"
