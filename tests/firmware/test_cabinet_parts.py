"""The cabinet's parts on their own: the configuration in force, the shop window, the faults, the device,
storage and idle watches, the door's photos and the remote unlock. Real SQLite, the fake clock, no sleep."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory
from hypothesis import given
from hypothesis import strategies as st

from firmware.catalog import Catalog
from firmware.clock import FakeClock
from firmware.config import CabinetSection, Config, RetailerSection
from firmware.config_in_force import ConfigInForce
from firmware.device_watch import RECONNECT_S, DeviceWatch
from firmware.devices import build_lock_and_door
from firmware.door_cycle import DoorCycle
from firmware.door_snapshots import DoorSnapshots
from firmware.faults import Faults
from firmware.idle_watch import IdleWatch
from firmware.journeys.restock import RestockJourney
from firmware.reader_input import pickup_code_in
from firmware.remote_unlock import RemoteUnlock
from firmware.shop import ShopWindow
from firmware.storage import StorageGuard
from firmware.storage_watch import StorageWatch
from hal.camera import Camera
from hal.card_reader import CardRead, CardReader
from hal.errors import DeviceFault
from hal.payment import PaymentResult, PaymentTerminal
from sync_client.cabinet_config import Ad, AdWindow, CabinetConfig, RetailerAccess, ScanToPay, StaffCard, link_code
from sync_client.outbox import Outbox
from sync_client.schema import SnapshotName, parse_snapshot_name
from tests.firmware.test_storage_at_the_money_point import fill_to_the_page_limit
from tests.sync.conftest import CAB

MONDAY_10 = dt.datetime(2026, 11, 23, 10, 0)


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    outbox = Outbox(tmp_path / "cabinet.db", CAB)
    yield outbox
    outbox.close()


def events(outbox: Outbox, kind: str) -> list[dict]:
    return [e.payload for e in outbox.events(kind)]


class Terminal(PaymentTerminal):
    """A payment device that answers its health check, or not (``down``)."""

    def __init__(self, name: str, method: str) -> None:
        self.name, self.method = name, method
        self.down = False
        self.checks = 0

    async def check(self) -> None:
        self.checks += 1
        if self.down:
            raise DeviceFault(self.name, "no answer")

    async def authorize(self, amount_cents, currency, on_status=None, reference=None) -> PaymentResult:  # type: ignore[no-untyped-def]
        raise AssertionError("no payment here")

    async def cancel(self) -> None:
        pass

    async def reverse(self, receipt_no: str, amount_cents: int, currency: str) -> PaymentResult:
        raise AssertionError("no payment here")

    async def query(self, reference: str, amount_cents: int, currency: str, mark: str | None) -> PaymentResult | None:
        return None


# --- the configuration in force ---------------------------------------------------------------------------
def test_the_staffs_pins_come_from_the_cloud_and_the_file_and_cards_match_whatever_the_case(outbox) -> None:
    config = Config()
    in_force = ConfigInForce(
        Catalog(outbox, config.products), RetailerSection(pin_hash="file", technician_pin_hash="t")
    )
    assert (in_force.pin_hashes(), in_force.staff_cards(), in_force.version()) == (["file"], {}, "local file")
    assert in_force.technician_pin_hashes() == ["t"]
    retailer = RetailerAccess(
        pin_hashes=("cloud",), staff_cards=(StaffCard("04a1b2", "technician"),), technician_pin_hashes=("cloud-t",)
    )
    in_force.apply(CabinetConfig(7, "EUR", (), retailer=retailer))
    assert in_force.pin_hashes() == ["cloud", "file"]
    assert in_force.technician_pin_hashes() == ["cloud-t", "t"]  # the console's technician PIN, and the file's
    assert in_force.staff_cards() == {"04A1B2": "technician"}  # the reader reports upper-case hex
    assert in_force.version() == "7"


def test_the_ads_due_follow_the_injected_wall_time_and_an_unknown_ad_was_shown_for_no_time(outbox) -> None:
    now = [MONDAY_10]
    in_force = ConfigInForce(Catalog(outbox, Config().products), RetailerSection(), now=lambda: now[0])
    lunch = Ad("lunch", "image", "ads/urban-glide.png", 6, (AdWindow(tuple(range(7)), "11:30", "14:00"),))
    in_force.apply(CabinetConfig(1, "EUR", (), ads=(lunch,)))
    assert in_force.ads_due() == ()
    now[0] = MONDAY_10.replace(hour=12)
    assert [ad.id for ad in in_force.ads_due()] == ["lunch"]
    assert (in_force.ad_duration_s("lunch"), in_force.ad_duration_s("gone")) == (6, 0)


# --- the shop window ----------------------------------------------------------------------------------------
def shop_window(outbox: Outbox, faults: dict[str, str], online: list[bool], unsettled: set[str]):
    config = Config()
    catalog = Catalog(outbox, config.products)
    in_force = ConfigInForce(catalog, RetailerSection())
    terminals = {"terminal": Terminal("payment", "terminal"), "qr": Terminal("scan_to_pay", "qr")}
    cabinet = dataclasses.replace(CabinetSection(), id="cab-9", store_base_url="https://file.example/")
    shop = ShopWindow(catalog, cabinet, in_force, terminals, faults, lambda: unsettled, lambda: online[0])
    return shop, in_force


def test_the_ways_to_pay_leave_out_a_faulty_or_unsettled_terminal_and_scan_to_pay_off_or_offline(outbox) -> None:
    faults: dict[str, str] = {}
    online, unsettled = [True], set[str]()
    shop, in_force = shop_window(outbox, faults, online, unsettled)
    assert shop.payment_methods() == ("terminal",), "scan-to-pay is off until the cloud turns it on"
    in_force.apply(CabinetConfig(2, "EUR", (), scan_to_pay=ScanToPay(enabled=True)))
    assert shop.payment_methods() == ("terminal", "qr")
    online[0] = False
    assert shop.payment_methods() == ("terminal",), "scan-to-pay needs the cloud"
    online[0] = True
    faults["payment"] = "no answer"
    assert shop.payment_methods() == ("qr",)
    unsettled.add("qr")
    assert shop.payment_methods() == ()
    assert shop.payment_qr() is None, "no scan-to-pay terminal: no QR"


def test_a_products_store_page_carries_the_cabinet_on_the_clouds_store_when_it_names_one(outbox) -> None:
    shop, in_force = shop_window(outbox, {}, [True], set())
    assert shop.store_url("SCOOT-S1") == "https://file.example/p/SCOOT-S1?cabinet=cab-9"
    in_force.apply(CabinetConfig(2, "EUR", (), store_base_url="https://cloud.example"))
    assert shop.store_url("SCOOT-S1") == "https://cloud.example/p/SCOOT-S1?cabinet=cab-9"
    product = shop.product("SCOOT-S1")
    assert product is not None and product.stock == shop.catalog.stock("SCOOT-S1")
    assert [p.sku for p in shop.products()] == list(shop.catalog.products)
    assert shop.product("NO-SUCH-SKU") is None


def test_with_the_clouds_consumer_pages_a_products_qr_is_the_hand_off_link_the_cloud_derives(outbox) -> None:
    shop, in_force = shop_window(outbox, {}, [True], set())
    shop.link_key = b"k" * 32
    in_force.apply(CabinetConfig(2, "EUR", (), store_base_url="https://cloud.example", link_base="https://c.example"))
    code = link_code(b"k" * 32, "cab-9", "product", "SCOOT-S1")
    assert shop.store_url("SCOOT-S1") == f"https://c.example/q/{code}", "a scan the cloud counts, then the store"


# --- the faults -----------------------------------------------------------------------------------------------
def test_a_device_fault_is_recorded_once_with_an_alarm_and_cleared_when_the_device_is_back(outbox) -> None:
    changes: list[None] = []
    faults = Faults(outbox, on_change=lambda: changes.append(None))
    faults.device(DeviceFault("payment", "no answer"))
    faults.device(DeviceFault("payment", "no answer"))  # the same again: not a second alarm
    assert faults.active == {"payment": "no answer"}
    assert events(outbox, "device.fault") == [{"device": "payment", "detail": "no answer"}]
    assert events(outbox, "alarm") == [{"kind": "device_offline", "detail": "payment: no answer"}]
    faults.recovered("payment")
    faults.recovered("payment")
    assert faults.active == {} and len(changes) == 2


def test_a_fault_the_store_cannot_record_is_still_shown(outbox) -> None:
    faults = Faults(outbox)
    fill_to_the_page_limit(outbox)
    faults.screen("door screen: a bug")
    assert faults.active == {"screen": "door screen: a bug"}
    faults.storage("database or disk is full")
    assert faults.devices_faulty() and faults.active["storage"] == "database or disk is full"
    faults.screen(None)
    assert not faults.devices_faulty(), "the store alone is watched by its own check"


def test_the_stores_problem_is_the_storage_fault_until_it_works_again(outbox) -> None:
    faults = Faults(outbox)
    guard = StorageGuard(outbox, reserve_bytes=0)
    StorageWatch(guard, faults, check_s=60.0)  # hooks the guard
    guard.failed("disk I/O error")
    assert faults.active == {"storage": "disk I/O error"}
    assert guard.check() and "storage" not in faults.active


# --- watching the devices ---------------------------------------------------------------------------------------
class FlakyReader(CardReader):
    """Gives its ``cards``, then waits for more; while ``unplugged`` it neither reads nor opens."""

    name = "nfc"

    def __init__(self, cards: list[CardRead]) -> None:
        self.cards = cards
        self.unplugged = False
        self.opens = 0
        self.more = asyncio.Event()

    async def open(self) -> None:
        self.opens += 1
        if self.unplugged:
            raise DeviceFault(self.name, "still unplugged")

    async def read(self) -> CardRead:
        while not self.cards and not self.unplugged:
            self.more.clear()
            await self.more.wait()
        if self.unplugged:
            raise DeviceFault(self.name, "unplugged")
        return self.cards.pop(0)


async def test_a_reader_that_goes_away_is_a_fault_retried_on_the_clock_and_cleared_when_it_reads_again(
    outbox,
) -> None:
    clock = FakeClock()
    faults = Faults(outbox)
    reader = FlakyReader([CardRead(b"\x01")])
    read: list[str] = []
    watch = DeviceWatch(faults, {}, paying=lambda: False, check_s=30.0, sleep=clock.sleep)
    task = asyncio.create_task(watch.read_forever(reader, lambda card: read.append(card.uid_hex)))
    try:
        await clock.run(0)
        assert read == ["01"] and faults.active == {}
        reader.unplugged = True
        reader.more.set()
        await clock.run(0)
        assert faults.active == {"nfc": "unplugged"} and reader.opens == 0
        await clock.run(RECONNECT_S)
        assert reader.opens == 1 and "nfc" in faults.active, "still unplugged: tried again later"
        assert len(events(outbox, "device.fault")) == 1, "the same fault is not raised again"
        reader.unplugged, reader.cards = False, [CardRead(b"\x02")]
        await clock.run(RECONNECT_S)
        assert reader.opens == 2 and read == ["01", "02"] and faults.active == {}
    finally:
        task.cancel()


async def test_terminals_are_checked_between_sales_and_not_during_one(outbox) -> None:
    faults = Faults(outbox)
    terminal, qr = Terminal("payment", "terminal"), Terminal("scan_to_pay", "qr")
    paying = [False]
    watch = DeviceWatch(faults, {"terminal": terminal, "qr": qr}, paying=lambda: paying[0], check_s=30.0)
    terminal.down = True
    await watch.check_terminals_once()
    assert faults.active == {"payment": "no answer"} and (terminal.checks, qr.checks) == (1, 1)
    paying[0] = True
    terminal.down = False
    await watch.check_terminals_once()
    assert (terminal.checks, qr.checks) == (1, 1), "a payment under way is not disturbed"
    paying[0] = False
    await watch.check_terminals_once()
    assert faults.active == {}


# --- the heartbeat and the idle timeout ------------------------------------------------------------------------
def test_the_heartbeat_carries_the_faults_and_the_online_indicator_follows_the_link(outbox) -> None:
    clock = FakeClock()
    online, redraws = [True], []
    watch = IdleWatch(
        outbox,
        faults=lambda: {"payment": "x", "camera": "y"},
        heartbeat_s=60.0,
        idle_timeout_s=30.0,
        on_idle=lambda: None,
        is_online=lambda: online[0],
        on_online_changed=lambda: redraws.append(online[0]),
        clock=clock,
    )
    watch.tick()
    assert events(outbox, "heartbeat") == [{"faults": ["camera", "payment"]}]
    clock.advance(59.999)
    watch.tick()
    assert len(events(outbox, "heartbeat")) == 1
    clock.advance(0.001)
    watch.tick()
    assert len(events(outbox, "heartbeat")) == 2, "60 s after the first"
    online[0] = False
    watch.tick()
    watch.tick()
    assert redraws == [False]


async def test_the_idle_timeout_fires_at_exactly_idle_timeout_s_after_the_last_touch(outbox) -> None:
    clock = FakeClock()
    idled: list[float] = []
    watch = IdleWatch(
        outbox, lambda: (), 60.0, 30.0, lambda: idled.append(clock.monotonic()), lambda: True, lambda: None, clock
    )
    task = asyncio.create_task(watch.run())
    try:
        await clock.run(0)
        booted = clock.monotonic()
        await clock.run(29.999)
        assert idled == [], "untouched since the start, 29.999 s ago"
        await clock.run(0.001)
        assert idled == [booted + 30.0], "30 s after the start"
        await clock.run(10.3)
        touched = clock.monotonic()
        watch.activity()
        assert watch.idle_at == touched + 30.0
        await clock.run(29.999)
        assert idled == [booted + 30.0], "touched 29.999 s ago"
        await clock.run(0.001)
        assert idled == [booted + 30.0, touched + 30.0]
        await clock.run(30.0)
        assert idled[-1] == touched + 60.0, "and again while no one touches it"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert clock.pending() == [], "stopped: no idle timer left behind"


def test_a_full_outbox_drops_the_heartbeat_and_the_watch_goes_on(outbox) -> None:
    clock = FakeClock()
    fill_to_the_page_limit(outbox)  # with heartbeats
    written = len(events(outbox, "heartbeat"))
    watch = IdleWatch(outbox, lambda: (), 60.0, 30.0, lambda: None, lambda: True, lambda: None, clock)
    watch.tick()  # no exception: the heartbeat is an event the cabinet can do without
    assert len(events(outbox, "heartbeat")) == written
    outbox.db.conn.execute("PRAGMA max_page_count = 1000000")  # space again
    clock.advance(60)
    watch.tick()
    assert len(events(outbox, "heartbeat")) == written + 1


# --- the door's photos ------------------------------------------------------------------------------------------
class Snapper(Camera):
    def __init__(self, frames: list[bytes | DeviceFault]) -> None:
        self.frames = frames

    async def snapshot(self) -> bytes:
        frame = self.frames.pop(0)
        if isinstance(frame, DeviceFault):
            raise frame
        return frame


async def test_a_door_photo_is_saved_whole_under_its_kind_and_sale_and_a_camera_fault_is_reported(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    tasks: list[asyncio.Task] = []
    faults: list[DeviceFault] = []
    saved: list[None] = []
    snapshots = DoorSnapshots(
        Snapper([b"\xff\xd8jpeg", DeviceFault("camera", "gone")]),
        tmp_path / "snapshots",
        clock,
        spawn=lambda coro, name: tasks.append(asyncio.ensure_future(coro)),
        on_fault=faults.append,
        on_saved=lambda: saved.append(None),
    )
    snapshots.take("opened", "sale-1")
    snapshots.take("closed", None)
    await asyncio.gather(*tasks)
    files = list((tmp_path / "snapshots").iterdir())
    assert [f.read_bytes() for f in files] == [b"\xff\xd8jpeg"] and len(saved) == 1
    assert parse_snapshot_name(files[0].name) == SnapshotName(int(clock.time()), "opened", "sale-1")
    assert [f.device for f in faults] == ["camera"]
    DoorSnapshots(
        None,
        tmp_path / "none",
        clock,
        spawn=lambda coro, name: tasks.append(asyncio.ensure_future(coro)),
        on_fault=faults.append,
    ).take("opened", None)
    assert len(tasks) == 2, "no camera: nothing to take"


# --- the remote unlock and the codes read ---------------------------------------------------------------------
def test_a_remote_unlock_is_refused_while_someone_uses_the_cabinet(outbox) -> None:
    config = Config()
    lock, _, _ = build_lock_and_door(config, MockFactory())
    restock = RestockJourney(
        outbox, Catalog(outbox, config.products), lock, config.lock, list, dict, door=DoorCycle(lock)
    )
    busy = [True]
    remote = RemoteUnlock(restock, may_unlock=lambda: not busy[0])
    with outbox.transaction() as tx:
        assert remote.record(tx, "cmd-1", 3.0) == "refused: the cabinet is busy with a shopper"
    assert events(outbox, "door.unlocked") == [] and not lock.energized


@given(st.from_regex(r"\d{4,12}", fullmatch=True), st.sampled_from(["{}", "PICKUP:{}", "https://s.example/o?code={}"]))
def test_the_pickup_code_is_found_in_each_form_of_an_orders_qr(code: str, form: str) -> None:
    assert pickup_code_in(f" {form.format(code)}\n") == code


@given(st.text())
def test_any_scanned_text_gives_digits_or_nothing(text: str) -> None:
    code = pickup_code_in(text)
    assert code is None or (code.isdigit() and 4 <= len(code) <= 12 and text.strip().endswith(code))
