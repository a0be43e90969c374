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
from cloud_stub.console.paging import pager, requested_page
from cloud_stub.console.stock import StockUnit, cabinet_units
from cloud_stub.core import Refused
from cloud_stub.retailer_api import add_order
from cloud_stub.store import ORDER_ENDINGS
from sync_client.schema import normalise_phone, utc_iso

routes = web.RouteTableDef()
nav = (NavItem("orders", "nav_orders", ("owner", "staff")),)
ROLES = ("owner", "staff")
STATES = ("open", "collected", "cancelled", "expired")
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


async def _catalogs(request: web.Request) -> dict[str, list[StockUnit]]:
    """cabinet id -> what can be ordered there (each variant, or a product without variants)."""
    core, retailer = request.app[CORE], current_user(request).retailer
    return {record["id"]: cabinet_units(request, record) for record in await core.db(core.store.stock_of, retailer)}


async def _page(request: web.Request, status: int = 200, **context: Any) -> web.StreamResponse:
    core = request.app[CORE]
    catalogs = await _catalogs(request)
    state = request.query.get("state", "")
    cabinet = request.query.get("cabinet", "")
    state = state if state in STATES else ""
    cabinet = cabinet if cabinet in catalogs else ""
    now_iso = utc_iso(core.now())
    labels = {(c, u.sku): u.label for c, units in catalogs.items() for u in units}
    orders = [
        OrderView(
            order_id=o["order_id"],
            cabinet_id=o["cabinet_id"],
            sku=o["sku"],
            label=labels.get((o["cabinet_id"], o["sku"]), o["sku"]),
            state=order_state(o, now_iso),
            created_at=o["created_at"],
            created_by=o["created_by"],
            reference=o["reference"],
            expires_at=o["expires_at"],
            collected_at=o["collected_at"],
            ended_at=o["ended_at"],
            ended_by=o["ended_by"],
        )
        for o in await core.db(core.store.orders_of, current_user(request).retailer, cabinet_id=cabinet or None)
    ]
    listed = [o for o in orders if not state or o.state == state]
    pages = pager(len(listed), requested_page(request))
    context = {
        "orders": listed[pages.offset : pages.offset + pages.size],
        "pager": pages,
        "catalogs": catalogs,
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
    catalogs = await _catalogs(request)
    if cabinet_id not in catalogs:  # another retailer's cabinet is as absent as one that does not exist
        raise web.HTTPNotFound()
    reference = str(form.get("reference", "")).strip()
    try:
        days = int(str(form.get("days", DEFAULT_DAYS)))
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_DAYS:
        return await _page(request, 400, error=("order_days_invalid", {"max": MAX_DAYS}))
    if len(reference) > MAX_REFERENCE:
        return await _page(request, 400, error=("order_reference_invalid", {"max": MAX_REFERENCE}))
    typed_phone = str(form.get("phone", "")).strip()
    phone = normalise_phone(typed_phone) if typed_phone else None
    if typed_phone and phone is None:
        return await _page(request, 400, error=("order_phone_invalid", {}))
    try:
        created = await add_order(
            core, cabinet_id, sku, days * 24 * 3600, created_by=user.email, reference=reference or None, phone=phone
        )
    except Refused:
        return await _page(request, 422, error=("order_item_invalid", {}))
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
