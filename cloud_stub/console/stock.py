"""Stock and restock (T+0): stock per cabinet and variant, a low-stock threshold and target per product, the
retailer's storefronts, and today's restock list (which storefront brings what to which cabinet).

A restock line is planned per cabinet from the counts then (each variant under its product's threshold, the
quantity to bring it up to the target). The first restock recorded at the cabinet after the plan (its
``door.closed`` with reason ``restock``, then the counts it set) closes the line: the counts after the restock
are compared with the target, and every difference is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from cloud_stub.console.auth import CORE, NavItem, current_user, requires
from cloud_stub.console.i18n import language
from cloud_stub.console.paging import fetch_page, pager, requested_page
from cloud_stub.store import DEFAULT_STOCK_THRESHOLD
from sync_client.cabinet_config import ConfigInvalid, parse_config
from sync_client.schema import utc_iso

routes = web.RouteTableDef()
nav = (NavItem("stock", "nav_stock", paths=("/console/stock", "/console/restock", "/console/storefronts")),)
EDITORS = ("owner", "staff")
MAX_LEVEL = 999  # the cabinet's counts go to 999
MAX_STOREFRONT_TEXT = 200
# The events that tell a restock and the counts around it (the rest is not needed to close a line).
RESTOCK_EVENTS = ("door.closed", "stock.changed", "restock.recorded")
COUNT_EVENTS = ("stock.changed", "restock.recorded")
# The stock page's cabinets a page: each is a row per unit, so 20 cabinets of a few units are about 50 rows.
STOCK_PAGE_CABINETS = 20


@dataclass(frozen=True)
class Level:
    threshold: int  # fewer than this left is low
    target: int  # a restock brings a variant up to this


# Unset: fewer than 2 is low (the store judges the fleet's low stock by the same threshold), a restock brings it to 3.
DEFAULT_LEVEL = Level(threshold=DEFAULT_STOCK_THRESHOLD, target=3)


@dataclass(frozen=True)
class StockUnit:
    """One counted unit of a cabinet's catalog: a variant, or a product without variants."""

    sku: str
    product_sku: str
    product_name: str  # in the page's language
    variant_name: str = ""  # "" for a product without variants

    @property
    def label(self) -> str:
        return f"{self.product_name} · {self.variant_name}" if self.variant_name else self.product_name


@dataclass(frozen=True)
class StockRow:
    cabinet_id: str
    unit: StockUnit
    count: int | None  # None: the cabinet never reported it
    as_of: str | None
    level: Level

    @property
    def state(self) -> str:
        if self.count is None:
            return "unknown"
        if self.count <= 0:
            return "out"
        return "low" if self.count < self.level.threshold else "ok"

    @property
    def short(self) -> bool:
        return self.state in ("out", "low")


def stock_units(document: dict[str, Any] | None, lang: str) -> list[StockUnit]:
    """The units the cabinet counts, as its own configuration parser reads the document."""
    if not document:
        return []
    try:
        config = parse_config({**document, "version": 1, "pickup_orders": []})
    except ConfigInvalid:  # stored documents were validated; an old one that no longer parses shows no units
        return []
    units = []
    for product in config.products:
        name = product.name.in_(lang)
        variants = product.sold_variants()
        if not variants:
            units.append(StockUnit(product.sku, product.sku, name))
        units.extend(StockUnit(v.sku, product.sku, name, v.name.in_(lang)) for v in variants)
    return units


# (cabinet, configuration version, language) -> its units: a configuration is parsed once, not on every page.
UNITS_CACHE = web.AppKey("stock_units_cache", dict)
MAX_CACHED_UNITS = 8192


def setup(app: web.Application) -> None:
    app[UNITS_CACHE] = {}


