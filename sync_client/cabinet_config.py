"""The configuration document the cloud sends down to a cabinet, and its validation.

Shared by both sides like ``schema``: the cloud validates what a retailer uploads, the
cabinet validates what it downloads (a cloud on a newer schema, or a bug, must not break
a cabinet), and a document that fails is refused whole with every problem named.

    {"config_schema": 1, "version": 7, "currency": "EUR", "store_base_url": "https://…",
     "fallback_language": "en", "languages": ["en", "zh"],
     "products": [{"sku", "name", "price_cents", "currency", "summary", "materials": [..],
                   "design_notes", "variants": [{"sku", "name", "colour"}], "specs": {label: value},
                   "media": [{"kind", "url"}], "online_only",
                   "narration": {"en"|"zh": {"text", "audio_url" | "video_url"}}}],
     "ads": [{"id", "kind": "image"|"video", "url", "duration_s", "text", "product", "variant",
              "windows": [{"days": [0..6], "start": "HH:MM", "end": "HH:MM"}]}],
     "retailer": {"pin_hashes": ["scrypt$…"], "technician_pin_hashes": ["scrypt$…"],
                  "staff_cards": [{"uid": HEX, "role": "retailer"|"technician"}],
                  "staff_fingerprints": [{"slot": 0..MAX_FINGERPRINT_SLOT, "staff": str, "role": ...}]},
                  (a slot is where the template enrolled at the cabinet stays on its fingerprint module: the
                   cabinet reports it in fingerprint.enrolled; a slot left out of the list is deleted there)
     "pickup_orders": [{"order_id", "sku", "code_hash": "scrypt$…", "expires_at": ISO}],
     "scan_to_pay": {"enabled": bool, "provider": str},
     "link_base": "https://…",   (optional: the cloud's consumer pages; the thanks QR is <link_base>/r/<token>)
     "support_phone": "+49 …",   (optional: shown on the receipt page as how to get help)
     "callback_retention_days": 1..365,   (optional: "Call me back" is offered; the cloud deletes each
                                           request this many days after it was made)
     "place": {"address": str, "lat": -90..90, "lon": -180..180, (optional: where the cabinet stands; listed
               "timezone": "Europe/Berlin", "opening_hours": [{"days", "start", "end"}]}}   by the locator)
    A product or variant may carry "store_url": "https://…" (its page in the online store: the QR hand-off's target).

Shopper-facing text (a product's name, summary, materials, design notes and colours, an ad's text) is
localized: a plain string is the text in the fallback language (so documents from before languages load
as they were), an object gives it per language, {"en": "City scooter", "zh": "城市滑板车"}. The screen
shows the shopper's language, or the fallback's text where a translation is missing; ``content_warnings``
lists what is missing, for the retailer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Annotated, Any, Literal, get_args
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sync_client.schema import MAX_SEQ, WALL_TIME_RE, Range, ranged

CONFIG_SCHEMA = 1
SKU_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
CURRENCY_RE = re.compile(r"[A-Z]{3}")
UID_RE = re.compile(r"(?:[0-9a-f]{2}){4,10}")
HHMM_RE = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
HEX_COLOUR_RE = re.compile(r"#[0-9a-fA-F]{6}")
# scrypt$n$r$p$salt_hex$hash_hex: salt and hash of 16 to 64 whole bytes
SCRYPT_RE = re.compile(r"scrypt\$(\d{1,10})\$(\d{1,3})\$(\d{1,3})\$((?:[0-9a-f]{2}){16,64})\$((?:[0-9a-f]{2}){16,64})")
SCRYPT_FORMAT = "scrypt$n$r$p$salt_hex$hash_hex"
# The cost a cabinet accepts: a PIN is checked in well under a second and 32 MiB on a Pi, and a
# configuration cannot stall it with a slow hash or many of them.
MAX_SCRYPT_N, MAX_SCRYPT_R, MAX_SCRYPT_P = 2**15, 8, 2
MAX_PIN_HASHES = 20
# What OpenSSL needs for the costliest accepted hash (128·r·(n + 2 + p) bytes), with room to spare
SCRYPT_MAXMEM = 2 * 128 * MAX_SCRYPT_R * (MAX_SCRYPT_N + 2 + MAX_SCRYPT_P)
ROLES = ("retailer", "technician")
MAX_FINGERPRINT_SLOT = 999  # the largest ZhianTec libraries (R307: 1000 templates)
FINGERPRINT_SLOT = Annotated[int, Range(ge=0, le=MAX_FINGERPRINT_SLOT)]
MediaKind = Literal["image", "video"]
MEDIA_KINDS: tuple[MediaKind, ...] = get_args(MediaKind)
MAX_PRICE_CENTS = 10_000_000
# A media file the retailer uploaded to the cloud, named by its content: "sha256:" and 64 lower-case hex digits
# in place of a URL (an ad's url, a product's media url, a narration's audio_url or video_url). The cabinet
# downloads it.
MEDIA_REF_PREFIX = "sha256:"
MEDIA_REF_RE = re.compile(r"sha256:([0-9a-f]{64})")
# The largest uploaded media file the cloud takes and a cabinet downloads, by kind (narrations are "audio").
MAX_MEDIA_BYTES = {"image": 5 * 2**20, "audio": 10 * 2**20, "video": 40 * 2**20}
# The numbers of the document, each with its range (Range: always finite, then these bounds)
PRICE_CENTS = Annotated[int, Range(ge=1, le=MAX_PRICE_CENTS)]
AD_DURATION_S = Annotated[float, Range(gt=0, le=600)]
WEEKDAY = Annotated[int, Range(ge=0, le=6)]  # 0 = Monday
VERSION = Annotated[int, Range(ge=1, le=MAX_SEQ)]
PICKUP_CODE_DIGITS = 8  # the cloud issues them; the cabinet's keypad asks for exactly this many
MAX_PHONE_CHARS = 32
PHONE_RE = re.compile(r"\+?[0-9][0-9 ()/-]{2,30}")
# The kinds of QR hand-off codes a cabinet shows (a receipt has its own token), and a code's length: 10
# base32 characters (50 bits of an HMAC) are unguessable enough for a link to a public page that counts scans.
LINK_KINDS = ("product", "store", "repair")
LINK_CODE_RE = re.compile(r"[a-z2-7]{10}")
CONTENT_LANGUAGES = ("en", "zh")  # the languages the cabinet's screen speaks
LOCALIZED = (str, dict)  # a localized text's JSON: the fallback language's string, or {language: text}


def scrypt_problem(hashed: str) -> str | None:
    """None for a well-formed hash within the cabinet's bounds, else what is wrong with it."""
    match = SCRYPT_RE.fullmatch(hashed)
    if not match:
        return f"expected {SCRYPT_FORMAT} (salt and hash 16 to 64 bytes of lower-case hex)"
    n, r, p = (int(x) for x in match.group(1, 2, 3))
    if not 2 <= n <= MAX_SCRYPT_N or n & (n - 1):
        return f"n must be a power of two from 2 to {MAX_SCRYPT_N}, got {n}"
    if not 1 <= r <= MAX_SCRYPT_R:
        return f"r must be 1 to {MAX_SCRYPT_R}, got {r}"
    if not 1 <= p <= MAX_SCRYPT_P:
        return f"p must be 1 to {MAX_SCRYPT_P}, got {p}"
    return None


