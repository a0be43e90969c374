"""The call-back queue: customer service's follow-up of the shoppers who asked the cabinet to call them back.

Each request shows its number, product, cabinet, when it was asked and the consent the shopper agreed to (its
text and version). Staff move it through new, called and closed with a note; every step is kept with who and
when. The queue (or one shopper's requests, found by number) downloads as CSV (an export on request), and a
request is deleted on the shopper's request. Only the cabinet's retailer sees them (owners and staff: the
numbers are not a technician's business); the server deletes each when its retention ends.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from cloud_stub.console.auth import CORE, NavItem, current_user, local_path, requires
from cloud_stub.console.paging import fetch_page
from cloud_stub.console.sales import csv_cell
from cloud_stub.store import CALLBACK_STATES
from sync_client.schema import normalise_phone

routes = web.RouteTableDef()
ROLES = ("owner", "staff")
nav = (NavItem("callbacks", "nav_callbacks", ROLES),)
MAX_NOTE = 500
CSV_HEADER = (
    "requested_at_utc",
    "cabinet",
    "request_id",
    "sku",
    "phone",
    "state",
    "consent_version",
    "consent_text",
    "language",
    "history",
)


def _filters(request: web.Request) -> tuple[str | None, str | None]:
    """(state, phone) from the query: an unknown state shows every one; a phone is matched as normalised."""
    state = request.query.get("state", "")
    typed = request.query.get("phone", "").strip()
    return (state if state in CALLBACK_STATES else None), (normalise_phone(typed) or typed or None)


async def _queue(request: web.Request) -> list[dict[str, Any]]:
    """The whole queue as filtered (the export)."""
    core = request.app[CORE]
    state, phone = _filters(request)
    return await core.db(core.store.callbacks_of, current_user(request).retailer, state=state, phone=phone)


@routes.get("/callbacks", name="callbacks")
@requires(*ROLES)
@aiohttp_jinja2.template("callbacks.html")
async def queue(request: web.Request) -> dict[str, Any]:
    core, retailer = request.app[CORE], current_user(request).retailer
    state, phone = _filters(request)

    async def page(limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        found = core.db(core.store.callbacks_of, retailer, state=state, phone=phone, limit=limit, offset=offset)
        return await found, await core.db(core.store.callback_count, retailer, state=state, phone=phone)

    callbacks, pages = await fetch_page(request, page)
    return {
        "callbacks": callbacks,
        "pager": pages,
        "states": CALLBACK_STATES,
        "state": state or "",
        "phone": request.query.get("phone", ""),
        "max_note": MAX_NOTE,
        "deleted": request.query.get("deleted") == "1",
    }


def callbacks_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180: CRLF, quotes where a cell needs them
    writer.writerow(CSV_HEADER)
    writer.writerows(
        (
            r["requested_at"],
            csv_cell(r["cabinet_id"]),
            r["request_id"],
            csv_cell(r["sku"]),
            r["phone"],  # normalised: + and digits, a number to a spreadsheet, never a formula
            r["state"],
            csv_cell(r["consent_version"]),
            csv_cell(r["consent_text"]),
            r["language"],
            csv_cell(" | ".join(f"{h['at']} {h['by']} {h['state']}: {h['note']}" for h in r["history"])),
        )
        for r in rows
    )
    return out.getvalue()


@routes.get("/callbacks.csv", name="callbacks_csv")
@requires(*ROLES)
async def export(request: web.Request) -> web.StreamResponse:
    return web.Response(
        text=callbacks_csv(await _queue(request)),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="callbacks.csv"', "Cache-Control": "no-store"},
    )


def _back(request: web.Request, form: Any) -> str:
    return local_path(str(form.get("next", "")), str(request.app.router["callbacks"].url_for()))


@routes.post("/callbacks/{request_id}", name="follow_up_callback")
@requires(*ROLES)
async def follow_up(request: web.Request) -> web.StreamResponse:
    """A state (called, closed, or new again) with a note; the history records who and when."""
    core, user = request.app[CORE], current_user(request)
    form = await request.post()
    state, note = str(form.get("state", "")), str(form.get("note", "")).strip()
    if state not in CALLBACK_STATES or len(note) > MAX_NOTE:
        raise web.HTTPBadRequest(reason="callback_update_invalid")
    moved = await core.db(
        core.store.follow_up_callback, user.retailer, request.match_info["request_id"], state, note, user.email
    )
    if not moved:  # another retailer's request is as absent as one that does not exist
        raise web.HTTPNotFound()
    raise web.HTTPSeeOther(_back(request, form))


@routes.post("/callbacks/{request_id}/delete", name="delete_callback")
@requires(*ROLES)
async def delete(request: web.Request) -> web.StreamResponse:
    """The shopper asked: the request, its number and its history are gone."""
    core, user = request.app[CORE], current_user(request)
    if not await core.db(core.store.delete_callback, user.retailer, request.match_info["request_id"]):
        raise web.HTTPNotFound()
    raise web.HTTPSeeOther(str(request.app.router["callbacks"].url_for().with_query(deleted="1")))
