"""Sample catalog and one ViewState per screen and state, for screenshots, demos and tests."""
from __future__ import annotations

import time

from kiosk_ui.view import ProductView, ViewState

PRODUCTS = (
    ProductView("SC-URBAN-S2", "Urban Glide S2 Scooter", 129900, "EUR", 3,
                "Foldable commuter scooter with dual brakes, front suspension and a bright LED display.",
                (("range", "45 km"), ("top_speed", "25 km/h"), ("weight", "14.5 kg"), ("battery", "468 Wh")),
                "#2ede9f"),
    ProductView("EB-CITY-7", "City Cruiser 7 E-Bike", 249900, "EUR", 1,
                "Step-through e-bike with a removable battery, seven gears and hydraulic disc brakes.",
                (("range", "90 km"), ("top_speed", "25 km/h"), ("motor", "250 W"), ("charge_time", "4.5 h")),
                "#f0a030"),
    ProductView("SC-KIDS-1", "Junior Dash Scooter", 34900, "EUR", 0,
                "A light first scooter for young riders, with a speed limiter.",
                (("range", "12 km"), ("top_speed", "12 km/h")), "#e0508c"),
)


def sample_views(language: str = "en", cabinet_id: str = "CAB-0042", *,
                 deadline: float | None = None) -> dict[str, ViewState]:
    """name -> ViewState covering every screen and the states that change a screen's layout."""
    base = dict(language=language, cabinet_id=cabinet_id, products=PRODUCTS,
                payment_methods=("terminal", "qr"))
    scooter, bike, sold_out = PRODUCTS
    door_deadline = deadline if deadline is not None else time.monotonic() + 42.5
    return {
        "attract": ViewState("attract", **base),
        "catalog": ViewState("catalog", **base),
        "catalog_offline": ViewState("catalog", **{**base, "online": False}),
        "product": ViewState("product", product=scooter, **base),
        "product_sold_out": ViewState("product", product=sold_out, **base),
        "product_declined": ViewState("product", product=bike, message="declined", **base),
        "product_timed_out": ViewState("product", product=scooter, message="timed_out", **base),
        "checkout": ViewState("checkout", product=bike, **base),
        "checkout_terminal_only": ViewState("checkout", product=bike, **{**base, "payment_methods": ("terminal",)}),
        "checkout_present_card": ViewState("checkout", product=bike, payment_status="present_card", **base),
        "checkout_enter_pin": ViewState("checkout", product=bike, payment_status="enter_pin", **base),
        "checkout_processing": ViewState("checkout", product=bike, payment_status="processing", **base),
        "door_unlocked": ViewState("door", product=bike, door="unlocked", deadline=door_deadline, **base),
        "door_opened": ViewState("door", product=bike, door="opened", can_unlock_again=False, **base),
        "door_unlock_again": ViewState("door", product=scooter, door="closed", can_unlock_again=True, **base),
        "thanks": ViewState("thanks", product=bike, **base),
    }
