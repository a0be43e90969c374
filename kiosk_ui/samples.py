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
    CallbackScreen,
    CatalogScreen,
    CheckoutScreen,
    Chrome,
    DeviceStatus,
    DoorScreen,
    EnrolScreen,
    ErrorScreen,
    HelpScreen,
    Language,
    NarrationView,
    NetworkView,
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
    SetupDetail,
    SyncView,
    TechnicianScreen,
    ThanksScreen,
    VariantView,
    VideoClip,
    View,
)

ADS_DIR = Path(__file__).parent / "assets" / "ads"
STORE = "https://shop.e-ride.example"
KEY, TOML = "/var/lib/kiosk/cabinet.key", "/etc/kiosk/kiosk.toml"  # a cabinet the technician has yet to provision

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
    AdView("ad-urban-glide", "image", str(ADS_DIR / "urban-glide.png"), 6.0, "Glide through the city"),
    AdView("ad-city-cruiser", "image", str(ADS_DIR / "city-cruiser.png"), 6.0),
)
# The retailer's Chinese content (as the configuration's translations give it): name, summary, materials,
# design notes, variant names. The scooter's design notes are long: they wrap and scroll.
CONTENT_ZH: dict[str, tuple[str, str, str, str, tuple[str, ...]]] = {
    "SC-URBAN-S2": (
        "城市滑翔 S2 电动滑板车",
        "可折叠通勤滑板车，双刹车、前避震和明亮的 LED 显示屏。",
        "航空级 6061 铝合金踏板、10 英寸充气轮胎、硅胶握把。",
        "单扣三秒折叠；立管可锁在后挡泥板上，方便提携。车架内置前后灯，夜间骑行更安心；"
        "踏板加宽防滑，长途通勤也不累脚。折叠后可放进汽车后备箱或办公桌下，地铁换乘轻松自如。",
        ("薄荷绿", "石墨灰", "珊瑚红"),
    ),
    "EB-CITY-7": (
        "城市巡航 7 电助力自行车",
        "低跨式电助力自行车，电池可拆卸，七速变速，液压碟刹。",
        "液压成型铝合金车架、纯素皮革坐垫、防刺轮胎。",
        "低跨车架，穿裙子或西装也方便上下车；电池藏在下管里。",
        ("琥珀色", "海洋蓝"),
    ),
    "SC-KIDS-1": ("小飞侠儿童滑板车", "适合小骑手的轻便入门滑板车，带限速器。", "", "", ()),
    "SC-TRAIL-X": (
        "越野 X 电动滑板车",
        "双电机、全避震、越野胎，砂石路也能畅行。",
        "锻钢摇臂、IPX5 密封电池。",
        "宽踏板配踢板；前灯和转向灯内置于立管。",
        (),
    ),
    "EB-FOLD-3": ("折叠 3 紧凑电助力自行车", "折叠后可放在桌下；20 英寸车轮，力矩传感器。", "", "", ()),
}
AD_TEXT_ZH = {"ad-urban-glide": "轻松穿行城市"}


def in_chinese(product: ProductView) -> ProductView:
    """The sample product with the retailer's Chinese texts (the English ones where none are given)."""
    name, summary, materials, design_notes, colours = CONTENT_ZH.get(product.sku, (product.name, "", "", "", ()))
    return replace(
        product,
        name=name,
        summary=summary or product.summary,
        materials=materials or product.materials,
        design_notes=design_notes or product.design_notes,
        variants=tuple(replace(v, name=zh) for v, zh in zip(product.variants, colours, strict=False))
        + product.variants[len(colours) :],
    )


