"""The six screens, one module each; each builds the widgets of a ViewState."""
from __future__ import annotations

from typing import Callable

from kiosk_ui.i18n import LANGUAGES, MESSAGES
from kiosk_ui.kit import Kit
from kiosk_ui.screens import attract, catalog, checkout, door, product, thanks
from kiosk_ui.view import SCREENS, ViewState
from kiosk_ui.widgets import Widget

BUILDERS: dict[str, Callable[[ViewState, Kit], list[Widget]]] = {
    "attract": attract.build,
    "catalog": catalog.build,
    "product": product.build,
    "checkout": checkout.build,
    "door": door.build,
    "thanks": thanks.build,
}
assert set(BUILDERS) == set(SCREENS)


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
    if view.message is not None and view.message not in MESSAGES:
        raise ValueError(f"ViewState.message {view.message!r} is not None or one of {MESSAGES}")
    if view.door not in door.DOOR_STATES:
        raise ValueError(f"ViewState.door {view.door!r} is not one of {door.DOOR_STATES}")
    for method in view.payment_methods:
        if method not in checkout.PAYMENT_METHODS:
            raise ValueError(f"ViewState.payment_methods holds {method!r}; known: {checkout.PAYMENT_METHODS}")


def build_screen(view: ViewState, kit: Kit) -> list[Widget]:
    validate_view(view)
    return BUILDERS[view.screen](view, kit)
