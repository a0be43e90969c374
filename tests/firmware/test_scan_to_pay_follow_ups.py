"""Scan-to-pay money after the fact, through the real cloud stub on a loopback port: an unclaimed sale is
refunded through the cloud (or flagged when the cloud refuses for good), and a sale a power cut caught
while the payment QR was showing is settled by asking the cloud for the sale's payment."""

import asyncio
import dataclasses

from gpiozero.pins.mock import MockFactory

from firmware.catalog import Catalog
from firmware.config import Config
from firmware.devices import build_lock_and_door
from firmware.door_cycle import TIMERS, DoorCycle
from firmware.journeys.sale import S, SaleJourney
from firmware.scan_to_pay_terminal import ScanToPayTerminal
from sync_client.outbox import Outbox
from sync_client.pending_actions import PendingActions
from sync_client.scan_to_pay import ScanToPayClient
from tests.polling import until
from tests.sync.conftest import Site
from tests.sync.test_scan_to_pay import phone_pays


def boot(site: Site, *, door_open_timeout_s: float = 30) -> SaleJourney:
    return sale_journey(
        Outbox(site.outbox.path, site.outbox.cabinet_id),
        ScanToPayClient(site.client),
        "EUR",
        door_open_timeout_s=door_open_timeout_s,
    )


def sale_journey(
    outbox: Outbox, client: ScanToPayClient, currency: str, *, door_open_timeout_s: float = 30
) -> SaleJourney:
    """A sale journey that takes scan-to-pay only, through ``client``, selling in ``currency``."""
    config = Config()
    config.lock = dataclasses.replace(
        config.lock, max_unlock_s=0.5, unlock_s=0.2, door_open_timeout_s=door_open_timeout_s
    )
    lock, _, _ = build_lock_and_door(config, MockFactory())
    terminal = ScanToPayTerminal(client, poll_s=0.02)
    return SaleJourney(
        outbox=outbox,
        catalog=Catalog(outbox, config.products),
        lock=lock,
        terminals={"qr": terminal},
        lock_config=config.lock,
        currency=currency,
        thanks_s=0.1,
        available_methods=lambda: ("qr",),
        retry_first_s=0.05,
        retry_max_s=0.2,
        door=DoorCycle(lock),
    )


async def power_cut(journey: SaleJourney) -> None:
    if journey._timer is not None:
        journey._timer.cancel()
    for timer in journey.door._timers.values():
        timer.cancel()
    for task in list(journey._tasks):
        task.cancel()
    await asyncio.gather(*journey._tasks, return_exceptions=True)
    journey.outbox.close()


async def showing_the_qr(journey: SaleJourney) -> str:
    journey.start()
    journey.select("SCOOT-S1")
    journey.buy()
    journey.pay("qr")
    terminal = journey.terminals["qr"]
    await until(lambda: terminal.pending_payment_id is not None)
    return terminal.pending_payment_id


def payloads(journey: SaleJourney, event_type: str) -> list[dict]:
    return [e.payload for e in journey.outbox.events(event_type)]


def refund_alarms(journey: SaleJourney) -> list[dict]:
    return [a for a in payloads(journey, "alarm") if a["kind"] == "refund_needed"]


async def test_an_unclaimed_scan_to_pay_sale_is_refunded_through_the_cloud(site: Site) -> None:
    journey = boot(site, door_open_timeout_s=0.3)
    payment_id = await showing_the_qr(journey)
    assert await phone_pays(site, payment_id) == 200
    await until(lambda: journey.state is S.DOOR_UNLOCKED)
    await until(lambda: payloads(journey, "payment.reversed"))  # the door was never opened
    assert site.store.payment(payment_id)["status"] == "refunded"
    assert payloads(journey, "sale.unclaimed")[0]["action"] == "refund"
    assert payloads(journey, "payment.reversed")[0]["receipt_no"] == payment_id and not refund_alarms(journey)
    await power_cut(journey)


async def test_a_refund_the_cloud_refuses_for_good_is_flagged_for_the_retailer(site: Site) -> None:
    journey = boot(site)
    payment_id = await showing_the_qr(journey)
    await phone_pays(site, payment_id)
    await until(lambda: journey.state is S.DOOR_UNLOCKED)
    site.store.move_payment(payment_id, "paid", "cancelled")  # the provider undid it on its side
    lapse_now(journey)
    await until(lambda: refund_alarms(journey))
    assert payment_id in refund_alarms(journey)[0]["detail"] and not payloads(journey, "payment.reversed")
    assert [(a.kind, a.state) for a in PendingActions(journey.outbox).all()] == [("reverse", "flagged")]
    await power_cut(journey)


async def test_a_payment_still_pending_at_a_power_cut_is_cancelled_and_the_sale_interrupted(site: Site) -> None:
    first = boot(site)
    payment_id = await showing_the_qr(first)
    sale_id = first.sale.sale_id
    await power_cut(first)
    again = boot(site)
    assert again.recover_after_restart() == [sale_id]
    await until(lambda: payloads(again, "payment.failed"))
    assert payloads(again, "payment.failed")[0]["outcome"] == "interrupted"
    assert site.store.payment(payment_id)["status"] == "cancelled"
    assert await phone_pays(site, payment_id) == 409  # the phone can no longer pay it
    await power_cut(again)


async def test_a_payment_made_on_the_phone_during_a_power_cut_is_refunded_after_it(site: Site) -> None:
    first = boot(site)
    payment_id = await showing_the_qr(first)
    sale_id = first.sale.sale_id
    await power_cut(first)
    assert await phone_pays(site, payment_id) == 200  # the shopper paid while the screen was dark
    again = boot(site)
    again.recover_after_restart()
    await until(lambda: payloads(again, "payment.reversed"))
    (approved,) = payloads(again, "payment.approved")
    assert (approved["sale_id"], approved["receipt_no"], approved["recovered"]) == (sale_id, payment_id, True)
    assert site.store.payment(payment_id)["status"] == "refunded" and not refund_alarms(again)
    assert not payloads(again, "payment.failed")
    await power_cut(again)


def lapse_now(journey: SaleJourney) -> None:
    """The time to open the door runs out now, as the door cycle's timer would have it."""
    journey.door._timers["open_by"].cancel()
    journey.door._expired("open_by", TIMERS["open_by"])
