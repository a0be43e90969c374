"""The wire contract between cabinet and cloud: event schema and request signing.

This is the one module that ``cloud_stub`` imports from the cabinet side.
"""

from __future__ import annotations

import calendar
import datetime
import hashlib
import hmac
import json
import math
import re
import secrets
import time
import typing
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

SCHEMA_VERSION = 1
MAX_SEQ = 2**63 - 1  # SQLite's INTEGER range, on both sides; also the bound of every integer in a payload
# The payment cap: no amount in an event or a scan-to-pay request is above it (100 000.00 in the currency,
# the same as the catalog's highest price, cabinet_config.MAX_PRICE_CENTS).
MAX_AMOUNT_CENTS = 10_000_000
MAX_TEXT_CHARS = 8192  # any string in a payload (a QR code holds at most 7089 characters)
MAX_PAYLOAD_DEPTH = 8  # nested lists and objects in a payload (selftest results)
MAX_DURATION_S = 10 * 366 * 24 * 3600.0  # seconds, open_s, shown_s: a door left open for years is an error
# An event's wall time is believed within this many seconds of the cloud's clock either way.
WALL_TIME_SPREAD_S = 10 * 366 * 24 * 3600.0
AMOUNT_FIELDS = frozenset({"amount_cents"})
DURATION_FIELDS = frozenset({"seconds", "open_s", "shown_s"})
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
WALL_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")


@dataclass(frozen=True)
class Range:
    """The values a numeric field accepts: always finite, then above ``gt`` (or from ``ge``) and at most ``le``.

    Declared once per field, in its type (``Annotated[float, Range(gt=0)]``): the cabinet's TOML
    sections, the configuration document's field specs and the commands' args all read it from there.
    """

    gt: float | None = None
    ge: float | None = None
    le: float | None = None

    def bounds(self) -> str:
        """ " >= 1 and <= 10" (with its leading space), "" for a Range that only asks for a finite number."""
        bounds = [f"{op} {_fmt(b)}" for op, b in ((">", self.gt), (">=", self.ge), ("<=", self.le)) if b is not None]
        return " " + " and ".join(bounds) if bounds else ""

    def describe(self, integer: bool) -> str:
        return ("an integer" if integer else "a finite number") + self.bounds()

    def problem(self, value: float, integer: bool = False) -> str | None:
        """None when ``value`` is in range, else "expected a finite number > 0, got nan"."""
        finite = isinstance(value, int) or math.isfinite(value)
        if (
            finite
            and (self.gt is None or value > self.gt)
            and (self.ge is None or value >= self.ge)
            and (self.le is None or value <= self.le)
        ):
            return None
        return f"expected {self.describe(integer)}, got {value!r}"