def _content_in(view: View, language: Language) -> View:
    """The view with its products and ads in the language (the samples are written in English)."""
    if language == "en":
        return view
    changes: dict[str, Any] = {}
    product: ProductView | None = getattr(view, "product", None)
    products: tuple[ProductView, ...] = getattr(view, "products", ())
    ads: tuple[AdView, ...] = getattr(view, "ads", ())
    if product is not None:
        changes["product"] = in_chinese(product)
    if products:
        changes["products"] = tuple(in_chinese(p) for p in products)
    if ads:
        changes["ads"] = tuple(replace(a, text=AD_TEXT_ZH.get(a.id, a.text)) for a in ads)
    return replace(view, **changes)


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
    ("lock", "ok", "locked"),
    ("door", "ok", "closed"),
    ("payment", "ok", "ready"),
    ("nfc", "fault", "no answer from PN532 on /dev/ttyNFC"),
    ("scanner", "ok", "reading"),
    ("camera", "ok", "ready"),
    ("tamper", "ok", "closed"),
)
# What the scooter's narration is saying, per language (the subtitles' samples).
NARRATION = {
    "en": "Foldable commuter scooter with dual brakes, front suspension and a bright LED display.",
    "zh": "可折叠通勤滑板车，配备双刹车、前悬挂和明亮的LED显示屏。",
}
SUPPORT_PHONE = "+49 30 1234 5678"
SUPPORT_URL = "https://help.e-ride.example/cabinet"
REFERENCE = "S-3F2A91C0"  # a sale's short reference, as the firmware makes it from the sale id
RECEIPT = f"{STORE}/r/3f2a91c0-5b7e-4d21-9a0c-2e8f6b1d4c7a"  # the receipt's address, when the cloud serves one


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

    views: dict[str, View] = {
        "attract": AttractScreen(chrome=chrome, products=PRODUCTS),
        "attract_ad": AttractScreen(chrome=chrome, products=PRODUCTS, ads=ADS[1:2]),
        "attract_video": AttractScreen(chrome=chrome, products=PRODUCTS, ads=ADS[:1]),
        "catalog": CatalogScreen(chrome=chrome, products=PRODUCTS),
        "catalog_offline": CatalogScreen(chrome=offline, products=PRODUCTS),
        "product": ProductScreen(chrome=chrome, product=scooter, store_url=url[scooter.sku]),
        "product_narration": ProductScreen(
            chrome=chrome,
            product=scooter,
            store_url=url[scooter.sku],
            narration=NarrationView(playing=True, subtitle=NARRATION[language], sound=True),
        ),
        "attract_narration": AttractScreen(chrome=chrome, products=PRODUCTS, subtitle=NARRATION[language]),
        "attract_narration_video": AttractScreen(
            chrome=chrome,
            products=PRODUCTS,
            subtitle=NARRATION[language],
            video=VideoClip(str(ADS_DIR / "ride-electric.mp4")),
        ),
        # The retailer's narration as a video: its pictures in the 360° view's place, the subtitles over them.
        "product_narration_video": ProductScreen(
            chrome=chrome,
            product=scooter,
            store_url=url[scooter.sku],
            narration=NarrationView(True, NARRATION[language], True, VideoClip(str(ADS_DIR / "ride-electric.mp4"))),
        ),
        "product_variant_chosen": ProductScreen(
            chrome=chrome, product=scooter, store_url=url[scooter.sku], selected_variant="SC-URBAN-S2-GRAPHITE"
        ),
        "product_sold_out": ProductScreen(chrome=chrome, product=sold_out, store_url=url[sold_out.sku]),
        "product_online": ProductScreen(chrome=chrome, product=online, store_url=url[online.sku]),
        "product_declined": ProductScreen(chrome=chrome, product=bike, message="declined", store_url=url[bike.sku]),
        "product_timed_out": ProductScreen(chrome=chrome, product=scooter, message="timed_out"),
        "product_qr_unavailable": ProductScreen(chrome=chrome, product=scooter, message="qr_unavailable"),
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
        "door_relocked_again": door(door="unlocked", deadline=later, can_unlock_again=True),
        "door_pickup": door(product=scooter, door="unlocked", deadline=later, latch_until=released, prepaid=True),
        "thanks": ThanksScreen(
            chrome=chrome, product=bike, money="collected", reference=REFERENCE, receipt_no="0042", receipt_qr=RECEIPT
        ),
        "thanks_reversed": ThanksScreen(
            chrome=chrome, product=bike, money="reversed", reference=REFERENCE, receipt_no="0042", receipt_qr=RECEIPT
        ),
        "thanks_reversing": ThanksScreen(
            chrome=chrome,
            product=scooter,
            money="reversing",
            reference=REFERENCE,
            receipt_qr=REFERENCE,
            support_phone=SUPPORT_PHONE,
        ),  # fmt: skip
        "thanks_refund_flagged": ThanksScreen(
            chrome=chrome,
            product=bike,
            money="refund_flagged",
            reference=REFERENCE,
            receipt_no="0042",
            receipt_qr=RECEIPT,
            support_phone=SUPPORT_PHONE,
        ),  # fmt: skip
        "thanks_pickup": ThanksScreen(
            chrome=chrome, product=scooter, money="collected", reference="W-10432", receipt_qr="W-10432", prepaid=True
        ),
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
            selftest_faults=1,
            config_version="v42 (etag 7c1e)",
            sync=SyncView(pending=3, last_success="2024-05-14 10:42:07", dead_letters=1),
            alarms=(("door", "door_open_too_long"), ("nfc", "no answer from PN532 on /dev/ttyNFC")),
            network=NetworkView("eth0", "192.168.1.20", online=False),
            version="0.1.0",
        ),
        "service_running": ServiceScreen(chrome=chrome, devices=DEVICES[:3], selftest="running"),
        "service_link_down": ServiceScreen(  # the cable pulled: the kernel's link watch says why
            chrome=replace(chrome, online=False),
            devices=DEVICES[:3],
            alarms=(("network", "eth0: no carrier"),),
            network=NetworkView("eth0", "", online=False, link_down="eth0: no carrier"),
            version="0.1.0",
        ),
        "service_update_untaken": ServiceScreen(  # a release the root installer never took (its path unit off)
            chrome=chrome, devices=DEVICES[:3], version="1.0.0 (kiosk-updater?)"
        ),
        "calibrate": CalibrateScreen(chrome=chrome),
        # a cabinet with a fingerprint module: the menu offers to enrol a staff finger, step by step
        "service_fingerprint": ServiceScreen(chrome=chrome, devices=DEVICES[:3], fingerprint=True, version="0.1.0"),
        "enrol_place": EnrolScreen(chrome=chrome, step="place", slot=3),
        "enrol_lift": EnrolScreen(chrome=chrome, step="lift", slot=3),
        "enrol_place_again": EnrolScreen(chrome=chrome, step="place_again", slot=3),
        "enrol_done": EnrolScreen(chrome=chrome, step="done", slot=3),
        "enrol_failed": EnrolScreen(
            chrome=chrome,
            step="failed",
            slot=3,
            error="fingerprint: command 05 failed: the two captures could not be combined (not the same finger)",
        ),
        "out_of_service": OutOfServiceScreen(chrome=chrome, support_phone=SUPPORT_PHONE),
        "technician": TechnicianScreen(
            chrome=replace(chrome, cabinet_id=""),  # not provisioned: no cabinet id yet
            needs=(
                (
                    "key",
                    SetupDetail(
                        f"{KEY} does not exist (kiosk provision writes it)", "", "", "key_absent", (("file", KEY),)
                    ),
                ),
                (
                    "enrolment",
                    SetupDetail(
                        f"{TOML}: sync.cloud_url is https://CHANGE-ME (kiosk provision sets it)",
                        TOML,
                        "sync.cloud_url",
                        "cloud_placeholder",
                        (("cloud", "https://CHANGE-ME"),),
                    ),
                ),
                (
                    "config",
                    SetupDetail(
                        f"{TOML}: sync.ca_file: /etc/kiosk/cloud-ca.pem does not exist (or is not a file)",
                        TOML,
                        "sync.ca_file",
                        "file_missing",
                        (("file", "/etc/kiosk/cloud-ca.pem"),),
                        more=2,
                    ),
                ),
            ),  # fmt: skip
            hardware_id="RPI-10000000a3c9e127",
        ),
        "out_of_service_not_charged": OutOfServiceScreen(
            chrome=chrome, message="not_charged", support_phone=SUPPORT_PHONE
        ),
        "out_of_service_refund": OutOfServiceScreen(
            chrome=chrome, message="refund_pending", support_phone=SUPPORT_PHONE, reference=REFERENCE
        ),
        "error": ErrorScreen(chrome=chrome),
        # Never stuck: the payment wait's time limit, the idle timeout's question, no way to pay left.
        "checkout_present_card_countdown": checkout(payment_status="present_card", deadline=later),
        "checkout_still_there": checkout(chrome=replace(chrome, still_there_until=later - 22.5)),
        "checkout_no_method": checkout(payment_methods=()),
        "product_no_method": ProductScreen(
            chrome=offline, product=scooter, store_url=url[scooter.sku], no_payment_method=True
        ),
        "help_from_checkout": HelpScreen(
            chrome=chrome, support_phone=SUPPORT_PHONE, support_url=SUPPORT_URL, context="checkout"
        ),
        # A call-back for the manufacturer's customer service: offered on the product, the number and consent.
        "product_callback": ProductScreen(chrome=chrome, product=scooter, store_url=url[scooter.sku], callback=True),
        "callback": CallbackScreen(chrome=chrome, product=scooter),
        "callback_phone_invalid": CallbackScreen(chrome=chrome, product=scooter, message="phone_invalid"),
        "callback_sent": CallbackScreen(chrome=chrome, product=scooter, sent=True),
        "callback_phone_offer": CallbackScreen(chrome=chrome, product=scooter, phone="offer"),
        "callback_on_phone": CallbackScreen(
            chrome=chrome, product=scooter, phone="opened", phone_link="https://shop.example/f/" + "x" * 22
        ),
    }
    return {name: _content_in(view, language) for name, view in views.items()}