def cabinet_units(request: web.Request, record: dict[str, Any]) -> list[StockUnit]:
    """``stock_units`` of a ``stock_of`` record, parsed once per configuration version and language."""
    cache: dict[tuple[str, int | None, str], list[StockUnit]] = request.app[UNITS_CACHE]
    key = (record["id"], record["config_version"], language(request))
    units = cache.get(key)
    if units is None:
        if len(cache) >= MAX_CACHED_UNITS:  # older versions are never asked for again
            cache.clear()
        units = cache[key] = stock_units(record["document"], key[2])
    return units


def level_of(levels: dict[str, dict[str, Any]], product_sku: str) -> Level:
    found = levels.get(product_sku)
    return Level(found["threshold"], found["target"]) if found else DEFAULT_LEVEL


def stock_rows(
    records: list[dict[str, Any]], levels: dict[str, dict[str, Any]], request: web.Request
) -> list[StockRow]:
    """Every unit of every cabinet (from ``stock_of``'s records) with its count and its product's level."""
    rows = []
    for record in records:
        for unit in cabinet_units(request, record):
            counted = record["stock"].get(unit.sku)
            rows.append(
                StockRow(
                    cabinet_id=record["id"],
                    unit=unit,
                    count=counted["count"] if counted else None,
                    as_of=counted["as_of"] if counted else None,
                    level=level_of(levels, unit.product_sku),
                )
            )
    return rows


def restock_items(rows: list[StockRow]) -> list[dict[str, Any]]:
    """The lines' items for the short units: count now, how many to bring, the count expected after."""
    return [
        {
            "sku": r.unit.sku,
            "product_sku": r.unit.product_sku,
            "label": r.unit.label,
            "count": r.count,
            "bring": r.level.target - (r.count or 0),
            "expected": r.level.target,
        }
        for r in rows
        if r.short and r.level.target > (r.count or 0)
    ]


@dataclass(frozen=True)
class RestockOutcome:
    at: str  # the cabinet's time of the restock
    who: str | None
    result: list[dict[str, Any]]  # per item: sku, label, expected, recorded, difference


def restock_outcome(line: dict[str, Any], events: list[dict[str, Any]]) -> RestockOutcome | None:
    """The first restock in ``events`` (the cabinet's RESTOCK_EVENTS after the line was planned, oldest first),
    or None if none happened yet. A restock is its ``door.closed`` (reason ``restock``) and the count events
    right after it in the same transaction (consecutive sequence numbers); a unit it did not change keeps the
    count it had then."""
    counts = {item["sku"]: item["count"] for item in line["items"]}
    for i, event in enumerate(events):
        if event["type"] in COUNT_EVENTS:
            counts[event["payload"]["sku"]] = event["payload"]["count"]
            continue
        if event["type"] != "door.closed" or event["payload"].get("reason") != "restock":
            continue
        who, seq = None, event["seq"]
        for after in events[i + 1 :]:
            if after["seq"] != seq + 1 or after["type"] not in COUNT_EVENTS:
                break
            seq = after["seq"]
            counts[after["payload"]["sku"]] = after["payload"]["count"]
            if after["type"] == "restock.recorded":
                who = who or after["payload"].get("who")
        result = [
            {
                "sku": item["sku"],
                "label": item.get("label", item["sku"]),
                "expected": item["expected"],
                "recorded": counts[item["sku"]],
                "difference": (counts[item["sku"]] or 0) - item["expected"],
            }
            for item in line["items"]
        ]
        return RestockOutcome(event["wall_time"], who, result)
    return None


def _midnight(now: float) -> str:
    return utc_iso(datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0).timestamp())


