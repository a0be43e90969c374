"""The shopper funnel page: for the fleet or one cabinet and a range of UTC days, how many shopper sessions
there were, how many viewed a product, started a checkout, paid, and bought (the door opened and closed), as
a chart drawn here as SVG (the sales page's bars), a table with each step's conversion, the figures per
product, exit screen, ad and QR code, and a CSV export of the same figures.

Everything is read from the funnel tables the store keeps at ingest (``CloudStore.funnel``), scoped to the
signed-in user's retailer; the retailer API (``/v1/retailer/funnel``) gives the same figures as JSON.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from cloud_stub.console.auth import CORE, NavItem, current_user, requires
from cloud_stub.console.sales import CHART_H, CHART_W, bars, csv_cell, today_of
from cloud_stub.funnel import Funnel, funnel
from cloud_stub.sales_filter import FilterError, SalesFilter, parse_filter

routes = web.RouteTableDef()
nav = (NavItem("funnel", "nav_funnel"),)


async def _funnel(request: web.Request, flt: SalesFilter) -> Funnel:
    core, retailer = request.app[CORE], current_user(request).retailer
    if flt.cabinet is not None and flt.cabinet not in await _cabinet_ids(request):
        raise web.HTTPNotFound()  # another retailer's cabinet is no different from none
    figures = await core.db(
        core.store.funnel,
        retailer,
        since_day=flt.since.isoformat(),
        until_day=flt.until.isoformat(),
        cabinet_id=flt.cabinet,
    )
    return funnel(flt.since, flt.until, flt.cabinet, figures)


async def _cabinet_ids(request: web.Request) -> list[str]:
    core = request.app[CORE]
    return [c["id"] for c in await core.db(core.store.cabinets_of, current_user(request).retailer)]


@routes.get("/funnel", name="funnel")
@requires()
async def funnel_page(request: web.Request) -> web.StreamResponse:
    """The page for the query's range and cabinet; a filter it cannot use is shown in the form (400)."""
    context: dict[str, Any] = {"cabinet_ids": await _cabinet_ids(request), "error": None, "query": request.query}
    try:
        flt = parse_filter(request.query, today_of(request))
    except FilterError as exc:
        return aiohttp_jinja2.render_template("funnel.html", request, {**context, "error": exc}, status=400)
    found = await _funnel(request, flt)
    chart = bars([s.name for s in found.steps], [s.count for s in found.steps], str)
    return aiohttp_jinja2.render_template(
        "funnel.html",
        request,
        {**context, "flt": flt, "funnel": found, "chart": chart, "chart_w": CHART_W, "chart_h": CHART_H},
    )


CSV_HEADER = (
    "section",
    "key",
    "count",
    "conversion",
    "views",
    "dwell_s",
    "turns",
    "narrations",
    "checkouts",
    "paid",
    "sold",
    "touches",
)


def funnel_csv(found: Funnel) -> str:
    """One file, a line per figure: the steps, then per product, exit screen, ad and QR code."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(
        ("step", s.name, s.count, "" if s.conversion is None else s.conversion) + ("",) * 8 for s in found.steps
    )
    for p in found.figures["products"]:
        conversion = "" if p["conversion"] is None else p["conversion"]
        writer.writerow(
            (
                "product",
                csv_cell(p["sku"]),
                p["views"],
                conversion,
                p["views"],
                p["dwell_s"],
                p["turns"],
                p["narrations"],
                p["checkouts"],
                p["paid"],
                p["sold"],
                "",
            )
        )
    for e in found.figures["exits"]:
        writer.writerow(("exit", csv_cell(e["left_at"]), e["sessions"]) + ("",) * 9)
    for a in found.figures["ads"]:
        writer.writerow(("ad", csv_cell(a["ad_id"]), a["impressions"]) + ("",) * 8 + (a["touches"],))
    for q in found.figures["qr"]:
        writer.writerow(("qr", csv_cell(q["code"]), q["scans"]) + ("",) * 9)
    return out.getvalue()


@routes.get("/funnel.csv", name="funnel_csv")
@requires()
async def funnel_export(request: web.Request) -> web.StreamResponse:
    try:
        flt = parse_filter(request.query, today_of(request))
    except FilterError:
        return await funnel_page(request)  # the form, saying what is wrong
    found = await _funnel(request, flt)
    scope = flt.cabinet or "fleet"
    name = f"funnel-{scope}-{flt.since.isoformat()}-{flt.until.isoformat()}.csv"
    return web.Response(
        text=funnel_csv(found),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
