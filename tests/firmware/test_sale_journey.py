"""The sale state machine with real parts: the ZVT driver against its emulator over a PTY,
gpiozero mock pins with the mock door, and the SQLite outbox on disk; its time on a fake clock (the
terminal's and the door sensor's answers are real I/O, waited for with a bound)."""

import asyncio
import dataclasses

import pytest
from gpiozero.pins.mock import MockFactory

from firmware.catalog import Catalog
from firmware.clock import FakeClock
from firmware.config import Config
from firmware.devices import build_lock_and_door
from firmware.door_cycle import DoorCycle
from firmware.journeys.sale import TRANSITIONS, IllegalTransition, S, SaleJourney
from hal.sim.door import MockDoor
from hal.sim.zvt_emulator import ZvtEmulator
from hal.zvt.driver import ZvtTerminal
from sync_client.outbox import Outbox
from tests.polling import until


@pytest.fixture
async def rig(tmp_path):
    config = Config()
    # The pulse is long in real time too: the mock door opens only while the real driver holds the latch.
    config.lock = dataclasses.replace(config.lock, max_unlock_s=5.0, unlock_s=4.0, door_open_timeout_s=45.0)
    clock = FakeClock()
    factory = MockFactory()
    lock, sensor, _ = build_lock_and_door(config, factory)
    door = MockDoor(factory, relay_pin=config.lock.relay_pin, relay_active_high=False, door_pin=config.lock.door_pin)
    emulator = ZvtEmulator()
    await emulator.start()
    terminal = ZvtTerminal(emulator.port, auth_timeout=10)
    await terminal.open()
    outbox = Outbox(tmp_path / "cabinet.db", "cab-1")
    catalog = Catalog(outbox, config.products)
    journey = SaleJourney(
        outbox=outbox,
        catalog=catalog,
        lock=lock,
        terminals={"terminal": terminal},
        lock_config=config.lock,
        currency="EUR",
        thanks_s=8.0,
        clock=clock,
        door=DoorCycle(lock, clock),
    )
    sensor.start(asyncio.get_running_loop())
    sensor.subscribe(journey.door.door_changed)
    rig = dataclasses.make_dataclass("Rig", ["journey", "emulator", "door", "outbox", "catalog", "lock", "clock"])(
        journey, emulator, door, outbox, catalog, lock, clock
    )
    yield rig
    await terminal.close()
    await emulator.stop()
    lock.close()
    sensor.close()
    outbox.close()


def types(outbox):
    return [e.type for e in outbox.events()]


async def to_payment(rig, sku="SCOOT-S1"):
    rig.journey.start()
    rig.journey.select(sku)
    rig.journey.buy()
    rig.journey.pay("terminal")
    await rig.emulator.wait_for_card_prompt()


def relay_ever_energized(door):
    return any(entry["energized"] for entry in door.relay_history())


def test_every_state_is_reachable_and_can_leave():
    targets = {t for moves in TRANSITIONS.values() for t in moves.values()}
    assert targets | {S.IDLE} == set(S)
    assert all(TRANSITIONS[s] for s in S)


async def test_a_sale_commits_the_approval_before_the_relay_and_completes_on_door_close(rig):
    await to_payment(rig)
    await until(lambda: rig.journey.payment_status == "present_card")  # the terminal's own status
    rig.emulator.approve()
    await until(lambda: rig.journey.state is S.DOOR_UNLOCKED)
    assert rig.lock.energized
    approved = rig.outbox.events("payment.approved")[0]
    unlocked = rig.outbox.events("door.unlocked")[0]
    assert approved.seq < unlocked.seq
    assert approved.payload["receipt_no"] == rig.emulator.approved[0].receipt_no
    assert rig.catalog.stock("SCOOT-S1") == 2
    rig.door.open()
    await until(lambda: rig.journey.state is S.DOOR_OPENED)
    assert not rig.lock.energized, "the latch is released once the door is open"
    rig.clock.advance(20.0)
    rig.door.close()
    await until(lambda: rig.journey.state is S.DONE)
    completed = rig.outbox.events("sale.completed")[0].payload
    assert completed["sale_id"] == approved.payload["sale_id"]
    assert types(rig.outbox)[-3:] == ["door.opened", "door.closed", "sale.completed"]
    assert rig.outbox.events("door.closed")[0].payload["open_s"] == 20.0
    rig.clock.advance(7.999)
    assert rig.journey.state is S.DONE, "thanks stays its whole thanks_s"
    rig.clock.advance(0.001)
    assert rig.journey.state is S.IDLE