def derived_variants(sku: str, colours: tuple[Text, ...]) -> tuple[ConfigVariant, ...]:
    """Plain colours ("Mint", "Signature:#1f8a70", per language) as variants: SKU "<sku>-<colour>" (made
    unique, from the fallback language's name), the name before the colon in every language, the swatch
    after it (or the name, for a colour named in the catalog)."""
    out: list[ConfigVariant] = []
    taken: set[str] = set()
    for i, colour in enumerate(colours):
        name, _, hex_value = colour.fallback.partition(":")
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or str(i + 1)
        variant_sku = f"{sku}-{slug}"[:64]
        if variant_sku in taken:
            variant_sku = f"{sku}-{slug}"[:60] + f"-{i + 1}"
        taken.add(variant_sku)
        names = Text(tuple((lang, text.partition(":")[0].strip() or variant_sku) for lang, text in colour.texts))
        out.append(ConfigVariant(variant_sku, names, hex_value if hex_value else name.strip()))
    return tuple(out)


# What each problem code says in English, with its parameters: the cabinet's logs and the APIs show the
# English text, the console translates the code (cloud_stub/console/i18n.py, "problem_" + code).
PROBLEM_TEXTS = {
    "text": "{text}",  # a problem without a code of its own: its English text only
    "type": "expected {expected}, got {got}",
    "range_integer": "expected an integer{bounds}, got {got}",
    "range_number": "expected a finite number{bounds}, got {got}",
    "unknown_key": "unknown key (known: {known})",
    "required": "required",
    "media_ref_invalid": "expected sha256: and the 64 lower-case hex digits of an uploaded file, got {got}",
    "url_or_path_invalid": "expected an http(s) URL or a relative media path, got {got}",
    "url_invalid": "expected an http(s) URL, got {got}",
    "language_undeclared": "language not declared in languages (declared: {declared})",
    "no_fallback_text": "no text in the fallback language {language}",
    "sku_invalid": "{sku} is not 1-64 characters from A-Z a-z 0-9 . _ -",
    "sku_twice": "{sku} appears twice",
    "sku_taken": "{sku} is already the SKU of {owner}",
    "empty": "must not be empty",
    "currency_differs": "{currency} differs from the cabinet's currency {cabinet_currency}",
    "currency_invalid": "expected an ISO 4217 code like EUR, got {got}",
    "one_of": "expected one of {choices}, got {got}",
    "colours_beside_variants": "give the colours as variants (each with its SKU), not beside them",
    "language_unknown": "unknown language (known: {known})",
    "narration_empty": "expected a text, an audio_url or a video_url",
    "narration_both": "expected an audio_url or a video_url, not both (a video's sound is its narration)",
    "phone_invalid": "expected digits with an optional + and spaces, got {got}",
    "timezone_invalid": "expected an IANA time zone like Europe/Berlin, got {got}",
    "weekdays_distinct": "expected distinct weekdays 0 (Monday) to 6",
    "start_not_before_end": "start {start} is not before end {end}",
    "https_invalid": "expected an https:// address (no spaces, at most 500 characters), got {got}",
    "too_long": "{length} characters, above {max}",
    "colour_invalid": "expected #rrggbb or a colour name, got {got}",
    "weekdays_invalid": "expected a non-empty array of weekdays 0 (Monday) to 6",
    "time_invalid": "expected HH:MM, got {got}",
    "ad_variant_alone": "ad {ad} names variant {variant} without its product",
    "ad_product_unknown": "ad {ad} advertises {product}, which this cabinet does not carry",
    "ad_variant_unknown": "ad {ad} names {variant}, which is not a variant of {product}",
    "uid_invalid": "expected 4 to 10 bytes of lower-case hex, got {got}",
    "slot_twice": "slot {slot} is given to more than one staff member",
    "too_many_pins": "at most {max} PIN hashes, got {count}",
    "order_sku_unknown": "{sku} is not in products",
    "utc_time_invalid": "expected ISO 8601 UTC like 2026-11-25T16:39:53.123Z",
    "schema_unsupported": "{schema} not supported by this cabinet (it reads {supported})",
    "address_length": "expected 1 to {max} characters, got {length}",
    "language_unspoken": "{language} is not a language the screen speaks ({known})",
    "fallback_undeclared": "{language} is not in languages ({declared})",
    "language_twice": "a language appears twice",
    "media_missing": "no uploaded media file sha256:{digest}… (upload it first)",  # found by the cloud
    "placeholder": "{got} is the template's placeholder: put this cabinet's own value here",
}


@dataclass(frozen=True)
class Problem:
    """One problem of a configuration: the field it is about (``products[0].sku``), its code (a key of
    PROBLEM_TEXTS) and the values the text names, so that it can be said in another language."""

    where: str
    code: str
    params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, where: str, code: str, **params: str) -> Problem:
        return cls(where, code, tuple(params.items()))

    @classmethod
    def of_text(cls, text: str) -> Problem:
        """A problem known only by its English text ("where: what")."""
        where, _, what = text.partition(": ")
        return cls.of(where, "text", text=what) if what else cls.of("", "text", text=text)

    @property
    def message(self) -> str:
        """What is wrong, in English, without the field."""
        return PROBLEM_TEXTS[self.code].format(**dict(self.params))

    @property
    def text(self) -> str:
        """The English problem as the API answers it: "products[0].sku: required"."""
        return f"{self.where}: {self.message}" if self.where else self.message


