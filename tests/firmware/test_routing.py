"""The cabinet's routing: journeys as presenters in one priority order, on a whole Cabinet (real SQLite on
disk, gpiozero mock pins). The first active presenter gives the screen and the first crack at an intent;
an inactive journey only ever sees the intent that opens it, and only when it may open."""

from __future__ import annotations

from dataclasses import dataclass, field

from firmware.cabinet import Cabinet
from firmware.journeys.pickup import P
from firmware.journeys.repair import Step
from firmware.journeys.restock import R
from firmware.journeys.sale import S
from firmware.journeys.service import V
from firmware.presenters import Passive, Router
from kiosk_ui.intents import (
    Agree,
    Back,
    Buy,
    ChooseFaultCategory,
    Done,
    ExitService,
    Intent,
    Next,
    OpenHelp,
    OpenPickup,
    OpenRepair,
    OpenStaff,
    Pay,
    SelectProduct,
    SetCount,
    SetField,
    Start,
    SubmitPickupCode,
    SubmitPin,
    UnlockAgain,
)
from kiosk_ui.view import AttractScreen, Chrome, ErrorScreen, View
from tests.firmware.cabinet_rig import CODE, Cabinets, until


def taker(cabinet: Cabinet, intent: Intent) -> str | None:
    """Route intent as a tap would, and say which presenter took it (None: nobody)."""
    presenter = cabinet.router.route(intent)
    return presenter.name if presenter else None


async def until_state(cabinet: Cabinet, state: R) -> None:
    await until(lambda: cabinet.restock.state is state, what=f"restock {state.value}")


def screen(cabinet: Cabinet) -> str:
    return cabinet.view_state().screen


async def test_the_presenters_stand_in_one_priority_order_and_the_first_active_gives_the_screen(
    cabinets: Cabinets,
) -> None:
    cabinet = await cabinets.boot()
    names = [p.name for p in cabinet.router.presenters]
    assert names == [
        "service",
        "help",
        "repair",
        "restock",
        "pickup",
        "out_of_service",
        "callback",
        "sale",
        "browse",
    ]
    assert [p.name for p in cabinet.router.presenters if p.active()] == ["browse"]
    assert screen(cabinet) == "attract"
    assert taker(cabinet, OpenStaff()) == "restock"  # opened from the attract screen
    assert [p.name for p in cabinet.router.presenters if p.active()] == ["restock", "browse"]
    assert screen(cabinet) == "pin_pad", "the restock, first in priority, gives the screen"


async def test_each_intent_reaches_the_journey_on_screen(cabinets: Cabinets) -> None:
    cabinet = await cabinets.boot()
    assert taker(cabinet, Start()) == "browse" and cabinet.sale.state is S.BROWSE
    assert taker(cabinet, SelectProduct("BIKE-C7")) == "browse" and cabinet.sale.state is S.PRODUCT
    assert screen(cabinet) == "product"
    assert taker(cabinet, Buy()) == "sale"
    assert cabinet.view_state().message == "fault", "no terminal here: the product says so"
    assert taker(cabinet, Back()) == "sale" and cabinet.sale.state is S.BROWSE
    assert taker(cabinet, Back()) == "browse" and cabinet.sale.state is S.IDLE
    assert taker(cabinet, OpenRepair()) == "repair" and cabinet.repair.state is Step.VEHICLE
    assert taker(cabinet, SetField("vehicle", "WBAEB71080C123456")) == "repair"
    assert taker(cabinet, Next()) == "repair" and cabinet.repair.state is Step.CONTACT
    assert screen(cabinet) == "repair"


async def test_back_goes_to_what_is_on_screen_help_first_then_the_sale(cabinets: Cabinets) -> None:
    cabinet = await cabinets.boot()
    for intent in (Start(), SelectProduct("SCOOT-S1")):
        cabinet.handle_intent(intent)
    assert taker(cabinet, OpenHelp()) == "help" and screen(cabinet) == "help"
    assert cabinet.sale.state is S.PRODUCT, "help lies over the product"
    assert taker(cabinet, Back()) == "help"
    assert screen(cabinet) == "product" and cabinet.sale.state is S.PRODUCT, "back left help, not the product"
    assert taker(cabinet, Back()) == "sale" and screen(cabinet) == "catalog"


async def test_back_on_the_pickup_keypad_leaves_pickup_not_the_sale(cabinets: Cabinets) -> None:
    cabinet = await cabinets.boot()
    assert taker(cabinet, OpenPickup()) == "pickup" and screen(cabinet) == "pickup"
    assert taker(cabinet, Back()) == "pickup"
    assert cabinet.pickup.state is P.IDLE and cabinet.sale.state is S.IDLE and screen(cabinet) == "attract"


async def test_back_and_done_in_the_repair_reach_the_repair_over_a_browsing_sale(cabinets: Cabinets) -> None:
    cabinet = await cabinets.boot()
    cabinet.handle_intent(Start())  # the catalog: the cabinet is still idle, a repair may open
    assert taker(cabinet, OpenRepair()) == "repair"
    cabinet.handle_intent(SetField("vehicle", "WBAEB71080C123456"))
    cabinet.handle_intent(Next())
    assert taker(cabinet, Back()) == "repair"
    assert cabinet.repair.state is Step.VEHICLE and cabinet.sale.state is S.BROWSE, "the sale below stays"
    steps: tuple[Intent, ...] = (
        Next(),
        SetField("name", "Li Wei"),
        SetField("phone", "+86 138 0013 8000"),
        Next(),
        ChooseFaultCategory("tyre"),
        SetField("description", "Flat rear tyre"),
        Next(),
        Agree(),
    )
    for intent in steps:
        assert taker(cabinet, intent) == "repair", intent
    assert cabinet.repair.state is Step.TICKET
    assert taker(cabinet, Done()) == "repair"
    assert not cabinet.repair.active and cabinet.sale.state is S.BROWSE and screen(cabinet) == "catalog"


