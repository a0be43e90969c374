"""Cabinet configuration: one TOML file, typed dataclasses, errors that name the key.

Every section is a dataclass; every field has a type and (for simulation) a
default, and every number its range in its type (``Annotated[float, Range(gt=0)]``:
finite always, TOML's nan and inf never pass). Loading collects all errors at once,
each naming the file, the dotted key and what was expected, so a technician fixes a
file in one pass.
"""

from __future__ import annotations

import dataclasses
import os
import ssl
import tomllib
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from hal.lock import HARD_MAX_UNLOCK_S
from kiosk_ui.i18n import problem_line
from kiosk_ui.reach import Mounting
from sync_client.cabinet_config import HHMM_RE, MAX_PRICE_CENTS, PROBLEM_TEXTS, scrypt_problem
from sync_client.schema import Range, ranged

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

DEFAULT_CONFIG_PATH = Path("/etc/kiosk/kiosk.toml")
DEFAULT_DATA_DIR = Path("/var/lib/kiosk")
T = TypeVar("T", bound="DataclassInstance")

DAY_S = 86_400.0
Interval = Annotated[float, Range(gt=0, le=DAY_S)]  # a time that must pass: above 0, at most a day
BcmPin = Annotated[int, Range(ge=0, le=27)]  # a GPIO of the Pi's 40-pin header (BCM numbering)
Count = Annotated[int, Range(ge=0, le=1_000_000)]  # a product figure: 0 when unknown


@dataclass
class CabinetSection:
    id: str = "sim-cabinet-1"
    currency: str = "EUR"
    # File holding the cabinet's signing key (hex). Required outside simulation.
    key_file: str = ""
    support_phone: str = "+49 30 0000 0000"
    support_url: str = ""
    store_base_url: str = "https://shop.example.com"  # the product QR: {store}/p/{sku}?cabinet={id}


@dataclass
class RetailerSection:
    # scrypt hash of the retailer PIN: "scrypt$n$r$p$salt_hex$hash_hex". Required outside
    # simulation; there is no default PIN.
    pin_hash: str = ""
    technician_pin_hash: str = ""  # opens the service menu from the same PIN pad


@dataclass
class ScreenSection:
    width: Annotated[int, Range(ge=320, le=7680)] = 1024
    height: Annotated[int, Range(ge=240, le=4320)] = 600
    fullscreen: bool = False
    fps: Annotated[int, Range(ge=1, le=240)] = 30
    idle_timeout_s: Interval = 60.0
    still_there_s: Interval = 20.0  # "still there?" waits this long for a touch before leaving a checkout
    thanks_s: Annotated[float, Range(gt=0, le=600)] = 8.0
    language: Literal["en", "zh"] = "en"
    # How the screen is mounted: where accessibility mode puts its controls (within wheelchair reach,
    # 380-1220 mm above the floor). Defaults: the 10.1" panel, its bottom edge at 1100 mm (an assumption).
    bottom_mm: Annotated[float, Range(ge=0, le=2500)] = Mounting.bottom_mm  # the visible area's bottom edge
    height_mm: Annotated[float, Range(ge=40, le=2000)] = Mounting.height_mm  # the visible area's height

    @property
    def mounting(self) -> Mounting:
        return Mounting(bottom_mm=self.bottom_mm, height_mm=self.height_mm)

    # ad plays are counted in memory and committed as one ad.plays event with the first heartbeat this long
    # after the last (a power cut loses what was counted since)
    ad_plays_commit_s: Annotated[float, Range(ge=1, le=DAY_S)] = 600.0
    # shopper sessions (the funnel): an ended session waits in memory and is committed, one session.ended event
    # each, with the first heartbeat this long after the last commit; a touch within ad_touch_s of an ad's first
    # frame is that ad's touch
    sessions_commit_s: Annotated[float, Range(ge=1, le=DAY_S)] = 600.0
    ad_touch_s: Annotated[float, Range(gt=0, le=600)] = 10.0


