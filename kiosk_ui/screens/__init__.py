"""The screens, one module each; each builds the widgets of its own view (kiosk_ui.view).

The types say what each screen may be given; ``validate_view`` checks at run time what a type cannot
(a value outside its Literal, a count out of range, a form value too long), naming the field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args

from kiosk_ui.context import BuildContext
from kiosk_ui.kit import Kit
from kiosk_ui.screens import (
    attract,
    calibrate,
    callback,
    catalog,
    checkout,
    door,
    enrol,
    error,
    help,
    out_of_service,
    pickup,
    pin_pad,
    product,
    repair,
    restock,
    service,
    technician,
    thanks,
)
from kiosk_ui.screens.chrome import alone_with_question
from kiosk_ui.view import (
    SCREENS,
    VIEW_TYPES,
    AdKind,
    AttractScreen,
    CallbackMessage,
    CallbackScreen,
    CheckoutScreen,
    DeviceStatus,
    DoorAlarm,
    DoorScreen,
    DoorState,
    EnrolScreen,
    EnrolStepView,
    FaultCategory,
    FieldError,
    Language,
    MoneyOutcome,
    NetworkView,
    OutOfServiceScreen,
    PaymentMethod,
    PaymentStatus,
    PickupMessage,
    PickupScreen,
    PinMessage,
    PinPadScreen,
    ProductScreen,
    RepairField,
    RepairScreen,
    RepairStep,
    RestockScreen,
    SaleMessage,
    SelfTestState,
    ServiceScreen,
    SetupDetail,
    SetupNeed,
    ShopperNotice,
    SyncView,
    TechnicianScreen,
    ThanksScreen,
    View,
)
from kiosk_ui.widgets import Widget

_MODULES = {
    "attract": attract,
    "catalog": catalog,
    "product": product,
    "checkout": checkout,
    "door": door,
    "thanks": thanks,
    "pickup": pickup,
    "help": help,
    "pin_pad": pin_pad,
    "restock": restock,
    "repair": repair,
    "service": service,
    "calibrate": calibrate,
    "enrol": enrol,
    "out_of_service": out_of_service,
    "callback": callback,
    "error": error,
    "technician": technician,
}
BUILDERS: dict[type, Callable[[Any, Kit, BuildContext], list[Widget]]] = {
    view_type: _MODULES[view_type.screen].build for view_type in VIEW_TYPES
}
assert {t.screen for t in VIEW_TYPES} == set(SCREENS) == set(_MODULES)
MAX_PICKUP_CODE = 10  # digits that still fit the code boxes at 64+ px each


def _one_of(value: object, literal: object, what: str, *, optional: bool = True) -> None:
    options = get_args(literal)
    if (value is None and optional) or value in options:
        return
    raise ValueError(f"{what} {value!r} is not {'None or ' if optional else ''}one of {options}")


def _whole(value: object, what: str, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        raise ValueError(f"{what} must be a whole number {low}..{high if high is not None else ''}, got {value!r}")


def _pairs(what: str, value: object, kinds: tuple[type, type]) -> list[tuple[Any, Any]]:
    """value as a list of 2-tuples of the given types, or a ValueError naming the field."""
    if not isinstance(value, tuple) or not all(
        isinstance(pair, tuple)
        and len(pair) == 2
        and isinstance(pair[0], kinds[0])
        and isinstance(pair[1], kinds[1])
        and not isinstance(pair[1], bool)
        for pair in value
    ):
        raise ValueError(f"{what} must be a tuple of ({kinds[0].__name__}, {kinds[1].__name__}) pairs, got {value!r}")
    return list(value)


def validate_view(view: View) -> None:
    """Raise ValueError naming the first field of view its screen cannot show."""
    if type(view) not in BUILDERS:
        raise ValueError(f"{view!r} is not a screen's view; known: {', '.join(t.__name__ for t in VIEW_TYPES)}")
    chrome = view.chrome
    _one_of(chrome.language, Language, "Chrome.language", optional=False)
    hold = chrome.staff_hold_s
    if isinstance(hold, bool) or not isinstance(hold, (int, float)) or not 0.5 <= hold <= 30:
        raise ValueError(f"Chrome.staff_hold_s must be 0.5..30 seconds, got {hold!r}")
    if not isinstance(chrome.accessible, bool):
        raise ValueError(f"Chrome.accessible must be True or False, got {chrome.accessible!r}")
    check = _CHECKS.get(type(view))
    if check is not None:
        check(view)


def _attract(view: AttractScreen) -> None:
    for ad in view.ads:
        _one_of(ad.kind, AdKind, f"AttractScreen.ads: ad {ad.id!r} has kind", optional=False)
        if isinstance(ad.duration_s, bool) or not (isinstance(ad.duration_s, (int, float)) and ad.duration_s > 0):
            raise ValueError(f"AttractScreen.ads: ad {ad.id!r} needs a positive duration_s, got {ad.duration_s!r}")


def _product(view: ProductScreen) -> None:
    _one_of(view.message, SaleMessage, "ProductScreen.message")


def _checkout(view: CheckoutScreen) -> None:
    _one_of(view.payment_status, PaymentStatus, "CheckoutScreen.payment_status")
    if view.payment_status == "scan_to_pay" and not view.payment_qr:
        raise ValueError("CheckoutScreen.payment_qr is needed while payment_status is 'scan_to_pay'")
    _one_of(view.message, SaleMessage, "CheckoutScreen.message")
    for method in view.payment_methods:
        _one_of(method, PaymentMethod, "CheckoutScreen.payment_methods holds", optional=False)


def _door(view: DoorScreen) -> None:
    _one_of(view.door, DoorState, "DoorScreen.door", optional=False)
    _one_of(view.alarm, DoorAlarm, "DoorScreen.alarm")


def _thanks(view: ThanksScreen) -> None:
    _one_of(view.money, MoneyOutcome, "ThanksScreen.money", optional=False)
    if view.money != "collected" and not view.reference:
        raise ValueError(f"ThanksScreen.reference is needed when the money is {view.money!r}")


def _pickup(view: PickupScreen) -> None:
    _one_of(view.message, PickupMessage, "PickupScreen.message")
    _whole(view.code_length, "PickupScreen.code_length", 1, MAX_PICKUP_CODE)


def _pin_pad(view: PinPadScreen) -> None:
    _one_of(view.message, PinMessage, "PinPadScreen.message")
    if view.attempts_left is not None:
        _whole(view.attempts_left, "PinPadScreen.attempts_left", 0)


def _restock(view: RestockScreen) -> None:
    _one_of(view.door, DoorState, "RestockScreen.door", optional=False)
    _one_of(view.alarm, DoorAlarm, "RestockScreen.alarm")
    counts = _pairs("RestockScreen.counts", view.counts, (str, int))
    for sku, count in counts:
        _whole(count, f"RestockScreen.counts: {sku!r} has a count that", 0, restock.MAX_COUNT)
    if len({sku for sku, _ in counts}) != len(counts):
        raise ValueError("RestockScreen.counts names a sku twice")
    _pairs("RestockScreen.changes", view.changes, (str, int))


def _repair(view: RepairScreen) -> None:
    _one_of(view.step, RepairStep, "RepairScreen.step", optional=False)
    for name, value in _pairs("RepairScreen.fields", view.fields, (str, str)):
        _one_of(name, RepairField, "RepairScreen.fields: field", optional=False)
        if len(value) > repair.FIELD_LIMITS[name]:
            raise ValueError(f"RepairScreen.fields: {name} is longer than {repair.FIELD_LIMITS[name]} characters")
    for name, key in _pairs("RepairScreen.field_errors", view.field_errors, (str, str)):
        if name != "category":
            _one_of(name, RepairField, "RepairScreen.field_errors: field", optional=False)
        _one_of(key, FieldError, f"RepairScreen.field_errors: {name} has error", optional=False)
    _one_of(view.fault_category, FaultCategory, "RepairScreen.fault_category")
    if view.step == "ticket" and not view.ticket:
        raise ValueError("RepairScreen.ticket is needed on the repair step 'ticket'")


def _service(view: ServiceScreen) -> None:
    for device in view.devices:
        if not (isinstance(device, tuple) and len(device) == 3 and all(isinstance(part, str) for part in device)):
            raise ValueError(f"ServiceScreen.devices: {device!r} is not (name, status, detail)")
        _one_of(device[1], DeviceStatus, f"ServiceScreen.devices: {device[0]!r} has status", optional=False)
    _one_of(view.selftest, SelfTestState, "ServiceScreen.selftest")
    sync = view.sync
    if not isinstance(sync, SyncView) or any(
        isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in (sync.pending, sync.dead_letters)
    ):
        raise ValueError(f"ServiceScreen.sync must be a SyncView with whole counts >= 0, got {sync!r}")
    if not isinstance(view.alarms, tuple) or not all(
        isinstance(a, tuple) and len(a) == 2 and all(isinstance(part, str) for part in a) for a in view.alarms
    ):
        raise ValueError(f"ServiceScreen.alarms must be a tuple of (name, detail), got {view.alarms!r}")
    if not isinstance(view.network, NetworkView):
        raise ValueError(f"ServiceScreen.network must be a NetworkView, got {view.network!r}")


def _out_of_service(view: OutOfServiceScreen) -> None:
    _one_of(view.message, ShopperNotice, "OutOfServiceScreen.message")


def _enrol(view: EnrolScreen) -> None:
    _one_of(view.step, EnrolStepView, "EnrolScreen.step", optional=False)
    if view.slot is not None:
        _whole(view.slot, "EnrolScreen.slot", 0)


def _callback(view: CallbackScreen) -> None:
    _one_of(view.message, CallbackMessage, "CallbackScreen.message")
    _whole(view.retention_days, "CallbackScreen.retention_days", 1, 3650)


def _technician(view: TechnicianScreen) -> None:
    for need, _detail in _pairs("TechnicianScreen.needs", view.needs, (str, SetupDetail)):
        _one_of(need, SetupNeed, "TechnicianScreen.needs: need", optional=False)
    if not view.needs:
        raise ValueError("TechnicianScreen.needs is empty: a cabinet that lacks nothing starts")


_CHECKS: dict[type, Callable[[Any], None]] = {
    AttractScreen: _attract,
    ProductScreen: _product,
    CheckoutScreen: _checkout,
    DoorScreen: _door,
    ThanksScreen: _thanks,
    PickupScreen: _pickup,
    PinPadScreen: _pin_pad,
    RestockScreen: _restock,
    RepairScreen: _repair,
    ServiceScreen: _service,
    OutOfServiceScreen: _out_of_service,
    EnrolScreen: _enrol,
    CallbackScreen: _callback,
    TechnicianScreen: _technician,
}


def build_screen(view: View, kit: Kit, context: BuildContext) -> list[Widget]:
    validate_view(view)
    widgets = BUILDERS[type(view)](view, kit, context)
    if kit.theme.accessible and view.chrome.still_there_until is not None:
        return alone_with_question(widgets, kit, view.chrome.still_there_until)
    return widgets
