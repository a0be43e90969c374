"""Sample catalog and one ViewState per screen and state, for screenshots, demos and tests."""

from __future__ import annotations

import time
from pathlib import Path

from kiosk_ui.view import AdView, ColourOption, ProductView, SyncView, ViewState

ADS_DIR = Path(__file__).parent / "assets" / "ads"
STORE = "https://shop.e-ride.example"

PRODUCTS = (
    ProductView(
        "SC-URBAN-S2",
        "Urban Glide S2 Scooter",
        129900,
        "EUR",
        3,
        "Foldable commuter scooter with dual brakes, front suspension and a bright LED display.",
        (("range", "45 km"), ("top_speed", "25 km/h"), ("weight", "14.5 kg"), ("battery", "468 Wh")),
        "#2ede9f",
        materials="Aircraft-grade 6061 aluminium deck, 10-inch pneumatic tyres, silicone grips.",
        design_notes="Folds in three seconds with one latch; the stem locks to the rear fender to carry.",
        colours=(
            ColourOption("Mint", "#2ede9f"),
            ColourOption("Graphite", "#8a94a6"),
            ColourOption("Coral", "#ff7a6b"),
        ),
    ),
    ProductView(
        "EB-CITY-7",
        "City Cruiser 7 E-Bike",
        249900,
        "EUR",
        1,
        "Step-through e-bike with a removable battery, seven gears and hydraulic disc brakes.",
        (
            ("range", "90 km"),
            ("top_speed", "25 km/h"),
            ("motor", "250 W"),
            ("charge_time", "4.5 h"),
            ("battery", "630 Wh"),
            ("weight", "23 kg"),
        ),
        "#f0a030",
        materials="Hydroformed aluminium frame, vegan leather saddle, puncture-resistant tyres.",
        design_notes="A low step-through frame for skirts and suits; the battery hides in the down tube.",
        colours=(ColourOption("Amber", "#f0a030"), ColourOption("Ocean", "#3a7bd5")),
    ),
    ProductView(
        "SC-KIDS-1",
        "Junior Dash Scooter",
        34900,
        "EUR",
        0,
        "A light first scooter for young riders, with a speed limiter.",
        (("range", "12 km"), ("top_speed", "12 km/h")),
        "#e0508c",
    ),
    ProductView(
        "SC-TRAIL-X",
        "Trail X Off-road Scooter",
        189900,
        "EUR",
        0,
        "Dual motors, full suspension and knobbly tyres for gravel paths.",
        (("range", "60 km"), ("top_speed", "25 km/h"), ("battery", "960 Wh"), ("weight", "29 kg")),
        "#6b8cff",
        materials="Forged steel swingarms, IPX5 sealed battery.",
        design_notes="Wide deck with a kick plate; headlight and indicators built into the stem.",
        online_only=True,
    ),
    ProductView(
        "EB-FOLD-3",
        "Fold 3 Compact E-Bike",
        179900,
        "EUR",
        0,
        "Folds to fit under a desk; 20-inch wheels and a torque sensor.",
        (("range", "70 km"), ("top_speed", "25 km/h"), ("weight", "17 kg")),
        "#c46bff",
        online_only=True,
    ),
)
ADS = (
    AdView("ad-ride-electric", "video", str(ADS_DIR / "ride-electric.mp4"), 8.0),
    AdView("ad-urban-glide", "image", str(ADS_DIR / "urban-glide.png"), 6.0),
    AdView("ad-city-cruiser", "image", str(ADS_DIR / "city-cruiser.png"), 6.0),
)
# Accessories the retailer counts in too: with them the restock list needs a second page.
ACCESSORIES = tuple(
    ProductView(sku, name, price, "EUR", 4)
    for sku, name, price in (
        ("ACC-HELMET-M", "Urban helmet, size M", 5900),
        ("ACC-HELMET-L", "Urban helmet, size L", 5900),
        ("ACC-LOCK-D", "D-lock with frame mount", 4500),
        ("ACC-CHARGER", "Fast charger 4 A", 7900),
        ("ACC-LIGHTS", "Rechargeable light set", 3900),
    )
)
DEVICES = (
    ("lock", "ok", "relay pulsed 0.2 s and released"),
    ("door", "ok", "closed"),
    ("payment terminal", "ok", "ZVT terminal 52500017, /dev/ttyPAY"),
    ("nfc reader", "fault", "no answer from PN532 on /dev/ttyNFC"),
    ("code reader", "ok", "camera 0, 1280x720"),
    ("camera", "unknown", "not checked yet"),
)
SUPPORT_PHONE = "+49 30 1234 5678"
SUPPORT_URL = "https://help.e-ride.example/cabinet"


