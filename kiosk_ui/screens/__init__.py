"""The screens, one module each; each builds the widgets of a ViewState."""

from __future__ import annotations

from collections.abc import Callable

from kiosk_ui.ads import AD_KINDS
from kiosk_ui.context import BuildContext
from kiosk_ui.i18n import LANGUAGES, MESSAGES
from kiosk_ui.kit import Kit
from kiosk_ui.screens import (
    attract,
    calibrate,
    catalog,
    checkout,
    door,
    help,
    out_of_service,
    pickup,
    pin_pad,
    product,
    repair,
    restock,
    service,
    thanks,
)
from kiosk_ui.screens.parts import ALARMS
from kiosk_ui.view import SCREENS, SyncView, ViewState
from kiosk_ui.widgets import Widget

BUILDERS: dict[str, Callable[[ViewState, Kit, BuildContext], list[Widget]]] = {
    "attract": attract.build,
    "catalog": catalog.build,
    "product": product.build,
    "checkout": checkout.build,
    "door": door.build,
    "thanks": thanks.build,
    "pickup": pickup.build,
    "help": help.build,
    "pin_pad": pin_pad.build,
    "restock": restock.build,
    "repair": repair.build,
    "service": service.build,
    "calibrate": calibrate.build,
    "out_of_service": out_of_service.build,
}
assert set(BUILDERS) == set(SCREENS)
MAX_PICKUP_CODE = 10  # digits that still fit the code boxes at 64+ px each


def validate_view(view: ViewState) -> None:
    """Raise ValueError naming the first field of view that no screen can show."""
    if view.screen not in SCREENS:
        raise ValueError(f"ViewState.screen {view.screen!r} is not one of {SCREENS}")
    if view.language not in LANGUAGES:
        raise ValueError(f"ViewState.language {view.language!r} is not one of {LANGUAGES}")
    if view.screen in ("product", "checkout") and view.product is None:
        raise ValueError(f"ViewState.product is needed on the {view.screen!r} screen")
    if view.payment_status is not None and view.payment_status not in checkout.PAYMENT_STATUSES:
        raise ValueError(
            f"ViewState.payment_status {view.payment_status!r} is not None or one of {checkout.PAYMENT_STATUSES}"
        )
    if view.payment_status == "scan_to_pay" and not view.payment_qr:
        raise ValueError("ViewState.payment_qr is needed while payment_status is 'scan_to_pay'")
    if view.message is not None and view.message not in MESSAGES:
        raise ValueError(f"ViewState.message {view.message!r} is not None or one of {MESSAGES}")
    if view.door not in door.DOOR_STATES:
        raise ValueError(f"ViewState.door {view.door!r} is not one of {door.DOOR_STATES}")
    for method in view.payment_methods:
        if method not in checkout.PAYMENT_METHODS:
            raise ValueError(f"ViewState.payment_methods holds {method!r}; known: {checkout.PAYMENT_METHODS}")
    if not 1 <= view.pickup_code_length <= MAX_PICKUP_CODE:
        raise ValueError(f"ViewState.pickup_code_length must be 1..{MAX_PICKUP_CODE}, got {view.pickup_code_length!r}")
    for ad in view.ads:
        if ad.kind not in AD_KINDS:
            raise ValueError(f"ViewState.ads: ad {ad.id!r} has kind {ad.kind!r}, not one of {AD_KINDS}")
        if not (isinstance(ad.duration_s, (int, float)) and ad.duration_s > 0):
            raise ValueError(f"ViewState.ads: ad {ad.id!r} needs a positive duration_s, got {ad.duration_s!r}")
    _validate_staff_and_repair(view)


def _pairs(name: str, value: object, kinds: tuple[type, type]) -> list[tuple]:
    """value as a list of 2-tuples of the given types, or a ValueError naming the field."""
    if not isinstance(value, tuple) or not all(
        isinstance(pair, tuple)
        and len(pair) == 2
        and isinstance(pair[0], kinds[0])
        and isinstance(pair[1], kinds[1])
        and not isinstance(pair[1], bool)
        for pair in value
    ):
        raise ValueError(
            f"ViewState.{name} must be a tuple of ({kinds[0].__name__}, {kinds[1].__name__}) pairs, got {value!r}"
        )
    return list(value)


