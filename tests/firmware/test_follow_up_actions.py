"""What must follow a commit is never lost: the reversal of an unclaimed sale and the settlement of an
authorization a power cut interrupted are pending actions in the store, finished by the running journey
or by the recovery at the next boot, retried until done. Real parts: the ZVT driver against its emulator
over a PTY (its journal on disk, like a terminal's), the SQLite store on disk, gpiozero mock pins."""

import asyncio
import dataclasses

import pytest
from gpiozero.pins.mock import MockFactory

from firmware.catalog import Catalog
from firmware.config import Config
from firmware.devices import build_lock_and_door
from firmware.door_cycle import TIMERS, DoorCycle
from firmware.journeys.sale import S, SaleJourney
from hal.sim.door import MockDoor
from hal.sim.zvt_emulator import ZvtEmulator
from hal.zvt import apdu as zvt
from hal.zvt.driver import ZvtTerminal
from sync_client.outbox import Outbox
from sync_client.pending_actions import PendingActions
from tests.polling import until

FAST_ZVT = {"ack_timeout": 0.3, "reply_timeout": 2.0, "auth_timeout": 10.0}


@dataclasses.dataclass
class Cabinet:
    """One boot of the cabinet: its own store connection, terminal driver and journey."""

    journey: SaleJourney
    outbox: Outbox
    terminal: ZvtTerminal

    def events(self, event_type):
        return [e.payload for e in self.outbox.events(event_type)]

    def sale_state(self, sale_id):
        return self.outbox.db.conn.execute("SELECT state FROM sales WHERE sale_id = ?", (sale_id,)).fetchone()[0]

    def refund_alarms(self):
        return [a for a in self.events("alarm") if a["kind"] == "refund_needed"]

    async def power_cut(self):
        """Everything the journey was doing stops where it is; nothing more reaches the store."""
        if self.journey._timer is not None:
            self.journey._timer.cancel()
        for timer in self.journey.door._timers.values():
            timer.cancel()
        for task in list(self.journey._tasks):
            task.cancel()
        await asyncio.gather(*self.journey._tasks, return_exceptions=True)
        await self.terminal.close()
        self.outbox.close()


@pytest.fixture
async def site(tmp_path):
    config = Config()
    config.lock = dataclasses.replace(config.lock, max_unlock_s=0.5, unlock_s=0.2, door_open_timeout_s=30)
    factory = MockFactory()
    lock, sensor, _ = build_lock_and_door(config, factory)
    door = MockDoor(factory, relay_pin=config.lock.relay_pin, relay_active_high=False, door_pin=config.lock.door_pin)
    emulator = ZvtEmulator(journal=str(tmp_path / "zvt-journal.json"), ack_timeout=0.3, reply_timeout=0.5)
    await emulator.start()
    boots = []

    async def boot():
        outbox = Outbox(tmp_path / "cabinet.db", "cab-1")
        terminal = ZvtTerminal(emulator.port, **FAST_ZVT)
        journey = SaleJourney(
            outbox=outbox,
            catalog=Catalog(outbox, config.products),
            lock=lock,
            terminals={"terminal": terminal},
            lock_config=config.lock,
            currency="EUR",
            thanks_s=0.1,
            retry_first_s=0.05,
            retry_max_s=0.2,
            door=DoorCycle(lock),
        )
        cabinet = Cabinet(journey, outbox, terminal)
        boots.append(cabinet)
        return cabinet

    sensor.start(asyncio.get_running_loop())
    yield dataclasses.make_dataclass("Site", ["boot", "emulator", "door", "sensor"])(boot, emulator, door, sensor)
    for cabinet in boots:
        for task in list(cabinet.journey._tasks):
            task.cancel()
        await asyncio.gather(*cabinet.journey._tasks, return_exceptions=True)
        await cabinet.terminal.close()
        cabinet.outbox.close()
    await emulator.stop()
    lock.close()
    sensor.close()


async def paid_and_waiting_at_the_door(cabinet, emulator):
    cabinet.journey.start()
    cabinet.journey.select("SCOOT-S1")
    cabinet.journey.buy()
    cabinet.journey.pay("terminal")
    await emulator.wait_for_card_prompt()
    emulator.approve()
    await until(lambda: cabinet.journey.state is S.DOOR_UNLOCKED)
    return cabinet.journey.sale


def reversals_sent(emulator):
    return [m for m in emulator.received if m.command == zvt.REVERSAL]


async def test_a_power_cut_right_after_sale_unclaimed_does_not_lose_the_reversal(site):
    first = await site.boot()
    sale = await paid_and_waiting_at_the_door(first, site.emulator)
    lapse_now(first.journey)  # the door-open deadline fires now rather than in 30 s: sale.unclaimed committed

    await first.power_cut()  # ... and the power goes before anything else runs
    assert site.emulator.reversed == set() and not reversals_sent(site.emulator)

    second = await site.boot()
    second.journey.recover_after_restart()
    await until(lambda: second.events("payment.reversed"))
    assert [e["receipt_no"] for e in second.events("payment.reversed")] == [sale.receipt_no]
    assert site.emulator.reversed == {sale.receipt_no}  # the shopper has the money back
    assert second.sale_state(sale.sale_id) == "reversed" and not second.refund_alarms()
    assert [(a.kind, a.state) for a in PendingActions(second.outbox).all()] == [("reverse", "done")]

    # Another boot finds nothing left to do: the terminal is not asked again.
    await second.power_cut()
    asked = len(reversals_sent(site.emulator))
    third = await site.boot()
    assert third.journey.recover_after_restart() == [] and not PendingActions(third.outbox).open()
    await third.journey.follow_ups._runner  # its round over the open actions: there are none
    assert len(reversals_sent(site.emulator)) == asked == 1
    assert len(third.events("payment.reversed")) == 1