def accessible_views(language: Language = "en", cabinet_id: str = "CAB-0042") -> dict[str, View]:
    """Every sample view in accessibility mode."""
    return {
        name: replace(view, chrome=replace(view.chrome, accessible=True))
        for name, view in sample_views(language, cabinet_id).items()
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
        "restock_relocked": restock(door="unlocked", deadline=later, counts=counts, can_unlock_again=True),
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
        "repair_vehicle_phone_offer": RepairScreen(chrome=chrome, step="vehicle", phone="offer"),
        "repair_on_phone": RepairScreen(
            chrome=chrome, step="vehicle", phone="opened", phone_link="https://shop.example/f/" + "x" * 22
        ),
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
    "product-narration": "product_narration",
    "product-narration-video": "product_narration_video",
    "attract-narration-video": "attract_narration_video",
    "attract-narration": "attract_narration",
    "product-variants": "product_variant_chosen",  # a variant chosen, one out of stock
    "checkout-variant": "checkout_variant",
    "checkout": "checkout",
    "checkout-status": "checkout_scan_to_pay",
    "door": "door_unlocked",
    "thanks": "thanks",
    "thanks-reversed": "thanks_reversed",
    "thanks-refund": "thanks_refund_flagged",
    "door-relocked": "door_relocked_again",
    "pickup": "pickup_wrong_code",
    "help": "help",
    "still-there": "checkout_still_there",
    "payment-countdown": "checkout_present_card_countdown",
    "no-payment-method": "product_no_method",
    "product-declined": "product_declined",
    "product-qr-unavailable": "product_qr_unavailable",
    "door-alarm": "door_open_too_long",
    "pin-pad": "pin_pad_wrong",
    "restock": "restock_opened",
    "restock-recorded": "restock_recorded",
    "restock-alarm": "restock_open_too_long",
    "repair-vehicle": "repair_vehicle_scanned",
    "repair-phone-offer": "repair_vehicle_phone_offer",
    "repair-on-phone": "repair_on_phone",
    "repair-contact": "repair_contact_errors",
    "repair-fault": "repair_fault",
    "repair-consent": "repair_consent",
    "repair-ticket": "repair_ticket",
    "service": "service",
    "calibrate": "calibrate",
    "enrol": "enrol_place_again",
    "enrol-done": "enrol_done",
    "service-fingerprint": "service_fingerprint",
    "repair-keyboard-shift": "repair_contact",
    "repair-keyboard-accents": "repair_contact",
    "repair-keyboard-symbols": "repair_fault",
    "product-callback": "product_callback",
    "callback": "callback_phone_invalid",
    "callback-sent": "callback_sent",
    "technician": "technician",
    "callback-phone-offer": "callback_phone_offer",
    "callback-on-phone": "callback_on_phone",
}
# Gallery pictures taken after these taps (widget ids): the text keyboard's layers.
SHOT_TAPS = {
    "repair-keyboard-shift": ("kbd:shift",),
    "repair-keyboard-accents": ("kbd:accents", "kbd:shift"),
    "repair-keyboard-symbols": ("kbd:symbols",),
}
# ... and in accessibility mode (file stem -> sample view of accessible_views).
GALLERY_ACCESSIBLE = {
    "accessible-attract": "attract",
    "accessible-catalog": "catalog",
    "accessible-product": "product",
    "accessible-checkout": "checkout",
    "accessible-door": "door_unlocked",
    "accessible-pickup": "pickup_wrong_code",
    "accessible-repair-contact": "repair_contact_errors",
    "accessible-pin-pad": "pin_pad_wrong",
    "accessible-callback": "callback",
}