@dataclass
class LockSection:
    # "gpio": relay and reed switch on the Pi's pins; "lockboard": the Pico lock controller board
    backend: Literal["gpio", "lockboard"] = "gpio"
    board_port: str = ""  # the lock board's serial port, e.g. /dev/kiosk-lockboard
    board_lock: Annotated[int, Range(ge=0, le=3)] = 0  # which of the board's relays and door inputs is this door
    board_door: Annotated[int, Range(ge=0, le=3)] = 0
    pin_factory: Literal["mock", "rpigpio", "lgpio"] = "mock"
    relay_pin: BcmPin = 17
    relay_active_high: bool = False  # most relay boards are active-low
    door_pin: BcmPin = 27  # reed switch to ground, pull-up: high = open
    door_debounce_s: Annotated[float, Range(ge=0, le=1)] = 0.05
    tamper_pin: BcmPin = 22  # tamper switch to ground (0: none wired)
    door_reminder_s: Interval = 60.0  # door open this long: "please close the door" on screen
    door_alarm_s: Interval = 180.0  # ... this long: an alarm to the retailer, with a photo
    # bound on one relay pulse; the lock driver's own maximum (HARD_MAX_UNLOCK_S) is above any configuration
    max_unlock_s: Annotated[float, Range(gt=0, le=HARD_MAX_UNLOCK_S)] = 5.0
    unlock_s: Annotated[float, Range(gt=0, le=HARD_MAX_UNLOCK_S)] = 4.0  # pulse for a sale (<= max_unlock_s)
    door_open_timeout_s: Annotated[float, Range(gt=0, le=600)] = 45.0  # shopper's time to open after paying
    max_unlocks_per_sale: Annotated[int, Range(ge=1, le=10)] = 3
    # after a power cut, a paid sale is offered again this long (0: never)
    resume_window_s: Annotated[float, Range(ge=0, le=3600)] = 120.0


@dataclass
class PaymentSection:
    backend: Literal["sim", "zvt"] = "sim"
    port: str = ""  # serial port of the ZVT terminal
    password: str = "000000"
    timeout_s: Annotated[float, Range(gt=0, le=600)] = 120.0
    check_s: Interval = 30.0  # health check of the terminal between sales


@dataclass
class NfcSection:
    backend: Literal["sim", "pn532", "none"] = "sim"
    port: str = ""  # PN532 on a UART (HSU), e.g. /dev/serial0


@dataclass
class FingerprintSection:
    # "zfm": a ZhianTec-family module (R30x, ZFM-20, AS608) on a UART; staff open the cabinet with a finger
    backend: Literal["sim", "zfm", "none"] = "none"
    port: str = ""
    baudrate: Annotated[int, Range(ge=9600, le=115200)] = 57600  # the module's default
    password: Annotated[int, Range(ge=0, le=0xFFFFFFFF)] = 0  # the module's handshake password (default 0)
    capacity: Annotated[int, Range(ge=1, le=1000)] = 1000  # templates the module holds (R307: 1000)
    # days a retailer has to name a newly enrolled finger in the configuration; unnamed after that, it is deleted
    name_within_days: Annotated[float, Range(ge=1, le=365)] = 7.0


@dataclass
class ScannerSection:
    # "serial": a GM65-style module on a serial port; "camera": QR codes from the camera's frames
    backend: Literal["sim", "serial", "camera", "none"] = "sim"
    port: str = ""


@dataclass
class CameraSection:
    backend: Literal["sim", "picamera", "opencv", "none"] = "sim"
    device: str = "0"  # OpenCV: a camera index or a device path


@dataclass
class FootfallSection:
    """Counting the people who pass in front of the cabinet and those who stop (firmware/footfall.py), from the
    camera's frames shrunk to grey: only the counts are kept and sent (footfall.counted events), never an image.
    Off unless turned on here: whether a camera may watch passers-by is the site's decision."""

    enabled: bool = False
    fps: Annotated[float, Range(gt=0, le=15)] = 4.0  # frames looked at per second (low: a person takes seconds)
    stop_s: Annotated[float, Range(ge=0.5, le=600)] = 3.0  # standing this long in front: a stopper
    resolution: Literal["160x120", "320x240"] = "160x120"  # the frame the counter works on
    commit_s: Annotated[float, Range(ge=10, le=DAY_S)] = 300.0  # counts ride with the first heartbeat this long after