class ConfigInvalid(ValueError):
    """A configuration document that cannot be applied; ``problems`` names every one of them in English,
    ``details`` holds them as Problems (the same order)."""

    def __init__(self, problems: list[str] | list[Problem]) -> None:
        self.details = [
            p if isinstance(p, Problem) else Problem.of_text(p) for p in getattr(problems, "details", problems)
        ]
        self.problems = [p.text for p in self.details]
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class Text:
    """A retailer's text in one or more languages, the fallback language's first (always there)."""

    texts: tuple[tuple[str, str], ...]  # (language, text)

    @classmethod
    def plain(cls, text: str, language: str = "en") -> Text:
        return cls(((language, text),))

    @property
    def fallback(self) -> str:
        return self.texts[0][1]

    def has(self, language: str) -> bool:
        return any(lang == language for lang, _ in self.texts)

    def in_(self, language: str) -> str:
        """The text in that language, else in the fallback language."""
        return next((text for lang, text in self.texts if lang == language), self.fallback)

    def to_json(self) -> str | dict[str, str]:
        """The document form: a plain string when there is only the fallback language's text."""
        return self.texts[0][1] if len(self.texts) == 1 else dict(self.texts)


NO_TEXT = Text.plain("")


@dataclass(frozen=True)
class Media:
    kind: MediaKind
    url: str  # https:// URL, or a path relative to the cabinet's media directory


NARRATION_LANGUAGES = CONTENT_LANGUAGES
MAX_NARRATION_CHARS = 2000  # about two minutes of speech


@dataclass(frozen=True)
class NarrationSource:
    """A product's narration in one language: the retailer's recording (audio: WAV, OGG/Opus/Vorbis, MP3,
    M4A; or a video: MP4, WebM, MKV, with or without sound), as a media path or an upload, or the text the
    cabinet speaks itself; with a recording, the text is its subtitles."""

    language: str
    text: str = ""
    audio_url: str = ""
    video_url: str = ""  # the retailer's video: shown on the product page, its sound track the narration


@dataclass(frozen=True)
class ConfigVariant:
    """One way the product comes (a colour, a frame size, or both): its own SKU and its own stock."""

    sku: str
    name: Text  # as the shopper reads it, e.g. "Mint" or "Mint, M frame", per language
    colour: str = ""  # the swatch: "#rrggbb" or a colour name; "" for an option that is no colour
    store_url: str = ""  # its page in the online store ("": the product's)


@dataclass(frozen=True)
class ConfigProduct:
    sku: str
    name: Text
    price_cents: int
    currency: str
    summary: Text = NO_TEXT
    materials: tuple[Text, ...] = ()
    design_notes: Text = NO_TEXT
    colours: tuple[Text, ...] = ()  # "Name" or "Name:#rrggbb" in the fallback language; translations name it
    specs: tuple[tuple[str, str], ...] = ()
    media: tuple[Media, ...] = ()
    online_only: bool = False  # listed for pickup orders, never sold from the screen
    narration: tuple[NarrationSource, ...] = ()
    variants: tuple[ConfigVariant, ...] = ()  # as the document gives them (see sold_variants)
    store_url: str = ""  # its page in the online store ("": the store's address with /p/<sku>)

    def sold_variants(self) -> tuple[ConfigVariant, ...]:
        """The variants the cabinet sells and counts. A document from before variants lists plain
        ``colours`` instead: each becomes a variant with a SKU derived from the product's, so a
        configuration a cabinet cached under an older release still loads and sells. Neither: no
        variants (the product is counted under its own SKU)."""
        return self.variants or derived_variants(self.sku, self.colours)


@dataclass(frozen=True)
class AdWindow:
    days: tuple[int, ...]  # 0 = Monday
    start: str  # HH:MM local time, inclusive
    end: str  # HH:MM, exclusive; end < start spans midnight


@dataclass(frozen=True)
class Ad:
    id: str
    kind: MediaKind
    url: str
    duration_s: float
    windows: tuple[AdWindow, ...] = ()  # empty: always
    text: Text = NO_TEXT  # shown over the ad; empty: none
    product: str = ""  # the SKU of the product it advertises (a tap opens its page); "": the catalog
    variant: str = ""  # optionally, which of its variants the page shows first


@dataclass(frozen=True)
class StaffCard:
    uid: str  # lower-case hex, as the NFC reader reports it
    role: str


@dataclass(frozen=True)
class StaffFingerprint:
    slot: int  # where its template is stored on the cabinet's fingerprint module
    staff: str  # who, in the retailer's words (shown in the audit trail)
    role: str


@dataclass(frozen=True)
class RetailerAccess:
    pin_hashes: tuple[str, ...] = ()
    staff_cards: tuple[StaffCard, ...] = ()
    technician_pin_hashes: tuple[str, ...] = ()  # open the service menu from the PIN pad
    staff_fingerprints: tuple[StaffFingerprint, ...] = ()

    def fingerprint(self, slot: int) -> StaffFingerprint | None:
        return next((f for f in self.staff_fingerprints if f.slot == slot), None)

    def role_of_card(self, uid_hex: str) -> str | None:
        return next((c.role for c in self.staff_cards if c.uid == uid_hex.lower()), None)

    def pin_ok(self, pin: str) -> bool:
        return any(verify_secret(pin, h) for h in self.pin_hashes)


@dataclass(frozen=True)
class PickupOrder:
    order_id: str
    sku: str
    code_hash: str
    expires_at: str

    def code_ok(self, code: str) -> bool:
        return verify_secret(code, self.code_hash)


@dataclass(frozen=True)
class ScanToPay:
    enabled: bool = False
    provider: str = ""


MAX_ADDRESS_CHARS = 200
LATITUDE = Annotated[float, Range(ge=-90, le=90)]
RETENTION_DAYS = Annotated[int, Range(ge=1, le=365)]  # a call-back request's phone number, kept at most a year
LONGITUDE = Annotated[float, Range(ge=-180, le=180)]


@dataclass(frozen=True)
class OpeningHours:
    days: tuple[int, ...]  # 0 = Monday
    start: str  # HH:MM local time
    end: str


