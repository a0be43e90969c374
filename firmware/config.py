"""Cabinet configuration: one TOML file, typed dataclasses, errors that name the key.

Every section is a dataclass; every field has a type and (for simulation) a
default. Loading collects all errors at once, each naming the file, the dotted
key and what was expected, so a technician fixes a file in one pass.
"""
from __future__ import annotations

import dataclasses
import math
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

DEFAULT_CONFIG_PATH = Path("/etc/kiosk/kiosk.toml")
DEFAULT_DATA_DIR = Path("/var/lib/kiosk")
REQUIRED = object()     # marks a key that must be present in the file


@dataclass
class CabinetSection:
    id: str = "sim-cabinet-1"
    currency: str = "EUR"
    # File holding the cabinet's signing key (hex). Required outside simulation.
    key_file: str = ""
    support_phone: str = "+49 30 0000 0000"
    support_url: str = ""
    store_base_url: str = "https://shop.example.com"   # the product QR: {store}/p/{sku}?cabinet={id}


@dataclass
class RetailerSection:
    # scrypt hash of the retailer PIN: "scrypt$n$r$p$salt_hex$hash_hex". Required outside
    # simulation; there is no default PIN.
    pin_hash: str = ""
    technician_pin_hash: str = ""          # opens the service menu from the same PIN pad


@dataclass
class ScreenSection:
    width: int = 1024
    height: int = 600
    fullscreen: bool = False
    fps: int = 30
    idle_timeout_s: float = 60.0
    thanks_s: float = 8.0
    language: Literal["en", "zh"] = "en"


@dataclass
class LockSection:
    # "gpio": relay and reed switch on the Pi's pins; "lockboard": the Pico lock controller board
    backend: Literal["gpio", "lockboard"] = "gpio"
    board_port: str = ""                   # the lock board's serial port, e.g. /dev/kiosk-lockboard
    board_lock: int = 0                    # which of the board's relays and door inputs is this door
    board_door: int = 0
    pin_factory: Literal["mock", "rpigpio", "lgpio"] = "mock"
    relay_pin: int = 17
    relay_active_high: bool = False        # most relay boards are active-low
    door_pin: int = 27                     # reed switch to ground, pull-up: high = open
    door_debounce_s: float = 0.05
    tamper_pin: int = 22                   # tamper switch to ground (0: none wired)
    door_reminder_s: float = 60.0          # door open this long: "please close the door" on screen
    door_alarm_s: float = 180.0            # ... this long: an alarm to the retailer, with a photo
    max_unlock_s: float = 5.0              # hard bound on one relay pulse
    unlock_s: float = 4.0                  # pulse length for a sale (bounded by max_unlock_s)
    door_open_timeout_s: float = 45.0      # shopper's time to open the door after paying
    max_unlocks_per_sale: int = 3
    resume_window_s: float = 120.0         # after a power cut, a paid sale is offered again this long (0: never)


@dataclass
class PaymentSection:
    backend: Literal["sim", "zvt"] = "sim"
    port: str = ""                         # serial port of the ZVT terminal
    password: str = "000000"
    timeout_s: float = 120.0
    check_s: float = 30.0                  # health check of the terminal between sales


@dataclass
class NfcSection:
    backend: Literal["sim", "pn532", "none"] = "sim"
    port: str = ""                         # PN532 on a UART (HSU), e.g. /dev/serial0


@dataclass
class ScannerSection:
    # "serial": a GM65-style module on a serial port; "camera": QR codes from the camera's frames
    backend: Literal["sim", "serial", "camera", "none"] = "sim"
    port: str = ""


@dataclass
class CameraSection:
    backend: Literal["sim", "picamera", "opencv", "none"] = "sim"
    device: str = "0"                      # OpenCV: a camera index or a device path


@dataclass
class SyncSection:
    cloud_url: str = ""                    # empty: a local cloud stub in simulation
    batch_size: int = 1000                # the byte bound (1 MB) protects the cloud; big batches drain backlogs
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 60.0
    request_timeout_s: float = 10.0
    heartbeat_s: float = 300.0             # also how soon an idle cabinet notices it is offline
    outbox_max_pending: int = 500_000      # unsent events kept before heartbeats and scans are shed
    outbox_alarm_pending: int = 250_000    # an "outbox_filling" alarm this early
    config_poll_s: float = 60.0            # how often the configuration is asked for (an ETag: cheap)
    commands_poll_s: float = 30.0          # how soon a remote unlock the retailer asked for arrives


