"""What the person did, as the touchscreen tells the firmware: one frozen dataclass per kind of intent.

Every argument is a typed field (no "sku:count" or "name=value" strings). An intent that carries a
secret (a PIN, a pickup code, a key of its keypad) or a person's data (the repair form) says so in
``log_arg``: a log line, ``str()`` and ``repr()`` show the redacted form, the firmware reads the field.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar, Literal

from kiosk_ui.view import FaultCategory, PaymentMethod

BenchAction = Literal["pos/approve", "pos/decline", "door/open", "door/close", "nfc/present", "qr/show"]
Point = tuple[int, int]
REDACTED = "<redacted>"


@dataclass(frozen=True, repr=False)
class Intent:
    """The base of every intent; ``name`` is its stable short name (logs, the control API's journal)."""

    name: ClassVar[str] = "intent"

    @property
    def log_arg(self) -> str | None:
        """The argument(s) as a log line may show them; the default shows every field as it is."""
        values = [str(getattr(self, f.name)) for f in fields(self)]
        return ",".join(values) if values else None

    def __repr__(self) -> str:  # a log line that formats the intent itself shows no secret either
        return f"{type(self).__name__}({self.log_arg or ''})"

    __str__ = __repr__


# --- anyone, any screen -------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class Activity(Intent):
    """Any touch, swipes included: resets the idle timer."""

    name: ClassVar[str] = "activity"


@dataclass(frozen=True, repr=False)
class ToggleLanguage(Intent):
    name: ClassVar[str] = "lang"


@dataclass(frozen=True, repr=False)
class ToggleAccessibility(Intent):
    """The accessibility button: the mode on (or off again) for this shopper's session."""

    name: ClassVar[str] = "accessibility"


@dataclass(frozen=True, repr=False)
class Back(Intent):
    name: ClassVar[str] = "back"


@dataclass(frozen=True, repr=False)
class Cancel(Intent):
    name: ClassVar[str] = "cancel"


@dataclass(frozen=True, repr=False)
class Done(Intent):
    name: ClassVar[str] = "done"


@dataclass(frozen=True, repr=False)
class Home(Intent):
    """The header's home: leave the journey for the start screen, where nothing is lost by it."""

    name: ClassVar[str] = "home"


@dataclass(frozen=True, repr=False)
class OpenHelp(Intent):
    name: ClassVar[str] = "help"


@dataclass(frozen=True, repr=False)
class AdShown(Intent):
    """The ad's first frame is on screen: proof of play."""

    name: ClassVar[str] = "ad_shown"
    ad_id: str


@dataclass(frozen=True, repr=False)
class Bench(Intent):
    """A button of the simulation's bench panel (the shopper's hands), never seen by a journey."""

    name: ClassVar[str] = "bench"
    action: BenchAction


# --- the sale -------------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class Start(Intent):
    name: ClassVar[str] = "start"


@dataclass(frozen=True, repr=False)
class SelectProduct(Intent):
    name: ClassVar[str] = "select_product"
    sku: str


@dataclass(frozen=True, repr=False)
class ChooseVariant(Intent):
    """The product page: a colour or other option chosen (a VariantView.sku)."""

    name: ClassVar[str] = "variant"
    sku: str


@dataclass(frozen=True, repr=False)
class OpenAd(Intent):
    """The attract screen touched while an ad shows: its product's page, or the catalog."""

    name: ClassVar[str] = "open_ad"
    ad_id: str


@dataclass(frozen=True, repr=False)
class Turn(Intent):
    """The product's 360° view was turned by a finger (a drag let go): counted for the shopper funnel."""

    name: ClassVar[str] = "turn"


@dataclass(frozen=True, repr=False)
class Listen(Intent):
    """The product page's listen control: play its narration, or stop it."""

    name: ClassVar[str] = "listen"


@dataclass(frozen=True, repr=False)
class Buy(Intent):
    name: ClassVar[str] = "buy"


@dataclass(frozen=True, repr=False)
class Pay(Intent):
    name: ClassVar[str] = "pay"
    method: PaymentMethod


@dataclass(frozen=True, repr=False)
class UnlockAgain(Intent):
    name: ClassVar[str] = "unlock_again"


# --- pickup ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class OpenPickup(Intent):
    name: ClassVar[str] = "pickup"


@dataclass(frozen=True, repr=False)
class PressKey(Intent):
    """A key of the pickup keypad: "0".."9" or "back" (the UI keeps the code being typed)."""

    name: ClassVar[str] = "key"
    key: str

    @property
    def log_arg(self) -> str:
        return "digit" if self.key.isdigit() else self.key


@dataclass(frozen=True, repr=False)
class SubmitPickupCode(Intent):
    name: ClassVar[str] = "pickup_submit"
    code: str

    @property
    def log_arg(self) -> str:
        return REDACTED


# --- staff: restock and service -------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class OpenStaff(Intent):
    """A press of staff_hold_s on the brand: the hidden staff entry."""

    name: ClassVar[str] = "staff"


@dataclass(frozen=True, repr=False)
class SubmitPin(Intent):
    name: ClassVar[str] = "pin_submit"
    pin: str

    @property
    def log_arg(self) -> str:
        return REDACTED


@dataclass(frozen=True, repr=False)
class SetCount(Intent):
    """Restock: the count the retailer set for a product (0..999)."""

    name: ClassVar[str] = "count"
    sku: str
    count: int


@dataclass(frozen=True, repr=False)
class RunSelfTest(Intent):
    name: ClassVar[str] = "selftest"


@dataclass(frozen=True, repr=False)
class LockTest(Intent):
    name: ClassVar[str] = "lock_test"


@dataclass(frozen=True, repr=False)
class EnrolFingerprint(Intent):
    """Service: enrol a staff finger on the fingerprint module."""

    name: ClassVar[str] = "enrol_fingerprint"


@dataclass(frozen=True, repr=False)
class OpenCalibration(Intent):
    name: ClassVar[str] = "calibrate"


@dataclass(frozen=True, repr=False)
class SubmitCalibration(Intent):
    """Where the four targets were touched, in touchscreen px: top-left, top-right, bottom-right,
    bottom-left (see view.CALIBRATION_INSET)."""

    name: ClassVar[str] = "calibration"
    points: tuple[Point, Point, Point, Point]


@dataclass(frozen=True, repr=False)
class Restart(Intent):
    """Service: the confirming second tap on restart."""

    name: ClassVar[str] = "restart"


@dataclass(frozen=True, repr=False)
class ExitService(Intent):
    name: ClassVar[str] = "exit"


# --- repair drop-off ------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class OpenRepair(Intent):
    name: ClassVar[str] = "repair"


@dataclass(frozen=True, repr=False)
class SetField(Intent):
    """A repair form's value, sent for each field of the step before ``Next``."""

    name: ClassVar[str] = "field"
    field: str  # "vehicle", "name", "phone", "description"
    value: str

    @property
    def log_arg(self) -> str:
        return f"{self.field}={REDACTED}"


@dataclass(frozen=True, repr=False)
class ChooseFaultCategory(Intent):
    name: ClassVar[str] = "fault_category"
    category: FaultCategory


@dataclass(frozen=True, repr=False)
class Next(Intent):
    name: ClassVar[str] = "next"


# --- a call-back for the manufacturer's customer service ---------------------------------------------------
@dataclass(frozen=True, repr=False)
class OpenCallback(Intent):
    """ "Call me back" on a product's screen."""

    name: ClassVar[str] = "callback"


@dataclass(frozen=True, repr=False)
class RequestCallback(Intent):
    """The number typed and the consent agreed to, as the screen showed it (text, version, language)."""

    name: ClassVar[str] = "callback_send"
    phone: str
    consent_text: str
    consent_version: str
    language: str

    @property
    def log_arg(self) -> str:
        return f"{REDACTED},consent {self.consent_version}"


@dataclass(frozen=True, repr=False)
class Agree(Intent):
    name: ClassVar[str] = "agree"


@dataclass(frozen=True, repr=False)
class ContinueOnPhone(Intent):
    """Show the form's QR (repair, call-back): the shopper fills it in on their phone."""

    name: ClassVar[str] = "continue_on_phone"


@dataclass(frozen=True, repr=False)
class CancelPhone(Intent):
    """Back to typing at the cabinet: the phone's link stops working."""

    name: ClassVar[str] = "cancel_phone"