@dataclass(frozen=True)
class Place:
    """Where the cabinet stands: for the retailer's fleet view, a map and the consumer locator (WGS 84
    degrees); a cabinet with a place is listed by the locator."""

    address: str
    lat: float
    lon: float
    timezone: str = ""  # IANA name; "" : UTC
    opening_hours: tuple[OpeningHours, ...] = ()  # () : not stated


@dataclass(frozen=True)
class CabinetConfig:
    version: int
    currency: str
    products: tuple[ConfigProduct, ...]
    ads: tuple[Ad, ...] = ()
    retailer: RetailerAccess = field(default_factory=RetailerAccess)
    pickup_orders: tuple[PickupOrder, ...] = ()
    scan_to_pay: ScanToPay = field(default_factory=ScanToPay)
    store_base_url: str = ""
    config_schema: int = CONFIG_SCHEMA
    link_base: str = ""  # the cloud's consumer pages (https): receipts and QR hand-off links ("": none)
    support_phone: str = ""  # whom a shopper calls (the receipt page)
    fallback_language: str = "en"  # shown where a text has no translation into the shopper's language
    languages: tuple[str, ...] = ("en",)  # the languages the retailer writes content in; the fallback's first
    place: Place | None = None
    callback_retention_days: int | None = None  # None: no call-backs offered

    def product(self, sku: str) -> ConfigProduct | None:
        return next((p for p in self.products if p.sku == sku), None)

    def order_for_code(self, code: str) -> PickupOrder | None:
        """The pickup order this code opens, if any (expiry is the caller's to check against its clock)."""
        return next((o for o in self.pickup_orders if o.code_ok(code)), None)

    def receipt_address(self, receipt_token: str) -> str | None:
        """The address of a sale's receipt in the cloud, when the configuration names the consumer pages."""
        return f"{self.link_base}/r/{receipt_token}" if self.link_base else None

    def to_json(self) -> dict[str, Any]:
        """The document form (lists, objects), which parse_config reads back to an equal config."""
        data = _document(self)
        for product in data["products"]:
            product["specs"] = dict(product["specs"])
            product["narration"] = {n.pop("language"): n for n in product["narration"]}
            for narration in product["narration"].values():
                if not narration["video_url"]:  # absent, as a cabinet from before videos expects it
                    del narration["video_url"]
        for optional in ("place", "callback_retention_days"):
            if data[optional] is None:
                del data[optional]  # optional in the document: absent, never null
        document: dict[str, Any] = json.loads(json.dumps(data))  # tuples become lists, as in the document
        return document


def _document(value: Any) -> Any:
    """asdict(), with each Text in its document form."""
    if isinstance(value, Text):
        return value.to_json()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _document(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_document(v) for v in value]
    return value


def content_warnings(config: CabinetConfig) -> list[str]:
    """What the retailer should translate: every text missing in a declared language (the fallback's is
    shown instead), by product or ad, field and language."""
    warnings = []
    for where, text in content_texts(config):
        missing = [lang for lang in config.languages if text.fallback.strip() and not text.has(lang)]
        if missing:
            warnings.append(
                f"{where}: no {', '.join(missing)} text; the {config.fallback_language} text is shown instead"
            )
    return warnings


def content_texts(config: CabinetConfig) -> list[tuple[str, Text]]:
    """Every shopper-facing text of the configuration, with where it is ("products[0] (SKU).name")."""
    found: list[tuple[str, Text]] = []
    for i, product in enumerate(config.products):
        w = f"products[{i}] ({product.sku})"
        found += [(f"{w}.name", product.name), (f"{w}.summary", product.summary)]
        found += [(f"{w}.materials[{j}]", t) for j, t in enumerate(product.materials)]
        found.append((f"{w}.design_notes", product.design_notes))
        found += [(f"{w}.colours[{j}]", t) for j, t in enumerate(product.colours)]
    found += [(f"ads[{i}] ({ad.id}).text", ad.text) for i, ad in enumerate(config.ads)]
    return found


# --- parsing -------------------------------------------------------------------------


class _Problems(list[str]):
    """The English texts (a list, as ConfigInvalid takes it) and, beside them, the Problems they say."""

    def __init__(self) -> None:
        super().__init__()
        self.details: list[Problem] = []

    def add(self, where: str, code: str, **params: str) -> None:
        problem = Problem.of(where, code, **params)
        self.details.append(problem)
        super().append(problem.text)

    def append(self, text: str) -> None:
        self.details.append(Problem.of_text(text))
        super().append(text)

    def expect(self, value: Any, spec: Any, where: str) -> bool:
        """Check a value's JSON type (float: any number) and, when its spec declares one, its Range."""
        types, bounds = ranged(spec)
        types_t = types if isinstance(types, tuple) else (int, float) if types is float else (types,)
        if isinstance(value, bool) and bool not in types_t or not isinstance(value, types_t):
            names = " or ".join(
                {
                    "str": "string",
                    "int": "integer",
                    "float": "number",
                    "bool": "boolean",
                    "list": "array",
                    "dict": "object",
                }[t.__name__]
                for t in types_t
            )
            self.add(where, "type", expected=names, got=_json_type(value))
            return False
        if bounds is not None and bounds.problem(value, integer=types is int):
            self.add(
                where, "range_integer" if types is int else "range_number", bounds=bounds.bounds(), got=repr(value)
            )
            return False
        return True

    def secret(self, hashed: str, where: str) -> None:
        if problem := scrypt_problem(hashed):
            self.append(f"{where}: {problem}")

    def fields(
        self, data: Any, where: str, required: dict[str, Any], optional: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Check an object's keys and value types; returns it (or None when it is not an object)."""
        if not isinstance(data, dict):
            self.expect(data, dict, where or "config")  # records what it is instead
            return None
        prefix = f"{where}." if where else ""
        for key in sorted(set(data) - set(required) - set(optional)):
            self.add(prefix + key, "unknown_key", known=", ".join([*required, *optional]))
        for key, types in required.items():
            if key not in data:
                self.add(prefix + key, "required")
            else:
                self.expect(data[key], types, prefix + key)
        for key, types in optional.items():
            if key in data:
                self.expect(data[key], types, prefix + key)
        return data


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return {int: "integer", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), type(value).__name__
    )