@dataclass
class SyncSection:
    cloud_url: str = ""  # empty: a local cloud stub in simulation
    # the byte bound (1 MB) protects the cloud; big batches drain backlogs
    batch_size: Annotated[int, Range(ge=1, le=100_000)] = 1000
    backoff_initial_s: Interval = 0.5
    backoff_max_s: Interval = 60.0
    request_timeout_s: Annotated[float, Range(gt=0, le=600)] = 10.0
    heartbeat_s: Interval = 300.0  # how often the fault list is looked at for the heartbeat
    # a heartbeat with nothing new (same faults, no ad plays due) is stored and sent only this often: an idle
    # cabinet's commits; also how soon an idle cabinet notices it is offline
    heartbeat_store_s: Interval = 600.0
    # new events wait this long for the rest of the moment's events: one upload, one commit marking them sent
    upload_linger_s: Annotated[float, Range(ge=0, le=60)] = 3.0
    # unsent events kept before heartbeats and scans are shed
    outbox_max_pending: Annotated[int, Range(ge=1, le=100_000_000)] = 500_000
    outbox_alarm_pending: Annotated[int, Range(ge=1, le=100_000_000)] = 250_000  # an "outbox_filling" alarm this early
    config_poll_s: Interval = 60.0  # how often the configuration is asked for (an ETag: cheap)
    commands_poll_s: Interval = 30.0  # how soon a remote unlock the retailer asked for arrives
    ca_file: str = ""  # PEM CA bundle for the cloud's TLS certificate (default: the system's)
    allow_insecure_http: bool = False  # a lab cloud on plain http://; warned at every start


@dataclass
class StorageSection:
    # free space below this for the store: payment is not offered
    reserve_mb: Annotated[float, Range(gt=0, le=1_000_000)] = 50.0
    check_s: Interval = 30.0  # how often the store is checked (every 2 s while out of service)
    # a check with a real small commit (a write to the card): this often, before every payment, and every
    # check while out of service; the other checks only read (the file, free space)
    probe_s: Interval = 1800.0
    # the WAL is checkpointed at the next idle moment past this size, or this long after the last checkpoint,
    checkpoint_kb: Annotated[int, Range(ge=16, le=1_048_576)] = 512
    checkpoint_max_age_s: Interval = 3600.0
    # and at once past this size, idle or not (never while a payment is under way)
    checkpoint_hard_kb: Annotated[int, Range(ge=16, le=4_194_304)] = 8192


@dataclass
class NetworkSection:
    """Where the link watch (firmware/link_watch.py) reads the kernel's view of the network link. Empty: the
    kernel's own (/proc/net/route, /sys/class/net) on a cabinet; not watched in simulation unless named
    (a test points a simulated cabinet at a fake tree)."""

    route_table: str = ""
    sys_class_net: str = ""


@dataclass
class UpdatesSection:
    """Signed updates (firmware/updater/, docs/updates.md): off until ``root`` names the trusted root metadata
    provisioned at install time."""

    root: str = ""  # e.g. /etc/kiosk/update-root.json; empty: no updates
    url: str = ""  # the release repository (metadata/ and targets/ under it); empty: the cloud's /updates
    slots: str = "/opt/kiosk"  # slot-a, slot-b and the `current` link systemd runs
    check_s: Interval = 21600.0  # how often to look for a release (and at the cloud's update_check command)
    # a scheduled check installs the latest release by itself; false (the default): only the version a rollout
    # from the console names (the cloud's update_check command), so that a bad release reaches few cabinets
    auto: bool = False
    health_s: Interval = 600.0  # a new version must self-test, draw and sync within this, or it is rolled back
    # a release handed to the root installer and not taken within this is withdrawn and reported (update.failed)
    handoff_s: Interval = 900.0


Volume = Annotated[float, Range(ge=0, le=1)]  # of the narration: 0 silent, 1 full


@dataclass
class AudioWindow:
    """Quiet (or loud) hours: from start to end, local time "HH:MM"; an end before the start spans midnight."""

    start: str
    end: str
    volume: Volume


@dataclass
class AudioSection:
    """The product narrations (firmware/narration.py). Kept here, not in the cloud's document: how loud a
    cabinet may be is the site's rule (the mall's quiet hours, in the cabinet's local time), and it holds
    offline like the rest of the installation's settings."""

    volume: Volume = 0.8  # outside every window
    schedule: list[AudioWindow] = field(default_factory=list)  # the first window that holds wins
    attract_narration: bool = False  # the attract loop plays the narrations muted, with subtitles
    espeak: str = "espeak-ng"  # speaks a product's text when the retailer gave no recording


@dataclass
class BenchSection:
    """A hardware-in-the-loop bench profile (hardware/bench/*.toml); absent on a real cabinet."""

    name: str = ""
    control_port: Annotated[int, Range(ge=0, le=65535)] = 0  # > 0: the loopback control API runs, as with --sim
    hands: bool = False  # a person stands at the bench to present cards and codes


