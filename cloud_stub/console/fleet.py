"""The fleet page (every cabinet at a glance) and a cabinet's own page.

This module is the pattern for a page group: ``routes`` (an aiohttp RouteTableDef, listed in
``PAGE_GROUPS``), handlers behind ``@requires(...)``, data read through the store on its worker
thread (``core.db(core.store.method, ...)``) and scoped to ``current_user(request).retailer``,
turned into dataclasses for the template, rendered with ``@aiohttp_jinja2.template``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from cloud_stub.console.auth import CORE, NavItem, current_user, requires
from cloud_stub.console.i18n import money
from cloud_stub.console.paging import PAGE_SIZE, Pager, pager, requested_page
from cloud_stub.retailer_api import fingerprints_of
from cloud_stub.store import FLEET_STATES
from sync_client.schema import utc_iso

routes = web.RouteTableDef()
nav = (NavItem("fleet", "nav_fleet", paths=("/console/fleet", "/console/cabinets/")),)

# A cabinet polls for commands every 30 s and for its configuration every 60 s (firmware defaults), each a
# signed request: three minutes without one is offline.
ONLINE_WINDOW_S = 180.0
MAX_SEARCH = 64
RECENT_ALARMS = 10  # on a cabinet's page


@dataclass(frozen=True)
class ConfigState:
    current: int | None  # the version the cloud holds
    applied: int | None  # the newest the cabinet reported applied
    rejected: dict[str, Any] | None  # the cabinet's newest config.rejected, if newer than its last applied


@dataclass(frozen=True)
class CabinetView:
    """One cabinet as the fleet page shows it (from the fleet's read model, ``fleet_page``)."""

    id: str
    online: bool
    last_seen_at: str | None
    open_alarms: int
    faults: list[str]
    backlog: int | None  # unsent events at the last heartbeat (None: the cabinet does not report it)
    software: str | None
    config: ConfigState
    sales_count: int  # today's (UTC)
    sales_totals: list[str]  # one per currency, in its units ("998.00 EUR")
    stock_short: list[tuple[str, int]]  # (sku, count) under its product's threshold, or out
    place: dict[str, Any] | None = None
    update: dict[str, Any] | None = None  # the newest signed update's outcome: state, version, detail
    alarms: list[dict[str, Any]] = field(default_factory=list)  # the cabinet's page: its newest alarms
    stock: dict[str, dict[str, Any]] = field(default_factory=dict)  # the cabinet's page: sku -> count, as_of

    @property
    def short_skus(self) -> set[str]:
        return {sku for sku, _ in self.stock_short}


@dataclass(frozen=True)
class FleetQuery:
    """What the fleet page shows: a state (FLEET_STATES, None: all), a search and a page (from 1)."""

    state: str | None = None
    search: str = ""
    page: int = 1


def fleet_query(request: web.Request) -> FleetQuery:
    """The page's query; an unknown state is a 400 naming it, a page that is not a number is the first."""
    state = request.query.get("state") or None
    if state is not None and state not in FLEET_STATES:
        raise web.HTTPBadRequest(reason="fleet_state_invalid")
    return FleetQuery(state, request.query.get("q", "").strip()[:MAX_SEARCH], requested_page(request))


def _day(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).date().isoformat()


def _seen_within(iso: str | None, now: float, window_s: float) -> bool:
    if not iso:
        return False
    return now - datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() <= window_s


def cabinet_view(record: dict[str, Any], now: float) -> CabinetView:
    """A ``fleet_page`` record as the page shows it at ``now``: today's sales only if its sales day is today."""
    rejected, applied_at = record["rejected"], record["applied_at"]
    newer_rejection = rejected if rejected and (not applied_at or record["rejected_at"] > applied_at) else None
    today = record["sales_day"] == _day(now)
    return CabinetView(
        id=record["id"],
        online=_seen_within(record["last_seen_at"], now, ONLINE_WINDOW_S),
        last_seen_at=record["last_seen_at"],
        open_alarms=record["open_alarms"],
        faults=record["faults"],
        backlog=record["backlog"],
        software=record["software"],
        config=ConfigState(
            current=record["config_version"],
            applied=record["applied_version"],
            rejected={**newer_rejection, "at": record["rejected_at"]} if newer_rejection else None,
        ),
        sales_count=record["sales_count"] if today else 0,
        sales_totals=[money(c, currency) for currency, c in sorted(record["sales_totals"].items())] if today else [],
        stock_short=record["stock_short"],
        place=(
            {"address": record["place_address"], "lat": record["place_lat"], "lon": record["place_lon"]}
            if record["place_address"]
            else None
        ),
        update=(
            {"state": record["update_state"], "version": record["update_version"], "detail": record["update_detail"]}
            if record["update_state"]
            else None
        ),
    )


@dataclass(frozen=True)
class FleetPage:
    cabinets: list[CabinetView]
    pager: Pager


async def fleet_page(request: web.Request, query: FleetQuery) -> FleetPage:
    """One page of the signed-in user's retailer's cabinets (a page past the last shows the last)."""
    core = request.app[CORE]
    now, retailer = core.now(), current_user(request).retailer

    async def read(page: int) -> tuple[list[dict[str, Any]], int]:
        return await core.db(
            core.store.fleet_page,
            retailer,
            online_since=utc_iso(now - ONLINE_WINDOW_S),
            state=query.state,
            search=query.search or None,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )

    records, total = await read(query.page)
    if not records and query.page > 1:  # past the end: the count comes with the first page
        _, total = await read(1)
        records, total = await read(pager(total, query.page).page)
    return FleetPage([cabinet_view(r, now) for r in records], pager(total, query.page))


@routes.get("/fleet", name="fleet")
@requires()
@aiohttp_jinja2.template("fleet.html")
async def fleet(request: web.Request) -> dict[str, Any]:
    # htmx refreshes the table in place (hx-get ... hx-select): the same page, the same query.
    query = fleet_query(request)
    return {"fleet": await fleet_page(request, query), "query": query, "states": FLEET_STATES}


def unnamed_fingers(fingerprints: dict[str, Any]) -> list[dict[str, Any]]:
    """Fingers enrolled at the cabinet that its configuration does not name yet (their enrolment, oldest first):
    the slot's last change that happened (a failed one changed nothing on the module) is an enrolment."""
    named = {f["slot"] for f in fingerprints["configured"]}
    latest: dict[int, dict[str, Any]] = {}
    for change in fingerprints["changes"]:  # newest first
        if change["slot"] is not None and change["ok"]:
            latest.setdefault(change["slot"], change)
    return sorted(
        (c for slot, c in latest.items() if slot not in named and c["change"] == "enrolled"), key=lambda c: c["at"]
    )


@routes.get("/cabinets/{cabinet_id}", name="cabinet")
@requires()
@aiohttp_jinja2.template("cabinet.html")
async def cabinet(request: web.Request) -> dict[str, Any]:
    core, retailer, cabinet_id = request.app[CORE], current_user(request).retailer, request.match_info["cabinet_id"]
    records, _ = await core.db(
        core.store.fleet_page, retailer, online_since=utc_iso(core.now() - ONLINE_WINDOW_S), cabinet_id=cabinet_id
    )
    if not records:  # another retailer's cabinet is exactly as absent as one that does not exist
        raise web.HTTPNotFound()
    alarms = await core.db(core.store.alarms_of, retailer, cabinet_id=cabinet_id, limit=RECENT_ALARMS)
    (stock,) = await core.db(core.store.stock_of, retailer, cabinet_id=cabinet_id)
    view = cabinet_view(records[0], core.now())
    fingerprints = await core.db(fingerprints_of, core.store, cabinet_id)
    return {
        "cabinet": replace(view, alarms=alarms, stock=stock["stock"]),
        "fingerprints": fingerprints,
        "unnamed_fingers": unnamed_fingers(fingerprints),
    }
