"""The wire contract between cabinet and cloud: event schema and request signing.

This is the one module that ``cloud_stub`` imports from the cabinet side.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 1
MAX_SEQ = 2**63 - 1          # SQLite's INTEGER range, on both sides
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
WALL_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")

# Event type -> required payload fields and their JSON types.
# Optional fields may be present too; unknown event types are rejected.
# Adding a type or an optional field keeps SCHEMA_VERSION; changing a required field bumps it.
_STR_OR_NULL = (str, type(None))
_NUMBER = (int, float)
EVENT_TYPES: dict[str, dict[str, type | tuple[type, ...]]] = {
    # money and the sale
    "payment.approved": {"sale_id": str, "sku": str, "amount_cents": int, "currency": str,
                         "method": str, "receipt_no": _STR_OR_NULL, "trace_no": _STR_OR_NULL},
    "payment.failed": {"sale_id": str, "sku": str, "amount_cents": int, "currency": str,
                       "method": str, "outcome": str},
    "sale.completed": {"sale_id": str, "sku": str, "amount_cents": int, "currency": str,
                       "door_opened_at": str, "door_closed_at": str},
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
    "pickup.interrupted": {"order_id": str, "action": str},     # a power cut before the door opened
    "restock.interrupted": {"who": _STR_OR_NULL, "door_opened": bool},   # a power cut mid-restock
    "restock.recorded": {"sku": str, "added": int, "count": int, "staff_uid": _STR_OR_NULL},
    "stock.changed": {"sku": str, "count": int, "reason": str},
    # access: every PIN and staff-card attempt (never the PIN itself)
    "auth.attempt": {"method": str, "purpose": str, "ok": bool},
    # service
    "service.action": {"action": str, "result": str},
    "selftest.completed": {"passed": bool, "results": list},
    "repair.ticket": {"ticket_id": str, "device": str, "detail": str, "status": str},
    "alarm": {"kind": str, "detail": str},
    "device.fault": {"device": str, "detail": str},
    "heartbeat": {},
    "ad.impression": {"ad_id": str, "shown_s": _NUMBER},
    # what the cabinet did with what the cloud sent down
    "config.applied": {"version": int, "etag": str},
    "config.rejected": {"version": (int, type(None)), "etag": str, "reason": str},
    "command.applied": {"command_id": str, "kind": str, "result": str},
}

# Events that record money: committed with synchronous=FULL before anything physical happens.
MONEY_EVENTS = frozenset({"payment.approved", "payment.reversed", "sale.completed", "sale.unclaimed",
                          "pickup.completed"})
# Events a full outbox may refuse (OutboxFull) so that money and alarms keep their room.
SHEDDABLE_EVENTS = frozenset({"heartbeat", "ad.impression", "card.read", "code.scanned"})


# Commands the cloud queues for a cabinet (GET /v1/commands): kind -> required args.
COMMAND_KINDS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "unlock": {"seconds": _NUMBER, "reason": str},     # e.g. the retailer opens the door remotely
    "refresh_config": {},                               # pull the configuration now
    "restart": {},                                      # restart the cabinet service when idle
}
MAX_UNLOCK_COMMAND_S = 30


class SchemaError(ValueError):
    """An event or batch that does not follow the schema; names the offending field."""


@dataclass(frozen=True)
class Event:
    id: str
    cabinet_id: str
    seq: int
    type: str
    wall_time: str          # ISO 8601 UTC, e.g. 2026-11-25T16:39:53.123Z
    mono_time: float        # time.monotonic() of the cabinet when the event happened
    payload: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def new_event_id() -> str:
    return str(uuid.uuid4())


def utc_iso(ts: float) -> str:
    """ISO 8601 UTC with milliseconds: 2026-11-25T16:39:53.123Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


def utc_now_iso() -> str:
    return utc_iso(time.time())


def _check(value: Any, expected: type | tuple[type, ...], where: str) -> None:
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
    if event_type not in EVENT_TYPES:
        raise SchemaError(f"type: unknown event type {event_type!r}")
    if not isinstance(payload, dict):
        raise SchemaError(f"{where}: expected object, got {type(payload).__name__}")
    for key, expected in EVENT_TYPES[event_type].items():
        if key not in payload:
            raise SchemaError(f"{where}.{key}: required for {event_type}")
        _check(payload[key], expected, f"{where}.{key}")


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
    if kind == "unlock" and not 0 < args["seconds"] <= MAX_UNLOCK_COMMAND_S:
        raise SchemaError(f"args.seconds: expected more than 0 and at most {MAX_UNLOCK_COMMAND_S}")


_ENVELOPE: dict[str, type | tuple[type, ...]] = {
    "id": str, "cabinet_id": str, "seq": int, "type": str, "wall_time": str,
    "mono_time": (int, float), "payload": dict, "schema_version": int,
}


def event_from_json(data: Any) -> Event:
    """Parse one event from its JSON form, raising SchemaError naming the bad field."""
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
    if not WALL_TIME_RE.fullmatch(data["wall_time"]):
        raise SchemaError(f"wall_time: not ISO 8601 UTC like 2026-11-25T16:39:53.123Z: {data['wall_time'][:40]!r}")
    if data["schema_version"] != SCHEMA_VERSION:
        raise SchemaError(f"schema_version: {data['schema_version']} not supported (want {SCHEMA_VERSION})")
    validate_payload(data["type"], data["payload"])
    return Event(**{**data, "mono_time": float(data["mono_time"])})


# --- request signing -------------------------------------------------------
# Each request from a cabinet carries these headers; the signature is
# HMAC-SHA256 (hex) with the cabinet's key over the canonical string below.
HDR_CABINET = "X-Cabinet-Id"
HDR_TIMESTAMP = "X-Timestamp"
HDR_NONCE = "X-Nonce"
HDR_SIGNATURE = "X-Signature"
SIGNATURE_WINDOW_S = 300


def canonical_request(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    body_hash = hashlib.sha256(body).hexdigest()
    return "\n".join([method.upper(), path, timestamp, nonce, body_hash]).encode()


def sign_request(key: bytes, cabinet_id: str, method: str, path: str, body: bytes,
                 *, now: float | None = None, nonce: str | None = None) -> dict[str, str]:
    timestamp = str(int(now if now is not None else time.time()))
    nonce = nonce or uuid.uuid4().hex
    signature = hmac.new(key, canonical_request(method, path, timestamp, nonce, body), hashlib.sha256).hexdigest()
    return {HDR_CABINET: cabinet_id, HDR_TIMESTAMP: timestamp, HDR_NONCE: nonce, HDR_SIGNATURE: signature}


def verify_signature(key: bytes, headers: Mapping[str, str], method: str, path: str, body: bytes) -> bool:
    try:
        expected = hmac.new(key, canonical_request(method, path, headers[HDR_TIMESTAMP], headers[HDR_NONCE], body),
                            hashlib.sha256).hexdigest()
    except KeyError:
        return False
    return hmac.compare_digest(expected, headers.get(HDR_SIGNATURE, ""))


_ENCODER = json.JSONEncoder(separators=(",", ":"), sort_keys=True)   # built once: json.dumps with options builds one a call


def dumps(data: Any) -> bytes:
    """Canonical compact JSON: what is signed, stored and compared."""
    return _ENCODER.encode(data).encode()