@dataclass
class StorageSection:
    reserve_mb: float = 50.0               # free space below this for the store: payment is not offered
    check_s: float = 30.0                  # how often the store is checked (every 2 s while out of service)


@dataclass
class BenchSection:
    """A hardware-in-the-loop bench profile (hardware/bench/*.toml); absent on a real cabinet."""
    name: str = ""
    control_port: int = 0                  # > 0: the loopback control API runs, as with --sim
    hands: bool = False                    # a person stands at the bench to present cards and codes


@dataclass
class ProductSection:
    sku: str = REQUIRED  # type: ignore[assignment]
    name: str = REQUIRED  # type: ignore[assignment]
    price_cents: int = REQUIRED  # type: ignore[assignment]
    stock: int = 0
    summary: str = ""
    colour: str = "#3a7bd5"
    range_km: int = 0
    top_speed_kmh: int = 0
    battery_wh: int = 0
    weight_kg: float = 0.0


def _default_products() -> list[ProductSection]:
    return [
        ProductSection(sku="SCOOT-S1", name="Volt S1 e-scooter", price_cents=49900, stock=3,
                       summary="Foldable city scooter, aluminium frame", colour="#1f8a70",
                       range_km=35, top_speed_kmh=20, battery_wh=360, weight_kg=13.5),
        ProductSection(sku="BIKE-C7", name="Cruiser C7 e-bike", price_cents=129900, stock=2,
                       summary="Step-through e-bike, 7 gears, belt drive", colour="#d35400",
                       range_km=80, top_speed_kmh=25, battery_wh=540, weight_kg=23.0),
    ]


@dataclass
class Config:
    cabinet: CabinetSection = field(default_factory=CabinetSection)
    retailer: RetailerSection = field(default_factory=RetailerSection)
    screen: ScreenSection = field(default_factory=ScreenSection)
    lock: LockSection = field(default_factory=LockSection)
    payment: PaymentSection = field(default_factory=PaymentSection)
    nfc: NfcSection = field(default_factory=NfcSection)
    scanner: ScannerSection = field(default_factory=ScannerSection)
    camera: CameraSection = field(default_factory=CameraSection)
    sync: SyncSection = field(default_factory=SyncSection)
    storage: StorageSection = field(default_factory=StorageSection)
    bench: BenchSection = field(default_factory=BenchSection)
    products: list[ProductSection] = field(default_factory=_default_products)