def store_url(sku: str, cabinet_id: str) -> str:
    """The product's page in the online store, carrying the cabinet (as the firmware builds it)."""
    return f"{STORE}/p/{sku}?cabinet={cabinet_id}"


def sample_views(
    language: str = "en", cabinet_id: str = "CAB-0042", *, deadline: float | None = None
) -> dict[str, ViewState]:
    """name -> ViewState covering every screen and the states that change a screen's layout."""
    base = dict(
        language=language,
        cabinet_id=cabinet_id,
        products=PRODUCTS,
        payment_methods=("terminal", "qr"),
        support_phone=SUPPORT_PHONE,
        support_url=SUPPORT_URL,
    )
    scooter, bike, sold_out, online, _ = PRODUCTS
    later = deadline if deadline is not None else time.monotonic() + 42.5
    released = later - 38.0  # the latch's pulse ends long before the time to open the door
    url = {p.sku: store_url(p.sku, cabinet_id) for p in PRODUCTS}
    return {
        "attract": ViewState("attract", **base),
        "attract_ad": ViewState("attract", ads=ADS[1:2], **base),
        "attract_video": ViewState("attract", ads=ADS[:1], **base),
        "catalog": ViewState("catalog", **base),
        "catalog_offline": ViewState("catalog", **{**base, "online": False}),
        "product": ViewState("product", product=scooter, store_url=url[scooter.sku], **base),
        "product_sold_out": ViewState("product", product=sold_out, store_url=url[sold_out.sku], **base),
        "product_online": ViewState("product", product=online, store_url=url[online.sku], **base),
        "product_declined": ViewState("product", product=bike, message="declined", store_url=url[bike.sku], **base),
        "product_timed_out": ViewState("product", product=scooter, message="timed_out", **base),
        "checkout": ViewState("checkout", product=bike, **base),
        "checkout_offline": ViewState("checkout", product=bike, **{**base, "online": False}),
        "checkout_terminal_only": ViewState("checkout", product=bike, **{**base, "payment_methods": ("terminal",)}),
        "checkout_fault": ViewState("checkout", product=bike, message="fault", **base),
        "checkout_present_card": ViewState("checkout", product=bike, payment_status="present_card", **base),
        "checkout_enter_pin": ViewState("checkout", product=bike, payment_status="enter_pin", **base),
        "checkout_processing": ViewState("checkout", product=bike, payment_status="processing", **base),
        "checkout_scan_to_pay": ViewState(
            "checkout",
            product=bike,
            payment_status="scan_to_pay",
            payment_qr=f"{STORE}/pay/7f3a9c2e?cabinet={cabinet_id}",
            **base,
        ),
        "door_unlocked": ViewState("door", product=bike, door="unlocked", deadline=later, latch_until=released, **base),
        "door_relocked_last": ViewState("door", product=bike, door="unlocked", deadline=later, **base),
        "door_opened": ViewState("door", product=bike, door="opened", can_unlock_again=False, **base),
        "door_unlock_again": ViewState("door", product=scooter, door="closed", can_unlock_again=True, **base),
        "thanks": ViewState("thanks", product=bike, **base),
        "pickup": ViewState("pickup", **base),
        "pickup_wrong_code": ViewState("pickup", message="pickup_wrong_code", **base),
        "pickup_locked": ViewState("pickup", message="pickup_locked", deadline=later, **base),
        "pickup_checking": ViewState("pickup", message="checking", **base),
        "pickup_already_collected": ViewState("pickup", message="pickup_already_collected", **base),
        "help": ViewState("help", **base),
        "door_open_too_long": ViewState("door", product=bike, door="opened", alarm="door_open_too_long", **base),
        "door_stuck": ViewState(
            "door", product=scooter, door="unlocked", deadline=later, can_unlock_again=True, alarm="door_stuck", **base
        ),
        "pin_pad": ViewState("pin_pad", **base),
        "pin_pad_wrong": ViewState("pin_pad", message="pin_wrong", attempts_left=2, **base),
        "pin_pad_locked": ViewState("pin_pad", message="pin_locked", deadline=later, **base),
        "pin_pad_checking": ViewState("pin_pad", message="checking", **base),
        **_restock_views(base, later, released),
        **_repair_views(base),
        "service": ViewState(
            "service",
            devices=DEVICES,
            selftest="failed",
            config_version="v42 (etag 7c1e)",
            sync=SyncView(pending=3, last_success="2024-05-14 10:42:07", dead_letters=1),
            errors=(
                "nfc: no answer from PN532 (timeout 1.0 s)",
                "upload: HTTP 503, retry in 40 s",
                "payment: line noise, frame repeated",
            ),
            **base,
        ),
        "service_running": ViewState("service", devices=DEVICES[:3], selftest="running", **base),
        "calibrate": ViewState("calibrate", **base),
        "out_of_service": ViewState("out_of_service", **base),
        "out_of_service_not_charged": ViewState("out_of_service", message="not_charged", **base),
        "out_of_service_refund": ViewState("out_of_service", message="refund_pending", **base),
    }


