"""Every route of the consumer pages. Nothing here stores who a visitor is: a scan is counted without its
address, and the repair look-up keeps only its failures' times (the rate limit) against the address."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiohttp import web

from cloud_stub.console.auth import wait_after
from cloud_stub.console.fleet import ONLINE_WINDOW_S
from cloud_stub.console.i18n import money
from cloud_stub.consumer import parse
from cloud_stub.consumer.geocode import Geocoder
from cloud_stub.consumer.i18n import language, translator
from cloud_stub.core import Core, Refused, UnfitText, UnreadableForm, read_form
from sync_client.cabinet_config import CabinetConfig, ConfigInvalid, parse_config
from sync_client.schema import (
    FAULT_CATEGORIES,
    MAX_DESCRIPTION,
    MAX_NAME,
    normalise_phone,
    parse_repair_form,
    receipt_token_reference,
    sale_reference,
)

CORE = web.AppKey("consumer_core", Core)
GEOCODER = web.AppKey("consumer_geocoder", Geocoder)  # absent: no address search
TEMPLATES = web.AppKey("consumer_templates", jinja2.Environment)
PATHS = ("/q/", "/r/", "/f/", "/repair", "/near", "/consumer-static")
JSON_PATHS = ("/near.json",)  # the locator's script reads it: its refusals stay the APIs' JSON
routes = web.RouteTableDef()

# The repair look-up: per address and per ticket a few free wrong tries, then the console's doubling wait.
REPAIR_WINDOW_S = 15 * 60.0
REPAIR_FREE_TRIES = {"ip": 10, "ticket": 5}
NEAREST = 10  # cabinets the locator lists
EARTH_RADIUS_KM = 6371.0088


def render(request: web.Request, template: str, context: dict[str, Any], status: int = 200) -> web.Response:
    lang = language(request)
    other = "zh" if lang == "en" else "en"
    return aiohttp_jinja2.render_template(
        template,
        request,
        {
            **context,
            "t": translator(lang),
            "lang": lang,
            "switch_href": str(request.rel_url.update_query(lang=other)),
            "switch_lang": other,
        },
        status=status,
        app_key=TEMPLATES,
    )


def refused_page(request: web.Request, refusal: Refused) -> web.Response:
    """A refusal as a short page in the shopper's language: what could not be read, and what to do."""
    t = translator(language(request))
    if isinstance(refusal, UnreadableForm):
        message = t(f"refused_form_{refusal.reason}", field=refusal.field[:60])
    elif isinstance(refusal, UnfitText):
        message = t("refused_text", field=refusal.field[:60])
    else:
        message = refusal.message
    return render(request, "refused.html", {"message": message}, status=refusal.status)


