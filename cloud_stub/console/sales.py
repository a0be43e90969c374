"""The sales pages: completed sales by day or week, per cabinet, product and variant, with a chart drawn
here as SVG and a CSV export under the same filters; and the refunds list: every payment that goes back
(an unclaimed sale, an approval recorded late), what became of it, and the owner's refund.

Everything is read through the store, scoped to the signed-in user's retailer: the totals and the chart from
its daily rollup of the sales, the CSV from its ``sales`` read model page by page (streamed), the refunds a page
at a time (both kept at ingest). Days are UTC days, as on the fleet page: a fleet can span time zones.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from operator import itemgetter
from typing import Any, NamedTuple

import aiohttp_jinja2
from aiohttp import web

from cloud_stub.console.auth import CORE, NavItem, current_user, requires
from cloud_stub.console.i18n import EN, language, money, translator, units
from cloud_stub.console.paging import pager, requested_page
from cloud_stub.sales_filter import FilterError, SalesFilter, parse_filter
from cloud_stub.store import week_of
from sync_client.schema import utc_iso

routes = web.RouteTableDef()
nav = (NavItem("sales", "nav_sales"), NavItem("refunds", "nav_refunds"))

CHART_W, CHART_H, CHART_TOP = 720, 220, 10  # the SVG's user units: it scales to its box
REFUNDABLE = frozenset({"refund_needed", "refund_refused", "refund_expired"})


class Total(NamedTuple):
    """One line of a sales table: its key cells, the count, the totals in the currencies' units and those joined
    (a tuple: the template unpacks its hundreds of rows without an attribute look-up per cell)."""

    keys: tuple[str, ...]
    sold: int  # how many sales
    totals: list[str]
    total: str


class Bar(NamedTuple):
    x: float
    y: float
    width: float
    height: float
    label: str  # the period
    value: str  # its total


@dataclass(frozen=True)
class Chart:
    """A bar chart of one currency's totals per period, in SVG user units."""

    currency: str
    bars: list[Bar]
    top: str  # the tallest bar's total: the scale
    first: str
    last: str
    width: int = CHART_W
    height: int = CHART_H


@dataclass
class SalesView:
    filter: SalesFilter
    periods: list[Total] = field(default_factory=list)
    cabinets: list[Total] = field(default_factory=list)
    products: list[Total] = field(default_factory=list)
    methods: list[Total] = field(default_factory=list)  # per method and how (chip, contactless, wallet)
    charts: list[Chart] = field(default_factory=list)
    count: int = 0
    totals: list[str] = field(default_factory=list)


def _totals(rows: list[dict[str, Any]], keys: tuple[str, ...], shown: Callable[[int, str], str] = money) -> list[Total]:
    """Rows of (keys..., currency, count, cents) folded to one line per key, a total per currency (written by
    ``shown``)."""
    key_of = itemgetter(*keys)
    counts: dict[tuple[str, ...], int] = {}
    cents: dict[tuple[str, ...], dict[str, int]] = {}
    for row in rows:
        value = key_of(row)
        key = (str(value),) if len(keys) == 1 else tuple(map(str, value))
        counts[key] = counts.get(key, 0) + row["count"]
        into = cents.setdefault(key, {})
        into[row["currency"]] = into.get(row["currency"], 0) + row["cents"]
    made = []
    for key in sorted(counts):
        totals = [shown(c, cur) for cur, c in sorted(cents[key].items())]
        made.append(Total(key, counts[key], totals, ", ".join(totals)))
    return made


