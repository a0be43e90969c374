"""The fleet page (every cabinet at a glance) and a cabinet's own page.

This module is the pattern for a page group: ``routes`` (an aiohttp RouteTableDef, listed in
``PAGE_GROUPS``), handlers behind ``@requires(...)``, data read through the store on its worker
thread (``core.db(core.store.method, ...)``) and scoped to ``current_user(request).retailer``,
turned into dataclasses for the template, rendered with ``@aiohttp_jinja2.template``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from cloud_stub.console.auth import CORE, NavItem, current_user, requires
from cloud_stub.console.i18n import money
from sync_client.schema import utc_iso

routes = web.RouteTableDef()
nav = (NavItem("fleet", "nav_fleet", paths=("/console/fleet", "/console/cabinets/")),)

# A cabinet polls for commands every 30 s and for its configuration every 60 s (firmware defaults), each a
# signed request: three minutes without one is offline.
ONLINE_WINDOW_S = 180.0
LOW_STOCK_COUNT = 1  # at most this many left is "low" (until products carry their own threshold)
ALARM_WINDOW_S = 24 * 3600.0


@dataclass(frozen=True)
class ConfigState:
    current: int | None  # the version the cloud holds
    applied: int | None  # the newest the cabinet reported applied
    rejected: dict[str, Any] | None  # the cabinet's newest config.rejected, if newer than its last applied


@dataclass(frozen=True)
class CabinetView:
    """One cabinet as the fleet page shows it."""

    id: str
    online: bool
    last_seen_at: str | None
    alarms: list[dict[str, Any]]
    faults: list[str]
    backlog: int | None  # unsent events at the last heartbeat (None: the cabinet does not report it)
    software: str | None
    config: ConfigState
    sales_count: int
    sales_totals: list[str]  # one per currency, in its units ("998.00 EUR")
    stock: dict[str, dict[str, Any]]
    stock_short: list[tuple[str, int]] = field(default_factory=list)  # (sku, count) at or under LOW_STOCK_COUNT
    place: dict[str, Any] | None = None
    sales: list[dict[str, Any]] = field(default_factory=list)

    @property
    def short_skus(self) -> set[str]:
        return {sku for sku, _ in self.stock_short}


def _since_midnight(now: float) -> str:
    day = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return utc_iso(day.timestamp())


def _seen_within(iso: str | None, now: float, window_s: float) -> bool:
    if not iso:
        return False
    return now - datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() <= window_s


def cabinet_view(record: dict[str, Any], now: float) -> CabinetView:
    latest = record["latest"]
    heartbeat = latest.get("heartbeat", {}).get("payload", {})
    applied, rejected = latest.get("config.applied"), latest.get("config.rejected")
    newer_rejection = rejected if rejected and (not applied or rejected["at"] > applied["at"]) else None
    totals: dict[str, int] = defaultdict(int)
    for sale in record["sales"]:
        totals[sale["currency"]] += sale["amount_cents"]
    day_alarms = [a for a in record["alarms"] if _seen_within(a["at"], now, ALARM_WINDOW_S)]
    return CabinetView(
        id=record["id"],
        online=_seen_within(record["last_seen_at"], now, ONLINE_WINDOW_S),
        last_seen_at=record["last_seen_at"],
        alarms=day_alarms,
        faults=list(heartbeat.get("faults", [])),
        backlog=heartbeat.get("backlog"),
        software=heartbeat.get("software"),
        config=ConfigState(
            current=record["config_version"],
            applied=applied["payload"]["version"] if applied else None,
            rejected={**newer_rejection["payload"], "at": newer_rejection["at"]} if newer_rejection else None,
        ),
        sales_count=len(record["sales"]),
        sales_totals=[money(cents, currency) for currency, cents in sorted(totals.items())],
        stock=record["stock"],
        stock_short=sorted((sku, s["count"]) for sku, s in record["stock"].items() if s["count"] <= LOW_STOCK_COUNT),
        place=(record["document"] or {}).get("place"),
        sales=record["sales"],
    )


async def fleet_views(request: web.Request, cabinet_id: str | None = None) -> list[CabinetView]:
    """The signed-in user's retailer's cabinets (only ``cabinet_id``'s if given: none when not theirs)."""
    core = request.app[CORE]
    now = core.now()
    # Sales since midnight UTC: a fleet can span time zones; per-retailer time zones are for the sales pages.
    since = min(_since_midnight(now), utc_iso(now - ALARM_WINDOW_S))
    records = await core.db(core.store.fleet_of, current_user(request).retailer, since=since, cabinet_id=cabinet_id)
    midnight = _since_midnight(now)
    for record in records:
        record["sales"] = [s for s in record["sales"] if s["at"] >= midnight]
    return [cabinet_view(r, now) for r in records]


@routes.get("/fleet", name="fleet")
@requires()
@aiohttp_jinja2.template("fleet.html")
async def fleet(request: web.Request) -> dict[str, Any]:
    # htmx refreshes the table in place (hx-get ... hx-select): the same page, the same query.
    return {"cabinets": await fleet_views(request)}


@routes.get("/cabinets/{cabinet_id}", name="cabinet")
@requires()
@aiohttp_jinja2.template("cabinet.html")
async def cabinet(request: web.Request) -> dict[str, Any]:
    views = await fleet_views(request, request.match_info["cabinet_id"])
    if not views:  # another retailer's cabinet is exactly as absent as one that does not exist
        raise web.HTTPNotFound()
    return {"cabinet": views[0]}