async def _records(request: web.Request, cabinet_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """``stock_of``'s records of the user's retailer (only of ``cabinet_ids`` if given)."""
    core = request.app[CORE]
    return await core.db(core.store.stock_of, current_user(request).retailer, cabinet_ids=cabinet_ids)


async def _rows(request: web.Request, cabinet_ids: list[str]) -> list[StockRow]:
    core = request.app[CORE]
    levels = await core.db(core.store.stock_levels_of, current_user(request).retailer)
    return stock_rows(await _records(request, cabinet_ids), levels, request)


async def fleet_products(request: web.Request) -> list[tuple[str, str]]:
    """(sku, name in the page's language) of every product the retailer's configurations sell, by sku: each
    name read from one cabinet that sells it, not from the whole fleet."""
    core = request.app[CORE]
    where = await core.db(core.store.product_cabinets, current_user(request).retailer)
    names = {
        u.product_sku: u.product_name
        for record in await _records(request, sorted(set(where.values())))
        for u in cabinet_units(request, record)
        if where.get(u.product_sku) == record["id"]
    }
    return sorted((sku, names.get(sku, sku)) for sku in where)


@routes.get("/stock", name="stock")
@requires()
@aiohttp_jinja2.template("stock.html")
async def stock(request: web.Request) -> dict[str, Any]:
    core, retailer = request.app[CORE], current_user(request).retailer
    levels = await core.db(core.store.stock_levels_of, retailer)
    # A page of the cabinets that count units (every unit of each), read from the store a page at a time.
    ids, pages = await fetch_page(
        request,
        lambda limit, offset: core.db(core.store.counted_cabinets, retailer, limit=limit, offset=offset),
        STOCK_PAGE_CABINETS,
    )
    return {
        "rows": stock_rows(await _records(request, ids), levels, request),
        "pager": pages,
        "products": [(sku, name, level_of(levels, sku)) for sku, name in await fleet_products(request)],
        "can_edit": current_user(request).role in EDITORS,
        "max_level": MAX_LEVEL,
        "error": request.query.get("error") if request.query.get("error") == "level_invalid" else None,
    }


@routes.post("/stock/levels", name="stock_levels")
@requires(*EDITORS)
async def set_level(request: web.Request) -> web.StreamResponse:
    core, user = request.app[CORE], current_user(request)
    form = await request.post()
    sku = str(form.get("sku", ""))
    known = await core.db(core.store.product_cabinets, user.retailer)
    if sku not in known:  # only the products of the retailer's own catalogs
        raise web.HTTPNotFound()
    try:
        threshold, target = int(str(form.get("threshold", ""))), int(str(form.get("target", "")))
    except ValueError:
        threshold = target = -1
    if not (0 <= threshold <= target <= MAX_LEVEL and target >= 1):
        raise web.HTTPSeeOther(request.app.router["stock"].url_for().with_query(error="level_invalid"))
    await core.db(core.store.set_stock_level, user.retailer, sku, threshold, target, user.email, now=core.now())
    raise web.HTTPSeeOther(request.app.router["stock"].url_for())


@dataclass(frozen=True)
class Proposal:
    cabinet_id: str
    storefront_id: str | None
    items: list[dict[str, Any]]


async def _closed_lines(request: web.Request) -> list[dict[str, Any]]:
    """The open and today's closed restock lines, each open one closed first if its restock has arrived."""
    core, retailer = request.app[CORE], current_user(request).retailer
    lines = await core.db(core.store.restock_lines_of, retailer, closed_since=_midnight(core.now()))
    for line in lines:
        if line["closed_at"]:
            continue
        events = await core.db(core.store.events_after, line["cabinet_id"], line["planned_seq"], RESTOCK_EVENTS)
        outcome = restock_outcome(line, events)
        if outcome:
            await core.db(core.store.close_restock_line, retailer, line["id"], outcome.at, outcome.who, outcome.result)
            line.update(closed_at=outcome.at, closed_by=outcome.who, result=outcome.result)
    return lines


@routes.get("/restock", name="restock")
@requires()
@aiohttp_jinja2.template("restock.html")
async def restock(request: web.Request) -> dict[str, Any]:
    core, retailer = request.app[CORE], current_user(request).retailer
    lines = await _closed_lines(request)  # first: a line its restock closed no longer holds its cabinet back
    homes = await core.db(core.store.cabinet_storefronts, retailer)
    storefronts = {s["id"]: s for s in await core.db(core.store.storefronts_of, retailer)}
    # A page of the cabinets short of stock without an open line (a fleet short of stock is hundreds of them).
    threshold = DEFAULT_LEVEL.threshold
    ids, pages = await fetch_page(
        request,
        lambda limit, offset: core.db(
            core.store.short_cabinets, retailer, default_threshold=threshold, limit=limit, offset=offset
        ),
    )
    by_cabinet: dict[str, list[StockRow]] = {cabinet_id: [] for cabinet_id in ids}
    for row in await _rows(request, ids):
        by_cabinet[row.cabinet_id].append(row)
    proposals = [
        Proposal(cabinet_id, homes.get(cabinet_id), restock_items(rows)) for cabinet_id, rows in by_cabinet.items()
    ]
    return {
        "proposals": proposals,
        "pager": pages,
        "open_lines": [line for line in lines if not line["closed_at"]],
        "closed_lines": [line for line in lines if line["closed_at"]],
        "storefronts": storefronts,
        "can_edit": current_user(request).role in EDITORS,
    }


@routes.post("/restock/plan", name="restock_plan")
@requires(*EDITORS)
async def plan(request: web.Request) -> web.StreamResponse:
    """Put a cabinet's short units on today's list, with the counts as they are now."""
    core, user = request.app[CORE], current_user(request)
    cabinet_id = str((await request.post()).get("cabinet_id", ""))
    items = restock_items(await _rows(request, [cabinet_id]))
    if not items:  # not the retailer's cabinet, or nothing is short any more
        raise web.HTTPNotFound()
    await core.db(core.store.add_restock_line, user.retailer, cabinet_id, items, user.email, now=core.now())
    raise web.HTTPSeeOther(request.app.router["restock"].url_for())


@routes.get("/storefronts", name="storefronts")
@requires()
@aiohttp_jinja2.template("storefronts.html")
async def storefronts(request: web.Request) -> dict[str, Any]:
    core, retailer = request.app[CORE], current_user(request).retailer
    error = request.query.get("error")
    homes = sorted((await core.db(core.store.cabinet_storefronts, retailer)).items())
    pages = pager(len(homes), requested_page(request))  # 50 cabinets a page, each with its own form
    return {
        "storefronts": await core.db(core.store.storefronts_of, retailer),
        "homes": dict(homes[pages.offset : pages.offset + pages.size]),
        "pager": pages,
        "can_edit": current_user(request).role == "owner",
        "error": error if error == "storefront_invalid" else None,
    }


@routes.post("/storefronts", name="add_storefront")
@requires("owner")
async def add_storefront(request: web.Request) -> web.StreamResponse:
    core, user = request.app[CORE], current_user(request)
    form = await request.post()
    name, address = str(form.get("name", "")).strip(), str(form.get("address", "")).strip()
    if not (1 <= len(name) <= MAX_STOREFRONT_TEXT and 1 <= len(address) <= MAX_STOREFRONT_TEXT):
        raise web.HTTPSeeOther(request.app.router["storefronts"].url_for().with_query(error="storefront_invalid"))
    await core.db(core.store.add_storefront, user.retailer, name, address, now=core.now())
    raise web.HTTPSeeOther(request.app.router["storefronts"].url_for())


@routes.post("/storefronts/cabinet", name="cabinet_storefront")
@requires("owner")
async def set_cabinet_storefront(request: web.Request) -> web.StreamResponse:
    core, user = request.app[CORE], current_user(request)
    form = await request.post()
    storefront_id = str(form.get("storefront_id", "")) or None
    # NotFound (a 404 page) unless the cabinet and the storefront are both the user's retailer's.
    await core.db(core.store.set_cabinet_storefront, user.retailer, str(form.get("cabinet_id", "")), storefront_id)
    raise web.HTTPSeeOther(request.app.router["storefronts"].url_for())