def _periods(flt: SalesFilter) -> list[str]:
    """Every period of the range, those without a sale too (the chart's axis has no gaps)."""
    if flt.period == "day":
        return [(flt.since + timedelta(days=i)).isoformat() for i in range((flt.until - flt.since).days + 1)]
    first = date.fromisoformat(week_of(flt.since.isoformat()))
    return [(first + timedelta(weeks=i)).isoformat() for i in range((flt.until - first).days // 7 + 1)]


def charts(flt: SalesFilter, rows: list[dict[str, Any]], shown: Callable[[int, str], str] = money) -> list[Chart]:
    """One bar chart per currency sold in, totals per period (an empty period is a bar of no height)."""
    periods = _periods(flt)
    by_currency: dict[str, dict[str, int]] = defaultdict(dict)
    for row in rows:
        by_currency[row["currency"]][row["period"]] = row["cents"]
    made = []
    for currency, cents in sorted(by_currency.items()):
        values = [cents.get(period, 0) for period in periods]
        drawn = bars(periods, values, _in_currency(shown, currency))
        made.append(Chart(currency, drawn, shown(max(cents.values()), currency), periods[0], periods[-1]))
    return made


def _in_currency(shown: Callable[[int, str], str], currency: str) -> Callable[[int], str]:
    return lambda cents: shown(cents, currency)


def bars(labels: list[str], values: list[int], shown: Callable[[int], str]) -> list[Bar]:
    """One bar per label, side by side across CHART_W, the tallest value CHART_TOP below the top (a value of
    0 or less is a bar of no height); ``shown`` writes a value for the bar's tooltip. The funnel page's too."""
    slot = CHART_W / len(labels)
    top = max(values, default=0)
    scale = (CHART_H - CHART_TOP) / top if top > 0 else 0.0
    width = round(slot * 0.8, 2)
    drawn: dict[int, tuple[float, float, str]] = {}  # value -> its bar's y, height, text: a year repeats many
    made = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        if value not in drawn:
            height = round(max(value, 0) * scale, 2)
            drawn[value] = (round(CHART_H - height, 2), height, shown(value))
        y, height, text = drawn[value]
        made.append(Bar(round(i * slot + slot * 0.1, 2), y, width, height, label, text))
    return made


def sales_view(flt: SalesFilter, summary: dict[str, list[dict[str, Any]]]) -> SalesView:
    """The page's tables."""
    shown = cache(money)  # each amount written once: a day's total is its bar's too, and totals repeat
    days = summary["periods"]
    overall: dict[str, int] = {}
    for row in days:
        overall[row["currency"]] = overall.get(row["currency"], 0) + row["cents"]
    return SalesView(
        filter=flt,
        periods=_totals(days, ("period",), shown),
        cabinets=_totals(summary["cabinets"], ("cabinet_id",), shown),
        products=_totals(summary["products"], ("sku", "variant_sku"), shown),
        # '' for a method or detail no event named (its label says "not told")
        methods=_totals(
            [
                {**r, "method": r["method"] or "", "method_detail": r["method_detail"] or ""}
                for r in summary.get("methods", [])
            ],
            ("method", "method_detail"),
            shown,
        ),
        charts=charts(flt, days, shown),
        count=sum(row["count"] for row in days),
        totals=[shown(c, cur) for cur, c in sorted(overall.items())],
    )


def method_labels(keys: tuple[str, ...], request: web.Request) -> tuple[str, ...]:
    """A method line's cells in the reader's language ("card terminal", "contactless card"); a way to pay
    this console has no words for is shown as it is stored."""
    t = translator(language(request))
    return tuple(
        t(f"{prefix}_{key}") if f"{prefix}_{key}" in EN else key
        for prefix, key in zip(("method", "paid"), keys, strict=True)
    )


def today_of(request: web.Request) -> date:
    return datetime.fromtimestamp(request.app[CORE].now(), UTC).date()


@routes.get("/sales", name="sales")
@requires()
async def sales(request: web.Request) -> web.StreamResponse:
    return await _sales_page(request)


async def _sales_page(request: web.Request) -> web.StreamResponse:
    """The page for the query's filter; a filter it cannot use is shown in the form with its error (400)."""
    core, retailer = request.app[CORE], current_user(request).retailer
    try:
        flt = parse_filter(request.query, today_of(request))
    except FilterError as exc:
        read = await core.db(core.store.sales_overview, retailer)
        context = {"cabinet_ids": read.cabinet_ids, "skus": read.skus, "error": exc, "view": None}
        return aiohttp_jinja2.render_template("sales.html", request, {**context, "query": request.query}, status=400)
    # The form's choices and the summary in one store call (one transaction; on PostgreSQL one round trip).
    read = await core.db(core.store.sales_overview, retailer, {**flt.store_args(), "period": flt.period})
    assert read.summary is not None  # asked for
    view = sales_view(flt, read.summary)
    view = replace(view, methods=[m._replace(keys=method_labels(m.keys, request)) for m in view.methods])
    # The per-cabinet table a page at a time (a fleet is hundreds of rows); the totals above stay the range's.
    pages = pager(len(view.cabinets), requested_page(request))
    view = replace(view, cabinets=view.cabinets[pages.offset : pages.offset + pages.size])
    context = {"cabinet_ids": read.cabinet_ids, "skus": read.skus, "error": None, "query": request.query}
    return aiohttp_jinja2.render_template("sales.html", request, {**context, "view": view, "cabinet_pager": pages})


CSV_HEADER = ("completed_at_utc", "cabinet", "sale_id", "sku", "variant_sku", "amount", "currency", "method")
CSV_CHUNK = 2000  # sales read from the store per step of the export (keyset pages: each as fast as the first)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A text cell a spreadsheet shows as text: one starting like a formula gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_lines(rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)  # RFC 4180: CRLF, quotes where a cell needs them
    return out.getvalue()


def csv_rows(sales: list[dict[str, Any]]) -> str:
    """The CSV lines of some sales (the export writes them page by page after its header)."""
    return csv_lines(
        (
            r["completed_at"],
            csv_cell(r["cabinet_id"]),
            csv_cell(r["sale_id"]),
            csv_cell(r["sku"]),
            csv_cell(r["variant_sku"]),
            units(r["amount_cents"], r["currency"]),
            csv_cell(r["currency"]),
            csv_cell(r["method"]),
        )
        for r in sales
    )


def sales_csv(sales: list[dict[str, Any]]) -> str:
    return csv_lines([CSV_HEADER]) + csv_rows(sales)


@routes.get("/sales.csv", name="sales_csv")
@requires()
async def sales_export(request: web.Request) -> web.StreamResponse:
    """The filter's sales as CSV, streamed: the header goes out at once, then each page of sales as the store
    hands it over, so the memory stays flat however long the range."""
    core = request.app[CORE]
    try:
        flt = parse_filter(request.query, today_of(request))
    except FilterError:
        return await _sales_page(request)  # the form, saying what is wrong
    name = f"sales-{flt.since.isoformat()}-{flt.until.isoformat()}.csv"
    response = web.StreamResponse(headers={"Content-Disposition": f'attachment; filename="{name}"'})
    response.content_type, response.charset = "text/csv", "utf-8"
    await response.prepare(request)
    await response.write(csv_lines([CSV_HEADER]).encode())
    after: tuple[str, str, str] | None = None
    while True:
        sales = await core.db(
            core.store.sales_page, current_user(request).retailer, **flt.store_args(), after=after, limit=CSV_CHUNK
        )
        if sales:
            await response.write(csv_rows(sales).encode())
        if len(sales) < CSV_CHUNK:
            break
        after = (sales[-1]["completed_at"], sales[-1]["cabinet_id"], sales[-1]["sale_id"])
    await response.write_eof()
    return response


# --- refunds ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefundCase:
    """A payment that goes back, as the refunds list shows it."""

    record: dict[str, Any]
    state: str  # an i18n key: refund_state_<state>
    since: str | None  # when it reached that state

    @property
    def settled(self) -> bool:
        return self.state == "settled"

    @property
    def refundable(self) -> bool:
        return self.state in REFUNDABLE


def refund_state(case: dict[str, Any], now_iso: str) -> tuple[str, str | None]:
    """Where a payment that goes back stands, newest fact first: settled (``payment.reversed`` came), refunded
    by the scan-to-pay provider (the cabinet's record to follow), flagged again after the owner's refund,
    the owner's refund waiting for the cabinet / acknowledged / refused / expired, flagged for a refund, or
    the cabinet's own reversal still under way."""
    requested, flagged = case["refund_requested_at"], case["refund_flagged_at"]
    if case["reversed_at"]:
        return "settled", case["reversed_at"]
    if case["payment_status"] == "refunded":
        return "refunded_by_provider", requested
    if requested and flagged and flagged > requested:
        return "refund_needed", flagged
    if requested:
        if case["refund_acked_at"] is None:
            expired = case["refund_expires_at"] <= now_iso
            return ("refund_expired", case["refund_expires_at"]) if expired else ("refund_requested", requested)
        ok = str(case["refund_result"]).startswith("ok")
        return ("refund_acknowledged" if ok else "refund_refused"), case["refund_acked_at"]
    if flagged:
        return "refund_needed", flagged
    return "reversing", case["unclaimed_at"] or case["approved_at"]


async def refund_cases(request: web.Request, **only: Any) -> list[RefundCase]:
    core = request.app[CORE]
    now_iso = utc_iso(core.now())
    cases = await core.db(core.store.refund_cases, current_user(request).retailer, **only)
    return [RefundCase(c, *refund_state(c, now_iso)) for c in cases]


REFUNDS_PER_PAGE = 50


@dataclass(frozen=True)
class RefundPage:
    """Which page of the refunds list is shown (pages count from 1; newest cases first)."""

    number: int
    total: int  # cases in the whole list
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page


def refund_page(query: Any, total: int, per_page: int) -> RefundPage:
    """The page the query asks for (default the first; one past the end shows the last: the list may have
    been shorter when its link was made); ValueError for a page that is not a number from 1."""
    text = str(query.get("page", "1")).strip()
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise ValueError(f"page: expected a page number from 1, got {text!r}")
    last = RefundPage(1, total, per_page).pages
    return RefundPage(min(int(text), last), total, per_page)


@routes.get("/refunds", name="refunds")
@requires()
@aiohttp_jinja2.template("refunds.html")
async def refunds(request: web.Request) -> dict[str, Any]:
    # htmx refreshes the list in place while a refund waits for its cabinet (hx-get ... hx-select).
    core = request.app[CORE]
    total = await core.db(core.store.refund_count, current_user(request).retailer)
    try:
        page = refund_page(request.query, total, REFUNDS_PER_PAGE)
    except ValueError:
        raise web.HTTPBadRequest(reason="refunds_bad_page") from None
    cases = await refund_cases(request, limit=page.per_page, offset=page.offset)
    return {"cases": cases, "page": page, "notice": request.query.get("requested")}


@routes.post("/refunds/{cabinet_id}/{sale_id}", name="refund")
@requires("owner")
async def refund(request: web.Request) -> web.StreamResponse:
    """The owner gives the money back: a scan-to-pay payment is refunded by the cloud's payment provider at
    once; either way the cabinet gets a ``refund`` command (a flagged reversal is tried again, and the
    cabinet's ``payment.reversed`` settles it)."""
    core, owner = request.app[CORE], current_user(request)
    cabinet_id, sale_id = request.match_info["cabinet_id"], request.match_info["sale_id"]
    found = await refund_cases(request, cabinet_id=cabinet_id, sale_id=sale_id)
    if not found:
        raise web.HTTPNotFound()
    if not found[0].refundable:
        raise web.HTTPConflict(reason="refund_not_needed")
    if found[0].record["method"] == "qr":
        payment = await core.db(core.store.payment_for_sale, cabinet_id, sale_id, now=core.now())
        if payment is not None and payment["status"] == "paid":
            await core.db(core.store.move_payment, payment["id"], "paid", "refunded", now=core.now())
    await core.db(
        core.store.request_refund, owner.retailer, cabinet_id, sale_id, requested_by=owner.email, now=core.now()
    )
    # Back to the page of the list the owner was on (a page number it cannot use: the first).
    page = str((await request.post()).get("page", "1"))
    back = {"page": page} if page.isascii() and page.isdigit() and page != "1" else {}
    raise web.HTTPSeeOther(request.app.router["refunds"].url_for().with_query(**back, requested=sale_id))