async def test_nothing_but_the_approval_commit_stands_between_the_terminal_and_the_relay(rig):
    """The screen (a view built and handed to the UI at every change) and the journey's log line come after
    the relay: on a slow card approval -> relay is the one fsync and nothing else."""
    seen = []
    rig.journey.on_change = lambda: seen.append(("screen", rig.lock.energized, len(rig.outbox.events())))
    await to_payment(rig)
    await until(lambda: rig.journey.payment_status == "present_card")
    seen.clear()
    committed = len(rig.outbox.events())
    rig.emulator.approve()
    await until(lambda: rig.journey.state is S.DOOR_UNLOCKED)
    after_commit = [energized for _, energized, events in seen if events > committed]
    assert after_commit and after_commit[0], "the first redraw after the approval's commit is after the relay"


async def test_a_sale_is_three_durable_commits_and_two_ordinary_ones(rig):
    """Counted in SQLite's own statement stream: the sale row before the terminal is asked (its mark, so a
    power cut during authorization can be settled), the approval, and the door closed with the sale
    completed commit with an fsync; the unlock and the door opening without one."""
    commits: list[tuple[bool, str]] = []
    durable = False

    def statement(sql: str) -> None:
        nonlocal durable
        if sql.startswith("PRAGMA synchronous="):
            durable = sql.endswith("FULL")
        elif sql == "COMMIT":
            commits.append((durable, rig.journey.state.value))

    rig.outbox.db.conn.set_trace_callback(statement)
    await to_payment(rig)
    rig.emulator.approve()
    await until(lambda: rig.journey.state is S.DOOR_UNLOCKED)
    rig.door.open()
    await until(lambda: rig.journey.state is S.DOOR_OPENED)
    rig.door.close()
    await until(lambda: rig.journey.state is S.DONE)
    rig.outbox.db.conn.set_trace_callback(None)
    assert commits == [
        (True, "pay"), (True, "pay"), (False, "approved"), (False, "door_unlocked"), (True, "door_opened")
    ]  # fmt: skip
    assert [e.type for e in rig.outbox.events()][-6:] == [
        "payment.approved", "stock.changed", "door.unlocked", "door.opened", "door.closed", "sale.completed"
    ]  # fmt: skip


@pytest.mark.parametrize("shopper, outcome", [("decline", "declined"), ("time_out", "timed_out")])
async def test_failed_payments_go_back_to_the_product_and_never_touch_the_relay(rig, shopper, outcome):
    await to_payment(rig)
    getattr(rig.emulator, shopper)()
    await until(lambda: rig.journey.state is S.PRODUCT)
    assert rig.journey.message == outcome
    assert not relay_ever_energized(rig.door)
    assert rig.outbox.events("payment.failed")[0].payload["outcome"] == outcome
    assert rig.catalog.stock("SCOOT-S1") == 3


async def test_cancel_during_payment_aborts_on_the_terminal(rig):
    await to_payment(rig)
    await rig.journey.cancel()
    await until(lambda: rig.journey.state is S.PRODUCT)
    assert rig.journey.message == "cancelled"
    assert not relay_ever_energized(rig.door)
    with pytest.raises(IllegalTransition):
        rig.journey.unlock_again()


async def test_paid_but_never_opened_is_reversed_on_the_terminal_and_the_stock_returns(rig):
    await to_payment(rig)
    rig.emulator.approve()
    await until(lambda: rig.journey.state is S.DOOR_UNLOCKED)
    start = rig.clock.now
    view = rig.journey.view()
    assert view.deadline == start + 45.0 and not view.can_unlock_again, "the latch is still released"
    rig.clock.advance(4.0)  # the pulse is over: the latch holds again
    assert rig.journey.view().can_unlock_again
    rig.journey.unlock_again()
    assert rig.lock.energized
    assert [e.payload["attempt"] for e in rig.outbox.events("door.unlocked")] == [1, 2]
    assert rig.journey.view().deadline == start + 45.0, "unlocking again does not extend the time to open"
    rig.clock.advance(40.999)
    assert rig.journey.state is S.DOOR_UNLOCKED and not rig.outbox.events("sale.unclaimed")
    rig.clock.advance(0.001)
    assert rig.journey.state is S.DONE
    unclaimed = rig.outbox.events("sale.unclaimed")[0].payload
    assert unclaimed["action"] == "reversal"
    [alarm] = [e.payload for e in rig.outbox.events("alarm")]
    assert alarm["kind"] == "door_not_opened" and "after 2 unlock(s)" in alarm["detail"]
    await until(lambda: rig.outbox.events("payment.reversed"))  # the terminal gave the money back
    assert rig.outbox.events("payment.reversed")[0].payload["receipt_no"] == rig.emulator.approved[0].receipt_no
    assert rig.emulator.reversed == {rig.emulator.approved[0].receipt_no}
    assert rig.catalog.stock("SCOOT-S1") == 3
    assert not rig.lock.energized


