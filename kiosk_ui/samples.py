"""Sample catalog and one view per screen and state, for screenshots, demos and tests."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from kiosk_ui.view import (
    AdView,
    AttractScreen,
    CalibrateScreen,
    CatalogScreen,
    CheckoutScreen,
    Chrome,
    DeviceStatus,
    DoorScreen,
    ErrorScreen,
    HelpScreen,
    Language,
    OutOfServiceScreen,
    PaymentMethod,
    PickupScreen,
    PinPadScreen,
    ProductScreen,
    ProductView,
    RepairField,
    RepairScreen,
    RestockScreen,
    ServiceScreen,
    SyncView,
    ThanksScreen,
    VariantView,
    View,
)

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
        variants=(
            VariantView("SC-URBAN-S2-MINT", "Mint", "#2ede9f", 2),
            VariantView("SC-URBAN-S2-GRAPHITE", "Graphite", "#8a94a6", 1),
            VariantView("SC-URBAN-S2-CORAL", "Coral", "#ff7a6b", 0),  # out of stock: shown as such
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
        variants=(
            VariantView("EB-CITY-7-AMBER", "Amber", "#f0a030", 1),
            VariantView("EB-CITY-7-OCEAN", "Ocean", "#3a7bd5", 0),
        ),
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
DEVICES: tuple[tuple[str, DeviceStatus, str], ...] = (
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
    language: Language = "en", cabinet_id: str = "CAB-0042", *, deadline: float | None = None
) -> dict[str, View]:
    """name -> view covering every screen and the states that change a screen's layout."""
    chrome = Chrome(language=language, cabinet_id=cabinet_id)
    offline = replace(chrome, online=False)
    scooter, bike, sold_out, online, _ = PRODUCTS
    later = deadline if deadline is not None else time.monotonic() + 42.5
    released = later - 38.0  # the latch's pulse ends long before the time to open the door
    url = {p.sku: store_url(p.sku, cabinet_id) for p in PRODUCTS}
    both: tuple[PaymentMethod, ...] = ("terminal", "qr")

    def checkout(**fields: Any) -> CheckoutScreen:
        return CheckoutScreen(**{"chrome": chrome, "product": bike, "payment_methods": both, **fields})

    def door(**fields: Any) -> DoorScreen:
        return DoorScreen(**{"chrome": chrome, "product": bike, **fields})

    return {
        "attract": AttractScreen(chrome=chrome, products=PRODUCTS),
        "attract_ad": AttractScreen(chrome=chrome, products=PRODUCTS, ads=ADS[1:2]),
        "attract_video": AttractScreen(chrome=chrome, products=PRODUCTS, ads=ADS[:1]),
        "catalog": CatalogScreen(chrome=chrome, products=PRODUCTS),
        "catalog_offline": CatalogScreen(chrome=offline, products=PRODUCTS),
        "product": ProductScreen(chrome=chrome, product=scooter, store_url=url[scooter.sku]),
        "product_variant_chosen": ProductScreen(
            chrome=chrome, product=scooter, store_url=url[scooter.sku], selected_variant="SC-URBAN-S2-GRAPHITE"
        ),
        "product_sold_out": ProductScreen(chrome=chrome, product=sold_out, store_url=url[sold_out.sku]),
        "product_online": ProductScreen(chrome=chrome, product=online, store_url=url[online.sku]),
        "product_declined": ProductScreen(chrome=chrome, product=bike, message="declined", store_url=url[bike.sku]),
        "product_timed_out": ProductScreen(chrome=chrome, product=scooter, message="timed_out"),
        "checkout": checkout(),
        "checkout_offline": checkout(chrome=offline),
        "checkout_variant": checkout(product=scooter, variant=scooter.variants[1]),
        "checkout_terminal_only": checkout(payment_methods=("terminal",)),
        "checkout_fault": checkout(message="fault"),
        "checkout_present_card": checkout(payment_status="present_card"),
        "checkout_enter_pin": checkout(payment_status="enter_pin"),
        "checkout_processing": checkout(payment_status="processing"),
        "checkout_scan_to_pay": checkout(
            payment_status="scan_to_pay", payment_qr=f"{STORE}/pay/7f3a9c2e?cabinet={cabinet_id}"
        ),
        "door_unlocked": door(door="unlocked", deadline=later, latch_until=released),
        "door_relocked_last": door(door="unlocked", deadline=later),
        "door_opened": door(door="opened"),
        "door_unlock_again": door(product=scooter, door="closed", can_unlock_again=True),
        "thanks": ThanksScreen(chrome=chrome, product=bike),
        "pickup": PickupScreen(chrome=chrome),
        "pickup_wrong_code": PickupScreen(chrome=chrome, message="pickup_wrong_code"),
        "pickup_locked": PickupScreen(chrome=chrome, message="pickup_locked", deadline=later),
        "pickup_checking": PickupScreen(chrome=chrome, message="checking"),
        "pickup_already_collected": PickupScreen(chrome=chrome, message="pickup_already_collected"),
        "help": HelpScreen(chrome=chrome, support_phone=SUPPORT_PHONE, support_url=SUPPORT_URL),
        "door_open_too_long": door(door="opened", alarm="door_open_too_long"),
        "door_stuck": door(product=scooter, door="unlocked", deadline=later, can_unlock_again=True, alarm="door_stuck"),
        "pin_pad": PinPadScreen(chrome=chrome),
        "pin_pad_wrong": PinPadScreen(chrome=chrome, message="pin_wrong", attempts_left=2),
        "pin_pad_locked": PinPadScreen(chrome=chrome, message="pin_locked", deadline=later),
        "pin_pad_checking": PinPadScreen(chrome=chrome, message="checking"),
        **_restock_views(chrome, later, released),
        **_repair_views(chrome),
        "service": ServiceScreen(
            chrome=chrome,
            devices=DEVICES,
            selftest="failed",
            config_version="v42 (etag 7c1e)",
            sync=SyncView(pending=3, last_success="2024-05-14 10:42:07", dead_letters=1),
            errors=(
                "nfc: no answer from PN532 (timeout 1.0 s)",
                "upload: HTTP 503, retry in 40 s",
                "payment: line noise, frame repeated",
            ),
        ),
        "service_running": ServiceScreen(chrome=chrome, devices=DEVICES[:3], selftest="running"),
        "calibrate": CalibrateScreen(chrome=chrome),
        "out_of_service": OutOfServiceScreen(chrome=chrome, support_phone=SUPPORT_PHONE),
        "out_of_service_not_charged": OutOfServiceScreen(
            chrome=chrome, message="not_charged", support_phone=SUPPORT_PHONE
        ),
        "out_of_service_refund": OutOfServiceScreen(
            chrome=chrome, message="refund_pending", support_phone=SUPPORT_PHONE
        ),
        "error": ErrorScreen(chrome=chrome),
    }


