"""The contract between the firmware and the touchscreen.

The firmware builds a ``ViewState`` from its journeys and hands it to the UI;
the UI renders it and reports what the person did as ``Intent``s. Screen ids
and widget ids are stable: tests, benches and the control API rely on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Stable screen ids.
SCREENS = (
    "attract",
    "catalog",
    "product",
    "checkout",
    "door",
    "thanks",
    "pickup",
    "help",
    "pin_pad",
    "restock",
    "repair",
    "service",
    "calibrate",
    "out_of_service",
)
STAFF_HOLD_S = 3.0  # a press on the brand this long emits Intent("staff"); a tap there does nothing
PIN_MIN, PIN_MAX = 4, 12  # digits of a staff PIN: submit is enabled from PIN_MIN, keys stop at PIN_MAX
CALIBRATION_INSET = 0.1  # calibrate: target centres at this fraction of width/height from the corners


@dataclass(frozen=True)
class ColourOption:
    name: str  # shown as written, e.g. "Mint" (the catalog's own name)
    hex: str  # "#2ede9f"


@dataclass(frozen=True)
class AdView:
    """One ad due now. The firmware applies schedule windows and passes only the ads to play."""

    id: str  # reported back in Intent("ad_shown", id): proof of play
    kind: str  # "image" or "video"
    path: str  # file on the cabinet (PNG/JPEG; MP4/AVI for videos)
    duration_s: float  # how long the ad stays; a shorter video loops


@dataclass(frozen=True)
class ProductView:
    sku: str
    name: str
    price_cents: int
    currency: str
    stock: int
    summary: str = ""
    specs: tuple[tuple[str, str], ...] = ()  # (label key, value), e.g. ("range", "45 km")
    colour: str = "#3a7bd5"  # accent used for the product illustration
    materials: str = ""  # e.g. "6061 aluminium frame, vegan leather grips"
    design_notes: str = ""
    colours: tuple[ColourOption, ...] = ()  # colour options; the first is the default
    images: tuple[str, ...] = ()  # the 360° sequence, frame files in turning order; empty: drawn
    online_only: bool = False  # sold in the online store, not in this cabinet

    @property
    def in_stock(self) -> bool:
        return self.stock > 0 and not self.online_only


@dataclass(frozen=True)
class SyncView:
    """The uploader as the service screen shows it."""

    pending: int = 0  # events in the outbox, not yet acknowledged by the cloud
    last_success: str = ""  # when the last upload succeeded, as text ("" = never)
    dead_letters: int = 0  # events the cloud refused for good


@dataclass(frozen=True)
class ViewState:
    screen: str  # one of SCREENS
    language: str = "en"  # "en" or "zh"
    cabinet_id: str = ""
    online: bool = True
    products: tuple[ProductView, ...] = ()  # the cabinet's products, then the online-only ones
    product: ProductView | None = None  # the product on the product/checkout/door/thanks screens
    payment_methods: tuple[str, ...] = ("terminal",)  # "terminal", "qr" ("qr" is offered only while online)
    # Checkout: None while choosing; then "present_card", "enter_pin", "processing" (terminal) or
    # "scan_to_pay" (payment_qr shown). After a failure the journey is back on "product" (or stays on
    # "checkout" with payment_status None) with message set.
    payment_status: str | None = None
    # i18n key: "declined", "timed_out", "cancelled", "fault", "sold_out" (product, checkout);
    # "pickup_wrong_code", "pickup_already_collected", "pickup_locked" (pickup; locked counts down to
    # deadline); "checking" (pickup, pin_pad: a code or PIN is being checked, the keys are off);
    # "out_of_service" (product); "not_charged", "refund_pending" (out_of_service: what happened to the
    # last buyer's money).
    message: str | None = None
    # Door screen (and restock), all from the firmware's door cycle: door "unlocked" (the opening is
    # authorized: the latch is released, or held again waiting for "unlock again"), "opened", "closed".
    door: str = "closed"
    # time.monotonic(): on the door screen the end of the time to open the door (then the opening lapses);
    # elsewhere the end of pickup_locked / pin_locked.
    deadline: float | None = None
    latch_until: float | None = None  # time.monotonic(): the relay holds the latch released until then
    can_unlock_again: bool = False  # door screen offers "unlock again" (the journey allows another release)
    ads: tuple[AdView, ...] = ()  # attract: the ads due now, in playing order
    store_url: str = ""  # product QR: f"{store_base}/p/{sku}?cabinet={cabinet_id}"
    selected_colour: str | None = None  # product: a ColourOption.name; None shows the first
    payment_qr: str | None = None  # checkout: the text of the scan-to-pay QR ("scan_to_pay")
    pickup_code_length: int = 6  # pickup: digits in a pickup code
    support_phone: str = ""  # help: the retailer's phone number
    support_url: str = ""  # help: optional web page, shown as text and QR
    staff_hold_s: float = STAFF_HOLD_S  # the brand: how long a press emits Intent("staff")
    # pin_pad: message "pin_wrong" (with attempts_left when known), "pin_locked" (counts down to deadline)
    # or "checking".
    attempts_left: int | None = None
    # restock (door "unlocked" -> "opened" -> "closed" = recorded): the firmware's counts, (sku, count);
    # names come from products. restock_changes (sku, added; negative: taken out) shown beside them.
    restock_counts: tuple[tuple[str, int], ...] = ()
    restock_changes: tuple[tuple[str, int], ...] = ()
    alarm: str | None = None  # door, restock: None, "door_open_too_long", "door_stuck"
    step: str | None = None  # repair: "vehicle", "contact", "fault", "consent", "ticket"
    # repair: values the firmware knows (a scanned vehicle id), (field, value) with field "vehicle", "name",
    # "phone" or "description". A value replaces what is typed when it differs from the one last sent.
    fields: tuple[tuple[str, str], ...] = ()
    field_errors: tuple[tuple[str, str], ...] = ()  # repair: (field or "category", error key), shown under it
    fault_category: str | None = None  # repair: the category on record (a tap shows at once)
    ticket: str | None = None  # repair "ticket": the ticket number, shown large and as QR
    devices: tuple[tuple[str, str, str], ...] = ()  # service: (name, "ok"|"fault"|"unknown", detail)
    selftest: str | None = None  # service: None (not run), "running", "passed", "failed"
    sync: SyncView | None = None  # service
    config_version: str = ""  # service
    errors: tuple[str, ...] = ()  # service: the last errors, newest first, short


@dataclass(frozen=True)
class Intent:
    """Something the person did. ``name`` is one of:

    start, select_product(arg=sku), buy, pay(arg="terminal"|"qr"), cancel, back,
    lang, unlock_again, done, activity (any touch, swipes included; resets the idle timer),
    ad_shown(arg=ad id: the ad's first frame is on screen, proof of play),
    colour(arg=ColourOption.name), pickup (attract: "pick up an order"), help,
    key(arg="0".."9"|"back": a pickup keypad key; the UI keeps the code being typed),
    pickup_submit(arg=the typed code, pickup_code_length digits),
    bench(arg="pos/approve"|"pos/decline"|"door/open"|"door/close"|"nfc/present"|"qr/show"),
    staff (a press of staff_hold_s on the brand: the hidden staff entry),
    pin_submit(arg=the typed PIN, PIN_MIN..PIN_MAX digits; PIN keys emit nothing, the digits stay in the UI),
    count(arg=f"{sku}:{new_count}": restock, the count the retailer set; 0..999),
    repair (attract: drop a vehicle off for repair), next, agree,
    field(arg=f"{name}={value}": repair; emitted for each field of the step, then "next", on a tap on next),
    fault_category(arg="battery"|"brakes"|"tyre"|"motor"|"display"|"other"),
    selftest, lock_test, calibrate, restart (service; restart only on the confirming second tap), exit,
    calibration(arg="x1,y1;x2,y2;x3,y3;x4,y4": where the four targets were touched, in touchscreen px, in
    the order top-left, top-right, bottom-right, bottom-left; see CALIBRATION_INSET).
    """

    name: str
    arg: str | None = None

    def log_arg(self) -> str | None:
        """The argument as a log line may show it: a PIN, a pickup code or a repair form's value never
        (a key is "digit", a field its name alone), anything else as it is."""
        if self.arg is None or self.name not in PRIVATE_ARG_INTENTS:
            return self.arg
        if self.name == "key":
            return "digit" if self.arg.isdigit() else self.arg
        if self.name == "field":
            return self.arg.partition("=")[0] + "=<redacted>"
        return "<redacted>"

    def __repr__(self) -> str:  # a log line that formats the intent itself shows no secret either
        return f"Intent({self.name!r}, {self.log_arg()!r})"


# Intents whose argument is a secret (a PIN, a pickup code and its keys) or a person's data (the repair form).
PRIVATE_ARG_INTENTS = frozenset({"key", "pin_submit", "pickup_submit", "field"})


@dataclass(frozen=True)
class WidgetInfo:
    id: str
    rect: tuple[int, int, int, int]  # x, y, w, h in touchscreen pixels
    label: str
    enabled: bool = True
    extra: dict = field(default_factory=dict, compare=False)
