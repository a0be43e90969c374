"""The cloud's HTTP API (aiohttp): signed event ingest from cabinets, and a health check."""
from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from aiohttp import web

from cloud_stub.store import CloudStore
from sync_client.schema import (HDR_CABINET, HDR_NONCE, HDR_SIGNATURE, HDR_TIMESTAMP, SIGNATURE_WINDOW_S, Event,
                                SchemaError, event_from_json, verify_signature)

MAX_BODY_BYTES = 8 * 1024 * 1024
# A request is accepted while its timestamp is within the window either side of server time, so a
# nonce can be replayed for up to two windows after we first saw it: remember it that long.
NONCE_KEEP_S = 2 * SIGNATURE_WINDOW_S
MAX_NONCE_CHARS = 128

log = logging.getLogger("cloud_stub")
T = TypeVar("T")


class Refused(Exception):
    """A request the API turns down as a whole; nothing of it is stored."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class CloudApi:
    """Request handlers bound to one store and one clock."""

    def __init__(self, store: CloudStore, now: Callable[[], float]) -> None:
        self.store = store
        self.now = now
        # The store runs on one dedicated worker thread: SQLite has a single writer anyway, so one
        # thread means no lock contention or SQLITE_BUSY among requests, while the event loop keeps
        # serving other cabinets during each commit's fsync (synchronous=FULL; slow on SD cards).
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cloud-store")

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v1/events", self.ingest),
            web.get("/healthz", self.healthz),
        ]

    async def close(self, _app: web.Application) -> None:
        # Runs after the server stopped taking requests, so the worker is idle and this returns at once.
        self._executor.shutdown(wait=True)

    async def _db(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    async def healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "events": await self._db(self.store.count_events)})

    async def ingest(self, request: web.Request) -> web.Response:
        signer = request.headers.get(HDR_CABINET, "")
        try:
            now, body = await self._authenticate(request)
            raw_events = parse_batch(body, signer)
        except Refused as refusal:
            log.warning("ingest refused cabinet=%s status=%d: %s", signer or "-", refusal.status, refusal.message)
            return web.json_response({"error": refusal.message}, status=refusal.status)

        events, rejected = validate_events(raw_events)
        result = await self._db(self.store.store_events, signer, [event for _, event in events], now=now)
        for index, event in events:
            if event.id in result.conflicts:
                rejected.append({"id": event.id, "index": index, "reason": "id: already stored for another cabinet"})
        rejected.sort(key=lambda entry: entry["index"])
        log.info("ingest cabinet=%s events=%d stored=%d acked=%d rejected=%d",
                 signer, len(raw_events), result.stored, len(result.acked), len(rejected))
        return web.json_response({"acked": result.acked, "rejected": rejected})

    async def _authenticate(self, request: web.Request) -> tuple[float, bytes]:
        """Check the signature headers; return the server time used and the raw body. Raises Refused."""
        headers = request.headers
        for name in (HDR_CABINET, HDR_TIMESTAMP, HDR_NONCE, HDR_SIGNATURE):
            if not headers.get(name):
                raise Refused(401, f"{name}: header missing")
        cabinet_id = headers[HDR_CABINET]
        key = await self._db(self.store.cabinet_key, cabinet_id)
        if key is None:
            raise Refused(401, f"{HDR_CABINET}: unknown cabinet {cabinet_id!r}")
        try:
            timestamp = int(headers[HDR_TIMESTAMP])
        except ValueError:
            raise Refused(401, f"{HDR_TIMESTAMP}: not an integer number of seconds") from None
        now = self.now()
        if abs(now - timestamp) > SIGNATURE_WINDOW_S:
            raise Refused(401, f"{HDR_TIMESTAMP}: {abs(now - timestamp):.0f} s from server time, outside the "
                               f"{SIGNATURE_WINDOW_S} s signature window (check the cabinet's clock)")
        nonce = headers[HDR_NONCE]
        if len(nonce) > MAX_NONCE_CHARS:
            raise Refused(401, f"{HDR_NONCE}: longer than {MAX_NONCE_CHARS} characters")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise Refused(413, f"body: larger than the {MAX_BODY_BYTES} byte limit; send smaller batches") from None
        if not verify_signature(key, headers, request.method, request.path, body):
            raise Refused(401, f"{HDR_SIGNATURE}: does not match the request (wrong key, or the body, path, "
                               "timestamp or nonce differ from what was signed)")
        if not await self._db(self.store.remember_nonce, cabinet_id, nonce, keep_s=NONCE_KEEP_S, now=now):
            raise Refused(401, f"{HDR_NONCE}: already used; sign each request with a new nonce")
        return now, body


def parse_batch(body: bytes, signer: str) -> list[Any]:
    """The raw events of a signed request body. Raises Refused (400 malformed, 403 another cabinet's)."""
    try:
        data = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise Refused(400, "body: JSON nested too deeply") from None
    except ValueError as exc:       # includes bad UTF-8 and NaN/Infinity
        raise Refused(400, f"body: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise Refused(400, f"body: expected an object, got {_json_type(data)}")
    for name, expected, expected_name in (("cabinet_id", str, "string"), ("events", list, "array")):
        if name not in data:
            raise Refused(400, f"{name}: required")
        if not isinstance(data[name], expected):
            raise Refused(400, f"{name}: expected {expected_name}, got {_json_type(data[name])}")
    unknown = sorted(set(data) - {"cabinet_id", "events"})
    if unknown:
        raise Refused(400, f"{unknown[0]}: unknown field")
    if data["cabinet_id"] != signer:
        raise Refused(403, f"cabinet_id: {data['cabinet_id']!r} is not the signing cabinet {signer!r}")
    for index, raw in enumerate(data["events"]):
        if isinstance(raw, dict) and isinstance(raw.get("cabinet_id"), str) and raw["cabinet_id"] != signer:
            raise Refused(403, f"events[{index}].cabinet_id: {raw['cabinet_id']!r} is not the signing "
                               f"cabinet {signer!r}")
    return data["events"]


def validate_events(raw_events: list[Any]) -> tuple[list[tuple[int, Event]], list[dict[str, Any]]]:
    """Split a batch into (index, event) pairs that can be stored and rejection entries for the rest."""
    events: list[tuple[int, Event]] = []
    rejected: list[dict[str, Any]] = []
    for index, raw in enumerate(raw_events):
        try:
            event = event_from_json(raw)
        except SchemaError as exc:
            raw_id = raw.get("id") if isinstance(raw, dict) else None
            rejected.append({"id": raw_id if isinstance(raw_id, str) else None, "index": index, "reason": str(exc)})
        else:
            events.append((index, event))
    return events, rejected


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def create_app(store: CloudStore, *, now: Callable[[], float] = time.time) -> web.Application:
    """The cloud application on ``store``; ``now`` is the clock for signature windows and receipt times.

    The caller owns ``store`` and closes it after the app has been cleaned up.
    """
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    api = CloudApi(store, now)
    app.add_routes(api.routes())
    app.on_cleanup.append(api.close)
    return app