def _restock_views(chrome: Chrome, later: float, released: float) -> dict[str, View]:
    # Counted per variant (a product without variants: under its own SKU)
    stock = {"SC-URBAN-S2-MINT": 2, "SC-URBAN-S2-GRAPHITE": 1, "SC-URBAN-S2-CORAL": 0, "EB-CITY-7-AMBER": 1}
    counts = tuple(stock.items())
    counted = (("SC-URBAN-S2-MINT", 2), ("SC-URBAN-S2-CORAL", 2), ("EB-CITY-7-AMBER", 1), ("SC-KIDS-1", 2))
    changes = (("SC-URBAN-S2-CORAL", 2), ("SC-KIDS-1", 2))
    every = counted + tuple((p.sku, p.stock) for p in ACCESSORIES)

    def restock(**fields: Any) -> RestockScreen:
        return RestockScreen(**{"chrome": chrome, "products": PRODUCTS, **fields})

    return {
        "restock_unlocked": restock(door="unlocked", deadline=later, latch_until=released, counts=counts),
        "restock_opened": restock(door="opened", counts=counted, changes=changes),
        "restock_recorded": restock(door="closed", counts=counted, changes=changes),
        "restock_many": restock(door="opened", counts=every, products=PRODUCTS + ACCESSORIES),
        "restock_open_too_long": restock(door="opened", counts=counted, alarm="door_open_too_long"),
        "restock_door_stuck": restock(door="unlocked", deadline=later, counts=counts, alarm="door_stuck"),
    }


def _repair_views(chrome: Chrome) -> dict[str, View]:
    contact: tuple[tuple[RepairField, str], ...] = (
        ("vehicle", "WBAEB71080C123456"),
        ("name", "LI WEI"),
        ("phone", "+49 170 1234"),
    )
    described = (*contact, ("description", "FRONT BRAKE SQUEAKS AND THE LEVER GOES ALL THE WAY TO THE GRIP"))
    return {
        "repair_vehicle": RepairScreen(chrome=chrome, step="vehicle"),
        "repair_vehicle_scanned": RepairScreen(chrome=chrome, step="vehicle", fields=contact[:1]),
        "repair_contact": RepairScreen(chrome=chrome, step="contact", fields=contact[:2]),
        "repair_contact_errors": RepairScreen(
            chrome=chrome, step="contact", fields=contact, field_errors=(("phone", "phone_invalid"),)
        ),
        "repair_fault": RepairScreen(chrome=chrome, step="fault", fields=described, fault_category="brakes"),
        "repair_fault_missing": RepairScreen(
            chrome=chrome, step="fault", fields=contact, field_errors=(("category", "category_required"),)
        ),
        "repair_consent": RepairScreen(chrome=chrome, step="consent", fields=described, fault_category="brakes"),
        "repair_ticket": RepairScreen(chrome=chrome, step="ticket", ticket="R-2024-0815"),
    }


# The screenshot gallery (docs/screens): file stem -> sample view, both languages each.
GALLERY = {
    "attract": "attract",
    "attract-ad": "attract_video",
    "catalog": "catalog_offline",
    "product": "product",
    "product-online": "product_online",
    "product-variants": "product_variant_chosen",  # a variant chosen, one out of stock
    "checkout-variant": "checkout_variant",
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
