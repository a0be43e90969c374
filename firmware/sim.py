"""Simulation: every device emulated, speaking its real protocol, a local cloud and a network
cable to pull, and the bench's "hands" (approve on the terminal, open the door, tap a card, show a
QR code, pull the network cable) as one table of actions shared by the control API and the bench
panel. ``start_sim`` builds these parts and hands them to the runtime's composition root, the same
one a real cabinet runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from gpiozero.pins.mock import MockFactory
from yarl import URL

from firmware.cloud_config import SIM_PICKUP_CODE, sim_document
from firmware.config import Config
from firmware.devices import Devices, build_lock_and_door
from firmware.scan_to_pay_terminal import ScanToPayTerminal
from firmware.sim_network import NetworkSwitch
from hal.fingerprint.sensor import ZfmSensor
from hal.pn532.reader import Pn532Reader
from hal.scanner.reader import SerialScanner
from hal.sim.door import DoorLocked, MockDoor, RecentStatesPin
from hal.sim.fingerprint_emulator import FingerprintEmulator
from hal.sim.pn532_emulator import Pn532Emulator
from hal.sim.pty_link import PtyEmulator
from hal.sim.scanner_emulator import ScannerEmulator
from hal.sim.zvt_emulator import CARDS, ZvtEmulator
from hal.zvt.apdu import currency_code
from hal.zvt.driver import ZvtTerminal
from sync_client.cabinet_config import hash_secret
from sync_client.keyfile import load_key
from sync_client.outbox import Outbox, StorageFull
from sync_client.schema import utc_iso

if TYPE_CHECKING:
    from firmware.cabinet import Cabinet
    from hal.sim.camera_sim import SimCamera
    from kiosk_ui.app import KioskUi

log = logging.getLogger(__name__)
# What the bench panel's buttons present: a demo staff card and the cabinet's demo QR code.
BENCH_PANEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "nfc/present": {"uid": "04A224B2C35E80"},
    "qr/show": {"text": "https://shop.example/order/DEMO-1234"},
}


class BenchError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class SimBench:
    door: MockDoor
    factory: MockFactory
    tamper_pin: int
    terminal: ZvtEmulator
    nfc: Pn532Emulator
    scanner: ScannerEmulator
    camera: SimCamera | None  # None when the configuration has no camera (camera.backend = "none")
    network: NetworkSwitch | None = None
    on_network_up: Callable[[], None] = lambda: None
    cloud_url: str = ""  # the cloud the simulated phone pays through
    scan_to_pay: ScanToPayTerminal | None = None
    store: Outbox | None = None  # the cabinet's store, whose disk the bench can fill
    fingerprint: FingerprintEmulator | None = None  # when the configuration has one (fingerprint.backend = "sim")

    def _emulators(self) -> list[PtyEmulator | ZvtEmulator]:
        return [self.terminal, self.nfc, self.scanner, *([self.fingerprint] if self.fingerprint else [])]

    def pins(self) -> dict[str, Any]:
        return {
            "relay": self.door.relay_history(),
            "door": {"open": self.door.is_open, "latch_released": self.door.latch_released},
        }

    async def start(self) -> None:
        for emulator in self._emulators():
            await emulator.start()

    async def act(self, action: str) -> None:
        """A button on the bench panel: the same action as the control API, with demo values."""
        try:
            await BENCH_ACTIONS[action](self, dict(BENCH_PANEL_DEFAULTS.get(action, {})))
        except BenchError as exc:
            log.warning("bench action refused", extra={"action": action, "reason": str(exc)})

    async def stop(self) -> None:
        for emulator in self._emulators():
            await emulator.stop()
        if self.network is not None:
            await self.network.stop()


def build_sim(config: Config, data_dir: Path | None = None) -> tuple[Devices, SimBench]:
    """Every device emulated: the same drivers as on a cabinet, talking to emulators over PTYs.
    With a data dir the terminal emulator keeps its journal there, as a real terminal survives a power cut."""
    factory = MockFactory(pin_class=RecentStatesPin)  # bounded history: a simulated cabinet runs all day
    lock, door_sensor, tamper = build_lock_and_door(config, factory)
    door = MockDoor(
        factory,
        relay_pin=config.lock.relay_pin,
        relay_active_high=config.lock.relay_active_high,
        door_pin=config.lock.door_pin,
    )
    if config.lock.tamper_pin:
        factory.pin(config.lock.tamper_pin).drive_low()  # the casing is closed
    camera = None
    if config.camera.backend != "none":
        from hal.sim.camera_sim import SimCamera  # numpy and segno: only when a camera is configured

        camera = SimCamera()
    bench = SimBench(
        door=door,
        factory=factory,
        tamper_pin=config.lock.tamper_pin,
        terminal=ZvtEmulator(
            password=config.payment.password,
            currency=currency_code(config.cabinet.currency),  # set up as the cabinet's terminal would be
            journal=str(data_dir / "zvt-emulator.json") if data_dir else None,
        ),
        nfc=Pn532Emulator(),
        scanner=ScannerEmulator(),
        camera=camera,
        fingerprint=FingerprintEmulator(capacity=config.fingerprint.capacity)
        if config.fingerprint.backend == "sim"
        else None,
    )
    devices = Devices(
        lock=lock,
        door=door_sensor,
        tamper=tamper,
        terminals={
            "terminal": ZvtTerminal(
                bench.terminal.port,
                password=config.payment.password,
                currency=config.cabinet.currency,
                auth_timeout=config.payment.timeout_s,
            )
        },
        card_reader=Pn532Reader(bench.nfc.port),
        code_reader=SerialScanner(bench.scanner.port),
        camera=bench.camera,
        fingerprint=ZfmSensor(bench.fingerprint.port, capacity=config.fingerprint.capacity)
        if bench.fingerprint
        else None,
    )
    return devices, bench


async def start_sim(
    stack: contextlib.AsyncExitStack, config: Config, data_dir: Path, key: bytes, cloud_url: str
) -> tuple[Devices, str, SimBench]:
    """The simulation's parts: the emulated devices, and the URL the cabinet reaches its cloud by (through
    the bench's network cable; a local cloud stub when ``cloud_url`` is empty). Whatever is started here
    is stopped by ``stack``, also when a later step fails."""
    if not cloud_url:
        cloud_url = await start_local_cloud(stack, config, data_dir, key)
    devices, bench = build_sim(config, data_dir)
    stack.push_async_callback(bench.stop)  # every emulator's PTY, started or not, and the network link
    bench.cloud_url = cloud_url
    target = URL(cloud_url)
    network = NetworkSwitch(target.host or "127.0.0.1", target.port or 80)
    upload_url = str(URL(await network.start()).with_path(target.path))
    bench.network = network
    await bench.start()
    return devices, upload_url, bench


async def start_local_cloud(stack: contextlib.AsyncExitStack, config: Config, data_dir: Path, key: bytes) -> str:
    """A cloud stub in this process, its database at DATA_DIR/cloud.db; the first time, the demo catalog,
    ads and access, as a retailer would set them up. Returns its URL."""
    from cloud_stub.server import start_cloud
    from cloud_stub.store import SqliteCloudStore

    cabinet_id = config.cabinet.id
    store = SqliteCloudStore(data_dir / "cloud.db")
    stack.callback(store.close)
    store.set_cabinet_key(cabinet_id, key)
    if store.config(cabinet_id) is None:
        store.put_config(cabinet_id, sim_document(config))
        store.add_order(
            cabinet_id,
            config.products[0].sku,
            hash_secret(SIM_PICKUP_CODE, n=2**12),
            utc_iso(time.time() + 365 * 24 * 3600),
        )
    runner, url = await start_cloud(store, simulate_payments=True)
    stack.push_async_callback(runner.cleanup)
    log.info("local cloud stub", extra={"url": url, "db": str(data_dir / "cloud.db")})
    return url


def sim_key(data_dir: Path) -> bytes:
    """The simulated cabinet's own key, made once and kept (0600) in the data dir."""
    path = data_dir / "cabinet.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
    return load_key(path)


