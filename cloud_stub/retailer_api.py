"""The retailer API: a retailer's token (``Authorization: Bearer …``) sees and manages only
its own cabinets: their last sync, sales, stock and alarms (read from the events they sent),
repair tickets (moved on as the retailer collects and returns the vehicles), door snapshots,
the catalog and prices they sell, online orders for pickup, and commands such as a remote
unlock. Another retailer's cabinet, ticket or snapshot answers 404, exactly like one that
does not exist, so ids cannot be probed.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from cloud_stub.core import CALLER, Core, Refused, object_fields, read_json
from cloud_stub.funnel import funnel
from cloud_stub.media import MediaProblem, add_media, missing_media
from cloud_stub.payments.credentials import CredentialsError
from cloud_stub.payments.provider import ProviderError, ProviderUnreachable
from cloud_stub.payments.service import Payments, own_payment, payment_summary
from cloud_stub.sales_filter import FilterError, parse_filter
from cloud_stub.sqldb import reads
from cloud_stub.store import TICKET_STATUSES, CloudStore
from sync_client.cabinet_config import (
    MAX_MEDIA_BYTES,
    PICKUP_CODE_DIGITS,
    ConfigInvalid,
    Problem,
    hash_secret,
    parse_config,
)
from sync_client.schema import (
    CLOUD_ONLY_COMMANDS,
    COMMAND_TTL_S,
    SchemaError,
    normalise_phone,
    utc_iso,
    validate_command,
)

DEFAULT_ORDER_TTL_S = 7 * 24 * 3600
# The fields of a configuration the retailer edits; version and pickup orders are the cloud's.
EDITABLE = (
    "config_schema",
    "currency",
    "products",
    "ads",
    "retailer",
    "scan_to_pay",
    "store_base_url",
    "link_base",
    "support_phone",
    "fallback_language",
    "languages",
    "place",
    "callback_retention_days",
)
MIN_ORDER_TTL_S, MAX_ORDER_TTL_S = 60, 90 * 24 * 3600
MAX_SALES_LISTED = 10_000
_SALE_FIELDS = ("sale_id", "sku", "variant_sku", "amount_cents", "currency", "method", "approved_at", "status")
MAX_SNAPSHOT_LIST = 1000
FILTER_PROBLEMS = {  # the console's filter errors, as the API words them
    "filter_bad_date": "expected a day as YYYY-MM-DD",
    "filter_from_after_to": "after to",
    "filter_too_long": "a range of at most 366 days",
}


async def config_problems(core: Core, retailer: str, cabinet_id: str, document: dict[str, Any]) -> list[Problem]:
    """Every problem of a configuration by the cabinet's own rules (with the open orders it will get), and the
    media it names that the retailer never uploaded; [] when it can be saved. Each has its English ``text``
    (what the API answers) and a code with parameters (what the console translates)."""
    editable = {k: v for k, v in document.items() if k in EDITABLE}
    orders = await core.db(core.store.open_orders, cabinet_id)
    problems: list[Problem] = []
    try:
        parse_config({**editable, "version": 1, "pickup_orders": orders})
    except ConfigInvalid as exc:
        problems = exc.details
    return problems + await missing_media(core, retailer, editable)


async def save_config(core: Core, retailer: str, cabinet_id: str, document: dict[str, Any]) -> int:
    """Store a configuration as the cabinet's next version once ``config_problems`` finds none (ConfigInvalid
    lists them: the console shows each next to its field, the API answers 422)."""
    problems = await config_problems(core, retailer, cabinet_id, document)
    if problems:
        raise ConfigInvalid(problems)
    editable = {k: v for k, v in document.items() if k in EDITABLE}
    return await core.db(core.store.put_config, cabinet_id, editable, now=core.now())


def _limit(request: web.Request, default: int, most: int) -> int:
    """The query's ``limit``: how many items a page of a list holds (1 to ``most``)."""
    try:
        limit = int(request.query.get("limit", str(default)))
    except ValueError:
        raise Refused(400, f"limit: not an integer: {request.query['limit'][:20]!r}") from None
    if not 1 <= limit <= most:
        raise Refused(400, f"limit: expected 1 to {most}, got {limit}")
    return limit


def _sales_cursor_of(sale: dict[str, Any]) -> str:
    """Where the next (older) page of sales starts: the key of the oldest sale listed, opaque to the caller."""
    return base64.urlsafe_b64encode(json.dumps([sale["began"], sale["sale_id"]]).encode()).decode()


