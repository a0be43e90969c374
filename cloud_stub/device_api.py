"""The device API: what cabinets call, each request signed with the cabinet's own key.

Every route authenticates the signed headers (the cabinet, the timestamp window, the signature
over the body's declared hash, the nonce) before it reads a byte of the body, then reads the
body within its declared length and the route's maximum and checks it against the signed hash.
The nonce is claimed once: by its own write, or for an upload by the transaction that stores it.
An unknown cabinet and a bad signature get the same 401 by the same path. A cabinet acts only
as itself (403 for another cabinet's batch, command or payment). The payment-provider simulator
route exists only when asked for.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
import re
import secrets
from collections.abc import Mapping
from typing import Any

import simplejpeg
from aiohttp import web

from cloud_stub.answer_signing import SIGNING_KEY
from cloud_stub.core import (
    CALLER,
    MAX_BODY_BYTES,
    SMALL_BODY_BYTES,
    Core,
    Refused,
    json_type,
    object_fields,
    read_json,
)
from cloud_stub.jpeg_header import JpegHeaderError, check_frame, read_jpeg_header
from cloud_stub.media import media_for_cabinet
from cloud_stub.payments.provider import ProviderError, ProviderUnreachable
from cloud_stub.payments.service import NotConfigured, Payments
from cloud_stub.sqldb import reads
from cloud_stub.store import TICKET_STATUSES, CabinetExistsError, InvalidToken, NonceUsed, NotFound
from sync_client.schema import (
    HDR_CABINET,
    HDR_CONTENT_SHA256,
    HDR_NONCE,
    HDR_SIGNATURE,
    HDR_TIMESTAMP,
    MAX_AMOUNT_CENTS,
    SIGNATURE_WINDOW_S,
    SIGNED_HEADERS,
    Event,
    SchemaError,
    SnapshotNameError,
    body_matches,
    dumps,
    event_from_json,
    parse_snapshot_name,
    utc_iso,
    verify_signature,
)

# A request is accepted while its timestamp is within the window either side of server time, so a
# nonce can be replayed for up to two windows after we first saw it: remember it that long.
NONCE_KEEP_S = 2 * SIGNATURE_WINDOW_S
MAX_NONCE_CHARS = 128
NONCE_USED = f"{HDR_NONCE}: already used; sign each request with a new nonce"
PAYMENT_TTL_S = 300
# What a create or refund answers when the retailer's payment provider cannot be reached (503 with Retry-After).
PROVIDER_UNREACHABLE = "payment provider unreachable"
PROVIDER_RETRY_AFTER_S = 60
CURRENCY_RE = re.compile(r"[A-Z]{3}")
MAX_SNAPSHOT_BYTES = 200 * 1024  # a thumbnail; the cabinet keeps the full picture
MAX_TICKET_ID_CHARS = 64
# An unknown cabinet's request is checked against this key, so that it takes the same path and time as
# a known cabinet's bad signature and gets the same answer: nobody learns which cabinet ids exist.
_UNKNOWN_CABINET_KEY = secrets.token_bytes(32)
BAD_SIGNATURE = (
    f"{HDR_SIGNATURE}: not valid (an unknown cabinet, a wrong key, or the path, timestamp, nonce or "
    "body hash differ from what was signed)"
)

log = logging.getLogger("cloud_stub")


class DeviceApi:
    def __init__(self, core: Core, payments: Payments, simulate_payments: bool = False) -> None:
        self.core = core
        self.store = core.store
        self.payments = payments
        self.simulate_payments = simulate_payments
        self._decoding = asyncio.Lock()

    def routes(self) -> list[web.RouteDef]:
        routes = [
            web.post("/v1/events", self.ingest),
            web.get("/v1/config", self.get_config),
            web.get("/v1/pickup-orders", self.pickup_orders),
            web.get("/v1/commands", self.commands),
            web.post("/v1/commands/{command_id}/ack", self.ack_command),
            web.post("/v1/payments", self.create_payment),
            web.get("/v1/payments/{payment_id}", self.get_payment),
            web.post("/v1/payments/{payment_id}/cancel", self.cancel_payment),
            web.post("/v1/payments/{payment_id}/refund", self.refund_payment),
            web.get("/v1/payments/by-sale/{sale_id}", self.payment_for_sale),
            web.get("/pay/{payment_id}", self.pay_page),
            web.post("/v1/payments/notify/{provider}/{retailer}", self.payment_notification),
            web.put("/v1/snapshots/{name}", self.put_snapshot),
            web.get("/v1/media/{sha256}", self.media),
            web.post("/v1/enroll", self.enroll),
        ]
        if self.simulate_payments:
            routes.append(web.post("/sim/payments/{payment_id}/pay", self.sim_pay))
        return routes

    async def enroll(self, request: web.Request) -> web.Response:
        """A new cabinet registers the key it made itself, with a one-time token from its retailer
        (the only device request not signed: the cabinet has no registered key yet)."""
        data = object_fields(
            read_json(await self.core.read_body(request)), {"cabinet_id": str, "key": str, "token": str}
        )
        try:
            key = bytes.fromhex(data["key"])
        except ValueError:
            raise Refused(400, "key: expected hex") from None
        try:
            retailer = await self.core.db(
                self.store.enroll, data["token"], data["cabinet_id"], key, now=self.core.now()
            )
        except InvalidToken as exc:
            raise Refused(401, f"token: {exc}") from None
        except CabinetExistsError as exc:
            raise Refused(409, f"cabinet_id: {exc}") from None
        except ValueError as exc:
            raise Refused(400, str(exc)) from None
        log.info("cabinet enrolled", extra={"cabinet_id": data["cabinet_id"], "retailer": retailer})
        return web.json_response({"cabinet_id": data["cabinet_id"], "retailer": retailer}, status=201)

    # --- authentication -------------------------------------------------------------------
    async def authenticate(
        self, request: web.Request, max_bytes: int = SMALL_BODY_BYTES, hint: str = "", *, claim_nonce: bool = True
    ) -> tuple[str, float, bytes]:
        """Check the signed headers and claim the nonce (with ``claim_nonce`` False only check that it is new:
        the caller's write claims it), then read the body (at most ``max_bytes``; ``hint`` ends the 413) and
        check it against its signed hash. Returns the cabinet, the server time and the body."""
        headers = request.headers
        for name in SIGNED_HEADERS:
            if not headers.get(name):
                raise Refused(401, f"{name}: header missing")
        try:
            timestamp = int(headers[HDR_TIMESTAMP])
        except ValueError:
            raise Refused(401, f"{HDR_TIMESTAMP}: not an integer number of seconds") from None
        now = self.core.now()
        if abs(now - timestamp) > SIGNATURE_WINDOW_S:
            raise Refused(
                401,
                f"{HDR_TIMESTAMP}: {abs(now - timestamp):.0f} s from server time, outside the "
                f"{SIGNATURE_WINDOW_S} s signature window (check the cabinet's clock)",
            )
        if len(headers[HDR_NONCE]) > MAX_NONCE_CHARS:
            raise Refused(401, f"{HDR_NONCE}: longer than {MAX_NONCE_CHARS} characters")
        cabinet_id = headers[HDR_CABINET]
        admit = self._admit if claim_nonce else self._check
        request[SIGNING_KEY] = await self.core.db(admit, cabinet_id, headers, request.method, request.path, now)
        request[CALLER] = f"cabinet {cabinet_id}"  # from here on every answer, refusals too, is signed
        body = await self.core.read_body(request, max_bytes, hint)
        if not body_matches(headers, body):
            raise Refused(401, f"{HDR_CONTENT_SHA256}: does not match the body that arrived")
        return cabinet_id, now, body

    def _admit(self, cabinet_id: str, headers: Mapping[str, str], method: str, path: str, now: float) -> bytes:
        """On the store's thread: the signature, then the nonce, claimed once the headers are authentic.
        Returns the cabinet's key, which signs the answer."""
        key = self._check(cabinet_id, headers, method, path, now)
        if not self.store.remember_nonce(cabinet_id, headers[HDR_NONCE], keep_s=NONCE_KEEP_S, now=now):
            raise Refused(401, NONCE_USED)
        return key

    @reads
    def _check(self, cabinet_id: str, headers: Mapping[str, str], method: str, path: str, now: float) -> bytes:
        """The signature, then whether the nonce is new (one read: a reader's thread may run it). Returns the
        cabinet's key."""
        admission = self.store.admission(cabinet_id, headers[HDR_NONCE], keep_s=NONCE_KEEP_S, now=now)
        valid = verify_signature(admission.key if admission else _UNKNOWN_CABINET_KEY, headers, method, path)
        if admission is None or not valid:
            raise Refused(401, BAD_SIGNATURE)
        if admission.nonce_used:
            raise Refused(401, NONCE_USED)
        return admission.key

    # --- events -----------------------------------------------------------------------------
    async def ingest(self, request: web.Request) -> web.Response:
        # The nonce is claimed by the transaction that stores the batch: one commit an upload.
        signer, now, body = await self.authenticate(
            request, MAX_BODY_BYTES, "; send smaller batches", claim_nonce=False
        )
        raw_events = parse_batch(body, signer)
        events, rejected = validate_events(raw_events, now)
        batch = [event for _, event in events]
        nonce = request.headers[HDR_NONCE]
        try:
            result = await self.core.db(
                self.store.store_events, signer, batch, now=now, nonce=nonce, nonce_keep_s=NONCE_KEEP_S
            )
        except NonceUsed:  # the same request at once through another node, which claimed it first
            raise Refused(401, NONCE_USED) from None
        if result.changed:
            raise Refused(409, changed_refusal(events, result.changed))
        for index, event in events:
            if event.id in result.conflicts:
                rejected.append({"id": event.id, "index": index, "reason": "id: already stored for another cabinet"})
        rejected.sort(key=lambda entry: entry["index"])
        log.info(
            "ingest cabinet=%s events=%d stored=%d acked=%d rejected=%d",
            signer,
            len(raw_events),
            result.stored,
            len(result.acked),
            len(rejected),
        )
        return web.json_response({"acked": result.acked, "rejected": rejected})

    # --- snapshots --------------------------------------------------------------------------
    async def put_snapshot(self, request: web.Request) -> web.Response:
        """Store a door snapshot's thumbnail once per (cabinet, name); the name is in the signed path."""
        cabinet_id, now, body = await self.authenticate(request, MAX_SNAPSHOT_BYTES, " (send a thumbnail)")
        name = request.match_info["name"]
        try:
            taken_at = utc_iso(parse_snapshot_name(name).taken_at)
        except SnapshotNameError as exc:
            raise Refused(400, str(exc)) from None
        check_jpeg_header(body)
        async with self._decoding:  # one decode at a time: its memory is bounded by the checked frame
            await asyncio.to_thread(decode_jpeg, body)  # a few ms, off the event loop
        created = await self.core.db(self.store.put_snapshot, cabinet_id, name, taken_at, body, now=now)
        log.info("snapshot cabinet=%s name=%s bytes=%d stored=%s", cabinet_id, name, len(body), created)
        return web.json_response(
            {"name": name, "taken_at": taken_at, "bytes": len(body), "stored": created}, status=201 if created else 200
        )

    # --- media -------------------------------------------------------------------------------
    async def media(self, request: web.Request) -> web.Response:
        """An uploaded file of the cabinet's retailer, by the hash its configuration names (404 for others)."""
        cabinet_id, _, _ = await self.authenticate(request)
        record, content = await media_for_cabinet(self.core, cabinet_id, request.match_info["sha256"])
        return web.Response(body=content, content_type=record["content_type"])

    # --- configuration and pickup orders -------------------------------------------------------
    async def get_config(self, request: web.Request) -> web.Response:
        cabinet_id, _, _ = await self.authenticate(request)
        found = await self.core.db(self.store.config, cabinet_id)
        if found is None:
            raise Refused(404, f"no configuration for cabinet {cabinet_id!r} yet")
        version, document = found
        orders = await self.core.db(self.store.open_orders, cabinet_id)
        served = served_config(version, document, orders)
        etag = config_etag(served)
        if etag in _etags(request.headers.get("If-None-Match", "")):
            return web.Response(status=304, headers={"ETag": etag})
        return web.json_response(served, headers={"ETag": etag}, dumps=lambda d: dumps(d).decode())

    async def pickup_orders(self, request: web.Request) -> web.Response:
        cabinet_id, _, _ = await self.authenticate(request)
        return web.json_response({"orders": await self.core.db(self.store.open_orders, cabinet_id)})

    # --- commands ----------------------------------------------------------------------------
    async def commands(self, request: web.Request) -> web.Response:
        cabinet_id, _, _ = await self.authenticate(request)
        pending = await self.core.db(self.store.deliver_commands, cabinet_id, now=self.core.now())
        return web.json_response({"commands": [_command_for_cabinet(c) for c in pending]})

    async def ack_command(self, request: web.Request) -> web.Response:
        cabinet_id, now, body = await self.authenticate(request)
        data = object_fields(read_json(body), {"result": str})
        command_id = request.match_info["command_id"]
        command = await self.core.db(self.store.command, command_id)
        if command is None:
            raise NotFound(f"no command {command_id!r}")
        if command["cabinet_id"] != cabinet_id:
            raise Refused(403, f"command {command_id!r} is not for cabinet {cabinet_id!r}")
        acked = await self.core.db(self.store.ack_command, command_id, data["result"][:500], now=now)
        return web.json_response({"id": acked["id"], "acked_at": acked["acked_at"], "result": acked["result"]})

    # --- scan-to-pay --------------------------------------------------------------------------
    async def create_payment(self, request: web.Request) -> web.Response:
        cabinet_id, now, body = await self.authenticate(request)
        data = object_fields(read_json(body), {"sale_id": str, "amount_cents": int, "currency": str})
        if not 0 < data["amount_cents"] <= MAX_AMOUNT_CENTS:
            raise Refused(400, f"amount_cents: expected 1 to {MAX_AMOUNT_CENTS}, got {data['amount_cents']}")
        if not CURRENCY_RE.fullmatch(data["currency"]):
            raise Refused(400, f"currency: expected an ISO 4217 code like EUR, got {data['currency'][:10]!r}")
        if not 0 < len(data["sale_id"]) <= 64:
            raise Refused(400, "sale_id: expected 1 to 64 characters")
        try:
            payment, created = await self.payments.create(
                cabinet_id, data["sale_id"], data["amount_cents"], data["currency"], PAYMENT_TTL_S, _origin(request)
            )
        except ProviderUnreachable as exc:
            # 503: the cabinet's client takes it as "not now" and withdraws scan-to-pay until Retry-After.
            raise Refused(503, f"{PROVIDER_UNREACHABLE}: {exc}", retry_after=PROVIDER_RETRY_AFTER_S) from None
        except ProviderError as exc:
            raise Refused(422, f"the payment provider refused the payment: {exc}") from None
        return web.json_response(self._payment_json(request, payment), status=201 if created else 200)

    async def _own_payment(self, request: web.Request) -> tuple[str, float, dict[str, Any]]:
        cabinet_id, now, _ = await self.authenticate(request)
        payment = await self.core.db(self.store.payment, request.match_info["payment_id"], now=now)
        if payment is None:
            raise NotFound(f"no payment {request.match_info['payment_id']!r}")
        if payment["cabinet_id"] != cabinet_id:
            raise Refused(403, f"payment {payment['id']!r} belongs to another cabinet")
        return cabinet_id, now, payment

    async def get_payment(self, request: web.Request) -> web.Response:
        """The payment as it is; a pending one whose notification is late is asked about at its provider."""
        _, _, payment = await self._own_payment(request)
        payment = await self.payments.refresh(payment, _origin(request))
        return web.json_response(self._payment_json(request, payment))

    async def cancel_payment(self, request: web.Request) -> web.Response:
        _, _, payment = await self._own_payment(request)
        moved = await self.payments.cancel(payment, _origin(request))
        return web.json_response(self._payment_json(request, moved))

    async def refund_payment(self, request: web.Request) -> web.Response:
        """Give a paid payment back (the product was not taken); asked again, it answers the same."""
        _, _, payment = await self._own_payment(request)
        try:
            moved, _ = await self.payments.refund(payment, "cabinet", _origin(request))
        except ProviderUnreachable as exc:
            raise Refused(503, f"{PROVIDER_UNREACHABLE}: {exc}", retry_after=PROVIDER_RETRY_AFTER_S) from None
        except ProviderError as exc:
            raise Refused(422, f"the payment provider refused the refund: {exc}") from None
        if moved["status"] != "refunded":
            raise Refused(409, f"payment is {moved['status']}; only a paid payment can be refunded")
        return web.json_response(self._payment_json(request, moved))

    async def payment_for_sale(self, request: web.Request) -> web.Response:
        """The payment this cabinet created for a sale: what a cabinet asks after a restart cut it off."""
        cabinet_id, now, _ = await self.authenticate(request)
        sale_id = request.match_info["sale_id"]
        payment = await self.core.db(self.store.payment_for_sale, cabinet_id, sale_id, now=now)
        if payment is None:
            raise NotFound(f"no payment for sale {sale_id[:64]!r}")
        return web.json_response(self._payment_json(request, payment))

    async def pay_page(self, request: web.Request) -> web.Response:
        """What the shopper's phone opens from the QR code: the amount, and in simulation a pay button."""
        payment = await self.core.db(self.store.payment, request.match_info["payment_id"], now=self.core.now())
        if payment is None:
            raise NotFound(f"no payment {request.match_info['payment_id']!r}")
        amount = f"{payment['amount_cents'] / 100:.2f} {html.escape(payment['currency'])}"
        button = (
            f'<form method="post" action="/sim/payments/{payment["id"]}/pay"><button>Pay {amount}</button></form>'
            if self.simulate_payments and payment["status"] == "pending"
            else ""
        )
        return web.Response(
            text=f"<!doctype html><title>Pay {amount}</title><h1>{amount}</h1>"
            f"<p>Status: {payment['status']}</p>{button}",
            content_type="text/html",
        )

    async def sim_pay(self, request: web.Request) -> web.Response:
        """The payment provider's simulator: the shopper paid on the phone (once, and only while pending)."""
        moved, changed = await self.core.db(
            self.store.move_payment, request.match_info["payment_id"], "pending", "paid", now=self.core.now()
        )
        if not changed:
            raise Refused(409, f"payment is {moved['status']}, not pending")
        return web.json_response(self._payment_json(request, moved))

    async def payment_notification(self, request: web.Request) -> web.Response:
        """A provider's asynchronous notification (not signed by a cabinet: the provider's own signature is
        verified by its module); the answer is the one the provider's documentation asks for."""
        body = await self.core.read_body(request)
        provider, retailer = request.match_info["provider"], request.match_info["retailer"]
        try:
            answer = await self.payments.notify(provider, retailer, dict(request.headers), body, _origin(request))
        except NotConfigured as exc:
            raise NotFound(str(exc)) from None
        return web.Response(status=answer.status, body=answer.body or None, content_type=answer.content_type)

    @staticmethod
    def _payment_json(request: web.Request, payment: dict[str, Any]) -> dict[str, Any]:
        return {
            "payment_id": payment["id"],
            "sale_id": payment["sale_id"],
            "amount_cents": payment["amount_cents"],
            "currency": payment["currency"],
            "status": payment["status"],
            "qr_text": payment["qr_text"] or f"{request.url.origin()}/pay/{payment['id']}",
            "expires_at": utc_iso(payment["expires_at"]),
            "provider": payment["provider"],
            "method_detail": payment["method_detail"],
        }


def _origin(request: web.Request) -> str:
    return str(request.url.origin())


def served_config(version: int, document: dict[str, Any], orders: list[dict[str, Any]]) -> dict[str, Any]:
    """What ``GET /v1/config`` answers: the stored document, its version and the cabinet's open pickup orders."""
    return {**document, "version": version, "pickup_orders": orders}


def config_etag(document: dict[str, Any]) -> str:
    return '"' + hashlib.sha256(dumps(document)).hexdigest()[:32] + '"'


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def _command_for_cabinet(command: dict[str, Any]) -> dict[str, Any]:
    return {k: command[k] for k in ("id", "kind", "args", "created_at", "expires_at")}


def parse_batch(body: bytes, signer: str) -> list[Any]:
    """The raw events of a signed request body. Raises Refused (400 malformed, 403 another cabinet's)."""
    data = read_json(body)
    if not isinstance(data, dict):
        raise Refused(400, f"body: expected an object, got {json_type(data)}")
    for name, expected, expected_name in (("cabinet_id", str, "string"), ("events", list, "array")):
        if name not in data:
            raise Refused(400, f"{name}: required")
        if not isinstance(data[name], expected):
            raise Refused(400, f"{name}: expected {expected_name}, got {json_type(data[name])}")
    unknown = sorted(set(data) - {"cabinet_id", "events"})
    if unknown:
        raise Refused(400, f"{unknown[0]}: unknown field")
    if data["cabinet_id"] != signer:
        raise Refused(403, f"cabinet_id: {data['cabinet_id']!r} is not the signing cabinet {signer!r}")
    for index, raw in enumerate(data["events"]):
        if isinstance(raw, dict) and isinstance(raw.get("cabinet_id"), str) and raw["cabinet_id"] != signer:
            raise Refused(
                403, f"events[{index}].cabinet_id: {raw['cabinet_id']!r} is not the signing cabinet {signer!r}"
            )
    events: list[Any] = data["events"]  # its type was checked above
    return events


def check_jpeg_header(data: bytes) -> None:
    """Refused unless ``data`` has a readable JPEG frame header (415) of bounded size (413), before any decoding."""
    try:
        header = read_jpeg_header(data)
    except JpegHeaderError as exc:
        raise Refused(415, f"body: {exc}") from None
    try:
        check_frame(header)
    except JpegHeaderError as exc:
        raise Refused(413, f"body: {exc}") from None


def decode_jpeg(data: bytes) -> None:
    """Refused(415) unless the JPEG (its header already checked) decodes whole."""
    try:
        simplejpeg.decode_jpeg(data)
    except ValueError as exc:
        raise Refused(415, f"body: not a JPEG that decodes ({exc})") from None


def check_no_nul(value: Any, where: str) -> None:
    """SchemaError naming the first text with a NUL character: PostgreSQL's text columns cannot hold one (the
    facts of a payload become columns: a ticket's device, a sale's sku), so neither store takes it."""
    if isinstance(value, str):
        if "\x00" in value:
            raise SchemaError(f"{where}: contains a NUL character (U+0000)")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_no_nul(key, f"{where} key")
            check_no_nul(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_no_nul(item, f"{where}[{index}]")


def check_ticket(event: Event) -> None:
    """What the cloud needs of a repair.ticket beyond the schema's types: a known status, a usable id."""
    p = event.payload
    if p["status"] not in TICKET_STATUSES:
        raise SchemaError(
            f"payload.status: expected one of {', '.join(TICKET_STATUSES)} for repair.ticket, got {p['status'][:40]!r}"
        )
    if not 0 < len(p["ticket_id"]) <= MAX_TICKET_ID_CHARS:
        raise SchemaError(f"payload.ticket_id: expected 1 to {MAX_TICKET_ID_CHARS} characters")
    for key in ("name", "phone", "category"):
        if p.get(key) is not None and not isinstance(p[key], str):
            raise SchemaError(f"payload.{key}: expected str or null, got {json_type(p[key])}")


def validate_events(raw_events: list[Any], now: float) -> tuple[list[tuple[int, Event]], list[dict[str, Any]]]:
    """Split a batch into (index, event) pairs that can be stored and rejection entries for the rest
    (the reason names the field, as the shared schema does on the cabinet when it appends)."""
    events: list[tuple[int, Event]] = []
    rejected: list[dict[str, Any]] = []
    for index, raw in enumerate(raw_events):
        try:
            event = event_from_json(raw, now=now)
            check_no_nul(event.payload, "payload")
            if event.type == "repair.ticket":
                check_ticket(event)
        except SchemaError as exc:
            raw_id = raw.get("id") if isinstance(raw, dict) else None
            rejected.append({"id": raw_id if isinstance(raw_id, str) else None, "index": index, "reason": str(exc)})
        else:
            events.append((index, event))
    return events, rejected


def changed_refusal(events: list[tuple[int, Event]], changed: Mapping[str, list[str]]) -> str:
    """The 409 for a batch with events whose ids are stored with other content, naming the first."""
    index, event = next((i, e) for i, e in events if e.id in changed)
    more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
    return (
        f"events[{index}].id: {event.id} is already stored with other content ({', '.join(changed[event.id])} "
        f"differ){more}; nothing of the batch is stored and the conflict is recorded for the retailer"
    )
