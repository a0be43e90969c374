"""`kiosk run`: start everything, run until SIGTERM, stop cleanly."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from yarl import URL

from firmware.cabinet import Cabinet
from firmware.cloud_config import SIM_PICKUP_CODE, sim_document
from firmware.commands import register_commands
from firmware.config import Config
from firmware.control_api import create_control_app
from firmware.scan_to_pay_terminal import ScanToPayTerminal
from firmware.sim import SimBench, build_sim
from firmware.sim_network import NetworkSwitch
from firmware.storage import DB_NAME, StorageGuard
from firmware.technician import sd_notify
from kiosk_ui.intents import Bench, Intent
from kiosk_ui.view import SyncView
from sync_client.cabinet_config import hash_secret
from sync_client.cloud_client import CloudClient, UntrustedAnswerAlarm
from sync_client.commands import CommandInbox
from sync_client.config_sync import ConfigSync
from sync_client.keyfile import load_key
from sync_client.outbox import Outbox
from sync_client.scan_to_pay import ScanToPayClient
from sync_client.schema import utc_iso
from sync_client.snapshots import SnapshotStore, SnapshotUploader
from sync_client.store_marker import marker_path
from sync_client.uploader import Uploader

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


def sim_key(data_dir: Path) -> bytes:
    """The simulated cabinet's own key, made once and kept (0600) in the data dir."""
    path = data_dir / "cabinet.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
    return load_key(path)