@dataclass
class ProductSection:
    sku: str  # fields without a default are keys the file must have
    name: str
    price_cents: Annotated[int, Range(ge=1, le=MAX_PRICE_CENTS)]
    stock: Annotated[int, Range(ge=0, le=999)] = 0  # what the restock screen can count
    summary: str = ""
    colour: str = "#3a7bd5"
    range_km: Count = 0
    top_speed_kmh: Count = 0
    battery_wh: Count = 0
    weight_kg: Annotated[float, Range(ge=0, le=10_000)] = 0.0


def _default_products() -> list[ProductSection]:
    return [
        ProductSection(
            sku="SCOOT-S1",
            name="Volt S1 e-scooter",
            price_cents=49900,
            stock=3,
            summary="Foldable city scooter, aluminium frame",
            colour="#1f8a70",
            range_km=35,
            top_speed_kmh=20,
            battery_wh=360,
            weight_kg=13.5,
        ),
        ProductSection(
            sku="BIKE-C7",
            name="Cruiser C7 e-bike",
            price_cents=129900,
            stock=2,
            summary="Step-through e-bike, 7 gears, belt drive",
            colour="#d35400",
            range_km=80,
            top_speed_kmh=25,
            battery_wh=540,
            weight_kg=23.0,
        ),
    ]


@dataclass
class Config:
    cabinet: CabinetSection = field(default_factory=CabinetSection)
    retailer: RetailerSection = field(default_factory=RetailerSection)
    screen: ScreenSection = field(default_factory=ScreenSection)
    lock: LockSection = field(default_factory=LockSection)
    payment: PaymentSection = field(default_factory=PaymentSection)
    nfc: NfcSection = field(default_factory=NfcSection)
    fingerprint: FingerprintSection = field(default_factory=FingerprintSection)
    scanner: ScannerSection = field(default_factory=ScannerSection)
    camera: CameraSection = field(default_factory=CameraSection)
    footfall: FootfallSection = field(default_factory=FootfallSection)
    sync: SyncSection = field(default_factory=SyncSection)
    storage: StorageSection = field(default_factory=StorageSection)
    network: NetworkSection = field(default_factory=NetworkSection)
    updates: UpdatesSection = field(default_factory=UpdatesSection)
    bench: BenchSection = field(default_factory=BenchSection)
    audio: AudioSection = field(default_factory=AudioSection)
    products: list[ProductSection] = field(default_factory=_default_products)


# What each of the checker's problem codes says in English (the logs, the CLI and the technician screen in English);
# the screen says them in Chinese from the same codes and parameters (kiosk_ui/i18n.py, PROBLEMS). A text that
# places {where} itself is the whole line; any other follows "<where>: <key>: ".
CONFIG_PROBLEM_TEXTS = {
    **{code: PROBLEM_TEXTS[code] for code in ("type", "range_integer", "range_number", "unknown_key", "placeholder")},
    "table_expected": "expected a table, got {got}",
    "time_invalid": "expected HH:MM, got {got}",
    "required_missing": "required key missing (expected {expected})",
    "above_limit": "{value} is above {limit_key} {limit}",
    "pin_hash_invalid": "{problem}; make one with: kiosk pin hash",
    "sku_repeated": "sku {sku} appears more than once",
    "port_required": "required when {section}.backend is {backend}",
    "scanner_camera_missing": "'camera' needs a camera (camera.backend is 'none')",
    "footfall_camera_missing": "counting people needs a camera (camera.backend is 'none')",
    "mounting": "{problem}",
    "file_missing": "{file} does not exist (or is not a file)",
    "file_unreadable": "{file} is not readable by this user",
    "ca_unusable": "{file} holds no usable PEM certificate ({error})",
    "plain_http": "{url} is plain http (anyone on the network can read and change what the cabinet is told); use "
    "https, or for a lab set sync.allow_insecure_http = true",
    "not_https": "{url} is not an https:// URL",
    "config_missing": "file not found",
    "config_unreadable": "not readable by this user",
    "toml_invalid": "not valid TOML: {error}",
    "pin_hash_required": "required outside simulation; there is no default PIN (make one with: kiosk pin hash)",
    "key_file_required": "required outside simulation (kiosk provision creates it)",
    "key_file_absent": "{file} does not exist",
    "mock_pins": "'mock' drives no real relay; use 'rpigpio' or 'lgpio'",
    "sim_payment": "'sim' takes no real money; use 'zvt'",
    "sim_device": "'sim' is for simulation; name the real device or 'none'",
    "cloud_url_required": "required outside simulation",
    # what a cabinet lacks before it starts (firmware/setup_needs.py), as the technician's tools say it
    "unset": "{where}: {key} is not set (kiosk provision sets it)",
    "key_absent": "{file} does not exist (kiosk provision writes it)",
    "key_unusable": "{error}",
    "cloud_placeholder": "{where}: {key} is {cloud} (kiosk provision sets it)",
}