def _fmt(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else repr(bound)


def ranged(spec: Any) -> tuple[Any, Range | None]:
    """A field spec without its Range, and the Range (None when it declares none)."""
    if typing.get_origin(spec) is Annotated:
        base, *extras = typing.get_args(spec)
        return base, next((e for e in extras if isinstance(e, Range)), None)
    return spec, None


# Event type -> required payload fields and their JSON types.
# Optional fields may be present too; unknown event types are rejected.
# Adding a type or an optional field keeps SCHEMA_VERSION; changing a required field bumps it.
_STR_OR_NULL = (str, type(None))
MAX_FOOTFALL = 1_000_000  # people counted in one footfall.counted interval
_NUMBER = (int, float)
EVENT_TYPES: dict[str, dict[str, Any]] = {  # a field's type, a tuple of types, or one with its Range
    # money and the sale
    "payment.approved": {
        "sale_id": str,
        "sku": str,
        "amount_cents": int,
        "currency": str,
        "method": str,
        "receipt_no": _STR_OR_NULL,
        "trace_no": _STR_OR_NULL,
    },
    "payment.failed": {"sale_id": str, "sku": str, "amount_cents": int, "currency": str, "method": str, "outcome": str},
    "sale.completed": {
        "sale_id": str,
        "sku": str,
        "amount_cents": int,
        "currency": str,
        "door_opened_at": str,
        "door_closed_at": str,
    },
    "sale.unclaimed": {"sale_id": str, "sku": str, "amount_cents": int, "currency": str, "action": str},
    "payment.reversed": {"sale_id": str, "receipt_no": str, "amount_cents": int, "currency": str},
    # the door
    "door.unlocked": {"reason": str, "seconds": _NUMBER},
    "door.opened": {"authorized": bool},
    "door.closed": {"open_s": _NUMBER},
    # readers
    "card.read": {"uid": str},
    "code.scanned": {"text": str, "source": str},
    # pickup of an online order, restock and stock counts
    "pickup.completed": {"order_id": str, "sku": str},
    "pickup.refused": {"reason": str},
    "pickup.interrupted": {"order_id": str, "action": str},  # a power cut before the door opened
    "restock.interrupted": {"who": _STR_OR_NULL, "door_opened": bool},  # a power cut mid-restock
    "restock.recorded": {"sku": str, "added": int, "count": int, "staff_uid": _STR_OR_NULL},
    "stock.changed": {"sku": str, "count": int, "reason": str},
    # access: every PIN and staff-card attempt (never the PIN itself)
    "auth.attempt": {"method": str, "purpose": str, "ok": bool},
    # staff fingerprints (issue 17): a template enrolled at a slot of the cabinet's module (for the retailer to
    # name in retailer.staff_fingerprints), or deleted there: reason "removed" (a configuration named the slot,
    # a later one no longer does) or "never_named" (not named within fingerprint.name_within_days)
    "fingerprint.enrolled": {"slot": (int, type(None)), "ok": bool, "detail": str},
    "fingerprint.deleted": {"slot": int, "ok": bool, "detail": str, "reason": str},
    # service
    "service.action": {"action": str, "result": str},
    "selftest.completed": {"passed": bool, "results": list},
    "repair.ticket": {"ticket_id": str, "device": str, "detail": str, "status": str},
    # the cabinet offers a form on the shopper's phone (<link_base>/f/<token>), then withdraws it (issue 15)
    "form.offered": {"token": str, "form": str, "valid_s": _NUMBER},
    "form.closed": {"token": str},
    "alarm": {"kind": str, "detail": str},
    "device.fault": {"device": str, "detail": str},
    "heartbeat": {},
    "ad.impression": {"ad_id": str, "shown_s": _NUMBER},  # one play (cabinets before ad.plays)
    "ad.plays": {"plays": list},  # plays counted on the cabinet: [{ad_id, count, shown_s, first_at, last_at}]
    "accessibility.used": {"screen": str},  # a shopper turned accessibility mode on (where); nothing personal
    # one anonymous shopper session, from the first touch to the idle timeout (firmware/shopper_sessions.py)
    "session.ended": {
        "started_at": str,
        "ended_at": str,
        "ended_by": str,
        "screens": list,
        "products": list,
        "step": str,
        "left_at": str,
        "ad_id": _STR_OR_NULL,
    },
    # people counted in front of the cabinet by its camera (firmware/footfall.py): counts only, no image; one
    # event per UTC day of an interval, from its first count to its last (issue 15)
    "footfall.counted": {
        "started_at": str,
        "ended_at": str,
        "passers": Annotated[int, Range(ge=0, le=MAX_FOOTFALL)],
        "stoppers": Annotated[int, Range(ge=0, le=MAX_FOOTFALL)],
    },
    # a shopper asked the manufacturer's customer service to call back, consenting to the text shown (issue 15)
    "callback.requested": {
        "request_id": str,
        "sku": str,
        "phone": str,
        "consent_text": str,
        "consent_version": str,
        "language": str,
    },
    # what the cabinet did with what the cloud sent down
    "config.applied": {"version": int, "etag": str},
    "config.rejected": {"version": (int, type(None)), "etag": str, "reason": str},
    "command.applied": {"command_id": str, "kind": str, "result": str},
    # signed updates (issue 18): a release refused by TUF, one that passed its health check, one rolled back
    "update.refused": {"version": _STR_OR_NULL, "reason": str},
    "update.installed": {"version": str, "previous": str},
    "update.failed": {"version": str, "running": str, "reason": str},
    # a command that reached the cabinet after its expiry, judged by the cloud's signed clock
    "command.expired": {"command_id": str, "kind": str, "expires_at": str, "cloud_time": str},
}

# Events that record money: committed with synchronous=FULL before anything physical happens.
MONEY_EVENTS = frozenset(
    {"payment.approved", "payment.reversed", "sale.completed", "sale.unclaimed", "pickup.completed"}
)
# Events a full outbox may refuse (OutboxFull) so that money and alarms keep their room.
SHEDDABLE_EVENTS = frozenset(
    {
        "heartbeat",
        "ad.impression",
        "ad.plays",
        "card.read",
        "code.scanned",
        "accessibility.used",
        "session.ended",
        "footfall.counted",
    }
)


# Commands the cloud queues for a cabinet (GET /v1/commands): kind -> required args.
MAX_UNLOCK_COMMAND_S = 30
COMMAND_KINDS: dict[str, dict[str, Any]] = {
    # e.g. the retailer opens the door remotely
    "unlock": {"seconds": Annotated[float, Range(gt=0, le=MAX_UNLOCK_COMMAND_S)], "reason": str},
    "refresh_config": {},  # pull the configuration now
    "restart": {},  # restart the cabinet service when idle
    # give an unclaimed sale's payment back again (a reversal or refund flagged refund_needed): the owner's refund
    "refund": {"sale_id": str},
    "selftest": {},  # run every device check now; the results go up as selftest.completed
    "snapshot": {},  # take a photo of the door now; it is uploaded like the door's own
    "update_check": {},  # look for a signed release now (issue 18); it downloads only while idle
    # "Continue on your phone" (issue 15): the phone opened the cabinet's form, then sent it filled in
    "form_opened": {"token": str},
    "repair_form": {"token": str, "vehicle": str, "name": str, "phone": str, "category": str, "description": str},
    # the call-back asked on the phone: the number and the consent the phone showed (one the cabinet offered)
    "callback_form": {"token": str, "phone": str, "consent_text": str, "consent_version": str, "language": str},
}
# Commands only the cloud's consumer pages send (a shopper's phone), never a retailer's API call or console.
CLOUD_ONLY_COMMANDS = frozenset({"form_opened", "repair_form", "callback_form"})
# How long a queued command stays valid: kind -> (default, longest a retailer may ask for), in seconds.
# A remote unlock is for someone standing at the cabinet now; a late one would open it for no one.
COMMAND_TTL_S: dict[str, tuple[int, int]] = {
    "unlock": (120, 120),
    "refresh_config": (3600, 24 * 3600),
    "restart": (3600, 24 * 3600),
    "refund": (24 * 3600, 7 * 24 * 3600),  # a cabinet offline for a day still gets it
    "selftest": (600, 3600),
    "snapshot": (300, 3600),
    "update_check": (24 * 3600, 7 * 24 * 3600),  # a check asked for while offline still happens
    "form_opened": (600, 600),  # a hand-off lives minutes: a late one finds the cabinet moved on
    "repair_form": (600, 600),
    "callback_form": (600, 600),
}


class SchemaError(ValueError):
    """An event or batch that does not follow the schema; names the offending field."""


@dataclass(frozen=True)
class Event:
    id: str
    cabinet_id: str
    seq: int
    type: str
    wall_time: str  # ISO 8601 UTC, e.g. 2026-11-25T16:39:53.123Z
    mono_time: float  # time.monotonic() of the cabinet when the event happened
    payload: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def new_event_id(at: float | None = None) -> str:
    """A UUID version 7 (RFC 9562): the event's time in milliseconds, then 74 random bits. Ids minted later sort
    later, so the cloud's unique index on them grows at its end instead of dirtying a random page of it for
    every event (a random UUID's cost in every store that keeps millions of them). ``at``: the event's Unix
    time (now by default)."""
    ms = int((time.time() if at is None else at) * 1000) & (1 << 48) - 1
    rand = int.from_bytes(secrets.token_bytes(10))
    value = ms << 80 | 0x7 << 76 | (rand >> 62 & 0xFFF) << 64 | 0b10 << 62 | rand & (1 << 62) - 1
    return str(uuid.UUID(int=value))


def utc_iso(ts: float) -> str:
    """ISO 8601 UTC with milliseconds: 2026-11-25T16:39:53.123Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


def utc_now_iso() -> str:
    return utc_iso(time.time())


def parse_utc_iso(text: Any, where: str) -> float:
    """Seconds since the epoch from ``utc_iso``'s format; SchemaError naming ``where`` otherwise."""
    if not isinstance(text, str) or not WALL_TIME_RE.fullmatch(text):
        raise SchemaError(f"{where}: not ISO 8601 UTC like 2026-11-25T16:39:53.123Z: {str(text)[:40]!r}")
    seconds = _utc_seconds(text, last_second=59)
    if seconds is None:
        raise SchemaError(f"{where}: not a real date and time: {text!r}")
    return seconds + float("0" + text[19:-1])


def _utc_seconds(text: str, last_second: int) -> int | None:
    """Whole seconds since the epoch of a text WALL_TIME_RE matched; None when it is no real date and time.
    Read from its fixed columns (strptime took a third of an event's checks in the cloud's ingest); seconds
    up to ``last_second`` (61: the leap seconds strptime allowed in a wall time)."""
    hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
    if hour > 23 or minute > 59 or second > last_second:
        return None
    try:
        day = datetime.date(int(text[:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:  # month 13, 30 February, year 0
        return None
    return (day.toordinal() - _EPOCH_ORDINAL) * 86400 + hour * 3600 + minute * 60 + second


_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()


def _check(value: Any, spec: Any, where: str) -> None:
    if type(value) is spec:  # the usual case: a JSON value of exactly the plain type asked for
        return
    compiled = _COMPILED.get(spec)
    if compiled is None:
        compiled = _COMPILED[spec] = _compile(spec)
    expected, bounds = compiled
    _check_type(value, expected, where)
    if bounds is not None and (problem := bounds.problem(value, integer=expected is int)):
        raise SchemaError(f"{where}: {problem}")


def _compile(spec: Any) -> tuple[type | tuple[type, ...], Range | None]:
    """What ``_check`` reads of a field spec, worked out once per spec (typing's look-ups are slow)."""
    expected, bounds = ranged(spec)
    return (_NUMBER if expected is float else expected), bounds  # a JSON number: 3 and 3.0 alike


_COMPILED: dict[Any, tuple[type | tuple[type, ...], Range | None]] = {}


def _check_type(value: Any, expected: type | tuple[type, ...], where: str) -> None:
    # Exact JSON types first: the cloud checks every field of every event it ingests.
    if type(value) is expected or type(expected) is tuple and type(value) in expected:
        return
    # bool is an int in Python; JSON keeps them apart, and so do we.
    expected_t = expected if isinstance(expected, tuple) else (expected,)
    if isinstance(value, bool) and bool not in expected_t:
        raise SchemaError(f"{where}: expected {_names(expected_t)}, got boolean")
    if not isinstance(value, expected_t):
        raise SchemaError(f"{where}: expected {_names(expected_t)}, got {type(value).__name__}")


def _names(types: tuple[type, ...]) -> str:
    return " or ".join("null" if t is type(None) else t.__name__ for t in types)


def validate_payload(event_type: str, payload: Any, where: str = "payload") -> None:
    """The one check of a payload, on the cabinet when it appends and in the cloud when it ingests:
    the type's fields and their JSON types, then the bounds of every value (amounts within the payment
    cap, durations finite and in range, integers within 64 bits, strings bounded and valid Unicode)."""
    if event_type not in EVENT_TYPES:
        raise SchemaError(f"type: unknown event type {event_type!r}")
    if not isinstance(payload, dict):
        raise SchemaError(f"{where}: expected object, got {type(payload).__name__}")
    for key, expected in EVENT_TYPES[event_type].items():
        if key not in payload:
            raise SchemaError(f"{where}.{key}: required for {event_type}")
        _check(payload[key], expected, f"{where}.{key}")
    for key, value in payload.items():
        if key in AMOUNT_FIELDS and type(value) is int:
            _in_range(value, 1, MAX_AMOUNT_CENTS, f"{where}.{key}", "the cap")
        elif key in DURATION_FIELDS and type(value) in (int, float):
            _in_range(value, 0, MAX_DURATION_S, f"{where}.{key}", "the longest duration")
    if event_type == "ad.plays":
        _check_plays(payload["plays"], f"{where}.plays")
    if event_type == "session.ended":
        _check_session(payload, where)
    if event_type == "footfall.counted":
        _check_footfall(payload, where)
    if event_type == "payment.approved" and "receipt_token" in payload:
        _check_receipt_token(payload["receipt_token"], payload["sale_id"], f"{where}.receipt_token")
    if event_type == "callback.requested":
        _check_callback(payload, where)
    if event_type in ("form.offered", "form.closed") and not FORM_TOKEN_RE.fullmatch(payload["token"]):
        raise SchemaError(f"{where}.token: expected 22 URL-safe base64 characters")
    if event_type == "form.offered" and payload["form"] == "callback":
        _check_callback_offer(payload, where)
    _check_bounds(payload, where, 0)


# A sale's receipt token (optional in payment.approved): the sale's reference digits (S- and these, as the
# thanks screen shows them) and 128 random bits (22 URL-safe base64 characters). The cabinet makes it at the
# sale, so the thanks screen's QR works offline and the receipt appears once the approval is uploaded.
RECEIPT_TOKEN_RE = re.compile(r"([0-9A-F]{8})([A-Za-z0-9_-]{22})")


def sale_reference(sale_id: str) -> str:
    """The short reference a shopper reads out and the retailer finds the sale by (its id's first 8 digits)."""
    return "S-" + sale_id.replace("-", "")[:8].upper()


def new_receipt_token(sale_id: str) -> str:
    return sale_reference(sale_id)[2:] + secrets.token_urlsafe(16)


def receipt_token_reference(token: str) -> str | None:
    """The reference a receipt token carries (S-XXXXXXXX); None when ``token`` is no receipt token."""
    match = RECEIPT_TOKEN_RE.fullmatch(token)
    return "S-" + match[1] if match else None


PHONE_RE = re.compile(r"(\+?)([0-9]{7,15})")


def normalise_phone(text: str) -> str | None:
    """A customer's phone number: optional +, then 7-15 digits; spaces and dashes are ignored. Returns
    +<digits> or <digits> (the repair form, a call-back, an order's notification), None when it is not one."""
    match = PHONE_RE.fullmatch(re.sub(r"[\s-]", "", text))
    return match.group(1) + match.group(2) if match else None


# --- the repair form: one set of rules for the cabinet's keyboard and the phone's form -------------------
FAULT_CATEGORIES = ("battery", "brakes", "tyre", "motor", "display", "other")
MAX_NAME, MAX_DESCRIPTION = 60, 200
_FRAME_RE = re.compile(r"[A-Z0-9]{6,20}")
# The punctuation of names and addresses ("Müller & Söhne", "J. O'Brien-Smith"); · separates given and
# family names in Chinese transliterations
_NAME_MARKS = frozenset(" -'’·.,/&")
# Error keys the screens translate (the cabinet's field_error.<key>, the phone form's form_error.<key>).
VEHICLE_INVALID, NAME_INVALID, PHONE_INVALID = "vehicle_invalid", "name_invalid", "phone_invalid"
DESCRIPTION_INVALID, CATEGORY_MISSING = "required", "category_required"


def normalise_vehicle(text: str) -> str | None:
    """A typed frame number: 6-20 letters and digits; spaces are ignored, letters made upper case."""
    candidate = "".join(text.split()).upper()
    return candidate if _FRAME_RE.fullmatch(candidate) else None


def normalise_name(text: str) -> str | None:
    """1-60 characters: letters of any script (CJK too, as typed: "Müller" stays "Müller"), spaces and the
    punctuation of names (- ' . , / &)."""
    name = " ".join(unicodedata.normalize("NFC", text).split())
    if not 1 <= len(name) <= MAX_NAME or not any(c.isalpha() for c in name):
        return None
    return name if all(c.isalpha() or c in _NAME_MARKS for c in name) else None


def normalise_description(text: str) -> str | None:
    """1-200 characters of printable text; line breaks become spaces."""
    description = " ".join(text.split())
    if not 1 <= len(description) <= MAX_DESCRIPTION or not description.isprintable():
        return None
    return description


REPAIR_FIELD_CHECKS: dict[str, tuple[typing.Callable[[str], str | None], str]] = {
    "vehicle": (normalise_vehicle, VEHICLE_INVALID),
    "name": (normalise_name, NAME_INVALID),
    "phone": (normalise_phone, PHONE_INVALID),
    "description": (normalise_description, DESCRIPTION_INVALID),
}
FORM_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{22}")  # 128 random bits, URL-safe base64 (secrets.token_urlsafe(16))


def parse_repair_form(fields: Mapping[str, str]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The whole repair form at once (the phone's, or a repair_form command): the normalised values, and
    (field, error key) for each field that is not acceptable; the values are complete when there are none."""
    values: dict[str, str] = {}
    errors: list[tuple[str, str]] = []
    category = fields.get("category", "")
    if category in FAULT_CATEGORIES:
        values["category"] = category
    else:
        errors.append(("category", CATEGORY_MISSING))
    for name, (normalise, error) in REPAIR_FIELD_CHECKS.items():
        value = normalise(str(fields.get(name, ""))[: 4 * MAX_DESCRIPTION])  # longer is wrong anyway: cap the work
        if value is None:
            errors.append((name, error))
        else:
            values[name] = value
    return values, errors


# A call-back's consent: the version names the text the shopper agreed to (kiosk_ui's CALLBACK_CONSENT_VERSION).
CONSENT_VERSION_RE = re.compile(r"[A-Za-z0-9._-]{1,16}")
MAX_CONSENT_CHARS = 2000
LANGUAGE_RE = re.compile(r"[a-z]{2}(-[A-Za-z0-9]{2,8})?")


def _check_callback_offer(payload: dict[str, Any], where: str) -> None:
    """A call-back offered on a phone names its product and the consent the cabinet shows: its version and
    its text per language ({language: text}), which the phone's page shows and sends back."""
    if not isinstance(payload.get("sku"), str) or not payload["sku"]:
        raise SchemaError(f"{where}.sku: required for a call-back's form")
    if not isinstance(payload.get("consent_version"), str) or not CONSENT_VERSION_RE.fullmatch(
        payload["consent_version"]
    ):
        raise SchemaError(f"{where}.consent_version: expected 1 to 16 letters, digits, '.', '_' or '-'")
    consent = payload.get("consent")
    if not isinstance(consent, dict) or not consent:
        raise SchemaError(f"{where}.consent: expected the consent's text per language")
    for language, text in consent.items():
        if not LANGUAGE_RE.fullmatch(language):
            raise SchemaError(f"{where}.consent: {language!r} is not a language code such as 'en' or 'zh'")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_CONSENT_CHARS:
            raise SchemaError(f"{where}.consent.{language}: expected 1 to {MAX_CONSENT_CHARS} characters")


def _check_callback(payload: dict[str, Any], where: str) -> None:
    """A call-back request carries an id, the phone as normalise_phone gives it, the consent text shown (not
    empty, bounded) and its version, and the language it was shown in."""
    if not UUID_RE.fullmatch(payload["request_id"]):
        raise SchemaError(f"{where}.request_id: expected a UUID")
    if normalise_phone(payload["phone"]) != payload["phone"]:
        raise SchemaError(f"{where}.phone: expected an optional + and 7 to 15 digits")
    if not payload["consent_text"].strip() or len(payload["consent_text"]) > MAX_CONSENT_CHARS:
        raise SchemaError(f"{where}.consent_text: expected the consent shown, 1 to {MAX_CONSENT_CHARS} characters")
    if not CONSENT_VERSION_RE.fullmatch(payload["consent_version"]):
        raise SchemaError(f"{where}.consent_version: expected 1 to 16 letters, digits, '.', '_' or '-'")
    if not LANGUAGE_RE.fullmatch(payload["language"]):
        raise SchemaError(f"{where}.language: expected a language code such as 'en' or 'zh'")


def _check_receipt_token(token: Any, sale_id: str, where: str) -> None:
    if not isinstance(token, str) or receipt_token_reference(token) != sale_reference(sale_id):
        raise SchemaError(f"{where}: expected the sale's reference digits and 22 URL-safe characters")


_PLAY_FIELDS: dict[str, Any] = {
    "ad_id": str,
    "count": Annotated[int, Range(ge=1, le=MAX_SEQ)],
    "shown_s": Annotated[float, Range(ge=0, le=MAX_DURATION_S)],
    "first_at": str,
    "last_at": str,
}


def _check_plays(plays: list[Any], where: str) -> None:
    """Each ad's entry in an ``ad.plays`` event: its id once, a count of at least 1, the first and last play."""
    seen: set[str] = set()
    for index, entry in enumerate(plays):
        at = f"{where}[{index}]"
        if not isinstance(entry, dict):
            raise SchemaError(f"{at}: expected object, got {type(entry).__name__}")
        for key, spec in _PLAY_FIELDS.items():
            if key not in entry:
                raise SchemaError(f"{at}.{key}: required")
            _check(entry[key], spec, f"{at}.{key}")
        if entry["ad_id"] in seen:
            raise SchemaError(f"{at}.ad_id: {entry['ad_id'][:40]!r} listed twice")
        seen.add(entry["ad_id"])
        if parse_utc_iso(entry["first_at"], f"{at}.first_at") > parse_utc_iso(entry["last_at"], f"{at}.last_at"):
            raise SchemaError(f"{at}.last_at: before first_at")


# A shopper session's steps, in funnel order: touched the screen, viewed a product, started a checkout, paid.
SESSION_STEPS = ("touch", "product", "checkout", "paid")
SESSION_ENDINGS = ("idle", "stop")
PAYMENT_OUTCOMES = ("approved", "declined", "timed_out", "cancelled", "fault")
MAX_SESSION_PRODUCTS = 50
MAX_SESSION_SCREENS = 32
MAX_NAME_CHARS = 64  # a screen id, a SKU or an ad id in a session
_VISIT_FIELDS: dict[str, Any] = {
    "sku": str,
    "dwell_s": Annotated[float, Range(ge=0, le=MAX_DURATION_S)],
    "turns": Annotated[int, Range(ge=0, le=MAX_SEQ)],
    "narrations": Annotated[int, Range(ge=0, le=MAX_SEQ)],
    "variant": _STR_OR_NULL,
    "checkout": bool,
    "payment": _STR_OR_NULL,
}


def _check_name(value: Any, where: str) -> None:
    if isinstance(value, str) and not 0 < len(value) <= MAX_NAME_CHARS:
        raise SchemaError(f"{where}: expected 1 to {MAX_NAME_CHARS} characters, got {len(value)}")


def _one_of(value: str, allowed: tuple[str, ...], where: str) -> None:
    if value not in allowed:
        raise SchemaError(f"{where}: expected one of {', '.join(allowed)}, got {value[:40]!r}")


def _check_session(payload: dict[str, Any], where: str) -> None:
    """A ``session.ended`` event: its times in order, its step and ending known, its screens and products
    bounded (each product once, its counts whole and its payment's end one the cabinet knows)."""
    started = parse_utc_iso(payload["started_at"], f"{where}.started_at")
    if parse_utc_iso(payload["ended_at"], f"{where}.ended_at") < started:
        raise SchemaError(f"{where}.ended_at: before started_at")
    _one_of(payload["ended_by"], SESSION_ENDINGS, f"{where}.ended_by")
    _one_of(payload["step"], SESSION_STEPS, f"{where}.step")
    _check_name(payload["left_at"], f"{where}.left_at")
    _check_name(payload["ad_id"], f"{where}.ad_id")
    screens = payload["screens"]
    if len(screens) > MAX_SESSION_SCREENS:
        raise SchemaError(f"{where}.screens: more than {MAX_SESSION_SCREENS}")
    for index, screen in enumerate(screens):
        _check(screen, str, f"{where}.screens[{index}]")
        _check_name(screen, f"{where}.screens[{index}]")
    products = payload["products"]
    if len(products) > MAX_SESSION_PRODUCTS:
        raise SchemaError(f"{where}.products: more than {MAX_SESSION_PRODUCTS}")
    seen: set[str] = set()
    for index, visit in enumerate(products):
        at = f"{where}.products[{index}]"
        if not isinstance(visit, dict):
            raise SchemaError(f"{at}: expected object, got {type(visit).__name__}")
        for key, spec in _VISIT_FIELDS.items():
            if key not in visit:
                raise SchemaError(f"{at}.{key}: required")
            _check(visit[key], spec, f"{at}.{key}")
        _check_name(visit["sku"], f"{at}.sku")
        if visit["sku"] in seen:
            raise SchemaError(f"{at}.sku: {visit['sku']!r} listed twice")
        seen.add(visit["sku"])
        if visit["payment"] is not None:
            _one_of(visit["payment"], PAYMENT_OUTCOMES, f"{at}.payment")


def _check_footfall(payload: dict[str, Any], where: str) -> None:
    """A ``footfall.counted`` event: its interval in order and within one UTC day (the day it is counted on)."""
    started = parse_utc_iso(payload["started_at"], f"{where}.started_at")
    ended = parse_utc_iso(payload["ended_at"], f"{where}.ended_at")
    if ended < started:
        raise SchemaError(f"{where}.ended_at: before started_at")
    if payload["ended_at"][:10] != payload["started_at"][:10]:
        raise SchemaError(f"{where}.ended_at: not on started_at's UTC day")


def _check_bounds(value: Any, where: str, depth: int) -> None:
    """Every value in a payload is one JSON can carry and both SQLite and the cabinet can store."""
    if type(value) in (dict, list) and depth < MAX_PAYLOAD_DEPTH:
        # The common leaves (short ASCII text, booleans, null) pass here without a name made for them.
        items = value.items() if type(value) is dict else enumerate(value)
        for key, item in items:
            if isinstance(key, str) and not (len(key) <= MAX_TEXT_CHARS and key.isascii()):
                _check_text(key, f"{where} key")
            kind = type(item)
            if kind is str and len(item) <= MAX_TEXT_CHARS and item.isascii() or kind is bool or item is None:
                continue
            _check_bounds(item, f"{where}.{key}" if type(value) is dict else f"{where}[{key}]", depth + 1)
    elif isinstance(value, str):
        _check_text(value, where)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        _in_range(value, -MAX_SEQ, MAX_SEQ, where, "the 64-bit range")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise SchemaError(f"{where}: {value} is not a finite number")
    elif isinstance(value, (list, dict)):
        if depth >= MAX_PAYLOAD_DEPTH:
            raise SchemaError(f"{where}: nested deeper than {MAX_PAYLOAD_DEPTH} levels")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str):
                _check_text(key, f"{where} key")
            _check_bounds(item, f"{where}.{key}" if isinstance(value, dict) else f"{where}[{key}]", depth + 1)
    else:
        raise SchemaError(f"{where}: {type(value).__name__} is not a JSON value")


def _check_text(value: str, where: str) -> None:
    if len(value) > MAX_TEXT_CHARS:
        raise SchemaError(f"{where}: {len(value)} characters, more than {MAX_TEXT_CHARS}")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise SchemaError(f"{where}: not valid Unicode (a lone surrogate)") from None


def _in_range(value: float, low: float, high: float, where: str, high_name: str) -> None:
    if value < low:
        raise SchemaError(f"{where}: {_shown(value)} is below the minimum {_shown(low)}")
    if value > high:
        raise SchemaError(f"{where}: {_shown(value)} exceeds {high_name} {_shown(high)}")


def _shown(value: Any) -> str:
    """A number for a message: whole numbers without '.0', a huge one cut short."""
    if isinstance(value, int) and abs(value) >= 10**24:  # str() of a huge int is slow, then refused
        return f"a {value.bit_length()}-bit integer"
    text = str(int(value)) if isinstance(value, float) and value.is_integer() and abs(value) < 1e15 else repr(value)
    return text if len(text) <= 24 else f"{text[:10]}…({len(text)} digits)"


def validate_command(kind: Any, args: Any) -> None:
    """A command as the cloud queues it and the cabinet receives it; SchemaError names the bad field."""
    if kind not in COMMAND_KINDS:
        raise SchemaError(f"kind: unknown command {kind!r} (known: {', '.join(COMMAND_KINDS)})")
    if not isinstance(args, dict):
        raise SchemaError(f"args: expected object, got {type(args).__name__}")
    for key, expected in COMMAND_KINDS[kind].items():
        if key not in args:
            raise SchemaError(f"args.{key}: required for {kind}")
        _check(args[key], expected, f"args.{key}")


_ENVELOPE: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "cabinet_id": str,
    "seq": int,
    "type": str,
    "wall_time": str,
    "mono_time": (int, float),
    "payload": dict,
    "schema_version": int,
}


def event_from_json(data: Any, *, now: float | None = None) -> Event:
    """Parse one event from its JSON form, raising SchemaError naming the bad field. With ``now`` (the
    receiver's clock) the event's wall time must lie within WALL_TIME_SPREAD_S of it."""
    if not isinstance(data, dict):
        raise SchemaError(f"event: expected object, got {type(data).__name__}")
    if data.keys() != _ENVELOPE.keys():
        for key in _ENVELOPE:
            if key not in data:
                raise SchemaError(f"{key}: required")
        raise SchemaError(f"{min(data.keys() - _ENVELOPE.keys())}: unknown field")
    for key, expected in _ENVELOPE.items():
        _check(data[key], expected, key)
    if not UUID_RE.fullmatch(data["id"]):
        raise SchemaError(f"id: not a UUID like 0b5e1d8e-5c1f-4a57-9d38-0a6f3f7f4a11: {data['id'][:40]!r}")
    if not 1 <= data["seq"] <= MAX_SEQ:
        raise SchemaError(f"seq: must be between 1 and {MAX_SEQ}")
    _check_wall_time(data["wall_time"], now)
    # Compared, not converted: float() of a 400-digit integer raises, and NaN fails both comparisons.
    if not 0 <= data["mono_time"] <= MAX_SEQ:
        raise SchemaError(f"mono_time: {_shown(data['mono_time'])} is not a finite number of seconds >= 0")
    if data["schema_version"] != SCHEMA_VERSION:
        raise SchemaError(f"schema_version: {data['schema_version']} not supported (want {SCHEMA_VERSION})")
    validate_payload(data["type"], data["payload"])
    return Event(**{**data, "mono_time": float(data["mono_time"])})


def _check_wall_time(text: str, now: float | None) -> None:
    if not WALL_TIME_RE.fullmatch(text):
        raise SchemaError(f"wall_time: not ISO 8601 UTC like 2026-11-25T16:39:53.123Z: {text[:40]!r}")
    at = _utc_seconds(text, last_second=61)
    if at is None:
        raise SchemaError(f"wall_time: {text!r} is not a valid date and time")
    if now is not None and abs(at - now) > WALL_TIME_SPREAD_S:
        raise SchemaError(
            f"wall_time: {text} is more than {WALL_TIME_SPREAD_S / (366 * 24 * 3600):.0f} years "
            f"from the receiver's clock ({utc_iso(now)})"
        )


# --- snapshot names ---------------------------------------------------------
# A door snapshot travels under its file name, which is in the signed path of its upload.
SNAPSHOT_NAME_RE = re.compile(r"(\d{8}T\d{6})-([a-z_]{1,16})-([A-Za-z0-9_:-][A-Za-z0-9._:-]{0,63})\.jpg")


class SnapshotNameError(ValueError):
    """A file name that is not ``<YYYYMMDDTHHMMSS>-<kind>-<sale_id|none>.jpg``."""


@dataclass(frozen=True)
class SnapshotName:
    taken_at: float  # unix seconds, from the name (UTC)
    kind: str  # opened, closed, forced, ...
    sale_id: str | None  # None for "none"


def parse_snapshot_name(name: str) -> SnapshotName:
    """The parts of a snapshot file name; SnapshotNameError says what is wrong."""
    match = SNAPSHOT_NAME_RE.fullmatch(name)
    if match is None:
        raise SnapshotNameError(f"name: {name[:80]!r} is not like 20261125T174005-opened-<sale_id|none>.jpg")
    try:
        taken = time.strptime(match[1], "%Y%m%dT%H%M%S")
    except ValueError:
        raise SnapshotNameError(f"name: {match[1]!r} is not a valid date and time") from None
    return SnapshotName(float(calendar.timegm(taken)), match[2], None if match[3] == "none" else match[3])


def snapshot_name(kind: str, sale_id: str | None, taken_at: float) -> str:
    """The file name for a snapshot taken at ``taken_at`` (unix seconds), as parse_snapshot_name reads it."""
    name = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime(taken_at))}-{kind}-{sale_id or 'none'}.jpg"
    parse_snapshot_name(name)
    return name


# --- request signing -------------------------------------------------------
# Each request from a cabinet carries these headers; the signature is
# HMAC-SHA256 (hex) with the cabinet's key over the canonical string below.
# The body's SHA-256 travels in a header too, so the cloud verifies the signature
# before it reads a byte of the body, then checks the body against the hash.
HDR_CABINET = "X-Cabinet-Id"
HDR_TIMESTAMP = "X-Timestamp"
HDR_NONCE = "X-Nonce"
HDR_CONTENT_SHA256 = "X-Content-SHA256"
HDR_SIGNATURE = "X-Signature"
SIGNED_HEADERS = (HDR_CABINET, HDR_TIMESTAMP, HDR_NONCE, HDR_CONTENT_SHA256, HDR_SIGNATURE)
SIGNATURE_WINDOW_S = 300


def body_hash(body: bytes) -> str:
    """What a signature covers of a body, request or answer: hex SHA-256."""
    return hashlib.sha256(body).hexdigest()


def _mac(key: bytes, message: bytes) -> str:
    """HMAC-SHA256 in hex, in one call (hmac.new's object costs more than the hash of a request's few lines)."""
    return hmac.digest(key, message, "sha256").hex()


def canonical_request(method: str, path: str, timestamp: str, nonce: str, body_sha256: str) -> bytes:
    return "\n".join([method.upper(), path, timestamp, nonce, body_sha256]).encode()


def sign_request(
    key: bytes,
    cabinet_id: str,
    method: str,
    path: str,
    body: bytes,
    *,
    now: float | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    timestamp = str(int(now if now is not None else time.time()))
    nonce = nonce or uuid.uuid4().hex
    digest = body_hash(body)
    signature = _mac(key, canonical_request(method, path, timestamp, nonce, digest))
    return {
        HDR_CABINET: cabinet_id,
        HDR_TIMESTAMP: timestamp,
        HDR_NONCE: nonce,
        HDR_CONTENT_SHA256: digest,
        HDR_SIGNATURE: signature,
    }


def verify_signature(key: bytes, headers: Mapping[str, str], method: str, path: str) -> bool:
    """Whether the signed headers are the key holder's (the body is checked against its hash afterwards)."""
    try:
        expected = _mac(
            key,
            canonical_request(method, path, headers[HDR_TIMESTAMP], headers[HDR_NONCE], headers[HDR_CONTENT_SHA256]),
        )
    except KeyError:
        return False
    return hmac.compare_digest(expected, headers.get(HDR_SIGNATURE, ""))


def body_matches(headers: Mapping[str, str], body: bytes) -> bool:
    """Whether ``body`` is the one whose hash the (verified) headers carry."""
    return hmac.compare_digest(body_hash(body), headers.get(HDR_CONTENT_SHA256, ""))


# --- answer signing ----------------------------------------------------------
# The cloud signs every answer to a signed request with the same cabinet key, over the status,
# the request's own nonce (so an answer fits one request only and cannot be replayed), the
# cloud's clock, the headers the cabinet acts on, and the body. The cabinet trusts nothing else.
HDR_CLOUD_TIME = "X-Cloud-Time"  # unix seconds with milliseconds, e.g. 1764089993.123
HDR_CLOUD_SIGNATURE = "X-Cloud-Signature"
SIGNED_ANSWER_HEADERS = ("ETag", "Retry-After")
CLOUD_TIME_RE = re.compile(r"\d{1,11}(\.\d{1,3})?")


class AnswerSignatureError(ValueError):
    """An answer whose signature is missing or does not fit the request it answers."""


def canonical_answer(status: int, nonce: str, cloud_time: str, headers: Mapping[str, str], body: bytes) -> bytes:
    # The leading tag keeps an answer's string from ever reading as a request's (which starts with a method).
    signed_headers = [headers.get(name, "") for name in SIGNED_ANSWER_HEADERS]
    return "\n".join(["answer", str(status), nonce, cloud_time, *signed_headers, body_hash(body)]).encode(
        "utf-8", "surrogateescape"
    )  # headers the client could not decode stay bytes, and so fail


def sign_answer(
    key: bytes, status: int, nonce: str, headers: Mapping[str, str], body: bytes, *, now: float
) -> dict[str, str]:
    """The headers to add to an answer with ``status``, ``headers`` and ``body`` to the request with ``nonce``."""
    cloud_time = f"{now:.3f}"
    signature = _mac(key, canonical_answer(status, nonce, cloud_time, headers, body))
    return {HDR_CLOUD_TIME: cloud_time, HDR_CLOUD_SIGNATURE: signature}


def verify_answer(key: bytes, nonce: str, status: int, headers: Mapping[str, str], body: bytes) -> float:
    """The cloud's clock (unix seconds) from an answer signed for the request with ``nonce``;
    AnswerSignatureError saying what is wrong otherwise."""
    signature, cloud_time = headers.get(HDR_CLOUD_SIGNATURE), headers.get(HDR_CLOUD_TIME)
    if not signature or cloud_time is None:
        raise AnswerSignatureError(f"{HDR_CLOUD_SIGNATURE}: missing (the answer is not signed)")
    expected = _mac(key, canonical_answer(status, nonce, cloud_time, headers, body))
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise AnswerSignatureError(
            f"{HDR_CLOUD_SIGNATURE}: does not fit this request and answer (forged, "
            "altered on the way, or an answer to another request)"
        )
    if not CLOUD_TIME_RE.fullmatch(cloud_time):  # signed, so only a broken cloud gets here
        raise AnswerSignatureError(f"{HDR_CLOUD_TIME}: not unix seconds: {cloud_time[:40]!r}")
    return float(cloud_time)


_ENCODER = json.JSONEncoder(
    separators=(",", ":"), sort_keys=True
)  # built once: json.dumps with options builds one a call


def dumps(data: Any) -> bytes:
    """Canonical compact JSON: what is signed, stored and compared."""
    return _ENCODER.encode(data).encode()