async def run(config: Config, options: RunOptions) -> int:
    from kiosk_ui.app import (
        KioskUi,  # pygame loads only once the video driver is chosen
    )

    data_dir = options.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # Fed from the event loop itself: a hung loop stops the pings and systemd restarts the service.
    watchdog = loop.create_task(sd_notify.keep_watchdog_fed(stop), name="watchdog")
    cleanups: list = []

    cabinet_id = config.cabinet.id
    key = load_key(config.cabinet.key_file) if config.cabinet.key_file else sim_key(data_dir)
    cloud_url = options.cloud_url or config.sync.cloud_url
    if not cloud_url:
        from cloud_stub.server import start_cloud
        from cloud_stub.store import SqliteCloudStore

        store = SqliteCloudStore(data_dir / "cloud.db")
        store.set_cabinet_key(cabinet_id, key)
        if store.config(cabinet_id) is None:  # first run: the demo catalog, ads and access, as a retailer would
            store.put_config(cabinet_id, sim_document(config))
            store.add_order(
                cabinet_id,
                config.products[0].sku,
                hash_secret(SIM_PICKUP_CODE, n=2**12),
                utc_iso(time.time() + 365 * 24 * 3600),
            )
        cloud_runner, cloud_url = await start_cloud(store, simulate_payments=True)

        async def stop_cloud() -> None:
            await cloud_runner.cleanup()
            store.close()

        cleanups.append(stop_cloud)
        log.info("local cloud stub", extra={"url": cloud_url, "db": str(data_dir / "cloud.db")})

    db_path = data_dir / DB_NAME
    existed = db_path.exists()  # a missing store where a marker says there was one is a fault, not a start
    outbox = Outbox(
        db_path, cabinet_id, max_pending=config.sync.outbox_max_pending, alarm_pending=config.sync.outbox_alarm_pending
    )
    bench: SimBench | None = None
    upload_url = cloud_url
    if options.sim:
        devices, bench = build_sim(config, data_dir)
        target = URL(cloud_url)
        bench.network = NetworkSwitch(target.host or "127.0.0.1", target.port or 80)
        upload_url = str(URL(await bench.network.start()).with_path(target.path))
        await bench.start()
        cleanups.append(bench.stop)
    else:
        from firmware.devices import build_devices

        devices = build_devices(config)

    # One signed connection to the cloud, shared by the uploader, the configuration, commands and payments.
    # An answer not signed for its request is refused and becomes an alarm (at most one per 10 minutes).
    client = CloudClient(
        upload_url,
        cabinet_id,
        key,
        request_timeout_s=config.sync.request_timeout_s,
        ca_file=config.sync.ca_file or None,
        on_untrusted=UntrustedAnswerAlarm(outbox),
    )
    cleanups.append(client.close)
    uploader = Uploader(
        outbox,
        upload_url,
        key,
        batch_size=config.sync.batch_size,
        backoff_initial_s=config.sync.backoff_initial_s,
        backoff_max_s=config.sync.backoff_max_s,
        request_timeout_s=config.sync.request_timeout_s,
        client=client,
    )
    storage = StorageGuard(
        outbox,
        int(config.storage.reserve_mb * 2**20),
        marker_path(db_path),
        acked_seq=lambda: uploader.status.acked_seq,
    )
    storage.verify_identity(existed)
    config_sync = ConfigSync(outbox, client)
    commands = CommandInbox(outbox, client)
    devices.terminals["qr"] = ScanToPayTerminal(ScanToPayClient(client), timeout_s=config.payment.timeout_s)
    if bench is not None:
        bench.cloud_url, bench.scan_to_pay = cloud_url, devices.terminals["qr"]

        def network_up() -> None:
            uploader.retry_now()
            config_sync.poke()
            commands.poke()

        bench.on_network_up = network_up

    cabinet: Cabinet | None = None

    def on_intent(intent: Intent) -> None:
        if isinstance(intent, Bench):
            if bench is not None:
                loop.create_task(bench.act(intent.action))
        elif cabinet is not None:
            cabinet.handle_intent(intent)

    def on_screen_fault(detail: str | None) -> None:
        if cabinet is not None:
            cabinet.screen_fault(detail)

    def make_ui() -> KioskUi:
        return KioskUi(
            (config.screen.width, config.screen.height),
            on_intent=on_intent,
            on_fault=on_screen_fault,
            bench_panel=options.sim and os.environ.get("SDL_VIDEODRIVER") != "dummy",
            fullscreen=config.screen.fullscreen,
            fps=config.screen.fps,
        )

    ui = make_ui()
    try:
        ui.start()
    except Exception as exc:  # pygame.error: the display named in the environment is not there
        if not options.sim:
            raise
        print(f"kiosk: cannot open a window ({exc}): running headless", file=sys.stderr)
        ui.close()
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        ui = make_ui()
        ui.start()
    cabinet = Cabinet(
        config,
        devices,
        outbox,
        data_dir,
        is_online=lambda: uploader.status.online,
        on_view=ui.set_state,
        restart=stop.set,
        storage=storage,
        sync_status=lambda: SyncView(
            pending=outbox.pending_count(),
            last_success=_ago(uploader.status.last_success_at),
            dead_letters=uploader.status.dead_letters,
        ),
    )
    cached = config_sync.current()  # works offline: the last good configuration
    if cached is not None:
        cabinet.apply_cloud_config(cached)
    config_sync.on_applied(cabinet.apply_cloud_config)
    register_commands(commands, cabinet, config_sync, stop)
    snapshots = SnapshotUploader(SnapshotStore(cabinet.snapshot_dir), client)
    cabinet.on_snapshot = snapshots.poke
    await cabinet.start()
    cleanups.append(cabinet.stop)

    tasks = [
        loop.create_task(ui.run(stop), name="ui"),
        loop.create_task(uploader.run(stop), name="uploader"),
        loop.create_task(config_sync.run(stop, interval_s=config.sync.config_poll_s), name="config"),
        loop.create_task(commands.run(stop, interval_s=config.sync.commands_poll_s), name="commands"),
        loop.create_task(snapshots.run(stop), name="snapshots"),
    ]
    if bench is not None:
        tasks.append(loop.create_task(_show_bench_status(ui, cabinet, stop), name="bench-status"))
    if options.control_port is not None:
        runner = web.AppRunner(create_control_app(cabinet, ui, bench), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", options.control_port)
        await site.start()
        port = runner.addresses[0][1]
        cleanups.append(runner.cleanup)
        log.info("control API listening", extra={"url": f"http://127.0.0.1:{port}"})

    while ui.frame_count == 0 and not stop.is_set():
        await asyncio.sleep(0.005)
    log.info(
        "ready",
        extra={
            "screen": ui.screen_id,
            "startup_s": round(time.monotonic() - options.started_at, 3),
            "sim": options.sim,
            "cabinet_id": cabinet_id,
        },
    )
    sd_notify.ready(status=f"cabinet {cabinet_id} ready")

    done, _ = await asyncio.wait([loop.create_task(stop.wait()), *tasks], return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    sd_notify.stopping()
    for task in tasks:
        if task in done and task.exception() is not None:
            log.error("task failed", extra={"task": task.get_name()}, exc_info=task.exception())
    await asyncio.gather(*tasks, return_exceptions=True)
    for cleanup in reversed(cleanups):
        await cleanup()
    snapshots.close()
    storage.save_marker()
    outbox.close()
    await watchdog
    log.info("stopped")
    return 0


def _ago(when: float | None) -> str:
    if when is None:
        return "never"
    seconds = int(time.time() - when)
    return f"{seconds} s ago" if seconds < 120 else f"{seconds // 60} min ago"


async def _show_bench_status(ui, cabinet: Cabinet, stop: asyncio.Event) -> None:
    """What the bench person cannot see through the glass: relay, reed switch, outbox, link."""
    while not stop.is_set():
        ui.set_bench_status(
            [
                f"lock: {'ENERGIZED' if cabinet.devices.lock.energized else 'locked'}",
                f"door: {'open' if cabinet.devices.door.is_open else 'closed'}",
                f"outbox: {cabinet.outbox.pending_count()} pending",
                f"online: {'yes' if cabinet.is_online() else 'no'}",
            ]
        )
        await asyncio.sleep(0.25)
