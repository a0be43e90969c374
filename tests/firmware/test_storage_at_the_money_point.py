"""Storage failing at the money point, with real parts: the whole Cabinet on emulated devices (ZVT
emulator over a PTY, gpiozero mock pins and door), and the SQLite store on disk made to fail for
real: full (its page limit reached), or deleted under the open connection."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os

import pytest

from firmware.cabinet import Cabinet
from firmware.config import Config
from firmware.journeys.sale import S
from firmware.sim import build_sim
from kiosk_ui.intents import Buy, Intent, Pay, SelectProduct, Start
from kiosk_ui.view import View
from sync_client.outbox import Outbox, StorageFull
from tests.polling import until


@pytest.fixture
async def rig(tmp_path):
    config = Config()
    config.lock = dataclasses.replace(config.lock, max_unlock_s=0.5, unlock_s=0.4, door_open_timeout_s=2.0)
    config.storage = dataclasses.replace(config.storage, reserve_mb=1.0, check_s=0.05)
    devices, bench = build_sim(config, tmp_path)
    await bench.start()
    outbox = Outbox(tmp_path / "cabinet.db", "cab-1")
    views: list[View] = []
    cabinet = Cabinet(config, devices, outbox, tmp_path, on_view=views.append)
    await cabinet.start()
    # The cabinet's first terminal check done: one cut short at teardown can swallow the cancellation
    # (asyncio.wait_for on Python 3.11) and keep Cabinet.stop() waiting.
    await asyncio.sleep(0)  # the check starts (and takes the terminal) ...
    await devices.terminals["terminal"].terminal_status()  # ... and this waits for it to end
    rig = dataclasses.make_dataclass("Rig", ["cabinet", "bench", "outbox", "views", "path"])(
        cabinet, bench, outbox, views, tmp_path / "cabinet.db"
    )
    yield rig
    await cabinet.stop()
    await bench.stop()
    outbox.close()


def tap(rig, *intents: Intent) -> None:
    for intent in intents:
        rig.cabinet.handle_intent(intent)


async def to_card_prompt(rig, sku="SCOOT-S1"):
    tap(rig, Start(), SelectProduct(sku), Buy(), Pay("terminal"))
    await rig.bench.terminal.wait_for_card_prompt()


def fill_to_the_page_limit(outbox: Outbox) -> None:
    """The database may not grow: the next event that needs a new page fails with SQLITE_FULL."""
    conn = outbox.db.conn
    conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
    with pytest.raises(StorageFull):
        while True:
            outbox.append("heartbeat", {"faults": []})


def relay_ever_energized(rig) -> bool:
    return any(entry["energized"] for entry in rig.bench.door.relay_history())


FAILURES = {
    "disk full": fill_to_the_page_limit,
    "database deleted": lambda outbox: os.unlink(outbox.path),
}


@pytest.mark.parametrize("fail", FAILURES.values(), ids=FAILURES.keys())
async def test_an_approval_that_cannot_be_committed_keeps_the_door_shut_and_is_reversed_at_once(rig, fail, caplog):
    await to_card_prompt(rig)
    fail(rig.outbox)
    caplog.set_level(logging.CRITICAL, logger="firmware.journeys.sale")
    rig.bench.terminal.approve()
    await until(lambda: rig.cabinet.sale.state is S.PRODUCT, what="the journey back from payment")

    receipt = rig.bench.terminal.approved[0].receipt_no
    assert rig.bench.terminal.reversed == {receipt}, "the terminal received the 06 30 reversal"
    assert json.loads((rig.path.parent / "zvt-emulator.json").read_text())["reversed"] == [receipt]  # its journal
    assert not relay_ever_energized(rig), "the relay was never energized"
    view = rig.views[-1]
    assert view.screen == "out_of_service" and view.message == "not_charged"  # no payment prompt: it has none
    # The only record when the disk is dead: one structured log line with the sale, amount and receipt.
    lost = [r for r in caplog.records if r.getMessage().startswith("approval could not be recorded")]
    assert lost and lost[0].receipt_no == receipt and lost[0].amount_cents == 49900 and lost[0].sale_id
    assert "storage" in rig.cabinet.faults
    # Payment is no longer offered: Buy on a product does nothing while the store cannot record a sale.
    tap(rig, Start(), SelectProduct("SCOOT-S1"), Buy(), Pay("terminal"))
    assert rig.cabinet.sale.state in (S.IDLE, S.PRODUCT) and not rig.cabinet.sale.paying
    assert rig.views[-1].screen == "out_of_service"


async def test_an_approval_the_full_disk_kept_out_is_recorded_once_there_is_room(rig):
    await to_card_prompt(rig)
    fill_to_the_page_limit(rig.outbox)
    rig.bench.terminal.approve()
    await until(lambda: rig.cabinet.sale.state is S.PRODUCT, what="the journey back from payment")
    assert rig.outbox.events("payment.approved") == []
    rig.outbox.db.conn.execute("PRAGMA max_page_count = 1000000")
    await until(lambda: rig.outbox.events("payment.reversed"), what="the late record", timeout=10)
    [approved] = [e.payload for e in rig.outbox.events("payment.approved")]
    receipt = rig.bench.terminal.approved[0].receipt_no
    assert approved["receipt_no"] == receipt and approved["recorded_late"]
    assert [e.payload["receipt_no"] for e in rig.outbox.events("payment.reversed")] == [receipt]
    # Nothing is left for the next boot to settle against a terminal whose last transaction is the reversal.
    assert rig.cabinet.sale.follow_ups.pending.open() == []
    assert rig.cabinet.sale.recover_after_restart() == []


async def test_a_refused_reversal_says_a_refund_is_under_way_with_the_support_contact(rig):
    await to_card_prompt(rig)
    rig.bench.terminal.refuse_reversals = True
    fill_to_the_page_limit(rig.outbox)
    rig.bench.terminal.approve()
    await until(lambda: rig.cabinet.sale.state is S.PRODUCT, what="the journey back from payment")
    assert rig.bench.terminal.reversed == set()
    assert not relay_ever_energized(rig)
    view = rig.views[-1]
    assert (view.screen, view.message) == ("out_of_service", "refund_pending")
    assert view.support_phone == rig.cabinet.config.cabinet.support_phone
    # The alarm could not be written to the full store: it is kept, and written once there is room; the
    # reversal is then tried again and, refused for good, flagged for the retailer.
    assert "storage_unavailable" in [a["kind"] for a in rig.cabinet.storage.held_alarms]
    rig.outbox.db.conn.execute("PRAGMA max_page_count = 1000000")
    await until(lambda: rig.cabinet.storage.problem is None, what="the store working again")
    receipt = rig.bench.terminal.approved[0].receipt_no

    def flagged() -> list[dict]:
        return [e.payload for e in rig.outbox.events("alarm") if e.payload["kind"] == "refund_needed"]

    await until(flagged, what="the refund flagged", timeout=10)
    [alarm] = flagged()
    assert receipt in alarm["detail"] and alarm["sale_id"]
    assert rig.cabinet.storage.held_alarms == []


async def test_no_payment_is_offered_while_the_store_cannot_record_a_sale_and_selling_resumes_by_itself(rig):
    tap(rig, Start())
    tap(rig, SelectProduct("BIKE-C7"))
    fill_to_the_page_limit(rig.outbox)  # no room below the reserve: SQLite may not grow
    tap(rig, Buy())
    assert rig.cabinet.sale.state is S.PRODUCT
    assert rig.views[-1].screen == "out_of_service"
    assert not rig.cabinet.sale.paying and rig.bench.terminal.card_prompted.is_set() is False
    detail = rig.cabinet.faults["storage"]
    assert "MB free" in detail and str(rig.path) in detail
    assert "storage_unavailable" in [a["kind"] for a in rig.cabinet.storage.held_alarms]
    # Room again (a technician cleaned up): the timer notices, selling resumes, the kept alarm is recorded.
    rig.outbox.db.conn.execute("PRAGMA max_page_count = 1000000")
    await until(lambda: rig.cabinet.storage.problem is None, what="selling again")
    assert "storage" not in rig.cabinet.faults
    assert rig.views[-1].screen != "out_of_service"
    assert "storage_unavailable" in [e.payload["kind"] for e in rig.outbox.events("alarm")]
    tap(rig, Start())
    tap(rig, SelectProduct("BIKE-C7"))
    tap(rig, Buy())
    assert rig.cabinet.sale.state is S.PAY and rig.views[-1].screen == "checkout"


async def test_a_deleted_store_is_noticed_at_buy_before_payment_is_offered(rig):
    rig.cabinet.config.storage = dataclasses.replace(rig.cabinet.config.storage, check_s=3600)
    await asyncio.sleep(0)  # the timer's next check is an hour away: only Buy can notice
    tap(rig, Start())
    tap(rig, SelectProduct("SCOOT-S1"))
    os.unlink(rig.path)
    tap(rig, Buy())
    assert rig.views[-1].screen == "out_of_service"
    assert "deleted or replaced" in rig.cabinet.faults["storage"]
    assert rig.cabinet.sale.state is S.PRODUCT and not rig.bench.terminal.card_prompted.is_set()


async def test_a_sale_that_ends_while_the_disk_is_full_is_recorded_when_there_is_room(rig):
    """Paid, the door never opened, and the disk fills before the window ends: the cabinet goes out of
    service, the journey waits on its door screen (it does not wedge, nor move on unrecorded), and once
    there is room the sale is recorded unclaimed and the money goes back."""
    await to_card_prompt(rig)
    rig.bench.terminal.approve()
    await until(lambda: rig.cabinet.sale.state is S.DOOR_UNLOCKED, what="the door unlocked")
    fill_to_the_page_limit(rig.outbox)
    await until(lambda: "storage" in rig.cabinet.faults, what="out of service", timeout=10)
    assert rig.cabinet.sale.state is S.DOOR_UNLOCKED and rig.outbox.events("sale.unclaimed") == []
    rig.outbox.db.conn.execute("PRAGMA max_page_count = 1000000")
    await until(lambda: rig.outbox.events("payment.reversed"), what="recorded and reversed", timeout=10)
    [unclaimed] = [e.payload for e in rig.outbox.events("sale.unclaimed")]
    assert unclaimed["receipt_no"] == rig.bench.terminal.approved[0].receipt_no
    assert rig.cabinet.sale.state is S.DONE
