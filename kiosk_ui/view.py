"""The contract between the firmware and the touchscreen.

The firmware builds a ``ViewState`` from its journeys and hands it to the UI;
the UI renders it and reports what the person did as ``Intent``s. Screen ids
and widget ids are stable: tests, benches and the control API rely on them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Stable screen ids.
SCREENS = ("attract", "catalog", "product", "checkout", "door", "thanks", "pickup", "help")


@dataclass(frozen=True)
class ColourOption:
    name: str                                 # shown as written, e.g. "Mint" (the catalog's own name)
    hex: str                                  # "#2ede9f"


@dataclass(frozen=True)
class AdView:
    """One ad due now. The firmware applies schedule windows and passes only the ads to play."""
    id: str                                   # reported back in Intent("ad_shown", id): proof of play
    kind: str                                 # "image" or "video"
    path: str                                 # file on the cabinet (PNG/JPEG; MP4/AVI for videos)
    duration_s: float                         # how long the ad stays; a shorter video loops


@dataclass(frozen=True)
class ProductView:
    sku: str
    name: str
    price_cents: int
    currency: str
    stock: int
    summary: str = ""
    specs: tuple[tuple[str, str], ...] = ()   # (label key, value), e.g. ("range", "45 km")
    colour: str = "#3a7bd5"                   # accent used for the product illustration
    materials: str = ""                       # e.g. "6061 aluminium frame, vegan leather grips"
    design_notes: str = ""
    colours: tuple[ColourOption, ...] = ()    # colour options; the first is the default
    images: tuple[str, ...] = ()              # the 360° sequence, frame files in turning order; empty: drawn
    online_only: bool = False                 # sold in the online store, not in this cabinet

    @property
    def in_stock(self) -> bool:
        return self.stock > 0 and not self.online_only


@dataclass(frozen=True)
class ViewState:
    screen: str                               # one of SCREENS
    language: str = "en"                      # "en" or "zh"
    cabinet_id: str = ""
    online: bool = True
    products: tuple[ProductView, ...] = ()    # the cabinet's products, then the online-only ones
    product: ProductView | None = None        # the product on the product/checkout/door/thanks screens
    payment_methods: tuple[str, ...] = ("terminal",)   # "terminal", "qr" ("qr" is offered only while online)
    # Checkout: None while choosing; then "present_card", "enter_pin", "processing" (terminal) or
    # "scan_to_pay" (payment_qr shown). After a failure the journey is back on "product" (or stays on
    # "checkout" with payment_status None) with message set.
    payment_status: str | None = None
    # i18n key: "declined", "timed_out", "cancelled", "fault", "sold_out" (product, checkout);
    # "pickup_wrong_code", "pickup_locked" (pickup; locked counts down to deadline).
    message: str | None = None
    door: str = "closed"                      # "unlocked", "opened", "closed" (door screen)
    deadline: float | None = None             # time.monotonic(): the door countdown, or the end of pickup_locked
    can_unlock_again: bool = False            # door screen offers "unlock again"
    ads: tuple[AdView, ...] = ()              # attract: the ads due now, in playing order
    store_url: str = ""                       # product QR: f"{store_base}/p/{sku}?cabinet={cabinet_id}"
    selected_colour: str | None = None        # product: a ColourOption.name; None shows the first
    payment_qr: str | None = None             # checkout: the text of the scan-to-pay QR ("scan_to_pay")
    pickup_code_length: int = 6               # pickup: digits in a pickup code
    support_phone: str = ""                   # help: the retailer's phone number
    support_url: str = ""                     # help: optional web page, shown as text and QR


@dataclass(frozen=True)
class Intent:
    """Something the person did. ``name`` is one of:

    start, select_product(arg=sku), buy, pay(arg="terminal"|"qr"), cancel, back,
    lang, unlock_again, done, activity (any touch, swipes included; resets the idle timer),
    ad_shown(arg=ad id: the ad's first frame is on screen, proof of play),
    colour(arg=ColourOption.name), pickup (attract: "pick up an order"), help,
    key(arg="0".."9"|"back": a pickup keypad key; the UI keeps the code being typed),
    pickup_submit(arg=the typed code, pickup_code_length digits),
    bench(arg="pos/approve"|"pos/decline"|"door/open"|"door/close"|"nfc/present"|"qr/show").
    """
    name: str
    arg: str | None = None


@dataclass(frozen=True)
class WidgetInfo:
    id: str
    rect: tuple[int, int, int, int]           # x, y, w, h in touchscreen pixels
    label: str
    enabled: bool = True
    extra: dict = field(default_factory=dict, compare=False)