# The sub-parsers below get values whose container type ``fields`` has already checked (and
# reported): they skip a wrong one silently rather than report it twice.


def _strings(p: _Problems, value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v for i, v in enumerate(value) if p.expect(v, str, f"{where}[{i}]"))


def media_ref(sha256: str) -> str:
    """The reference to an uploaded media file, as a configuration names it."""
    return MEDIA_REF_PREFIX + sha256


def media_hash(url: str) -> str | None:
    """The SHA-256 (hex) an uploaded media reference names; None for a URL or a local path."""
    match = MEDIA_REF_RE.fullmatch(url)
    return match[1] if match else None


def _url_ok(p: _Problems, url: str, where: str) -> None:
    if url.startswith(("https://", "http://")):
        return
    if url.startswith(MEDIA_REF_PREFIX):
        if not MEDIA_REF_RE.fullmatch(url):
            p.add(where, "media_ref_invalid", got=repr(url[:80]))
        return
    if not url or url.startswith("/") or ".." in url.split("/") or "://" in url:
        p.add(where, "url_or_path_invalid", got=repr(url[:80]))


def _text(p: _Problems, value: Any, where: str, languages: tuple[str, ...]) -> Text | None:
    """A localized text: a plain string (the fallback language's) or {language: text}, the fallback's
    included; every key a language the document declares. None when it is not one (reported)."""
    if isinstance(value, str):
        return Text(((languages[0], value),))
    if not isinstance(value, dict):
        p.expect(value, LOCALIZED, where)
        return None
    before = len(p)
    for lang in value:
        if lang not in languages:
            p.add(f"{where}.{str(lang)[:20]}", "language_undeclared", declared=", ".join(languages))
        else:
            p.expect(value[lang], str, f"{where}.{lang}")
    if languages[0] not in value:
        p.add(where, "no_fallback_text", language=repr(languages[0]))
    if len(p) > before:
        return None
    return Text(tuple((lang, value[lang]) for lang in languages if lang in value))