async def show_bench_status(ui: KioskUi, cabinet: Cabinet, stop: asyncio.Event) -> None:
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


# --- the bench's hands ---------------------------------------------------------
Action = Callable[[SimBench, dict[str, Any]], Awaitable[dict[str, Any] | None]]


async def _shopper_at_terminal(bench: SimBench) -> None:
    # A shopper who reaches for the terminal as it lights up: allow it a moment to ask for the card.
    try:
        await asyncio.wait_for(bench.terminal.card_prompted.wait(), 2.0)
    except TimeoutError:
        raise BenchError(409, "pos: the terminal is not waiting for a card (start a payment first)") from None


async def _pos_approve(bench: SimBench, body: dict[str, Any]) -> dict[str, Any]:
    card = body.get("card", bench.terminal.presented)  # how the shopper pays: chip, contactless, wallet
    if card not in CARDS:
        raise BenchError(400, f"card: expected one of {', '.join(CARDS)}")
    await _shopper_at_terminal(bench)
    bench.terminal.approve(pin=bool(body.get("pin", False)), card=card)
    return {"pos": "approved", "card": card}


async def _pos_decline(bench: SimBench, body: dict[str, Any]) -> dict[str, Any]:
    await _shopper_at_terminal(bench)
    code = body.get("result_code", 0x05)
    if not isinstance(code, int) or isinstance(code, bool) or not 1 <= code <= 0xFF or code == 0x6C:
        raise BenchError(400, "result_code: expected a ZVT decline code 1-255 (not 0x6C, which is a time-out)")
    bench.terminal.decline(code)
    return {"pos": "declined"}


