"""The contract between the firmware and the touchscreen.

The firmware hands the UI one view per screen (``AttractScreen``, ``DoorScreen``...: the fields that
screen needs, the common header and footer in ``Chrome``); the UI renders it and reports what the person
did as intents (``kiosk_ui.intents``). Screen ids and widget ids are stable: tests, benches and the
control API rely on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar, get_args

Language = Literal["en", "zh"]
PaymentMethod = Literal["terminal", "qr"]
PaymentStatus = Literal["present_card", "enter_pin", "processing", "scan_to_pay"]
DoorState = Literal["unlocked", "opened", "closed"]
DoorAlarm = Literal["door_open_too_long", "door_stuck"]
SaleMessage = Literal[
    "declined",
    "timed_out",
    "cancelled",
    "fault",
    "sold_out",
    "out_of_service",
    "not_charged",
    "refund_pending",
    "qr_unavailable",
]
PickupMessage = Literal["pickup_wrong_code", "pickup_locked", "pickup_already_collected", "checking"]
PinMessage = Literal["pin_wrong", "pin_locked", "checking"]
ShopperNotice = Literal["not_charged", "refund_pending"]
# How a journey's ending left the shopper's money: paid (or prepaid) and the goods taken; being given back
# (the door never opened); given back; could not be given back (flagged for the retailer to refund).
MoneyOutcome = Literal["collected", "reversing", "reversed", "refund_flagged"]
RepairStep = Literal["vehicle", "contact", "fault", "consent", "ticket"]
PhoneStatus = Literal["offer", "waiting", "opened"]
RepairField = Literal["vehicle", "name", "phone", "description"]
FieldError = Literal[
    "required", "vehicle_invalid", "vehicle_unknown", "name_invalid", "phone_invalid", "too_long", "category_required"
]
FieldErrors = tuple[tuple[RepairField | Literal["category"], FieldError], ...]  # (field, error key)
FaultCategory = Literal["battery", "brakes", "tyre", "motor", "display", "other"]
DeviceStatus = Literal["ok", "fault", "unknown"]
SelfTestState = Literal["running", "passed", "failed"]
AdKind = Literal["image", "video"]

# Stable screen ids ("error" is the safe screen shown when a view cannot be rendered).
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
    "enrol",
    "out_of_service",
    "callback",
    "error",
    "technician",
)
STAFF_HOLD_S = 3.0  # a press on the brand this long emits OpenStaff; a tap there does nothing
PIN_MIN, PIN_MAX = 4, 12  # digits of a staff PIN: submit is enabled from PIN_MIN, keys stop at PIN_MAX
CALIBRATION_INSET = 0.1  # calibrate: target centres at this fraction of width/height from the corners


@dataclass(frozen=True)
class VariantView:
    """One way the product comes (a colour, a frame size), with its own SKU and stock."""

    sku: str
    name: str  # shown as written, e.g. "Mint" (the catalog's own name)
    hex: str  # the swatch, "#2ede9f"
    stock: int = 1

    @property
    def in_stock(self) -> bool:
        return self.stock > 0


@dataclass(frozen=True)
class AdView:
    """One ad due now. The firmware applies schedule windows and passes only the ads to play."""

    id: str  # reported back in AdShown(id): proof of play
    kind: AdKind
    path: str  # file on the cabinet (PNG/JPEG; MP4/AVI for videos)
    duration_s: float  # how long the ad stays; a shorter video loops
    text: str = ""  # the retailer's words over the ad, in the shopper's language; "" = none


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
    variants: tuple[VariantView, ...] = ()  # colours and other options, each with its stock
    images: tuple[str, ...] = ()  # the 360° sequence, frame files in turning order; empty: drawn
    online_only: bool = False  # sold in the online store, not in this cabinet

    @property
    def in_stock(self) -> bool:
        return self.stock > 0 and not self.online_only


@dataclass(frozen=True)
class VideoClip:
    """A narration's video while it plays (its sound comes from the firmware): the file, and which start of
    it (a new take starts from its first picture)."""

    path: str
    take: int = 0


@dataclass(frozen=True)
class NarrationView:
    """A product's narration (firmware/narration.py): the listen control, and the subtitle due now."""

    playing: bool = False
    subtitle: str = ""  # the sentence being spoken ("" between and after)
    sound: bool = False  # heard; False while playing: subtitles only (quiet hours, no audio device)
    video: VideoClip | None = None  # the retailer's video, shown in place of the 360° view while it plays


