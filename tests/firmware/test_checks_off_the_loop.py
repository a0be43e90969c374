"""PINs and pickup codes are checked off the event loop: the screen stays live (and the watchdog fed)
while scrypt runs, the pad says "checking", and two quick submits count once.

Real parts (see cabinet_rig): the whole Cabinet, driven by the intents the touchscreen sends. The
hashes are valid ones at the default cost, a dozen of them, so that a check takes a visible while.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from firmware.journeys.pickup import P
from firmware.journeys.restock import R
from kiosk_ui.intents import OpenPickup, OpenStaff, SubmitPickupCode, SubmitPin
from kiosk_ui.view import View
from sync_client.cabinet_config import PickupOrder, RetailerAccess, hash_secret
from tests.firmware.cabinet_rig import until

PIN = "2468"
PIN_HASHES = tuple(hash_secret(f"9{i:03d}") for i in range(11)) + (hash_secret(PIN),)
ORDERS = tuple(
    PickupOrder(f"order-{i}", "SCOOT-S1", hash_secret(f"1357{i:04d}"), "2099-01-01T00:00:00Z") for i in range(12)
)


class LoopLag:
    """A task that notes the longest time the event loop went without running it."""

    def __init__(self) -> None:
        self.max_gap = 0.0
        self._stop = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while not self._stop.is_set():
            await asyncio.sleep(0)
            now = loop.time()
            self.max_gap, last = max(self.max_gap, now - last), now

    async def stop(self) -> float:
        self._stop.set()
        await self._task
        return self.max_gap


async def timed_check(cabinet, send: Callable[[], None], done: Callable[[], bool]) -> tuple[float, float]:
    """(how long the check took, the longest the loop stalled meanwhile)."""
    loop = asyncio.get_running_loop()
    lag = LoopLag()
    await asyncio.sleep(0)
    started = loop.time()
    send()
    await until(done, timeout=30, what="the check done")
    took = loop.time() - started
    return took, await lag.stop()


async def test_a_pin_is_checked_off_the_loop_the_pad_says_checking_and_a_double_submit_counts_once(cabinets):
    cabinets.retailer = RetailerAccess(pin_hashes=PIN_HASHES)
    cabinet = await cabinets.boot()
    views: list[View] = []
    cabinet.on_view = views.append
    cabinet.handle_intent(OpenStaff())

    def submit_twice() -> None:
        cabinet.handle_intent(SubmitPin(PIN))
        cabinet.handle_intent(SubmitPin(PIN))  # a second tap before the answer

    took, stalled = await timed_check(cabinet, submit_twice, lambda: cabinet.restock.state is R.UNLOCKED)
    assert stalled < took / 4, f"the loop stalled {stalled:.3f} s during a {took:.3f} s check"
    assert any(v.screen == "pin_pad" and v.message == "checking" for v in views)
    attempts = [e.payload for e in cabinet.outbox.events("auth.attempt")]
    assert [(a["method"], a["ok"]) for a in attempts] == [("pin", True)], "two quick submits count once"
    assert cabinets.pulses() == 1


async def test_two_quick_wrong_pins_count_one_wrong_attempt(cabinets):
    cabinets.retailer = RetailerAccess(pin_hashes=PIN_HASHES[-1:])
    cabinet = await cabinets.boot()
    cabinet.handle_intent(OpenStaff())
    cabinet.handle_intent(SubmitPin("1111"))
    cabinet.handle_intent(SubmitPin("1111"))
    await until(lambda: cabinet.outbox.events("auth.attempt"), what="the PIN checked")
    await until(lambda: cabinet.restock.state is R.PIN_ENTRY, what="the pad back")
    assert cabinet.restock.guard.failures == 1 and len(cabinet.outbox.events("auth.attempt")) == 1
    assert cabinet.view_state().message == "pin_wrong"


async def test_a_pickup_code_is_checked_off_the_loop_and_the_keypad_says_checking(cabinets):
    cabinets.orders = ORDERS
    cabinet = await cabinets.boot()
    views: list[View] = []
    cabinet.on_view = views.append
    cabinet.handle_intent(OpenPickup())

    def submit_twice() -> None:
        cabinet.handle_intent(SubmitPickupCode("99999999"))
        cabinet.handle_intent(SubmitPickupCode("99999999"))

    took, stalled = await timed_check(cabinet, submit_twice, lambda: cabinet.outbox.events("pickup.refused"))
    assert stalled < took / 4, f"the loop stalled {stalled:.3f} s during a {took:.3f} s check"
    assert any(v.screen == "pickup" and v.message == "checking" for v in views)
    await until(lambda: cabinet.pickup.state is P.CODE_ENTRY, what="the keypad back")
    assert cabinet.pickup.guard.failures == 1 and len(cabinet.outbox.events("pickup.refused")) == 1
    assert cabinet.view_state().message == "pickup_wrong_code"