async def test_done_on_a_recorded_restock_finishes_the_restock(cabinets: Cabinets) -> None:
    cabinet = await cabinets.boot()
    cabinet.handle_intent(Start())
    with cabinet.outbox.transaction() as tx:
        assert cabinet.remote.record(tx, "cmd-1", 5.0) == "unlocking"
    cabinet.remote.unlock("cmd-1")  # the remote unlock: the restock's screen over the catalog
    assert screen(cabinet) == "restock" and cabinet.restock.state is R.UNLOCKED
    cabinets.door.reed.drive_high()  # opened
    await until_state(cabinet, R.COUNTING)
    assert taker(cabinet, SetCount("SCOOT-S1", 7)) == "restock"
    cabinets.door.reed.drive_low()  # closed: recorded
    await until_state(cabinet, R.RECORDED)
    assert taker(cabinet, Done()) == "restock"
    assert cabinet.restock.state is R.IDLE and cabinet.catalog.stock("SCOOT-S1") == 7
    assert cabinet.sale.state is S.BROWSE, "done was the restock's, the catalog below is left alone"


async def test_nothing_reaches_a_journey_that_is_not_active(cabinets: Cabinets) -> None:
    cabinet = await cabinets.boot()
    before = cabinet.outbox.pending_count()
    stale = (
        SubmitPin("1234"),
        SubmitPickupCode(CODE),
        SetCount("SCOOT-S1", 99),
        SetField("vehicle", "WBAEB71080C123456"),
        ExitService(),
        Pay("terminal"),
        UnlockAgain(),
        Done(),
    )
    for intent in stale:
        assert taker(cabinet, intent) is None, intent
        cabinet.handle_intent(intent)  # and through the cabinet: logged, nothing more
    assert (cabinet.restock.state, cabinet.pickup.state, cabinet.repair.state, cabinet.service.state) == (
        R.IDLE,
        P.IDLE,
        Step.IDLE,
        V.IDLE,
    )
    assert cabinet.outbox.pending_count() == before, "no attempt, no refusal, nothing recorded"
    assert cabinet.catalog.stock("SCOOT-S1") != 99


async def test_a_journey_opens_only_where_it_may(cabinets: Cabinets) -> None:
    cabinet = await cabinets.boot()
    for intent in (Start(), SelectProduct("SCOOT-S1")):
        cabinet.handle_intent(intent)
    for opener in (OpenRepair(), OpenStaff(), OpenPickup()):
        assert taker(cabinet, opener) is None, f"{opener} opened over a product being looked at"
    assert not (cabinet.repair.active or cabinet.restock.active or cabinet.pickup.active)
    cabinet.handle_intent(Back())  # the catalog: idle again, but pickup starts from the attract screen only
    assert taker(cabinet, OpenPickup()) is None and taker(cabinet, OpenRepair()) == "repair"


async def test_a_view_that_cannot_be_built_shows_the_error_screen_raises_a_fault_and_the_journey_goes_on(
    cabinets: Cabinets,
) -> None:
    cabinet = await cabinets.boot()
    shown: list[View] = []
    cabinet.on_view = shown.append
    for intent in (Start(), SelectProduct("SCOOT-S1")):
        cabinet.handle_intent(intent)
    cabinet.sale.message = "a message no screen knows"  # a bug in a journey
    cabinet.refresh()
    assert isinstance(shown[-1], ErrorScreen) and "a message no screen knows" in cabinet.faults["screen"]
    alarms = [e.payload for e in cabinet.outbox.events("alarm")]
    assert alarms[-1]["kind"] == "device_offline" and alarms[-1]["detail"].startswith("screen: ")
    cabinet.handle_intent(Back())  # the journey was never stuck behind the screen
    assert cabinet.sale.state is S.BROWSE and shown[-1].screen == "catalog"
    cabinet.screen_fault(None)  # the screen says a view renders again
    assert "screen" not in cabinet.faults


async def test_a_view_the_touchscreen_refuses_becomes_a_named_fault_and_an_alarm(cabinets: Cabinets) -> None:
    cabinet = await cabinets.boot()
    cabinet.screen_fault("door screen: 'a bug in the door screen'")
    assert cabinet.faults["screen"] == "door screen: 'a bug in the door screen'"
    assert cabinet.outbox.events("alarm")[-1].payload["detail"] == "screen: door screen: 'a bug in the door screen'"
    cabinet.screen_fault(None)
    assert "screen" not in cabinet.faults


# --- the router itself: what adding a journey means ----------------------------------------------------
@dataclass
class Probe(Passive):
    """A journey that takes one kind of intent while active."""

    name: str
    takes: type[Intent]
    on: bool = True
    seen: list[Intent] = field(default_factory=list)

    def active(self) -> bool:
        return self.on

    def handles(self, intent: Intent) -> bool:
        return isinstance(intent, self.takes)

    def handle(self, intent: Intent) -> None:
        self.seen.append(intent)

    def view(self, chrome: Chrome) -> View:
        return AttractScreen(chrome=chrome)


def test_the_router_gives_an_intent_to_the_first_active_presenter_that_handles_it() -> None:
    high, low, other = Probe("high", Back), Probe("low", Back), Probe("other", Done)
    router = Router((high, low, other))
    assert router.route(Back()) is high and router.route(Done()) is other
    high.on = False
    assert router.route(Back()) is low and router.current() is low
    assert router.route(Start()) is None
    assert high.seen == [Back()] and low.seen == [Back()] and other.seen == [Done()]