@dataclass(frozen=True)
class ConfigProblem:
    """One problem the checker found: the file (``where``), the dotted key ("" for the whole file), what is
    wrong as a code of CONFIG_PROBLEM_TEXTS and the values its text names, so that the technician screen can
    say it in Chinese while ``text`` is the English line the logs and the CLI print."""

    where: str
    key: str
    what: str
    params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, where: str, key: str, what: str, **params: object) -> ConfigProblem:
        return cls(where, key, what, tuple((name, str(value)) for name, value in params.items()))

    @property
    def text(self) -> str:
        """The English line: ``/etc/kiosk/kiosk.toml: sync.ca_file: /x.pem does not exist (or is not a file)``."""
        return problem_line(CONFIG_PROBLEM_TEXTS[self.what], self.where, self.key, self.params)


class ConfigError(Exception):
    """One or more problems in a configuration file: ``details`` lists them all, ``problems`` in English."""

    def __init__(self, details: list[ConfigProblem]) -> None:
        self.details = details
        self.problems = [p.text for p in details]
        super().__init__("\n".join(self.problems))


def _type_name(tp: Any) -> str:
    tp, _ = ranged(tp)
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin is list:
        (inner,) = typing.get_args(tp)
        return f"array of {_type_name(inner)}"
    if dataclasses.is_dataclass(tp):
        return "table"
    return {str: "string", int: "integer", float: "number", bool: "boolean"}.get(tp, str(tp))


def _describe(value: Any) -> str:
    kind = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array", dict: "table"}.get(
        type(value), type(value).__name__
    )
    shown = repr(value) if not isinstance(value, (list, dict)) else ""
    return f"{kind} {shown}".strip()


def _convert(tp: Any, value: Any, key: str, where: str, problems: list[ConfigProblem]) -> Any:
    tp, bounds = ranged(tp)
    origin = typing.get_origin(tp)
    wrong_type = ConfigProblem.of(where, key, "type", expected=_type_name(tp), got=_describe(value))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            problems.append(ConfigProblem.of(where, key, "table_expected", got=_describe(value)))
            return None
        return _build(tp, value, key, where, problems)
    if origin is list:
        (inner,) = typing.get_args(tp)
        if not isinstance(value, list):
            problems.append(wrong_type)
            return None
        return [_convert(inner, item, f"{key}[{i}]", where, problems) for i, item in enumerate(value)]
    if origin is Literal:
        if value not in typing.get_args(tp):
            problems.append(wrong_type)
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if isinstance(value, bool) != (tp is bool) or not isinstance(value, tp):
        problems.append(wrong_type)
    elif bounds is not None and bounds.problem(value, integer=tp is int):
        code = "range_integer" if tp is int else "range_number"
        problems.append(ConfigProblem.of(where, key, code, bounds=bounds.bounds(), got=repr(value)))
    return value


def _build(cls: type[T], data: dict[str, Any], prefix: str, where: str, problems: list[ConfigProblem]) -> T | None:
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            dotted = f"{prefix}.{key}" if prefix else key
            problems.append(ConfigProblem.of(where, dotted, "unknown_key", known=", ".join(fields)))
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        dotted = f"{prefix}.{name}" if prefix else name
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], dotted, where, problems)
        elif _required(f):
            problems.append(ConfigProblem.of(where, dotted, "required_missing", expected=_type_name(hints[name])))
    if any(_required(f) and n not in kwargs for n, f in fields.items()):
        return None
    return cls(**kwargs)