async def test_a_reversal_waits_for_an_unplugged_terminal_and_happens_once_it_is_back(site):
    cabinet = await site.boot()
    sale = await paid_and_waiting_at_the_door(cabinet, site.emulator)
    await site.emulator.unplug()
    lapse_now(cabinet.journey)
    pending = PendingActions(cabinet.outbox)
    await until(lambda: pending.all()[0].attempts >= 2)  # tried, and tried again after a wait
    assert pending.all()[0].state == "open" and not cabinet.refund_alarms()
    await site.emulator.replug()
    await until(lambda: cabinet.events("payment.reversed"))
    assert site.emulator.reversed == {sale.receipt_no} and not cabinet.refund_alarms()
    assert pending.all()[0].state == "done"


async def test_a_terminal_that_refuses_the_reversal_for_good_flags_a_refund(site, tmp_path):
    cabinet = await site.boot()
    sale = await paid_and_waiting_at_the_door(cabinet, site.emulator)
    site.emulator.approved.clear()  # a replaced terminal: it has never seen this receipt
    lapse_now(cabinet.journey)
    await until(lambda: cabinet.refund_alarms())
    assert sale.receipt_no in cabinet.refund_alarms()[0]["detail"]
    assert not cabinet.events("payment.reversed")
    assert [(a.kind, a.state) for a in PendingActions(cabinet.outbox).all()] == [("reverse", "flagged")]


async def test_an_approval_the_power_cut_kept_from_the_store_is_found_on_the_terminal_and_reversed(site):
    first = await site.boot()
    first.journey.start()
    first.journey.select("SCOOT-S1")
    first.journey.buy()
    first.journey.pay("terminal")
    sale_id = first.journey.sale.sale_id
    await site.emulator.wait_for_card_prompt()
    site.emulator.answer_delay = 0.3  # a slow line: time to cut between approval and completion
    site.emulator.approve()
    await until(lambda: site.emulator.approved)  # the bank approved; the terminal journals it ...
    await first.power_cut()  # ... and the cabinet dies before committing it
    site.emulator.answer_delay = 0.0
    approved = site.emulator.approved[0]

    # The terminal is off too when the cabinet comes back: the sale stays unsettled, card payment held back.
    await site.emulator.unplug()
    second = await site.boot()
    assert second.journey.recover_after_restart() == [sale_id]
    assert not second.events("payment.approved") and not second.events("payment.failed")
    pending = PendingActions(second.outbox)
    await until(lambda: pending.all()[0].attempts >= 2)
    assert second.sale_state(sale_id) == "settling"
    assert second.journey.available_methods() == ()
    await site.emulator.replug()

    await until(lambda: second.events("payment.reversed"))
    (recorded,) = second.events("payment.approved")
    assert (recorded["sale_id"], recorded["receipt_no"], recorded["recovered"]) == (sale_id, approved.receipt_no, True)
    assert second.events("sale.unclaimed")[0]["action"] == "reversal"
    assert site.emulator.reversed == {approved.receipt_no} and len(reversals_sent(site.emulator)) == 1
    assert second.sale_state(sale_id) == "reversed" and not second.events("payment.failed")
    assert second.journey.available_methods() == ("terminal",)
    assert [(a.kind, a.state) for a in pending.all()] == [("settle", "done"), ("reverse", "done")]


async def test_an_authorization_cut_before_any_approval_is_recorded_as_interrupted(site):
    cabinet = await site.boot()
    site.sensor.subscribe(cabinet.journey.door.door_changed)
    earlier = await paid_and_waiting_at_the_door(cabinet, site.emulator)  # the same amount, approved
    site.door.open()
    await until(lambda: cabinet.journey.state is S.DOOR_OPENED)
    site.door.close()
    await until(lambda: cabinet.journey.state is S.IDLE)
    cabinet.journey.start()
    cabinet.journey.select("SCOOT-S1")
    cabinet.journey.buy()
    cabinet.journey.pay("terminal")
    sale_id = cabinet.journey.sale.sale_id
    await site.emulator.wait_for_card_prompt()
    await cabinet.power_cut()  # the shopper never presented a card
    site.emulator.time_out()

    again = await site.boot()
    again.journey.recover_after_restart()
    await until(lambda: again.events("payment.failed"))
    (failed,) = again.events("payment.failed")
    assert (failed["sale_id"], failed["outcome"]) == (sale_id, "interrupted")
    assert again.sale_state(sale_id) == "interrupted"
    # The earlier sale's approval, still the terminal's last transaction, is not taken for this one.
    assert site.emulator.reversed == set() and not reversals_sent(site.emulator)
    assert again.sale_state(earlier.sale_id) == "completed"


def lapse_now(journey: SaleJourney) -> None:
    """The time to open the door runs out now, as the door cycle's timer would have it."""
    journey.door._timers["open_by"].cancel()
    journey.door._expired("open_by", TIMERS["open_by"])
