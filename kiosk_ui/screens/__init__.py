"""The screens, one module each; each builds the widgets of a ViewState."""
from __future__ import annotations

from collections.abc import Callable

from kiosk_ui.ads import AD_KINDS
from kiosk_ui.context import BuildContext
from kiosk_ui.i18n import LANGUAGES, MESSAGES
from kiosk_ui.kit import Kit
from kiosk_ui.screens import attract, catalog, checkout, door, help, pickup, product, thanks
from kiosk_ui.view import SCREENS, ViewState
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
}
assert set(BUILDERS) == set(SCREENS)
MAX_PICKUP_CODE = 10    # digits that still fit the code boxes at 64+ px each


def validate_view(view: ViewState) -> None:
    """Raise ValueError naming the first field of view that no screen can show."""
    if view.screen not in SCREENS:
        raise ValueError(f"ViewState.screen {view.screen!r} is not one of {SCREENS}")
    if view.language not in LANGUAGES:
        raise ValueError(f"ViewState.language {view.language!r} is not one of {LANGUAGES}")
    if view.screen in ("product", "checkout") and view.product is None:
        raise ValueError(f"ViewState.product is needed on the {view.screen!r} screen")
    if view.payment_status is not None and view.payment_status not in checkout.PAYMENT_STATUSES:
        raise ValueError(f"ViewState.payment_status {view.payment_status!r} is not None or one of "
                         f"{checkout.PAYMENT_STATUSES}")
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


def build_screen(view: ViewState, kit: Kit, context: BuildContext) -> list[Widget]:
    validate_view(view)
    return BUILDERS[view.screen](view, kit, context)