@dataclass(frozen=True)
class SyncView:
    """The uploader as the service screen shows it."""

    pending: int = 0  # events in the outbox, not yet acknowledged by the cloud
    last_success: str = ""  # when the last upload succeeded, as text ("" = never)
    dead_letters: int = 0  # events the cloud refused for good


@dataclass(frozen=True)
class NetworkView:
    """The network as the service screen shows it."""

    interface: str = ""  # of the default route; "" = none
    address: str = ""  # its IPv4 address; "" = none
    online: bool = False  # the cloud answered the last upload
    link_down: str = ""  # why the kernel says the link is down ("eth0: no carrier"); "" = up or not watched


@dataclass(frozen=True)
class Chrome:
    """What every screen shows around its content: header (language, the brand's staff hold), footer."""

    language: Language = "en"
    cabinet_id: str = ""
    online: bool = True  # False: the footer says "offline"
    staff_hold_s: float = STAFF_HOLD_S  # the brand: how long a press emits OpenStaff
    # The idle timeout asks "still there?" before it leaves a journey the shopper put work into (paying,
    # typing): until then (time.monotonic()) a prompt covers the screen; any touch answers it.
    still_there_until: float | None = None
    accessible: bool = False  # accessibility mode: larger text, higher contrast, every control within reach


@dataclass(frozen=True, kw_only=True)
class AttractScreen:
    screen: ClassVar[str] = "attract"
    chrome: Chrome = Chrome()
    products: tuple[ProductView, ...] = ()  # the cabinet's products, then the online-only ones
    ads: tuple[AdView, ...] = ()  # the ads due now, in playing order
    subtitle: str = ""  # a product's narration, played muted: the sentence due now
    video: VideoClip | None = None  # that narration's video, shown (silent) in place of the ads meanwhile