async def _pos_reversals(bench: SimBench, body: dict[str, Any]) -> dict[str, Any]:
    """The terminal's host refuses reversals (06 1E) or takes them again: a refund for the retailer to do."""
    refuse = body.get("refuse")
    if not isinstance(refuse, bool):
        raise BenchError(400, "refuse: expected true or false")
    bench.terminal.refuse_reversals = refuse
    return {"pos": "refusing reversals" if refuse else "taking reversals"}


async def _phone_pay(bench: SimBench, body: dict[str, Any]) -> dict[str, Any]:
    """The shopper scans the payment QR and pays on the phone (the cloud's payment simulator)."""
    payment_id = bench.scan_to_pay.pending_payment_id if bench.scan_to_pay else None
    if payment_id is None:
        raise BenchError(409, "phone: no scan-to-pay payment is waiting (choose pay:qr first)")
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{bench.cloud_url}/sim/payments/{payment_id}/pay") as response:
            if response.status != 200:
                raise BenchError(
                    502,
                    f"phone: the cloud's payment simulator answered {response.status}: "
                    f"{(await response.text())[:200]} (serve it with --simulate-payments)",
                )
    return {"payment_id": payment_id}


async def _nfc_present(bench: SimBench, body: dict[str, Any]) -> dict[str, Any]:
    uid_hex = body.get("uid")
    try:
        uid = bytes.fromhex(uid_hex) if isinstance(uid_hex, str) else b""
    except ValueError:
        uid = b""
    if len(uid) not in (4, 7, 10):
        raise BenchError(400, 'uid: expected 4, 7 or 10 bytes as hex, e.g. "04A224B2C35E80"')
    hold_s = body.get("hold_s", 1.0)
    if not isinstance(hold_s, (int, float)) or isinstance(hold_s, bool) or not 0 < hold_s <= 30:
        raise BenchError(400, "hold_s: expected seconds between 0 and 30")
    bench.nfc.present(uid)
    asyncio.get_running_loop().call_later(hold_s, bench.nfc.remove)
    return {"uid": uid.hex().upper()}


def _finger(place: bool) -> Action:
    """A finger on the fingerprint sensor (named: the same name is the same finger; a name never enrolled is
    an unknown finger), or lifted off it."""

    async def action(bench: SimBench, body: dict[str, Any]) -> dict[str, Any]:
        if bench.fingerprint is None:
            raise BenchError(409, 'finger: this cabinet has no fingerprint sensor (fingerprint.backend = "sim")')
        if not place:
            bench.fingerprint.lift()
            return {"finger": None}
        finger = body.get("finger")
        if not isinstance(finger, str) or not 1 <= len(finger) <= 40:
            raise BenchError(400, 'finger: expected a name of 1 to 40 characters, e.g. "mei-right-thumb"')
        await bench.fingerprint.touch(finger)  # a finger already there is lifted first, as a hand would
        return {"finger": finger}

    return action


async def _qr_show(bench: SimBench, body: dict[str, Any]) -> dict[str, Any]:
    text = body.get("text")
    if not isinstance(text, str) or not text or len(text) > 2000 or any(c in text for c in "\r\n"):
        raise BenchError(400, "text: expected a non-empty string of at most 2000 characters, on one line")
    await bench.scanner.scan(text)
    return {"text": text}