class ConfigError(Exception):
    """One or more problems in a configuration file; ``problems`` lists them all."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _type_name(tp: Any) -> str:
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
    kind = {str: "string", int: "integer", float: "number", bool: "boolean",
            list: "array", dict: "table"}.get(type(value), type(value).__name__)
    shown = repr(value) if not isinstance(value, (list, dict)) else ""
    return f"{kind} {shown}".strip()


def _convert(tp: Any, value: Any, key: str, where: str, problems: list[str]) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            problems.append(f"{where}: {key}: expected a table, got {_describe(value)}")
            return None
        return _build(tp, value, key, where, problems)
    if origin is list:
        (inner,) = typing.get_args(tp)
        if not isinstance(value, list):
            problems.append(f"{where}: {key}: expected {_type_name(tp)}, got {_describe(value)}")
            return None
        return [_convert(inner, item, f"{key}[{i}]", where, problems) for i, item in enumerate(value)]
    if origin is Literal:
        if value not in typing.get_args(tp):
            problems.append(f"{where}: {key}: expected {_type_name(tp)}, got {_describe(value)}")
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, bool) != (tp is bool) or not isinstance(value, tp):
        problems.append(f"{where}: {key}: expected {_type_name(tp)}, got {_describe(value)}")
    return value


def _build(cls: type, data: dict, prefix: str, where: str, problems: list[str]) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            dotted = f"{prefix}.{key}" if prefix else key
            problems.append(f"{where}: {dotted}: unknown key (known: {', '.join(fields)})")
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        dotted = f"{prefix}.{name}" if prefix else name
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], dotted, where, problems)
        elif f.default is REQUIRED:
            problems.append(f"{where}: {dotted}: required key missing (expected {_type_name(hints[name])})")
    if any(f.default is REQUIRED and n not in kwargs for n, f in fields.items()):
        return None
    return cls(**kwargs)


def parse_config(data: dict, where: str = "<config>") -> Config:
    problems: list[str] = []
    config = _build(Config, data, "", where, problems)
    if not problems:    # value checks need well-typed values
        problems = _check_values(config, where)
    if problems:
        raise ConfigError(problems)
    return config


def _check_values(config: Config, where: str) -> list[str]:
    problems = []
    if config.lock.max_unlock_s <= 0 or config.lock.max_unlock_s > 30:
        problems.append(f"{where}: lock.max_unlock_s: must be above 0 and at most 30 seconds "
                        f"(solenoids are rated for intermittent duty), got {config.lock.max_unlock_s}")
    if config.lock.unlock_s > config.lock.max_unlock_s:
        problems.append(f"{where}: lock.unlock_s: {config.lock.unlock_s} is above lock.max_unlock_s "
                        f"{config.lock.max_unlock_s}")
    for key in ("reserve_mb", "check_s"):
        value = getattr(config.storage, key)
        if not math.isfinite(value) or value <= 0:
            problems.append(f"{where}: storage.{key}: must be a finite number above 0, got {value}")
    if config.screen.width < 320 or config.screen.height < 240:
        problems.append(f"{where}: screen: {config.screen.width}x{config.screen.height} is too small "
                        "(at least 320x240)")
    if config.retailer.pin_hash:
        from sync_client.cabinet_config import SCRYPT_RE
        if not SCRYPT_RE.fullmatch(config.retailer.pin_hash):
            problems.append(f"{where}: retailer.pin_hash: not a PIN hash (scrypt$N$r$p$salt_hex$hash_hex); "
                            "make one with: kiosk pin hash")
    skus = [p.sku for p in config.products]
    for sku in sorted({s for s in skus if skus.count(s) > 1}):
        problems.append(f"{where}: products: sku {sku!r} appears more than once")
    for i, product in enumerate(config.products):
        if product.price_cents <= 0:
            problems.append(f"{where}: products[{i}].price_cents: must be positive, got {product.price_cents}")
        if product.stock < 0:
            problems.append(f"{where}: products[{i}].stock: must not be negative, got {product.stock}")
    for key, section, needs_port in (("payment", config.payment, "zvt"), ("nfc", config.nfc, "pn532"),
                                     ("scanner", config.scanner, "serial")):
        if section.backend == needs_port and not section.port:
            problems.append(f"{where}: {key}.port: required when {key}.backend is {needs_port!r}")
    if config.lock.backend == "lockboard" and not config.lock.board_port:
        problems.append(f"{where}: lock.board_port: required when lock.backend is 'lockboard'")
    if config.scanner.backend == "camera" and config.camera.backend == "none":
        problems.append(f"{where}: scanner.backend: 'camera' needs a camera (camera.backend is 'none')")
    return problems


def load_config(path: Path | None) -> Config:
    """Load a TOML file (or the simulation defaults when path is None)."""
    if path is None:
        return Config()
    where = str(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError([f"{where}: file not found"]) from None
    except PermissionError:
        raise ConfigError([f"{where}: not readable by this user"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{where}: not valid TOML: {exc}"]) from None
    return parse_config(data, where)


def production_problems(config: Config, where: str) -> list[str]:
    """What stops a configuration from running a real cabinet (outside simulation)."""
    problems = []
    if not config.retailer.pin_hash:
        problems.append(f"{where}: retailer.pin_hash: required outside simulation; there is no default PIN "
                        "(make one with: kiosk pin hash)")
    if not config.cabinet.key_file:
        problems.append(f"{where}: cabinet.key_file: required outside simulation (kiosk provision creates it)")
    elif not os.path.exists(config.cabinet.key_file):
        problems.append(f"{where}: cabinet.key_file: {config.cabinet.key_file} does not exist")
    if config.lock.backend == "gpio" and config.lock.pin_factory == "mock":
        problems.append(f"{where}: lock.pin_factory: 'mock' drives no real relay; use 'rpigpio' or 'lgpio'")
    if config.payment.backend == "sim":
        problems.append(f"{where}: payment.backend: 'sim' takes no real money; use 'zvt'")
    for key in ("nfc", "scanner", "camera"):
        if getattr(config, key).backend == "sim":
            problems.append(f"{where}: {key}.backend: 'sim' is for simulation; name the real device or 'none'")
    if not config.sync.cloud_url:
        problems.append(f"{where}: sync.cloud_url: required outside simulation")
    return problems