def _texts(p: _Problems, value: Any, where: str, languages: tuple[str, ...]) -> tuple[Text, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(_text(p, v, f"{where}[{i}]", languages) or NO_TEXT for i, v in enumerate(value))


def _products(p: _Problems, raw: Any, currency: str, languages: tuple[str, ...]) -> tuple[ConfigProduct, ...]:
    out: list[ConfigProduct] = []
    seen: set[str] = set()
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        w = f"products[{i}]"
        d = p.fields(
            item,
            w,
            {"sku": str, "name": LOCALIZED, "price_cents": PRICE_CENTS},
            {
                "currency": str,
                "summary": LOCALIZED,
                "materials": list,
                "design_notes": LOCALIZED,
                "colours": list,
                "specs": dict,
                "media": list,
                "online_only": bool,
                "narration": dict,
                "variants": list,
                "store_url": str,
            },
        )
        if d is None or not all(
            isinstance(d.get(k), t) and not isinstance(d.get(k), bool)
            for k, t in (("sku", str), ("name", (str, dict)), ("price_cents", int))
        ):
            continue
        before = len(p)
        if not SKU_RE.fullmatch(d["sku"]):
            p.add(f"{w}.sku", "sku_invalid", sku=repr(d["sku"][:70]))
        elif d["sku"] in seen:
            p.add(f"{w}.sku", "sku_twice", sku=repr(d["sku"]))
        seen.add(d["sku"])
        name = _text(p, d["name"], f"{w}.name", languages) or NO_TEXT
        for lang, text in () if name is NO_TEXT else name.texts:
            if not text.strip():
                p.add(f"{w}.name{'' if isinstance(d['name'], str) else '.' + lang}", "empty")
        product_currency = d.get("currency", currency)
        if isinstance(product_currency, str) and product_currency != currency:
            p.add(f"{w}.currency", "currency_differs", currency=repr(product_currency), cabinet_currency=repr(currency))
        specs = d.get("specs", {})
        spec_pairs = (
            tuple((str(k), v) for k, v in specs.items() if p.expect(v, str, f"{w}.specs.{k}"))
            if isinstance(specs, dict)
            else ()
        )
        media: list[Media] = []
        for j, m in enumerate(d.get("media", []) if isinstance(d.get("media", []), list) else []):
            md = p.fields(m, f"{w}.media[{j}]", {"kind": str, "url": str}, {})
            if md is None or not isinstance(md.get("kind"), str) or not isinstance(md.get("url"), str):
                continue
            if md["kind"] not in MEDIA_KINDS:
                p.add(f"{w}.media[{j}].kind", "one_of", choices=", ".join(MEDIA_KINDS), got=repr(md["kind"]))
            _url_ok(p, md["url"], f"{w}.media[{j}].url")
            media.append(Media(md["kind"], md["url"]))
        narration = _narration(p, d.get("narration", {}), f"{w}.narration")
        summary = _text(p, d.get("summary", ""), f"{w}.summary", languages) or NO_TEXT
        design_notes = _text(p, d.get("design_notes", ""), f"{w}.design_notes", languages) or NO_TEXT
        materials = _texts(p, d.get("materials", []), f"{w}.materials", languages)
        colours = _texts(p, d.get("colours", []), f"{w}.colours", languages)
        variants = _variants(p, d.get("variants", []), w, languages)
        if variants and colours:
            p.add(f"{w}.colours", "colours_beside_variants")
        store_url = _https_url(p, d.get("store_url", ""), f"{w}.store_url")
        if len(p) == before:
            out.append(
                ConfigProduct(
                    sku=d["sku"],
                    name=name,
                    price_cents=d["price_cents"],
                    currency=currency,
                    summary=summary,
                    materials=materials,
                    design_notes=design_notes,
                    colours=colours,
                    specs=spec_pairs,
                    media=tuple(media),
                    online_only=d.get("online_only", False),
                    narration=narration,
                    variants=variants,
                    store_url=store_url,
                )
            )
    _variant_skus_unique(p, out)
    return tuple(out)


def _narration(p: _Problems, raw: Any, where: str) -> tuple[NarrationSource, ...]:
    out: list[NarrationSource] = []
    urls = ("audio_url", "video_url")
    for language, item in raw.items() if isinstance(raw, dict) else ():
        w = f"{where}.{language}"
        if language not in NARRATION_LANGUAGES:
            p.add(w, "language_unknown", known=", ".join(NARRATION_LANGUAGES))
            continue
        d = p.fields(item, w, {}, {"text": str, "audio_url": str, "video_url": str})
        if d is None or not all(isinstance(d.get(k, ""), str) for k in ("text", *urls)):
            continue
        text, audio, video = d.get("text", "").strip(), d.get("audio_url", ""), d.get("video_url", "")
        if not text and not audio and not video:
            p.add(w, "narration_empty")
        if audio and video:
            p.add(w, "narration_both")
        if len(text) > MAX_NARRATION_CHARS:
            p.add(f"{w}.text", "too_long", length=str(len(text)), max=str(MAX_NARRATION_CHARS))
        for key, url in zip(urls, (audio, video), strict=True):
            if url:
                _url_ok(p, url, f"{w}.{key}")
        out.append(NarrationSource(language, text, audio, video))
    return tuple(out)


def _variants(p: _Problems, raw: Any, w: str, languages: tuple[str, ...]) -> tuple[ConfigVariant, ...]:
    out: list[ConfigVariant] = []
    for j, item in enumerate(raw if isinstance(raw, list) else []):
        wv = f"{w}.variants[{j}]"
        d = p.fields(item, wv, {"sku": str, "name": LOCALIZED}, {"colour": str, "store_url": str})
        if d is None or not isinstance(d.get("sku"), str):
            continue
        before = len(p)
        name = _text(p, d["name"], f"{wv}.name", languages)
        if not SKU_RE.fullmatch(d["sku"]):
            p.add(f"{wv}.sku", "sku_invalid", sku=repr(d["sku"][:70]))
        if name is not None and not name.fallback.strip():
            p.add(f"{wv}.name", "empty")
        colour = d.get("colour", "")
        if isinstance(colour, str) and colour.startswith("#") and not HEX_COLOUR_RE.fullmatch(colour):
            p.add(f"{wv}.colour", "colour_invalid", got=repr(colour[:20]))
        store_url = _https_url(p, d.get("store_url", ""), f"{wv}.store_url")
        if len(p) == before:
            out.append(ConfigVariant(d["sku"], name or NO_TEXT, colour if isinstance(colour, str) else "", store_url))
    return tuple(out)


def _variant_skus_unique(p: _Problems, products: list[ConfigProduct]) -> None:
    """A variant's SKU names one stock count: no other product or variant of the cabinet may have it."""
    owner = {product.sku: f"product {product.sku!r}" for product in products}
    for i, product in enumerate(products):
        for j, variant in enumerate(product.sold_variants()):
            if variant.sku in owner:
                p.add(f"products[{i}].variants[{j}].sku", "sku_taken", sku=repr(variant.sku), owner=owner[variant.sku])
            owner[variant.sku] = f"a variant of {product.sku!r}"


def _ads(p: _Problems, raw: Any, products: tuple[ConfigProduct, ...], languages: tuple[str, ...]) -> tuple[Ad, ...]:
    out: list[Ad] = []
    carried = {product.sku: product for product in products}
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        w = f"ads[{i}]"
        d = p.fields(
            item,
            w,
            {"id": str, "kind": str, "url": str, "duration_s": AD_DURATION_S},
            {"windows": list, "text": LOCALIZED, "product": str, "variant": str},
        )
        if d is None:
            continue
        before = len(p)
        if d.get("kind") not in MEDIA_KINDS and isinstance(d.get("kind"), str):
            p.add(f"{w}.kind", "one_of", choices=", ".join(MEDIA_KINDS), got=repr(d["kind"]))
        if isinstance(d.get("url"), str):
            _url_ok(p, d["url"], f"{w}.url")
        windows: list[AdWindow] = []
        for j, win in enumerate(d.get("windows", []) if isinstance(d.get("windows", []), list) else []):
            ww = f"{w}.windows[{j}]"
            wd = p.fields(win, ww, {"days": list, "start": str, "end": str}, {})
            if wd is None or not all(k in wd for k in ("days", "start", "end")):
                continue
            days = wd["days"] if isinstance(wd["days"], list) else []
            if not days:
                p.add(f"{ww}.days", "weekdays_invalid")
            for k, day in enumerate(days):
                p.expect(day, WEEKDAY, f"{ww}.days[{k}]")
            for key in ("start", "end"):
                if isinstance(wd[key], str) and not HHMM_RE.fullmatch(wd[key]):
                    p.add(f"{ww}.{key}", "time_invalid", got=repr(wd[key][:20]))
            if len(p) == before:
                windows.append(AdWindow(tuple(days), wd["start"], wd["end"]))
        text = _text(p, d.get("text", ""), f"{w}.text", languages) or NO_TEXT
        product, variant = _ad_product(p, d, w, carried)
        if len(p) == before:
            out.append(Ad(d["id"], d["kind"], d["url"], float(d["duration_s"]), tuple(windows), text, product, variant))
    return tuple(out)


def _ad_product(p: _Problems, d: dict[str, Any], w: str, carried: dict[str, ConfigProduct]) -> tuple[str, str]:
    """The product (and variant) an ad advertises: one this cabinet carries, or the ad is refused."""
    product, variant = d.get("product", ""), d.get("variant", "")
    if not isinstance(product, str) or not isinstance(variant, str):
        return "", ""
    ad_id = str(d.get("id", ""))[:64]
    if variant and not product:
        p.add(f"{w}.variant", "ad_variant_alone", ad=repr(ad_id), variant=repr(variant[:70]))
    elif product and product not in carried:
        p.add(f"{w}.product", "ad_product_unknown", ad=repr(ad_id), product=repr(product[:70]))
    elif variant and variant not in {v.sku for v in carried[product].sold_variants()}:
        p.add(f"{w}.variant", "ad_variant_unknown", ad=repr(ad_id), variant=repr(variant[:70]), product=repr(product))
    return product, variant


def _retailer(p: _Problems, raw: Any) -> RetailerAccess:
    d = p.fields(
        raw,
        "retailer",
        {},
        {"pin_hashes": list, "staff_cards": list, "technician_pin_hashes": list, "staff_fingerprints": list},
    )
    if d is None:
        return RetailerAccess()
    hashes, technician_hashes = (_pin_hashes(p, d, key) for key in ("pin_hashes", "technician_pin_hashes"))
    cards: list[StaffCard] = []
    for i, c in enumerate(d.get("staff_cards", []) if isinstance(d.get("staff_cards", []), list) else []):
        cd = p.fields(c, f"retailer.staff_cards[{i}]", {"uid": str, "role": str}, {})
        if cd is None or not isinstance(cd.get("uid"), str) or not isinstance(cd.get("role"), str):
            continue
        if not UID_RE.fullmatch(cd["uid"]):
            p.add(f"retailer.staff_cards[{i}].uid", "uid_invalid", got=repr(cd["uid"]))
        if cd["role"] not in ROLES:
            p.add(f"retailer.staff_cards[{i}].role", "one_of", choices=", ".join(ROLES), got=repr(cd["role"]))
        cards.append(StaffCard(cd["uid"], cd["role"]))
    return RetailerAccess(hashes, tuple(cards), technician_hashes, _fingerprints(p, d.get("staff_fingerprints", [])))


def _fingerprints(p: _Problems, raw: Any) -> tuple[StaffFingerprint, ...]:
    found: list[StaffFingerprint] = []
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        w = f"retailer.staff_fingerprints[{i}]"
        d = p.fields(item, w, {"slot": FINGERPRINT_SLOT, "staff": str, "role": str}, {})
        if d is None or not all(isinstance(d.get(k), t) for k, t in (("slot", int), ("staff", str), ("role", str))):
            continue
        if any(f.slot == d["slot"] for f in found):
            p.add(f"{w}.slot", "slot_twice", slot=str(d["slot"]))
        if not d["staff"].strip():
            p.add(f"{w}.staff", "empty")
        elif len(d["staff"]) > 80:
            p.add(f"{w}.staff", "too_long", length=str(len(d["staff"])), max="80")
        if d["role"] not in ROLES:
            p.add(f"{w}.role", "one_of", choices=", ".join(ROLES), got=repr(d["role"]))
        found.append(StaffFingerprint(d["slot"], d["staff"], d["role"]))
    return tuple(found)


def _pin_hashes(p: _Problems, d: dict[str, Any], key: str) -> tuple[str, ...]:
    hashes = _strings(p, d.get(key, []), f"retailer.{key}")
    if len(hashes) > MAX_PIN_HASHES:
        p.add(f"retailer.{key}", "too_many_pins", max=str(MAX_PIN_HASHES), count=str(len(hashes)))
    for i, h in enumerate(hashes):
        p.secret(h, f"retailer.{key}[{i}]")
    return hashes


def _orders(p: _Problems, raw: Any, skus: set[str]) -> tuple[PickupOrder, ...]:
    out: list[PickupOrder] = []
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        w = f"pickup_orders[{i}]"
        d = p.fields(item, w, {"order_id": str, "sku": str, "code_hash": str, "expires_at": str}, {})
        if d is None or not all(isinstance(d.get(k), str) for k in ("order_id", "sku", "code_hash", "expires_at")):
            continue
        before = len(p)
        if d["sku"] not in skus:
            p.add(f"{w}.sku", "order_sku_unknown", sku=repr(d["sku"]))
        p.secret(d["code_hash"], f"{w}.code_hash")
        if not WALL_TIME_RE.fullmatch(d["expires_at"]):
            p.add(f"{w}.expires_at", "utc_time_invalid")
        if len(p) == before:
            out.append(PickupOrder(d["order_id"], d["sku"], d["code_hash"], d["expires_at"]))
    return tuple(out)


def parse_config(data: Any) -> CabinetConfig:
    """Validate a whole configuration document; raises ConfigInvalid listing every problem."""
    p = _Problems()
    d = p.fields(
        data,
        "",
        {"version": VERSION, "currency": str, "products": list},
        {
            "config_schema": int,
            "ads": list,
            "retailer": dict,
            "pickup_orders": list,
            "scan_to_pay": dict,
            "store_base_url": str,
            "link_base": str,
            "support_phone": str,
            "fallback_language": str,
            "languages": list,
            "place": dict,
            "callback_retention_days": RETENTION_DAYS,
        },
    )
    if d is None:
        raise ConfigInvalid(p)
    languages = _languages(p, d)
    schema = d.get("config_schema", CONFIG_SCHEMA)
    if isinstance(schema, int) and schema != CONFIG_SCHEMA:
        p.add("config_schema", "schema_unsupported", schema=str(schema), supported=str(CONFIG_SCHEMA))
    raw_currency = d.get("currency")
    currency = raw_currency if isinstance(raw_currency, str) else ""
    if isinstance(raw_currency, str) and not CURRENCY_RE.fullmatch(currency):
        p.add("currency", "currency_invalid", got=repr(currency[:10]))
    products = _products(p, d.get("products", []), currency, languages)
    ads = _ads(p, d.get("ads", []), products, languages)
    retailer = _retailer(p, d["retailer"] if isinstance(d.get("retailer"), dict) else {})
    skus = {prod.sku for prod in products} | {v.sku for prod in products for v in prod.sold_variants()}
    orders = _orders(p, d.get("pickup_orders", []), skus)  # an order names a product or one of its variants
    scan = (
        p.fields(
            d["scan_to_pay"] if isinstance(d.get("scan_to_pay"), dict) else {},
            "scan_to_pay",
            {},
            {"enabled": bool, "provider": str},
        )
        or {}
    )
    store_url = d.get("store_base_url", "")
    if isinstance(store_url, str) and store_url and not store_url.startswith(("https://", "http://")):
        p.add("store_base_url", "url_invalid", got=repr(store_url[:80]))
    link_base = _https_url(p, d.get("link_base", ""), "link_base").rstrip("/")
    support_phone = d.get("support_phone", "")
    if isinstance(support_phone, str) and support_phone and not PHONE_RE.fullmatch(support_phone):
        p.add("support_phone", "phone_invalid", got=repr(support_phone[:40]))
    place = _place(p, d["place"]) if isinstance(d.get("place"), dict) else None
    if p:
        raise ConfigInvalid(p)
    return CabinetConfig(
        version=d["version"],  # present and an int, or a problem above
        currency=currency,
        products=products,
        ads=ads,
        retailer=retailer,
        pickup_orders=orders,
        scan_to_pay=ScanToPay(bool(scan.get("enabled", False)), str(scan.get("provider", ""))),
        store_base_url=store_url,
        config_schema=schema,
        link_base=link_base,
        support_phone=support_phone if isinstance(support_phone, str) else "",
        fallback_language=languages[0],
        languages=languages,
        place=place,
        callback_retention_days=d.get("callback_retention_days"),
    )


def _place(p: _Problems, raw: dict[str, Any]) -> Place | None:
    problems = len(p)
    d = p.fields(
        raw, "place", {"address": str, "lat": LATITUDE, "lon": LONGITUDE}, {"timezone": str, "opening_hours": list}
    )
    if d is None or len(p) > problems:
        return None
    if not 1 <= len(d["address"].strip()) <= MAX_ADDRESS_CHARS:
        p.add("place.address", "address_length", max=str(MAX_ADDRESS_CHARS), length=str(len(d["address"].strip())))
        return None
    timezone = d.get("timezone", "")
    if timezone and not _timezone_ok(timezone):
        p.add("place.timezone", "timezone_invalid", got=repr(timezone[:40]))
        return None
    hours = _opening_hours(p, d.get("opening_hours", []))
    if len(p) > problems:
        return None
    return Place(d["address"].strip(), float(d["lat"]), float(d["lon"]), timezone, hours)


def _timezone_ok(name: str) -> bool:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}", name):
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _opening_hours(p: _Problems, raw: list[Any]) -> tuple[OpeningHours, ...]:
    out: list[OpeningHours] = []
    for i, item in enumerate(raw):
        w = f"place.opening_hours[{i}]"
        d = p.fields(item, w, {"days": list, "start": str, "end": str}, {})
        if d is None or not all(isinstance(d.get(k), t) for k, t in (("days", list), ("start", str), ("end", str))):
            continue
        days = [day for j, day in enumerate(d["days"]) if p.expect(day, WEEKDAY, f"{w}.days[{j}]")]
        if not d["days"] or len(set(days)) != len(d["days"]):
            p.add(f"{w}.days", "weekdays_distinct")
        bad = [k for k in ("start", "end") if not HHMM_RE.fullmatch(d[k])]
        for k in bad:
            p.add(f"{w}.{k}", "time_invalid", got=repr(d[k][:10]))
        if not bad and d["start"] >= d["end"]:
            p.add(w, "start_not_before_end", start=d["start"], end=d["end"])
        out.append(OpeningHours(tuple(days), d["start"], d["end"]))
    return tuple(out)