async def _people_walk(bench: SimBench, body: dict[str, Any]) -> dict[str, Any]:
    """People walk past the simulated camera (hal/sim/footfall_scene.py): ``people`` of them one after another,
    ``stoppers`` of them standing ``stop_s`` seconds in front, drawn from ``seed``."""
    if bench.camera is None:
        raise BenchError(409, "camera: none configured (camera.backend is 'none')")
    people, stoppers, seed = body.get("people", 3), body.get("stoppers", 1), body.get("seed", 0)
    stop_s = body.get("stop_s", 5)
    if not (type(people) is int and 0 <= people <= 50):
        raise BenchError(400, "people: expected a whole number from 0 to 50")
    if not (type(stoppers) is int and 0 <= stoppers <= people):
        raise BenchError(400, "stoppers: expected a whole number from 0 to people")
    if not (type(seed) is int and 0 <= seed < 2**32):
        raise BenchError(400, "seed: expected a whole number from 0 to 2**32 - 1")
    if not (type(stop_s) in (int, float) and 1 <= stop_s <= 120):
        raise BenchError(400, "stop_s: expected seconds from 1 to 120")
    from hal.sim.footfall_scene import Scene, random_scene  # OpenCV: only when people are shown

    scene = (
        random_scene(seed, people=people, stoppers=stoppers, stop_s=(stop_s, stop_s), gap_s=2.0)
        if people
        else Scene((), 0.0)
    )
    bench.camera.show_people(scene)
    return {"people": people, "stoppers": stoppers, "seconds": round(scene.duration_s, 1)}


async def _door_open(bench: SimBench, body: dict[str, Any]) -> dict[str, Any]:
    try:
        bench.door.open()
    except DoorLocked as exc:
        raise BenchError(409, f"door: {exc} (the relay is not energized)") from None
    return {"door": "open"}


async def _door_force(bench: SimBench, body: dict[str, Any]) -> dict[str, Any]:
    """A crowbar: the door opens although the latch holds."""
    bench.door.force_open()
    return {"door": "forced"}


def _tamper(opened: bool) -> Action:
    async def action(bench: SimBench, body: dict[str, Any]) -> dict[str, Any]:
        if not bench.tamper_pin:
            raise BenchError(409, "tamper: no tamper switch configured (lock.tamper_pin)")
        pin = bench.factory.pin(bench.tamper_pin)
        if opened:
            pin.drive_high()
        else:
            pin.drive_low()
        return {"tamper": "open" if opened else "closed"}

    return action


async def _door_close(bench: SimBench, body: dict[str, Any]) -> dict[str, Any]:
    bench.door.close()
    return {"door": "closed"}


async def _network(bench: SimBench, up: bool) -> dict[str, Any]:
    if bench.network is None:
        raise BenchError(409, "network: the simulated link is not running")
    bench.network.set_up(up)
    if up:
        bench.on_network_up()
    return {"network": "up" if up else "down"}


def _storage(full: bool) -> Action:
    async def action(bench: SimBench, body: dict[str, Any]) -> dict[str, Any]:
        if bench.store is None:
            raise BenchError(409, "storage: the cabinet's store is not open")
        bench.store.cap_size(full)
        filler = 0
        while full and filler < 100_000:  # a full card leaves no room in the last pages either
            try:
                bench.store.append("heartbeat", {})
            except StorageFull:
                break
            filler += 1
        return {"storage": "full" if full else "ok", "filler_events": filler}

    return action


def _plug(device: str, plugged: bool) -> Action:
    async def action(bench: SimBench, body: dict[str, Any]) -> dict[str, Any]:
        emulators: dict[str, ZvtEmulator | Pn532Emulator | ScannerEmulator] = {
            "pos": bench.terminal,
            "nfc": bench.nfc,
            "scanner": bench.scanner,
        }
        emulator = emulators[device]
        await (emulator.replug() if plugged else emulator.unplug())
        return {device: "plugged" if plugged else "unplugged"}

    return action


BENCH_ACTIONS: dict[str, Action] = {
    "pos/approve": _pos_approve,
    "pos/decline": _pos_decline,
    "pos/reversals": _pos_reversals,
    "phone/pay": _phone_pay,
    "nfc/present": _nfc_present,
    "qr/show": _qr_show,
    "finger/place": _finger(True),
    "finger/lift": _finger(False),
    "people/walk": _people_walk,
    "door/open": _door_open,
    "door/close": _door_close,
    "door/force": _door_force,
    "tamper/open": _tamper(True),
    "tamper/close": _tamper(False),
    "network/down": lambda bench, body: _network(bench, False),
    "network/up": lambda bench, body: _network(bench, True),
    "storage/full": _storage(True),
    "storage/ok": _storage(False),
    **{
        f"{device}/{verb}": _plug(device, verb == "replug")
        for device in ("pos", "nfc", "scanner")
        for verb in ("unplug", "replug")
    },
}