@web.middleware
async def refusal_pages(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """The phone pages' refusals (a path part or query parameter no store can hold, found by plain_urls within
    this; a form read_form refuses) as a page, not the APIs' JSON; other routes pass through as they are."""
    if not request.path.startswith(PATHS) or request.path in JSON_PATHS:
        return await handler(request)
    try:
        return await handler(request)
    except Refused as refusal:
        return refused_page(request, refusal)


def not_found(request: web.Request) -> web.Response:
    return render(request, "not_found.html", {}, status=404)


def _config(cabinet_id: str, found: tuple[int, dict[str, Any]] | None) -> CabinetConfig | None:
    if found is None:
        return None
    try:
        return parse_config({**found[1], "version": found[0], "pickup_orders": []})
    except ConfigInvalid:
        return None


# --- QR hand-off -----------------------------------------------------------------------------------
@routes.get("/q/{code}")
async def hand_off(request: web.Request) -> web.StreamResponse:
    core = request.app[CORE]
    code = parse.link_code(request.match_info["code"])
    link = await core.db(core.store.link, code) if code else None
    if link is None:
        return not_found(request)
    await core.db(
        core.store.record_scan,
        link["cabinet_id"],
        link["code"],
        link["kind"],
        link["sku"],
        link["variant_sku"],
        now=core.now(),
    )
    raise web.HTTPSeeOther(link["target"])


# --- receipts ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReceiptView:
    reference: str
    product: str
    variant: str
    amount: str
    time: str
    cabinet: str
    place: str
    payment: str  # collected, reversed, refund_due or refunded
    support_phone: str
    paid_with: str = ""  # how, where the card terminal said: one of PAID_WITH; "": not said
    card: str = ""  # the card's brand or name as the terminal named it


PAID_WITH = ("chip", "contactless", "wallet", "stripe")


def payment_state(sale: dict[str, Any]) -> str:
    if sale["reversed_at"]:
        return "reversed"
    if sale["refund_acked_at"] and str(sale["refund_result"]).startswith("ok"):
        return "refunded"
    if sale["unclaimed_at"] or sale["refund_flagged_at"] or sale["recorded_late"]:
        return "refund_due"
    return "collected"


def local_time(iso: str, timezone: str) -> str:
    at = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    zone = ZoneInfo(timezone) if timezone else UTC
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M ") + (timezone or "UTC")


def receipt_view(sale: dict[str, Any], config: CabinetConfig | None, lang: str) -> ReceiptView:
    product = config.product(sale["sku"]) if config else None
    variant = next((v for v in product.sold_variants() if v.sku == sale["variant_sku"]), None) if product else None
    place = config.place if config else None
    return ReceiptView(
        reference=sale_reference(sale["sale_id"]),
        product=product.name.in_(lang) if product else sale["sku"],
        variant=variant.name.in_(lang) if variant else "",
        amount=money(sale["amount_cents"], sale["currency"]),
        time=local_time(sale["approved_at"] or sale["completed_at"], place.timezone if place else ""),
        cabinet=sale["cabinet_id"],
        place=place.address if place else "",
        payment=payment_state(sale),
        support_phone=config.support_phone if config else "",
        paid_with=sale["method_detail"] if sale["method_detail"] in PAID_WITH else "",
        card=sale["card"] or "",
    )


@routes.get("/r/{token}")
async def receipt(request: web.Request) -> web.StreamResponse:
    core = request.app[CORE]
    token = parse.receipt_token(request.match_info["token"])
    if token is None:
        return not_found(request)
    sale = await core.db(core.store.receipt, token)
    if sale is None:  # the cabinet has not uploaded the sale yet (or never will): say so, with the reference
        return render(request, "receipt_pending.html", {"reference": receipt_token_reference(token)})
    config = _config(sale["cabinet_id"], await core.db(core.store.config, sale["cabinet_id"]))
    return render(request, "receipt.html", {"receipt": receipt_view(sale, config, language(request))})


# --- continue on your phone: the cabinet's repair form, filled in here -----------------------------------
FORM_FIELDS = ("vehicle", "name", "phone", "category", "description")


def _form_page(
    request: web.Request, typed: dict[str, str], errors: list[tuple[str, str]], status: int = 200
) -> web.Response:
    context = {
        "typed": typed,
        "errors": dict(errors),
        "categories": FAULT_CATEGORIES,
        "max_name": MAX_NAME,
        "max_description": MAX_DESCRIPTION,
    }
    return render(request, "form.html", context, status=status)


def _form_gone(request: web.Request) -> web.Response:
    return render(request, "form_gone.html", {}, status=410)


@routes.get("/f/{token}")
async def phone_form(request: web.Request) -> web.StreamResponse:
    core = request.app[CORE]
    token = parse.form_token(request.match_info["token"])
    offered = await core.db(core.store.open_phone_form, token, now=core.now()) if token else None
    if offered is None:
        return _form_gone(request)
    if offered["form"] == "callback":
        return await _callback_page(request, offered, "", None)
    return _form_page(request, dict.fromkeys(FORM_FIELDS, ""), [])


@routes.post("/f/{token}")
async def phone_form_sent(request: web.Request) -> web.StreamResponse:
    core = request.app[CORE]
    token = parse.form_token(request.match_info["token"])
    offered = await core.db(core.store.phone_form, token, now=core.now()) if token else None
    if token is None or offered is None:
        return _form_gone(request)
    form = await read_form(request)  # a field no store can hold: a 400 naming it
    if offered["form"] == "callback":
        return await _callback_sent(request, token, offered, str(form.get("phone", ""))[: parse.MAX_FORM_CHARS])
    typed = {name: str(form.get(name, ""))[: parse.MAX_FORM_CHARS] for name in FORM_FIELDS}
    values, errors = parse_repair_form(typed)  # the cabinet's own rules: what passes here passes there
    if errors:
        return _form_page(request, typed, errors, status=400)
    if not await core.db(core.store.submit_phone_form, token, values, now=core.now()):
        return _form_gone(request)  # used or withdrawn a moment ago
    return render(request, "form_sent.html", {})


def _consent(request: web.Request, offered: dict[str, Any]) -> tuple[str, str]:
    """The consent the cabinet shows, in the page's language when the cabinet has it (else its first): the
    language and the text, exactly as the cabinet sent them."""
    texts: dict[str, str] = offered["consent"]
    lang = language(request) if language(request) in texts else next(iter(texts))
    return lang, texts[lang]


async def _callback_page(
    request: web.Request, offered: dict[str, Any], typed: str, problem: str | None, status: int = 200
) -> web.Response:
    core = request.app[CORE]
    config = _config(offered["cabinet_id"], await core.db(core.store.config, offered["cabinet_id"]))
    found = next((p.name for p in config.products if p.sku == offered["sku"]), None) if config else None
    product = found.in_(language(request)) if found else None
    consent_lang, consent = _consent(request, offered)
    context = {
        "product": product or offered["sku"],
        "consent": consent,
        "consent_lang": consent_lang,
        "version": offered["consent_version"],
        "typed": typed,
        "problem": problem,
    }
    return render(request, "callback_form.html", context, status=status)


async def _callback_sent(request: web.Request, token: str, offered: dict[str, Any], typed: str) -> web.Response:
    """The number (checked by the cabinet's own rule) and the consent shown on this page go down to the
    cabinet, which records the call-back as if typed there."""
    core = request.app[CORE]
    phone = normalise_phone(typed)
    if phone is None:
        return await _callback_page(request, offered, typed, "form_error_phone_invalid", status=400)
    consent_lang, consent = _consent(request, offered)
    args = {"phone": phone, "consent_text": consent, "consent_version": offered["consent_version"]}
    if not await core.db(core.store.submit_phone_form, token, {**args, "language": consent_lang}, now=core.now()):
        return _form_gone(request)
    return render(request, "callback_sent.html", {})


# --- repair status -------------------------------------------------------------------------------------
def _address(request: web.Request) -> str:
    return request.remote or "-"


async def repair_wait(core: Core, address: str, ticket: str | None) -> float:
    now = core.now()
    subjects = {"ip": f"repair-ip:{address}", **({"ticket": f"repair-ticket:{ticket}"} if ticket else {})}
    waits = [0.0]
    for kind, subject in subjects.items():
        failures = await core.db(core.store.login_failures, subject, since=now - REPAIR_WINDOW_S)
        waits.append(wait_after(failures, REPAIR_FREE_TRIES[kind], now))
    return max(waits)


@routes.get("/repair")
async def repair_form(request: web.Request) -> web.StreamResponse:
    return render(request, "repair.html", {"tickets": None, "problem": None, "ticket": ""})


@routes.post("/repair")
async def repair_status(request: web.Request) -> web.StreamResponse:
    core, t = request.app[CORE], translator(language(request))
    form = await read_form(request)  # a field no store can hold: a 400 naming it
    typed = str(form.get("ticket", ""))
    ticket, phone_end = parse.ticket_number(typed), parse.phone_end(str(form.get("phone_end", "")))
    address = _address(request)
    wait = await repair_wait(core, address, ticket)
    if wait > 0:
        problem = t("repair_wait", seconds=math.ceil(wait))
        return render(request, "repair.html", {"tickets": None, "problem": problem, "ticket": typed}, status=429)
    found = await core.db(core.store.ticket_status, ticket, phone_end) if ticket and phone_end else []
    if not found:  # an unknown ticket and a wrong phone answer alike, and both count against the limit
        subjects = [f"repair-ip:{address}", *([f"repair-ticket:{ticket}"] if ticket else [])]
        await core.db(core.store.add_login_failure, subjects, keep_s=REPAIR_WINDOW_S, now=core.now())
        problem = t("repair_not_found")
        return render(request, "repair.html", {"tickets": None, "problem": problem, "ticket": typed}, status=404)
    configs = {}
    for cabinet_id in {f["cabinet_id"] for f in found}:
        configs[cabinet_id] = _config(cabinet_id, await core.db(core.store.config, cabinet_id))
    timelines = [
        {
            "ticket": f["ticket_id"],
            "device": f["device"],
            "steps": [
                {"status": c["status"], "at": local_time(c["at"], _timezone(configs[f["cabinet_id"]]))}
                for c in f["changes"]
            ],
        }
        for f in found
    ]
    return render(request, "repair.html", {"tickets": timelines, "problem": None, "ticket": typed})


def _timezone(config: CabinetConfig | None) -> str:
    return config.place.timezone if config and config.place else ""


# --- the cabinet locator -----------------------------------------------------------------------------
def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine)."""
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _online(last_seen_at: str | None, now: float) -> bool:
    if not last_seen_at:
        return False
    return now - datetime.fromisoformat(last_seen_at.replace("Z", "+00:00")).timestamp() <= ONLINE_WINDOW_S


async def nearest(core: Core, at: tuple[float, float], lang: str) -> list[dict[str, Any]]:
    """The NEAREST listed cabinets to ``at``, nearest first, as the page and the JSON show them."""
    out = []
    for row in await core.db(core.store.listed_cabinets):
        config = _config(row["id"], (row["version"], row["document"]))
        if config is None or config.place is None:
            continue
        place = config.place
        out.append(
            {
                "cabinet_id": row["id"],
                "address": place.address,
                "lat": place.lat,
                "lon": place.lon,
                "distance_km": round(distance_km(at, (place.lat, place.lon)), 2),
                "online": _online(row["last_seen_at"], core.now()),
                "products": [p.name.in_(lang) for p in config.products if not p.online_only],
                "repair_drop_off": True,  # every cabinet runs the repair journey and the pickup journey
                "pickup": True,
                "opening_hours": [{"days": list(h.days), "start": h.start, "end": h.end} for h in place.opening_hours],
                "timezone": place.timezone or "UTC",
            }
        )
    out.sort(key=lambda c: (c["distance_km"], c["cabinet_id"]))
    return out[:NEAREST]


async def _position(request: web.Request) -> tuple[tuple[float, float] | None, str | None]:
    """The position asked about and the problem's i18n key (None: none, or no question asked yet)."""
    query = request.query
    if "lat" in query or "lon" in query:
        at = parse.position(query.get("lat", ""), query.get("lon", ""))
        return at, None if at else "near_bad_position"
    address = query.get("address", "").strip()[:200]
    if not address:
        return None, None
    geocoder = request.app.get(GEOCODER)
    if geocoder is None:
        return None, "near_no_geocoder"
    at = await geocoder.locate(address)
    return at, None if at else "near_address_unknown"


@routes.get("/near")
async def near(request: web.Request) -> web.StreamResponse:
    at, problem = await _position(request)
    lang = language(request)
    cabinets = await nearest(request.app[CORE], at, lang) if at else None
    context = {
        "cabinets": cabinets,
        "problem": problem,
        "lat": request.query.get("lat", "")[:40],
        "lon": request.query.get("lon", "")[:40],
        "address": request.query.get("address", "")[:200],
        "geocoder": GEOCODER in request.app,
    }
    return render(request, "near.html", context, status=400 if problem == "near_bad_position" else 200)


@routes.get("/near.json")
async def near_json(request: web.Request) -> web.StreamResponse:
    at, problem = await _position(request)
    if at is None:
        reason = translator("en")(problem or "near_ask")
        return web.json_response({"error": f"lat, lon: {reason}"}, status=400)
    return web.json_response(
        {"at": {"lat": at[0], "lon": at[1]}, "cabinets": await nearest(request.app[CORE], at, language(request))}
    )