@dataclass(frozen=True, kw_only=True)
class CatalogScreen:
    screen: ClassVar[str] = "catalog"
    chrome: Chrome = Chrome()
    products: tuple[ProductView, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ProductScreen:
    screen: ClassVar[str] = "product"
    chrome: Chrome = Chrome()
    product: ProductView
    message: SaleMessage | None = None
    store_url: str = ""  # the QR: f"{store_base}/p/{sku}?cabinet={cabinet_id}"
    no_payment_method: bool = False  # no way to pay right now (terminal faulty, network down): buy is off
    selected_variant: str | None = None  # the VariantView.sku chosen; None shows the first in stock
    narration: NarrationView | None = None  # None: this product has no narration in this language
    callback: bool = False  # "Call me back" is offered (the manufacturer's customer service)


@dataclass(frozen=True, kw_only=True)
class CheckoutScreen:
    """None while choosing how to pay; then the terminal's prompts, or "scan_to_pay" with its QR.
    After a failure the journey is back on product (or stays here with payment_status None) with message."""

    screen: ClassVar[str] = "checkout"
    chrome: Chrome = Chrome()
    product: ProductView
    payment_methods: tuple[PaymentMethod, ...] = ("terminal",)  # "qr" is offered only while online
    payment_status: PaymentStatus | None = None
    payment_qr: str | None = None  # the text of the scan-to-pay QR, needed with "scan_to_pay"
    message: SaleMessage | None = None
    deadline: float | None = None  # time.monotonic(): while paying, the end of the payment's time limit
    variant: VariantView | None = None  # the colour or option being paid for


@dataclass(frozen=True, kw_only=True)
class DoorScreen:
    screen: ClassVar[str] = "door"
    chrome: Chrome = Chrome()
    product: ProductView | None = None  # what was bought (or collected), when known
    # All from the firmware's door cycle: "unlocked" (the opening is authorized: the latch is released, or
    # held again waiting for "unlock again"), "opened", "closed".
    door: DoorState = "closed"
    deadline: float | None = None  # time.monotonic(): the end of the time to open the door
    latch_until: float | None = None  # time.monotonic(): the relay holds the latch released until then
    can_unlock_again: bool = False  # the journey allows another release
    alarm: DoorAlarm | None = None
    prepaid: bool = False  # an online order being collected: no price to show


@dataclass(frozen=True, kw_only=True)
class ThanksScreen:
    """The end of a journey, saying what happened to the money: only "collected" thanks the shopper for a
    purchase; the others say the payment is being (or was) given back, or that a refund is flagged, with the
    reference and, where money is owed, the support phone. money has no default: no ending is happy by omission."""

    screen: ClassVar[str] = "thanks"
    chrome: Chrome = Chrome()
    product: ProductView | None = None
    money: MoneyOutcome
    reference: str = ""  # short, human: the retailer finds the sale (or order) by it
    receipt_no: str | None = None  # the payment terminal's receipt number, when it gave one
    receipt_qr: str = ""  # what the QR the shopper keeps carries: the receipt's address, or the reference
    support_phone: str = ""
    prepaid: bool = False  # an online order collected


@dataclass(frozen=True, kw_only=True)
class PickupScreen:
    screen: ClassVar[str] = "pickup"
    chrome: Chrome = Chrome()
    message: PickupMessage | None = None
    deadline: float | None = None  # time.monotonic(): the end of "pickup_locked"
    code_length: int = 6  # digits in a pickup code


@dataclass(frozen=True, kw_only=True)
class HelpScreen:
    screen: ClassVar[str] = "help"
    chrome: Chrome = Chrome()
    support_phone: str = ""
    support_url: str = ""  # optional web page, shown as text and QR
    context: str = ""  # the screen id help was opened from (its tip is shown; back returns there)


@dataclass(frozen=True, kw_only=True)
class PinPadScreen:
    screen: ClassVar[str] = "pin_pad"
    chrome: Chrome = Chrome()
    message: PinMessage | None = None
    attempts_left: int | None = None  # with "pin_wrong", when known
    deadline: float | None = None  # time.monotonic(): the end of "pin_locked"


@dataclass(frozen=True, kw_only=True)
class RestockScreen:
    """door "unlocked" -> "opened" -> "closed" (= recorded). Counts (sku, count), names from products;
    changes (sku, added; negative: taken out) shown beside them."""

    screen: ClassVar[str] = "restock"
    chrome: Chrome = Chrome()
    products: tuple[ProductView, ...] = ()
    door: DoorState = "closed"
    deadline: float | None = None  # time.monotonic(): the end of the time to open the door
    latch_until: float | None = None  # time.monotonic(): the relay holds the latch released until then
    can_unlock_again: bool = False
    counts: tuple[tuple[str, int], ...] = ()
    changes: tuple[tuple[str, int], ...] = ()
    alarm: DoorAlarm | None = None


@dataclass(frozen=True, kw_only=True)
class RepairScreen:
    """fields: values the firmware knows, (field, value); a value replaces what is typed when it differs
    from the one last sent. field_errors: (field or "category", error key), shown under it."""

    screen: ClassVar[str] = "repair"
    chrome: Chrome = Chrome()
    step: RepairStep
    fields: tuple[tuple[RepairField, str], ...] = ()
    field_errors: FieldErrors = ()
    fault_category: FaultCategory | None = None  # the category on record
    ticket: str | None = None  # step "ticket": the ticket number, shown large and as QR
    # "Continue on your phone": "offer" (the button; the cabinet is online and has consumer pages), then
    # "waiting" / "opened" while phone_link (<link_base>/f/<token>) is shown as a QR instead of the step
    phone: PhoneStatus | None = None
    phone_link: str | None = None


@dataclass(frozen=True, kw_only=True)
class ServiceScreen:
    screen: ClassVar[str] = "service"
    chrome: Chrome = Chrome()
    # (name, status, detail): each device's live state (its faults), not the self-test's; the detail is a
    # state ("locked", "closed", "ready"...: translated) or the fault's own words
    devices: tuple[tuple[str, DeviceStatus, str], ...] = ()
    selftest: SelfTestState | None = None  # None: not run
    selftest_faults: int = 0  # devices the last self-test found faulty
    sync: SyncView = SyncView()
    config_version: str = ""
    alarms: tuple[tuple[str, str], ...] = ()  # the open alarms: (device or "door"/"tamper", detail)
    network: NetworkView = NetworkView()
    version: str = ""  # the software's
    fingerprint: bool = False  # the cabinet has a fingerprint module: the menu offers to enrol a finger


# An enrolment's steps on screen: the module's (place, lift, place again), then its end.
EnrolStepView = Literal["place", "lift", "place_again", "done", "failed"]


@dataclass(frozen=True, kw_only=True)
class EnrolScreen:
    """Service: a staff finger enrolled on the fingerprint module, step by step."""

    screen: ClassVar[str] = "enrol"
    chrome: Chrome = Chrome()
    step: EnrolStepView = "place"
    slot: int | None = None  # where the template is stored: the retailer names its owner in the configuration
    error: str = ""  # failed: the module's own words


@dataclass(frozen=True, kw_only=True)
class CalibrateScreen:
    screen: ClassVar[str] = "calibrate"
    chrome: Chrome = Chrome()


@dataclass(frozen=True, kw_only=True)
class OutOfServiceScreen:
    screen: ClassVar[str] = "out_of_service"
    chrome: Chrome = Chrome()
    message: ShopperNotice | None = None  # what happened to the last buyer's money
    support_phone: str = ""
    reference: str = ""  # with a message: the last buyer's sale reference


SetupNeed = Literal["key", "enrolment", "config"]  # what a cabinet lacks before it can start


@dataclass(frozen=True)
class SetupDetail:
    """What is wrong, as the technician's tools say it: ``text`` in English, as the logs and `kiosk config check`
    print it; ``what`` (the checker's code) and ``params`` say it in another language (kiosk_ui/i18n.py, PROBLEMS)
    with the file (``where``) and the ``key`` as they are; ``more``: the further problems config check lists."""

    text: str
    where: str = ""
    key: str = ""
    what: str = ""
    params: tuple[tuple[str, str], ...] = ()
    more: int = 0


@dataclass(frozen=True, kw_only=True)
class TechnicianScreen:
    """The cabinet cannot start (not provisioned, not configured): what is missing, each with its detail as
    the technician's tools say it (a path, the configuration's problem), and the hardware id (as a QR too)
    the cabinet is provisioned with. Nothing here for a shopper: it sells nothing."""

    screen: ClassVar[str] = "technician"
    chrome: Chrome = Chrome()
    needs: tuple[tuple[SetupNeed, SetupDetail], ...] = ()
    hardware_id: str = ""


CallbackMessage = Literal["phone_invalid"]


@dataclass(frozen=True, kw_only=True)
class CallbackScreen:
    """A call-back for the manufacturer's customer service, asked from a product's screen: the purpose and
    the consent are shown, the number typed on the digits keys; ``sent`` once it is recorded."""

    screen: ClassVar[str] = "callback"
    chrome: Chrome = Chrome()
    product: ProductView
    message: CallbackMessage | None = None  # the number typed is not one
    sent: bool = False
    retention_days: int = 30  # how long the number is kept, as the consent says
    # "Continue on your phone", as on RepairScreen: "offer", then "waiting" / "opened" with phone_link's QR
    phone: PhoneStatus | None = None
    phone_link: str | None = None


@dataclass(frozen=True, kw_only=True)
class ErrorScreen:
    """Shown by the UI itself when a view cannot be rendered: a safe page in both languages."""

    screen: ClassVar[str] = "error"
    chrome: Chrome = Chrome()


View = (
    AttractScreen
    | CatalogScreen
    | ProductScreen
    | CheckoutScreen
    | DoorScreen
    | ThanksScreen
    | PickupScreen
    | HelpScreen
    | PinPadScreen
    | RestockScreen
    | RepairScreen
    | ServiceScreen
    | CalibrateScreen
    | EnrolScreen
    | OutOfServiceScreen
    | CallbackScreen
    | ErrorScreen
    | TechnicianScreen
)
VIEW_TYPES: tuple[type[View], ...] = get_args(View)
T = TypeVar("T", bound=str)


def member(options: tuple[T, ...], value: object, what: str) -> T:
    """value as one of options, or a ValueError naming what it was meant to be (the firmware's strings
    checked on their way into a view)."""
    for option in options:
        if option == value:
            return option
    raise ValueError(f"{what} {value!r} is not one of {options}")


def one_of(options: tuple[T, ...], value: object, what: str) -> T | None:
    """member(), with None passed through."""
    return None if value is None else member(options, value, what)


@dataclass(frozen=True)
class WidgetInfo:
    id: str
    rect: tuple[int, int, int, int]  # x, y, w, h in touchscreen pixels
    label: str
    enabled: bool = True
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