def _sales_cursor(text: str) -> tuple[str, str]:
    """A ``before`` the sales answer gave as ``next``, read back (anything else is refused)."""
    try:
        key = json.loads(base64.urlsafe_b64decode(text.encode()))
    except (ValueError, UnicodeError):
        key = None
    if not (isinstance(key, list) and len(key) == 2 and all(isinstance(k, str) for k in key)):
        raise Refused(400, f"before: not a cursor this API gave (the next of a sales answer): {text[:40]!r}")
    return key[0], key[1]


def by_method(sales: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The completed sales counted and summed per how the shopper paid (the provider's method detail, else the
    cabinet's method) and currency, in that order."""
    totals: dict[tuple[str, str], list[int]] = {}
    for sale in sales:
        if sale["status"] == "completed":
            key = (sale.get("method_detail") or sale["method"] or "", sale["currency"])
            count_cents = totals.setdefault(key, [0, 0])
            count_cents[0], count_cents[1] = count_cents[0] + 1, count_cents[1] + sale["amount_cents"]
    return [
        {"method": method or None, "currency": currency, "count": count, "amount_cents": cents}
        for (method, currency), (count, cents) in sorted(totals.items())
    ]


FINGERPRINT_CHANGES = {"fingerprint.enrolled": "enrolled", "fingerprint.deleted": "deleted"}


@reads
def fingerprints_of(store: CloudStore, cabinet_id: str) -> dict[str, Any]:
    """A cabinet's staff fingers (the API's and the console's): the latest 200 enrolments and deletions, newest
    first, and the slots its configuration names now."""
    events = store.events_of(cabinet_id, tuple(FINGERPRINT_CHANGES), limit=200)
    found = store.config(cabinet_id)
    named = found[1].get("retailer", {}).get("staff_fingerprints", []) if found else []
    changes = [
        {
            "change": FINGERPRINT_CHANGES[e["type"]],
            **{k: e["payload"].get(k) for k in ("slot", "ok", "detail", "reason")},
            "at": e["wall_time"],
        }
        for e in reversed(events)
    ]
    return {"changes": changes, "configured": named}


class RetailerApi:
    def __init__(self, core: Core, payments: Payments) -> None:
        self.core = core
        self.store = core.store
        self.payments = payments

    def routes(self) -> list[web.RouteDef]:
        base = "/v1/retailer/cabinets/{cabinet_id}"
        return [
            web.get("/v1/retailer/cabinets", self.cabinets),
            web.get(base + "/sales", self.sales),
            web.get(base + "/stock", self.stock),
            web.get(base + "/repair-tickets", self.repair_tickets),
            web.patch("/v1/retailer/repair-tickets/{ticket_id}", self.patch_ticket),
            web.get(base + "/alarms", self.alarms),
            web.get(base + "/fingerprints", self.fingerprints),
            web.get(base + "/event-conflicts", self.event_conflicts),
            web.get(base + "/snapshots", self.snapshots),
            web.get(base + "/snapshots/{name}", self.snapshot),
            web.get(base + "/config", self.get_config),
            web.put(base + "/config", self.put_config),
            web.patch(base + "/products/{sku}", self.patch_product),
            web.post(base + "/commands", self.add_command),
            web.get("/v1/retailer/commands/{command_id}", self.get_command),
            web.post("/v1/retailer/orders", self.add_order),
            web.post("/v1/retailer/media", self.add_media),
            web.get("/v1/retailer/media", self.media),
            web.get("/v1/retailer/funnel", self.funnel),
            web.get("/v1/retailer/payment-provider", self.get_payment_provider),
            web.put("/v1/retailer/payment-provider", self.put_payment_provider),
            web.get("/v1/retailer/payments", self.list_payments),
            web.post("/v1/retailer/payments/{payment_id}/refund", self.refund_payment),
        ]

    # --- scan-to-pay: the retailer's provider and its payments -------------------------------------
    async def get_payment_provider(self, request: web.Request) -> web.Response:
        """The configured provider: its settings, and each secret masked (never the secret itself)."""
        retailer = await self.retailer(request)
        view = await self.payments.view(retailer)
        if view is None:
            raise Refused(404, "no payment provider configured: payments go to the simulator")
        return web.json_response(dataclasses.asdict(view))

    async def put_payment_provider(self, request: web.Request) -> web.Response:
        """Configure the provider: ``{"provider": "wechatpay", "mchid": ..., "private_key": ...}``; a secret left
        out keeps the stored one."""
        retailer = await self.retailer(request)
        data = read_json(await self.core.read_body(request))
        if not isinstance(data, dict) or not isinstance(data.get("provider"), str):
            raise Refused(400, "provider: required string")
        fields = {k: v for k, v in data.items() if k != "provider"}
        try:
            view = await self.payments.configure(retailer, data["provider"], fields, "api")
        except CredentialsError as exc:
            raise Refused(422, str(exc)) from None
        return web.json_response(dataclasses.asdict(view))

    async def list_payments(self, request: web.Request) -> web.Response:
        retailer = await self.retailer(request)
        rows = await self.core.db(self.store.payments_of, retailer)
        return web.json_response({"payments": [payment_summary(p) for p in rows]})

    async def refund_payment(self, request: web.Request) -> web.Response:
        """Refund a paid scan-to-pay payment through its provider (asked again: the same answer)."""
        retailer = await self.retailer(request)
        payment = await own_payment(self.core, retailer, request.match_info["payment_id"])
        try:
            moved, _ = await self.payments.refund(payment, "api", str(request.url.origin()))
        except ProviderUnreachable as exc:
            raise Refused(503, f"payment provider unreachable: {exc}", retry_after=60) from None
        except ProviderError as exc:
            raise Refused(422, f"the payment provider refused the refund: {exc}") from None
        if moved["status"] != "refunded":
            raise Refused(409, f"payment is {moved['status']}; only a paid payment can be refunded")
        return web.json_response(payment_summary(moved))

    async def retailer(self, request: web.Request) -> str:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Refused(401, "Authorization: expected 'Bearer <retailer token>'")
        name = await self.core.db(self.store.retailer_for_token, token.strip())
        if name is None:
            raise Refused(401, "Authorization: unknown retailer token")
        request[CALLER] = f"retailer {name}"
        return name

    async def own_cabinet(self, request: web.Request, cabinet_id: str | None = None) -> str:
        retailer = await self.retailer(request)
        cabinet_id = cabinet_id if cabinet_id is not None else request.match_info["cabinet_id"]
        cabinet = await self.core.db(self.store.cabinet, cabinet_id)
        if cabinet is None or cabinet["retailer"] != retailer:
            raise Refused(404, f"cabinet_id: no cabinet {cabinet_id!r} among retailer {retailer!r}'s cabinets")
        return cabinet_id

    # --- reading ------------------------------------------------------------------------------
    async def cabinets(self, request: web.Request) -> web.Response:
        retailer = await self.retailer(request)
        cabinets = await self.core.db(self.store.cabinets_of, retailer)
        for cabinet in cabinets:
            outcome = await self.core.db(
                self.store.events_of, cabinet["id"], ("config.applied", "config.rejected"), limit=1
            )
            cabinet["config_report"] = (
                {"type": outcome[0]["type"], **outcome[0]["payload"], "at": outcome[0]["wall_time"]}
                if outcome
                else None
            )
        return web.json_response({"cabinets": cabinets})

    async def sales(self, request: web.Request) -> web.Response:
        """The cabinet's sales (the newest 10,000; with ``from``/``to``, those begun on those UTC days), read from the
        sales read model kept at ingest: what it costs is the sales it returns, not the cabinet's history. A page:
        the newest ``limit`` of them, and ``next`` (else null) to pass as ``before`` for the older ones."""
        cabinet_id = await self.own_cabinet(request)
        days: dict[str, str] = {}
        if "from" in request.query or "to" in request.query:
            query = {"from": request.query.get("from", ""), "to": request.query.get("to", "")}
            try:
                flt = parse_filter(query, datetime.fromtimestamp(self.core.now(), UTC).date())
            except FilterError as exc:
                raise Refused(400, f"{exc.field}: {FILTER_PROBLEMS[exc.key]}") from None
            days = {"since_day": flt.since.isoformat(), "until_day": flt.until.isoformat()}
        limit = _limit(request, MAX_SALES_LISTED, MAX_SALES_LISTED)
        before = _sales_cursor(request.query["before"]) if "before" in request.query else None
        # one more than asked: whether an older page follows
        rows = await self.core.db(self.store.sales_of, cabinet_id, limit=limit + 1, before=before, **days)
        older, rows = rows[:-limit], rows[-limit:]
        sales = []
        for row in rows:
            sale = {k: row[k] for k in _SALE_FIELDS}
            if row["approved_at"] is not None:
                # how the shopper paid: the scan-to-pay provider's word, else what the card terminal said
                # (chip, contactless, wallet) and the card
                sale.update(method_detail=row["method_detail"], card=row["card"])
            sales.append(sale)
        after = _sales_cursor_of(rows[0]) if older else None
        return web.json_response({"sales": sales, "by_method": by_method(sales), "next": after})

    async def funnel(self, request: web.Request) -> web.Response:
        """The shopper funnel of the fleet, or of one cabinet (``cabinet_id``), over a range of UTC days."""
        retailer = await self.retailer(request)
        query = {"from": request.query.get("from", ""), "to": request.query.get("to", "")}
        try:
            flt = parse_filter(query, datetime.fromtimestamp(self.core.now(), UTC).date())
        except FilterError as exc:
            raise Refused(400, f"{exc.field}: {FILTER_PROBLEMS[exc.key]}") from None
        cabinet_id = request.query.get("cabinet_id") or None
        if cabinet_id is not None:
            await self.own_cabinet(request, cabinet_id)
        figures = await self.core.db(
            self.store.funnel,
            retailer,
            since_day=flt.since.isoformat(),
            until_day=flt.until.isoformat(),
            cabinet_id=cabinet_id,
        )
        return web.json_response(funnel(flt.since, flt.until, cabinet_id, figures).to_json())

    async def stock(self, request: web.Request) -> web.Response:
        """The newest count of each unit, from the read model kept at ingest."""
        cabinet_id = await self.own_cabinet(request)
        return web.json_response({"stock": await self.core.db(self.store.stock_counts, cabinet_id)})

    async def repair_tickets(self, request: web.Request) -> web.Response:
        cabinet_id = await self.own_cabinet(request)
        status = request.query.get("status")
        if status is not None and status not in TICKET_STATUSES:
            raise Refused(400, f"status: expected one of {', '.join(TICKET_STATUSES)}, got {status[:40]!r}")
        return web.json_response({"tickets": await self.core.db(self.store.repair_tickets, cabinet_id, status)})

    async def patch_ticket(self, request: web.Request) -> web.Response:
        """The retailer collected the vehicle from the cabinet, or returned it to its owner (forward only)."""
        retailer = await self.retailer(request)
        data = object_fields(read_json(await self.core.read_body(request)), {"status": str}, {"cabinet_id": str})
        if data["status"] not in TICKET_STATUSES[1:]:
            raise Refused(400, f"status: expected {' or '.join(TICKET_STATUSES[1:])}, got {data['status'][:40]!r}")
        ticket_id = request.match_info["ticket_id"]
        found = await self.core.db(self.store.find_ticket, retailer, ticket_id)
        if "cabinet_id" in data:
            found = [t for t in found if t["cabinet_id"] == data["cabinet_id"]]
        if not found:
            raise Refused(404, f"ticket_id: no ticket {ticket_id!r} on retailer {retailer!r}'s cabinets")
        if len(found) > 1:
            raise Refused(
                409,
                f"ticket_id: {ticket_id!r} is on several of your cabinets "
                f"({', '.join(t['cabinet_id'] for t in found)}); say which with cabinet_id",
            )
        return web.json_response(
            await self.core.db(
                self.store.move_ticket,
                found[0]["cabinet_id"],
                ticket_id,
                data["status"],
                by=f"api ({retailer})",
                now=self.core.now(),
            )
        )

    async def alarms(self, request: web.Request) -> web.Response:
        cabinet_id = await self.own_cabinet(request)
        events = await self.core.db(self.store.events_of, cabinet_id, ("alarm",), limit=100)
        return web.json_response(
            {"alarms": [{**e["payload"], "at": e["wall_time"], "seq": e["seq"]} for e in reversed(events)]}
        )

    async def fingerprints(self, request: web.Request) -> web.Response:
        """Staff fingers enrolled at the cabinet (the slot to name in retailer.staff_fingerprints) and templates
        deleted there, newest first, beside the slots the configuration names now."""
        cabinet_id = await self.own_cabinet(request)
        return web.json_response(await self.core.db(fingerprints_of, self.store, cabinet_id))

    async def event_conflicts(self, request: web.Request) -> web.Response:
        """Events the cabinet sent again under a stored id with other content (refused with 409)."""
        cabinet_id = await self.own_cabinet(request)
        return web.json_response({"conflicts": await self.core.db(self.store.event_conflicts, cabinet_id)})

    async def snapshots(self, request: web.Request) -> web.Response:
        """Door snapshots, newest first; page with ``before`` (the last name of the previous page)."""
        cabinet_id = await self.own_cabinet(request)
        limit = _limit(request, 100, MAX_SNAPSHOT_LIST)
        listed = await self.core.db(
            self.store.snapshots_of, cabinet_id, limit=limit, before=request.query.get("before")
        )
        return web.json_response({"snapshots": listed})

    async def snapshot(self, request: web.Request) -> web.Response:
        cabinet_id = await self.own_cabinet(request)
        name = request.match_info["name"]
        jpeg = await self.core.db(self.store.snapshot, cabinet_id, name)
        if jpeg is None:
            raise Refused(404, f"name: no snapshot {name[:80]!r} from cabinet {cabinet_id!r}")
        return web.Response(body=jpeg, content_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})

    # --- the catalog ----------------------------------------------------------------------------
    async def get_config(self, request: web.Request) -> web.Response:
        cabinet_id = await self.own_cabinet(request)
        found = await self.core.db(self.store.config, cabinet_id)
        if found is None:
            raise Refused(404, f"no configuration for cabinet {cabinet_id!r} yet")
        return web.json_response({**found[1], "version": found[0]})

    async def put_config(self, request: web.Request) -> web.Response:
        cabinet_id = await self.own_cabinet(request)
        document = read_json(await self.core.read_body(request))
        if not isinstance(document, dict):
            raise Refused(400, "body: expected a configuration object")
        unknown = sorted(set(document) - set(EDITABLE) - {"version"})
        if unknown:
            raise Refused(400, f"{unknown[0]}: not editable here (editable: {', '.join(EDITABLE)})")
        return web.json_response({"version": await self._store_config(request, cabinet_id, document)})

    async def _store_config(self, request: web.Request, cabinet_id: str, document: dict[str, Any]) -> int:
        try:
            return await save_config(self.core, await self.retailer(request), cabinet_id, document)
        except ConfigInvalid as exc:
            raise Refused(422, "; ".join(exc.problems)) from None

    async def patch_product(self, request: web.Request) -> web.Response:
        cabinet_id = await self.own_cabinet(request)
        changes = object_fields(
            read_json(await self.core.read_body(request)),
            {},
            {"price_cents": int, "name": str, "summary": str, "online_only": bool},
        )
        found = await self.core.db(self.store.config, cabinet_id)
        sku = request.match_info["sku"]
        products = found[1].get("products", []) if found else []
        if found is None or not any(p.get("sku") == sku for p in products):
            raise Refused(404, f"sku: no product {sku!r} in cabinet {cabinet_id!r}'s catalog")
        edited = {**found[1], "products": [{**p, **changes} if p.get("sku") == sku else p for p in products]}
        return web.json_response({"version": await self._store_config(request, cabinet_id, edited)})

    # --- media ---------------------------------------------------------------------------------
    async def add_media(self, request: web.Request) -> web.Response:
        """Upload one file (the body, ?kind=image|video|audio&name=...); 201 with its sha256, 200 if it was there."""
        retailer = await self.retailer(request)
        kind = request.query.get("kind", "")
        if kind not in MAX_MEDIA_BYTES:
            raise Refused(400, f"kind: expected one of {', '.join(MAX_MEDIA_BYTES)}, got {kind[:20]!r}")
        limit = MAX_MEDIA_BYTES[kind]
        body = await self.core.read_body(request, limit, f" for {kind}")
        try:
            record = await add_media(self.core, retailer, kind, request.query.get("name", ""), body, None)
        except MediaProblem as exc:
            raise Refused(413 if exc.key == "media_too_large" else 400, str(exc)) from None
        return web.json_response(record, status=201 if record["created"] else 200)

    async def media(self, request: web.Request) -> web.Response:
        retailer = await self.retailer(request)
        return web.json_response({"media": await self.core.db(self.store.media_of, retailer)})

    # --- orders and commands ----------------------------------------------------------------------
    async def add_order(self, request: web.Request) -> web.Response:
        data = object_fields(
            read_json(await self.core.read_body(request)),
            {"cabinet_id": str, "sku": str},
            {"expires_in_s": int, "phone": str},
        )
        cabinet_id = await self.own_cabinet(request, data["cabinet_id"])
        ttl = data.get("expires_in_s", DEFAULT_ORDER_TTL_S)
        if not MIN_ORDER_TTL_S <= ttl <= MAX_ORDER_TTL_S:
            raise Refused(400, "expires_in_s: expected 60 s to 90 days")
        phone = normalise_phone(data["phone"]) if "phone" in data else None
        if "phone" in data and phone is None:
            raise Refused(400, "phone: expected the customer's number, + and 7 to 15 digits")
        order = await add_order(self.core, cabinet_id, data["sku"], ttl, phone=phone)
        return web.json_response(order, status=201)

    async def add_command(self, request: web.Request) -> web.Response:
        cabinet_id = await self.own_cabinet(request)
        data = object_fields(
            read_json(await self.core.read_body(request)), {"kind": str}, {"args": dict, "expires_in_s": int}
        )
        command = await queue_command(
            self.core, cabinet_id, data["kind"], data.get("args", {}), data.get("expires_in_s")
        )
        return web.json_response(
            {k: command[k] for k in ("id", "cabinet_id", "kind", "args", "expires_at")}, status=201
        )

    async def get_command(self, request: web.Request) -> web.Response:
        retailer = await self.retailer(request)
        command_id = request.match_info["command_id"]
        command = await self.core.db(self.store.command, command_id)
        cabinet = await self.core.db(self.store.cabinet, command["cabinet_id"]) if command else None
        if command is None or cabinet is None or cabinet["retailer"] != retailer:
            raise Refused(404, f"command_id: no command {command_id!r} for retailer {retailer!r}'s cabinets")
        return web.json_response(command)


def orderable_skus(document: dict[str, Any] | None) -> list[str]:
    """What an order may name in this configuration: a product or one of its variants (the cabinet's rule)."""
    if not document:
        return []
    try:
        config = parse_config({**document, "version": 1, "pickup_orders": []})
    except ConfigInvalid:
        return []
    return [sku for p in config.products for sku in (p.sku, *(v.sku for v in p.sold_variants()))]


async def add_order(
    core: Core,
    cabinet_id: str,
    sku: str,
    ttl_s: int,
    *,
    created_by: str | None = None,
    reference: str | None = None,
    phone: str | None = None,
) -> dict[str, Any]:
    """Create a pickup order for a product or variant of the cabinet's catalog; its code is in the answer (the
    cloud keeps its hash, which reaches the cabinet with the next configuration) and, with the customer's
    ``phone`` (normalised), in the notification outbox until the provider has delivered it."""
    found = await core.db(core.store.config, cabinet_id)
    if sku not in orderable_skus(found[1] if found else None):
        raise Refused(422, f"sku: {sku!r} is not in cabinet {cabinet_id!r}'s catalog")
    code = "".join(secrets.choice("0123456789") for _ in range(PICKUP_CODE_DIGITS))
    expires_at = utc_iso(core.now() + ttl_s)
    # A cheaper scrypt than for PINs: the cabinet tries it against every open order at each entry.
    code_hash = await asyncio.to_thread(hash_secret, code, n=2**12)
    order_id = await core.db(
        core.store.add_order,
        cabinet_id,
        sku,
        code_hash,
        expires_at,
        created_by=created_by,
        reference=reference,
        phone=phone,
        pickup_code=code if phone else None,
        now=core.now(),
    )
    return {
        "order_id": order_id,
        "cabinet_id": cabinet_id,
        "sku": sku,
        "pickup_code": code,
        "expires_at": expires_at,
        "phone": phone,
    }


async def queue_command(
    core: Core,
    cabinet_id: str,
    kind: str,
    args: dict[str, Any],
    expires_in_s: int | None = None,
    created_by: str | None = None,
) -> dict[str, Any]:
    """Check a command (its kind, args and lifetime: COMMAND_TTL_S) and queue it for the cabinet; the stored
    command. Refused(400) names what is wrong. ``created_by``: the console user who sent it."""
    try:
        validate_command(kind, args)
    except SchemaError as exc:
        raise Refused(400, str(exc)) from None
    if kind in CLOUD_ONLY_COMMANDS:
        raise Refused(400, f"kind: {kind} is sent by the shopper's phone, not by a retailer")
    default_ttl, max_ttl = COMMAND_TTL_S[kind]
    ttl = default_ttl if expires_in_s is None else expires_in_s
    if not 1 <= ttl <= max_ttl:
        raise Refused(400, f"expires_in_s: expected 1 to {max_ttl} s for {kind}, got {ttl}")
    command_id = await core.db(
        core.store.add_command, cabinet_id, kind, args, ttl_s=ttl, now=core.now(), created_by=created_by
    )
    command = await core.db(core.store.command, command_id)
    if command is None:  # commands are never deleted: the store lost the one it has just added
        raise RuntimeError(f"command {command_id} is missing from the store right after it was added")
    return command
