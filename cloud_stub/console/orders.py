"""Online orders for pickup at a cabinet: create one (its code shown once, to copy; with the customer's phone it
is also queued for the notification provider), list and filter them, cancel or expire one (its code hash leaves the
configuration the cabinet downloads, so the code no longer opens the door once the cabinet has synced),
and see when one was collected (the cabinet's ``pickup.completed``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from cloud_stub.console.auth import CORE, NavItem, current_user, requires
from cloud_stub.console.once import show_once, shown_once
from cloud_stub.console.paging import fetch_page
from cloud_stub.console.stock import StockUnit, cabinet_units
from cloud_stub.core import Refused
from cloud_stub.retailer_api import add_order
from cloud_stub.store import ORDER_ENDINGS, ORDER_STATES
from sync_client.schema import normalise_phone, utc_iso

routes = web.RouteTableDef()
nav = (NavItem("orders", "nav_orders", ("owner", "staff")),)
ROLES = ("owner", "staff")
STATES = ORDER_STATES
MAX_DAYS = 90
DEFAULT_DAYS = 7
MAX_REFERENCE = 100


@dataclass(frozen=True)
class OrderView:
    order_id: str
    cabinet_id: str
    sku: str
    label: str
    state: str
    created_at: str
    created_by: str | None
    reference: str | None
    expires_at: str
    collected_at: str | None
    ended_at: str | None
    ended_by: str | None


def order_state(order: dict[str, Any], now_iso: str) -> str:
    """Collected is a fact from the cabinet and wins (a cabinet offline may hand out an order cancelled meanwhile)."""
    if order["collected_at"]:
        return "collected"
    if order["ended_as"]:
        return str(order["ended_as"])
    return "expired" if order["expires_at"] <= now_iso else "open"


async def _units_of(request: web.Request, cabinet_ids: list[str]) -> dict[str, list[StockUnit]]:
    """cabinet id -> what can be ordered there (each variant, or a product without variants), for those of
    ``cabinet_ids`` that are the user's retailer's."""
    core, retailer = request.app[CORE], current_user(request).retailer
    records = await core.db(core.store.stock_of, retailer, cabinet_ids=cabinet_ids)
    return {record["id"]: cabinet_units(request, record) for record in records}


def _view(order: dict[str, Any], label: str, now_iso: str) -> OrderView:
    fields = ("order_id", "cabinet_id", "sku", "created_at", "created_by", "reference", "expires_at")
    ended = ("collected_at", "ended_at", "ended_by")
    return OrderView(**{k: order[k] for k in fields + ended}, label=label, state=order_state(order, now_iso))


async def _page(
    request: web.Request, status: int = 200, chosen: str | None = None, **context: Any
) -> web.StreamResponse:
    """The orders page: the new order's form for the ``chosen`` cabinet (default: the query's ``for``; a fleet of
    one cabinet has it chosen), and a page of the orders in the query's state and cabinet."""
    core, retailer = request.app[CORE], current_user(request).retailer
    now_iso = utc_iso(core.now())
    ids, _ = await core.db(core.store.cabinet_ids, retailer)  # the filter's suggestions
    orderable, _ = await core.db(core.store.counted_cabinets, retailer, limit=-1)
    state, cabinet = request.query.get("state", ""), request.query.get("cabinet", "")
    state = state if state in STATES else ""
    cabinet = cabinet if cabinet in ids else ""
    chosen = chosen or request.query.get("for", "") or (orderable[0] if len(orderable) == 1 else "")
    chosen = chosen if chosen in orderable else ""
    listed, pages = await fetch_page(
        request,
        lambda limit, offset: core.db(
            core.store.orders_page,
            retailer,
            now_iso=now_iso,
            state=state or None,
            cabinet_id=cabinet or None,
            limit=limit,
            offset=offset,
        ),
    )
    # The units of the page's cabinets (for the labels) and of the chosen one (for the form), in one call.
    units = await _units_of(request, sorted({o["cabinet_id"] for o in listed} | ({chosen} if chosen else set())))
    labels = {(c, u.sku): u.label for c, found in units.items() for u in found}
    context = {
        "orders": [_view(o, labels.get((o["cabinet_id"], o["sku"]), o["sku"]), now_iso) for o in listed],
        "pager": pages,
        "cabinets": ids,
        "orderable": orderable,
        "chosen": chosen,
        "units": units.get(chosen, []),
        "states": STATES,
        "state": state,
        "cabinet": cabinet,
        "default_days": DEFAULT_DAYS,
        "max_days": MAX_DAYS,
        "created": shown_once(request, "orders"),
        "error": None,
        "notice": None,
        **context,
    }
    return aiohttp_jinja2.render_template("orders.html", request, context, status=status)


@routes.get("/orders", name="orders")
@requires(*ROLES)
async def orders(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@routes.post("/orders", name="add_order")
@requires(*ROLES)
async def create(request: web.Request) -> web.StreamResponse:
    """Create the order and show its pickup code once, on the GET this redirects to (the cloud keeps its hash)."""
    core, user = request.app[CORE], current_user(request)
    form = await request.post()
    cabinet_id, _, sku = str(form.get("item", "")).partition("/")
    catalogs = await _units_of(request, [cabinet_id])
    if cabinet_id not in catalogs:  # another retailer's cabinet is as absent as one that does not exist
        raise web.HTTPNotFound()
    reference = str(form.get("reference", "")).strip()
    try:
        days = int(str(form.get("days", DEFAULT_DAYS)))
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_DAYS:
        return await _page(request, 400, cabinet_id, error=("order_days_invalid", {"max": MAX_DAYS}))
    if len(reference) > MAX_REFERENCE:
        return await _page(request, 400, cabinet_id, error=("order_reference_invalid", {"max": MAX_REFERENCE}))
    typed_phone = str(form.get("phone", "")).strip()
    phone = normalise_phone(typed_phone) if typed_phone else None
    if typed_phone and phone is None:
        return await _page(request, 400, cabinet_id, error=("order_phone_invalid", {}))
    try:
        created = await add_order(
            core, cabinet_id, sku, days * 24 * 3600, created_by=user.email, reference=reference or None, phone=phone
        )
    except Refused:
        return await _page(request, 422, cabinet_id, error=("order_item_invalid", {}))
    label = next((u.label for u in catalogs[cabinet_id] if u.sku == sku), sku)
    raise show_once(request, "orders", {**created, "label": label})


@routes.post("/orders/{order_id}/{ending}", name="end_order")
@requires(*ROLES)
async def end(request: web.Request) -> web.StreamResponse:
    """Cancel or expire an open order: the cabinet's next configuration no longer holds its code."""
    core, user = request.app[CORE], current_user(request)
    ending = request.match_info["ending"]
    if ending not in ORDER_ENDINGS:
        raise web.HTTPNotFound()
    # NotFound (404) for another retailer's order, Conflict (409) for one collected or ended already.
    await core.db(
        core.store.end_order, user.retailer, request.match_info["order_id"], ending, user.email, now=core.now()
    )
    return await _page(request, notice=("order_" + ending, {}))