def _validate_staff_and_repair(view: ViewState) -> None:
    """The fields of the staff screens, the repair drop-off and the door alarms."""
    hold = view.staff_hold_s
    if isinstance(hold, bool) or not isinstance(hold, (int, float)) or not 0.5 <= hold <= 30:
        raise ValueError(f"ViewState.staff_hold_s must be 0.5..30 seconds, got {hold!r}")
    if view.attempts_left is not None and (
        isinstance(view.attempts_left, bool) or not isinstance(view.attempts_left, int) or view.attempts_left < 0
    ):
        raise ValueError(f"ViewState.attempts_left must be None or a whole number >= 0, got {view.attempts_left!r}")
    counts = _pairs("restock_counts", view.restock_counts, (str, int))
    for sku, count in counts:
        if not 0 <= count <= restock.MAX_COUNT:
            raise ValueError(f"ViewState.restock_counts: {sku!r} has count {count}, not 0..{restock.MAX_COUNT}")
    if len({sku for sku, _ in counts}) != len(counts):
        raise ValueError("ViewState.restock_counts names a sku twice")
    _pairs("restock_changes", view.restock_changes, (str, int))
    if view.alarm is not None and view.alarm not in ALARMS:
        raise ValueError(f"ViewState.alarm {view.alarm!r} is not None or one of {ALARMS}")
    if view.screen == "repair" and view.step not in repair.REPAIR_STEPS:
        raise ValueError(f"ViewState.step {view.step!r} is needed on the 'repair' screen: one of {repair.REPAIR_STEPS}")
    for name, value in _pairs("fields", view.fields, (str, str)):
        if name not in repair.FIELD_LIMITS:
            raise ValueError(f"ViewState.fields: unknown field {name!r}; known: {tuple(repair.FIELD_LIMITS)}")
        if len(value) > repair.FIELD_LIMITS[name]:
            raise ValueError(f"ViewState.fields: {name} is longer than {repair.FIELD_LIMITS[name]} characters")
    for name, key in _pairs("field_errors", view.field_errors, (str, str)):
        if name not in (*repair.FIELD_LIMITS, "category"):
            raise ValueError(f"ViewState.field_errors: unknown field {name!r}")
        if key not in repair.FIELD_ERRORS:
            raise ValueError(f"ViewState.field_errors: {name} has error {key!r}; known: {repair.FIELD_ERRORS}")
    if view.fault_category is not None and view.fault_category not in repair.FAULT_CATEGORIES:
        raise ValueError(
            f"ViewState.fault_category {view.fault_category!r} is not None or one of {repair.FAULT_CATEGORIES}"
        )
    if view.screen == "repair" and view.step == "ticket" and not view.ticket:
        raise ValueError("ViewState.ticket is needed on the repair step 'ticket'")
    for device in view.devices:
        if not (
            isinstance(device, tuple)
            and len(device) == 3
            and all(isinstance(part, str) for part in device)
            and device[1] in service.DEVICE_STATUSES
        ):
            raise ValueError(
                f"ViewState.devices: {device!r} is not (name, status, detail) with status one of "
                f"{service.DEVICE_STATUSES}"
            )
    if view.selftest is not None and view.selftest not in service.SELFTEST_STATES:
        raise ValueError(f"ViewState.selftest {view.selftest!r} is not None or one of {service.SELFTEST_STATES}")
    if view.sync is not None:
        sync = view.sync
        if not isinstance(sync, SyncView) or any(
            isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in (sync.pending, sync.dead_letters)
        ):
            raise ValueError(f"ViewState.sync must be a SyncView with whole counts >= 0, got {sync!r}")
    if not isinstance(view.errors, tuple) or not all(isinstance(e, str) for e in view.errors):
        raise ValueError(f"ViewState.errors must be a tuple of strings, got {view.errors!r}")


def build_screen(view: ViewState, kit: Kit, context: BuildContext) -> list[Widget]:
    validate_view(view)
    return BUILDERS[view.screen](view, kit, context)