def _https_url(p: _Problems, value: Any, where: str) -> str:
    """An https address without spaces or fragments ("" when absent); a problem named otherwise."""
    if not isinstance(value, str) or not value:
        return ""
    parts = urlsplit(value) if value.isprintable() else None
    if (
        parts is None
        or parts.scheme != "https"
        or not parts.hostname
        or parts.fragment
        or " " in value
        or len(value) > 500
    ):
        p.add(where, "https_invalid", got=repr(value[:80]))
        return ""
    return value


@dataclass(frozen=True)
class HandOffLink:
    """A QR hand-off the cabinet may show: what it is about and where a scan is sent."""

    kind: str  # one of LINK_KINDS
    sku: str
    variant_sku: str
    target: str  # an https address, or a path on the consumer pages ("/repair")


def hand_off_links(config: CabinetConfig) -> tuple[HandOffLink, ...]:
    """Every hand-off a configuration gives: the repair form, the store, each product and each of its variants
    (the variant's store page, else the product's, else the store's /p/<sku>)."""
    store = config.store_base_url.rstrip("/")
    links = [HandOffLink("repair", "", "", "/repair")]
    if store:
        links.append(HandOffLink("store", "", "", store))
    for product in config.products:
        page = product.store_url or (f"{store}/p/{quote(product.sku)}" if store else "")
        if page:
            links.append(HandOffLink("product", product.sku, "", page))
        for variant in product.sold_variants():
            if variant.store_url or page:
                links.append(HandOffLink("product", product.sku, variant.sku, variant.store_url or page))
    return tuple(links)