def _restock_views(base: dict, later: float, released: float) -> dict[str, ViewState]:
    stock = {"SC-URBAN-S2": 3, "EB-CITY-7": 1, "SC-KIDS-1": 0}
    counts = tuple(stock.items())
    counted = (("SC-URBAN-S2", 5), ("EB-CITY-7", 1), ("SC-KIDS-1", 2))
    changes = (("SC-URBAN-S2", 2), ("SC-KIDS-1", 2))
    many = base | {"products": PRODUCTS + ACCESSORIES}
    every = counted + tuple((p.sku, p.stock) for p in ACCESSORIES)
    return {
        "restock_unlocked": ViewState(
            "restock", door="unlocked", deadline=later, latch_until=released, restock_counts=counts, **base
        ),
        "restock_opened": ViewState("restock", door="opened", restock_counts=counted, restock_changes=changes, **base),
        "restock_recorded": ViewState(
            "restock", door="closed", restock_counts=counted, restock_changes=changes, **base
        ),
        "restock_many": ViewState("restock", door="opened", restock_counts=every, **many),
        "restock_open_too_long": ViewState(
            "restock", door="opened", restock_counts=counted, alarm="door_open_too_long", **base
        ),
        "restock_door_stuck": ViewState(
            "restock", door="unlocked", deadline=later, restock_counts=counts, alarm="door_stuck", **base
        ),
    }


def _repair_views(base: dict) -> dict[str, ViewState]:
    contact = (("vehicle", "WBAEB71080C123456"), ("name", "LI WEI"), ("phone", "+49 170 1234"))
    described = (*contact, ("description", "FRONT BRAKE SQUEAKS AND THE LEVER GOES ALL THE WAY TO THE GRIP"))
    return {
        "repair_vehicle": ViewState("repair", step="vehicle", **base),
        "repair_vehicle_scanned": ViewState("repair", step="vehicle", fields=contact[:1], **base),
        "repair_contact": ViewState("repair", step="contact", fields=contact[:2], **base),
        "repair_contact_errors": ViewState(
            "repair", step="contact", fields=contact, field_errors=(("phone", "phone_invalid"),), **base
        ),
        "repair_fault": ViewState("repair", step="fault", fields=described, fault_category="brakes", **base),
        "repair_fault_missing": ViewState(
            "repair", step="fault", fields=contact, field_errors=(("category", "category_required"),), **base
        ),
        "repair_consent": ViewState("repair", step="consent", fields=described, fault_category="brakes", **base),
        "repair_ticket": ViewState("repair", step="ticket", ticket="R-2024-0815", **base),
    }


# The screenshot gallery (docs/screens): file stem -> sample view, both languages each.
GALLERY = {
    "attract": "attract",
    "attract-ad": "attract_video",
    "catalog": "catalog_offline",
    "product": "product",
    "product-online": "product_online",
    "checkout": "checkout",
    "checkout-status": "checkout_scan_to_pay",
    "door": "door_unlocked",
    "thanks": "thanks",
    "pickup": "pickup_wrong_code",
    "help": "help",
    "door-alarm": "door_stuck",
    "pin-pad": "pin_pad_wrong",
    "restock": "restock_opened",
    "restock-recorded": "restock_recorded",
    "restock-alarm": "restock_open_too_long",
    "repair-vehicle": "repair_vehicle_scanned",
    "repair-contact": "repair_contact_errors",
    "repair-fault": "repair_fault",
    "repair-consent": "repair_consent",
    "repair-ticket": "repair_ticket",
    "service": "service",
    "calibrate": "calibrate",
}