def _required(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def parse_config(data: dict[str, Any], where: str = "<config>") -> Config:
    problems: list[ConfigProblem] = []
    config = _build(Config, data, "", where, problems)
    if config is not None and not problems:  # value checks need well-typed values
        problems = _check_values(config, where)
    if config is None or problems:  # no config: a required key was missing, and said so
        raise ConfigError(problems)
    return config


def _check_values(config: Config, where: str) -> list[ConfigProblem]:
    problems = [
        ConfigProblem.of(where, key, "above_limit", value=value, limit_key=limit_key, limit=limit)
        for key, value, limit_key, limit in _ordered_pairs(config)
        if value > limit
    ]
    for key in ("pin_hash", "technician_pin_hash"):
        hashed = getattr(config.retailer, key)
        if hashed and (problem := scrypt_problem(hashed)):  # the cloud's rule for PIN hashes
            problems.append(ConfigProblem.of(where, f"retailer.{key}", "pin_hash_invalid", problem=problem))
    skus = [p.sku for p in config.products]
    for sku in sorted({s for s in skus if skus.count(s) > 1}):
        problems.append(ConfigProblem.of(where, "products", "sku_repeated", sku=repr(sku)))
    for key, section, needs_port in (
        ("payment", config.payment, "zvt"),
        ("nfc", config.nfc, "pn532"),
        ("fingerprint", config.fingerprint, "zfm"),
        ("scanner", config.scanner, "serial"),
    ):
        if section.backend == needs_port and not section.port:
            problems.append(
                ConfigProblem.of(where, f"{key}.port", "port_required", section=key, backend=repr(needs_port))
            )
    if config.lock.backend == "lockboard" and not config.lock.board_port:
        problems.append(
            ConfigProblem.of(where, "lock.board_port", "port_required", section="lock", backend="'lockboard'")
        )
    if config.scanner.backend == "camera" and config.camera.backend == "none":
        problems.append(ConfigProblem.of(where, "scanner.backend", "scanner_camera_missing"))
    if config.footfall.enabled and config.camera.backend == "none":
        problems.append(ConfigProblem.of(where, "footfall.enabled", "footfall_camera_missing"))
    for i, window in enumerate(config.audio.schedule):
        for key in ("start", "end"):
            if not HHMM_RE.fullmatch(getattr(window, key)):
                problems.append(
                    ConfigProblem.of(
                        where, f"audio.schedule[{i}].{key}", "time_invalid", got=repr(getattr(window, key))
                    )
                )
    if problem := config.screen.mounting.problem():
        problems.append(ConfigProblem.of(where, "screen.bottom_mm, screen.height_mm", "mounting", problem=problem))
    problems += ca_file_problems(config.sync.ca_file, where)
    return problems


def _ordered_pairs(config: Config) -> list[tuple[str, float, str, float]]:
    """Keys whose value must not exceed another's: (key, value, limit key, limit)."""
    lock, sync = config.lock, config.sync
    return [
        ("lock.unlock_s", lock.unlock_s, "lock.max_unlock_s", lock.max_unlock_s),
        ("lock.door_reminder_s", lock.door_reminder_s, "lock.door_alarm_s", lock.door_alarm_s),
        ("sync.backoff_initial_s", sync.backoff_initial_s, "sync.backoff_max_s", sync.backoff_max_s),
        ("sync.outbox_alarm_pending", sync.outbox_alarm_pending, "sync.outbox_max_pending", sync.outbox_max_pending),
        (
            "storage.checkpoint_kb",
            config.storage.checkpoint_kb,
            "storage.checkpoint_hard_kb",
            config.storage.checkpoint_hard_kb,
        ),
    ]


def ca_file_problems(ca_file: str, where: str) -> list[ConfigProblem]:
    """What keeps ``sync.ca_file`` (a PEM bundle, "" for the system's CAs) from verifying the cloud's TLS."""
    if not ca_file:
        return []
    if not os.path.isfile(ca_file):
        return [ConfigProblem.of(where, "sync.ca_file", "file_missing", file=ca_file)]
    try:
        ssl.create_default_context(cafile=ca_file)
    except PermissionError:
        return [ConfigProblem.of(where, "sync.ca_file", "file_unreadable", file=ca_file)]
    except (ssl.SSLError, OSError, ValueError) as exc:
        return [ConfigProblem.of(where, "sync.ca_file", "ca_unusable", file=ca_file, error=exc)]
    return []


def cloud_url_problems(url: str, allow_insecure_http: bool, where: str, key: str = "") -> list[ConfigProblem]:
    """Outside simulation the cloud is reached over verified TLS; plain http only for a lab that says so.
    ``where`` and ``key`` say where the URL came from (file and key, or a command-line option)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "https" or scheme == "http" and allow_insecure_http:
        return []
    if scheme == "http":
        return [ConfigProblem.of(where, key, "plain_http", url=url)]
    return [ConfigProblem.of(where, key, "not_https", url=repr(url))]


def insecure_cloud_warning(url: str) -> str | None:
    """What to say at every start of a real cabinet whose cloud is plain http (allowed for a lab)."""
    if url.lower().startswith("http://"):
        return (
            f"sync.allow_insecure_http: the cloud {url} is reached over plain http: answers are still "
            "signed, but everything the cabinet sends can be read on the way; a lab only"
        )
    return None


def load_config(path: Path | None) -> Config:
    """Load a TOML file (or the simulation defaults when path is None)."""
    if path is None:
        return Config()
    where = str(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError([ConfigProblem.of(where, "", "config_missing")]) from None
    except PermissionError:
        raise ConfigError([ConfigProblem.of(where, "", "config_unreadable")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([ConfigProblem.of(where, "", "toml_invalid", error=exc)]) from None
    return parse_config(data, where)


# The ZVT password the terminals ship with (the ZVT default, and the other well-known factory setting): left so,
# anyone who reaches the terminal's serial line can register and run its administrative commands (reversals).
FACTORY_ZVT_PASSWORDS = frozenset({"000000", "123456"})


def production_warnings(config: Config, where: str) -> list[str]:
    """What a real cabinet runs with but should not: said at every start, by `kiosk config check` and doctor."""
    warnings = []
    if config.payment.backend == "zvt" and config.payment.password in FACTORY_ZVT_PASSWORDS:
        warnings.append(
            f"{where}: payment.password: still a factory default of ZVT terminals; set the terminal's "
            "own password (the payment provider or the terminal's menu) and put it here"
        )
    return warnings


# What hardware/rpi/kiosk.toml.template writes where the technician must put the cabinet's own value.
PLACEHOLDER_MARKER = "CHANGE-ME"


def _string_values(value: object, key: str) -> Iterator[tuple[str, str]]:
    """(dotted key, text) for every string in a configuration, ``products[0].sku`` style."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _string_values(getattr(value, f.name), f"{key}.{f.name}" if key else f.name)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _string_values(item, f"{key}[{i}]")
    elif isinstance(value, str):
        yield key, value


def placeholder_problems(config: Config, where: str) -> list[ConfigProblem]:
    """Every value still carrying the template's CHANGE-ME, each naming its key."""
    return [
        ConfigProblem.of(where, key, "placeholder", got=repr(text))
        for key, text in _string_values(config, "")
        if PLACEHOLDER_MARKER in text.upper()
    ]


def production_problems(config: Config, where: str) -> list[str]:
    """What stops a configuration from running a real cabinet (outside simulation), in English."""
    return [p.text for p in production_problem_details(config, where)]


def production_problem_details(config: Config, where: str) -> list[ConfigProblem]:
    """What stops a configuration from running a real cabinet (outside simulation)."""
    problems = placeholder_problems(config, where)
    if not config.retailer.pin_hash:
        problems.append(ConfigProblem.of(where, "retailer.pin_hash", "pin_hash_required"))
    if not config.cabinet.key_file:
        problems.append(ConfigProblem.of(where, "cabinet.key_file", "key_file_required"))
    elif not os.path.exists(config.cabinet.key_file):
        problems.append(ConfigProblem.of(where, "cabinet.key_file", "key_file_absent", file=config.cabinet.key_file))
    if config.lock.backend == "gpio" and config.lock.pin_factory == "mock":
        problems.append(ConfigProblem.of(where, "lock.pin_factory", "mock_pins"))
    if config.payment.backend == "sim":
        problems.append(ConfigProblem.of(where, "payment.backend", "sim_payment"))
    for key in ("nfc", "fingerprint", "scanner", "camera"):
        if getattr(config, key).backend == "sim":
            problems.append(ConfigProblem.of(where, f"{key}.backend", "sim_device"))
    if not config.sync.cloud_url:
        problems.append(ConfigProblem.of(where, "sync.cloud_url", "cloud_url_required"))
    else:
        problems += cloud_url_problems(config.sync.cloud_url, config.sync.allow_insecure_http, where, "sync.cloud_url")
    return problems
