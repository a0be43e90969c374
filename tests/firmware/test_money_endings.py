"""Every ending of a paid sale says on screen what became of the money, with the sale's reference: the sale
journey on real parts (the ZVT driver against its emulator over a PTY, SQLite on disk, gpiozero mock pins),
its screen as the sale's presenter hands it to the UI."""

from __future__ import annotations

from firmware.journeys.sale import S, sale_reference
from firmware.presenters import Shop
from firmware.presenters.sale import SalePresenter
from kiosk_ui.intents import UnlockAgain
from kiosk_ui.view import Chrome, DoorScreen, ThanksScreen, View
from sync_client.cabinet_config import CabinetConfig, parse_config
from sync_client.schema import receipt_token_reference
from tests.firmware.test_follow_up_actions import lapse_now, paid_and_waiting_at_the_door, site, until
from tests.sync.conftest import GOOD_CONFIG

__all__ = ["site"]
SUPPORT = "+49 30 9999 0000"


def presenter(journey) -> SalePresenter:
    shop = Shop(product=lambda sku: None, products=lambda: (), spawn=lambda coro, name: None)
    return SalePresenter(
        journey,
        shop,
        door_reminder=lambda: None,
        payment_methods=lambda: ("terminal",),
        payment_qr=lambda: None,
        store_url=lambda sku: "",
        support_phone=SUPPORT,
    )


def screen(journey) -> View:
    return presenter(journey).view(Chrome())


async def test_a_paid_sale_whose_door_never_opened_says_it_was_reversed_with_its_reference(site):
    cabinet = await site.boot()
    sale = await paid_and_waiting_at_the_door(cabinet, site.emulator)
    lapse_now(cabinet.journey)  # the time to open the door is over: sale.unclaimed, the reversal pending
    ending = screen(cabinet.journey)
    assert isinstance(ending, ThanksScreen) and ending.money in ("reversing", "reversed"), ending
    await until(lambda: cabinet.events("payment.reversed"))
    ending = screen(cabinet.journey)
    assert isinstance(ending, ThanksScreen)
    assert ending.money == "reversed", "the screen follows the reversal the terminal did"
    assert ending.reference == sale_reference(sale.sale_id) == "S-" + sale.sale_id.replace("-", "")[:8].upper()
    assert ending.receipt_no == sale.receipt_no and ending.receipt_qr == ending.reference
    assert cabinet.journey.state is S.DONE


async def test_a_reversal_the_terminal_refuses_flags_a_refund_with_the_support_phone_and_reference(site):
    cabinet = await site.boot()
    sale = await paid_and_waiting_at_the_door(cabinet, site.emulator)
    site.emulator.approved.clear()  # a replaced terminal: it has never seen this receipt
    lapse_now(cabinet.journey)
    await until(lambda: cabinet.refund_alarms())
    ending = screen(cabinet.journey)
    assert isinstance(ending, ThanksScreen)
    assert (ending.money, ending.support_phone) == ("refund_flagged", SUPPORT)
    assert ending.reference == sale_reference(sale.sale_id)
    assert cabinet.refund_alarms()[0]["sale_id"] == sale.sale_id  # the retailer's refund list finds it


async def test_the_unclaimed_ending_stays_long_enough_to_read(site):
    cabinet = await site.boot()  # thanks_s is 0.1 s in this rig
    await paid_and_waiting_at_the_door(cabinet, site.emulator)
    lapse_now(cabinet.journey)
    await until(lambda: cabinet.events("payment.reversed"))
    timer = cabinet.journey._timer
    assert timer is not None and timer.when() - cabinet.journey.clock.monotonic() > 25, (
        "a notice about money stays at least NOTICE_S, not the happy ending's thanks_s"
    )


async def test_a_sale_collected_thanks_with_the_reference_and_the_receipt_link_as_qr(site):
    cabinet = await site.boot()
    sale = await paid_and_waiting_at_the_door(cabinet, site.emulator)
    cabinet.journey.door.door_changed(True)  # the debounced sensor: opened, then closed (this rig wires no sensor)
    cabinet.journey.door.door_changed(False)
    assert cabinet.journey.state is S.DONE
    config = parse_config({**GOOD_CONFIG, "version": 1, "link_base": "https://cloud.example.com"})
    shown = presenter(cabinet.journey)
    shown.receipt_qr = lambda token, reference: (config.receipt_address(token) if token else None) or reference
    ending = shown.view(Chrome())
    assert isinstance(ending, ThanksScreen)
    assert (ending.money, ending.support_phone) == ("collected", "")
    (approved,) = cabinet.events("payment.approved")
    token = approved["receipt_token"]
    assert receipt_token_reference(token) == sale_reference(sale.sale_id), "the token made at the sale, uploaded"
    assert ending.receipt_qr == f"https://cloud.example.com/r/{token}", "the thanks QR opens the receipt"
    assert ending.reference == sale_reference(sale.sale_id) and ending.receipt_no == sale.receipt_no
    assert CabinetConfig(1, "EUR", ()).receipt_address(token) is None, "no link base: the QR is the reference"


async def test_the_latch_holding_again_is_no_alarm_and_unlock_again_releases_it(site):
    cabinet = await site.boot()
    await paid_and_waiting_at_the_door(cabinet, site.emulator)
    await until(lambda: cabinet.journey.door.released_until is None)  # the real 0.2 s pulse is over
    door = screen(cabinet.journey)
    assert isinstance(door, DoorScreen)
    assert (door.door, door.latch_until, door.can_unlock_again, door.alarm) == ("unlocked", None, True, None), (
        "the latch holding again is said as it is, never as a red 'did not open' beside a countdown"
    )
    presenter(cabinet.journey).handle(UnlockAgain())
    door = screen(cabinet.journey)
    assert isinstance(door, DoorScreen) and door.latch_until is not None and not door.can_unlock_again
    assert [e["attempt"] for e in cabinet.events("door.unlocked")] == [1, 2]


async def test_a_sale_resumed_after_a_power_cut_thanks_with_its_receipt_link(site):
    cabinet = await site.boot()
    sale = await paid_and_waiting_at_the_door(cabinet, site.emulator)
    (approved,) = cabinet.events("payment.approved")
    await cabinet.power_cut()  # after the approval's commit, before the door opened
    again = await site.boot()
    assert again.journey.recover_after_restart(resume_window_s=120.0) == [sale.sale_id]
    again.journey.door.door_changed(True)
    again.journey.door.door_changed(False)
    assert again.journey.state is S.DONE
    config = parse_config({**GOOD_CONFIG, "version": 1, "link_base": "https://cloud.example.com"})
    shown = presenter(again.journey)
    shown.receipt_qr = lambda token, reference: (config.receipt_address(token) if token else None) or reference
    ending = shown.view(Chrome())
    assert isinstance(ending, ThanksScreen) and ending.reference == sale_reference(sale.sale_id)
    assert ending.receipt_qr == f"https://cloud.example.com/r/{approved['receipt_token']}", (
        "the resumed sale's thanks QR opens the same receipt the cloud was sent"
    )