async def test_unlock_again_is_offered_only_as_many_times_as_the_sale_allows(rig):
    await to_payment(rig)
    rig.emulator.approve()
    await until(lambda: rig.journey.state is S.DOOR_UNLOCKED)
    for _ in range(2):  # max_unlocks_per_sale = 3: the first release and two more
        rig.clock.advance(4.0)
        rig.journey.unlock_again()
    rig.clock.advance(4.0)
    assert not rig.journey.view().can_unlock_again
    with pytest.raises(IllegalTransition):
        rig.journey.unlock_again()
    assert len(rig.outbox.events("door.unlocked")) == 3


async def test_a_paid_sale_a_power_cut_interrupted_is_offered_again_for_exactly_the_resume_window(rig):
    await to_payment(rig)
    rig.emulator.approve()
    await until(lambda: rig.journey.state is S.DOOR_UNLOCKED)
    sale_id = rig.journey.sale.sale_id
    # Power cut here. The next boot's journey, on the same store, with the relay off.
    rig.lock.lock()
    clock = FakeClock(now=3.0)
    fresh = SaleJourney(
        outbox=rig.outbox,
        catalog=rig.catalog,
        lock=rig.lock,
        terminals={},
        lock_config=rig.journey.lock_config,
        currency="EUR",
        clock=clock,
        door=DoorCycle(rig.lock, clock),
    )
    assert fresh.recover_after_restart(resume_window_s=120.0) == [sale_id]
    assert fresh.state is S.DOOR_UNLOCKED and not rig.lock.energized, "nothing opens by itself after a cut"
    view = fresh.view()
    assert view.sale_id == sale_id and view.can_unlock_again and view.deadline == 3.0 + 120.0
    fresh.unlock_again()
    assert rig.lock.energized
    assert [e.payload["attempt"] for e in rig.outbox.events("door.unlocked")] == [1, 2]
    clock.advance(119.999)
    assert fresh.state is S.DOOR_UNLOCKED
    clock.advance(0.001)
    assert fresh.state is S.DONE
    assert rig.outbox.events("sale.unclaimed")[0].payload["sale_id"] == sale_id


async def test_sold_out_product_cannot_be_bought(rig):
    rig.outbox.db.conn.execute("UPDATE stock SET count = 0 WHERE sku = 'BIKE-C7'")
    rig.journey.start()
    rig.journey.select("BIKE-C7")
    rig.journey.buy()
    assert rig.journey.state is S.PRODUCT and rig.journey.message == "sold_out"


async def test_idle_timeout_returns_to_idle_but_never_during_a_payment(rig):
    await to_payment(rig)
    rig.journey.idle_timeout()
    assert rig.journey.state is S.PAY
    rig.emulator.decline()
    await until(lambda: rig.journey.state is S.PRODUCT)
    rig.journey.idle_timeout()
    assert rig.journey.state is S.IDLE


async def test_a_restart_resolves_interrupted_sales_without_forgetting_any(rig):
    await to_payment(rig)
    rig.emulator.approve()
    await until(lambda: rig.journey.state is S.DOOR_UNLOCKED)
    # Power cut here. On the next boot a fresh journey finds the paid sale whose door never opened.
    fresh = SaleJourney(
        outbox=rig.outbox,
        catalog=rig.catalog,
        lock=rig.lock,
        terminals={},
        lock_config=rig.journey.lock_config,
        currency="EUR",
        door=DoorCycle(rig.lock),
    )
    assert fresh.recover_after_restart() == [rig.journey.sale.sale_id]
    assert rig.outbox.events("sale.unclaimed")[0].payload["recovered"] is True
    assert rig.catalog.stock("SCOOT-S1") == 3
    assert fresh.recover_after_restart() == []


async def test_the_approval_is_on_disk_before_the_relay_is_energized(rig, tmp_path):
    """At the instant the relay switches on, another connection (a process after a power cut)
    already finds the approval committed."""
    import sqlite3

    seen_at_unlock = []
    energize = rig.lock.unlock

    def unlock_and_look(seconds):
        with sqlite3.connect(tmp_path / "cabinet.db") as other:
            seen_at_unlock.append(
                other.execute("SELECT count(*) FROM events WHERE type = 'payment.approved'").fetchone()[0]
            )
            seen_at_unlock.append(other.execute("SELECT state FROM sales").fetchone()[0])
        return energize(seconds)

    rig.lock.unlock = unlock_and_look
    await to_payment(rig)
    rig.emulator.approve()
    await until(lambda: rig.journey.state is S.DOOR_UNLOCKED)
    assert seen_at_unlock == [1, "approved"]