def link_code(key: bytes, cabinet_id: str, kind: str, sku: str = "", variant_sku: str = "") -> str:
    """A QR hand-off code: 10 base32 characters of an HMAC-SHA256 under the cabinet's own key, so the cabinet
    prints it offline and the cloud (which holds the same key) derives the same code table when a
    configuration is saved; nobody else can guess a code, and it carries no personal data."""
    message = "\x1f".join(("kiosk-link-v1", cabinet_id, kind, sku, variant_sku)).encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:10]


def _languages(p: _Problems, d: dict[str, Any]) -> tuple[str, ...]:
    """The document's content languages, its fallback language first (en when it declares none)."""
    fallback = d.get("fallback_language", "en")
    fallback = fallback if isinstance(fallback, str) else "en"
    declared = _strings(p, d.get("languages", [fallback]), "languages")
    for lang in dict.fromkeys((fallback, *declared)):
        if lang not in CONTENT_LANGUAGES:
            p.add("languages", "language_unspoken", language=repr(lang[:20]), known=", ".join(CONTENT_LANGUAGES))
    if fallback not in declared:
        p.add("fallback_language", "fallback_undeclared", language=repr(fallback[:20]), declared=", ".join(declared))
    if len(set(declared)) != len(declared):
        p.add("languages", "language_twice")
    return (fallback, *(lang for lang in dict.fromkeys(declared) if lang != fallback))


# --- salted secrets (PINs, pickup codes) ------------------------------------------------


def hash_secret(secret: str, *, n: int = 2**14, r: int = 8, p: int = 1) -> str:
    """scrypt$n$r$p$salt_hex$hash_hex, the format of retailer PIN hashes and pickup code hashes."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=SCRYPT_MAXMEM)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def verify_secret(secret: str, hashed: str) -> bool:
    """False for a wrong secret and for a hash outside the bounds (it would stall the cabinet)."""
    match = SCRYPT_RE.fullmatch(hashed)
    if not match or scrypt_problem(hashed):
        return False
    n, r, p = (int(x) for x in match.group(1, 2, 3))
    salt, expected = bytes.fromhex(match[4]), bytes.fromhex(match[5])
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, dklen=len(expected), maxmem=SCRYPT_MAXMEM)
    return hmac.compare_digest(digest, expected)
