"""The repair board: every ticket by state (dropped off at the cabinet, collected by the store, in repair,
returned to the cabinet, handed back), with the customer's contact, the vehicle, the door snapshots the
cabinet took around the drop-off, and each change with who made it.

Each change owes the customer a message, but the consumer side has no notification provider yet: the store
queues the message in its notification outbox and this page lists them as "to notify"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from cloud_stub.console.auth import CORE, NavItem, current_user, requires
from cloud_stub.console.paging import fetch_page
from cloud_stub.store import TICKET_STATUSES
from sync_client.schema import utc_iso

routes = web.RouteTableDef()
nav = (NavItem("repairs", "nav_repairs", paths=("/console/repairs",)),)
# Door snapshots taken this close to the drop-off are the drop-off's photos (the journey itself opens no door).
PHOTO_WINDOW_S = 15 * 60.0
MAX_PHOTOS = 4
HANDED_BACK_SHOWN = 50  # the tickets handed back last
MAX_SNAPSHOTS = 100  # read around a drop-off, of which the first MAX_PHOTOS by name are shown


@dataclass(frozen=True)
class TicketView:
    ticket: dict[str, Any]
    next_status: str | None
    photos: list[str]  # snapshot names of its cabinet


def next_status(status: str) -> str | None:
    stage = TICKET_STATUSES.index(status)
    return TICKET_STATUSES[stage + 1] if stage + 1 < len(TICKET_STATUSES) else None


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def drop_off_photos(ticket: dict[str, Any], snapshots: list[dict[str, Any]]) -> list[str]:
    """The names of the snapshots taken within PHOTO_WINDOW_S of the drop-off, oldest first."""
    if not ticket["dropped_off_at"]:
        return []
    at = _seconds(ticket["dropped_off_at"])
    near = [s for s in snapshots if abs(_seconds(s["taken_at"]) - at) <= PHOTO_WINDOW_S]
    return sorted(s["name"] for s in near)[:MAX_PHOTOS]


def _photo_window(ticket: dict[str, Any]) -> tuple[str, str, str]:
    """(cabinet, since, until) of the snapshots that may be the drop-off's (none without a drop-off)."""
    if not ticket["dropped_off_at"]:
        return (ticket["cabinet_id"], "", "")
    at = _seconds(ticket["dropped_off_at"])
    return (ticket["cabinet_id"], utc_iso(at - PHOTO_WINDOW_S), utc_iso(at + PHOTO_WINDOW_S))


@routes.get("/repairs", name="repairs")
@requires()
@aiohttp_jinja2.template("repairs.html")
async def repairs(request: web.Request) -> dict[str, Any]:
    core, retailer = request.app[CORE], current_user(request).retailer
    # Handed back is history: the latest of it, so that the board costs what it shows however long the history.
    tickets = await core.db(core.store.tickets_of, retailer, handed_back_limit=HANDED_BACK_SHOWN)
    # The snapshots around every drop-off in one query (not each cabinet's whole history, one trip per cabinet).
    windows = [_photo_window(t) for t in tickets]
    near = await core.db(core.store.snapshots_around, retailer, windows, limit=MAX_SNAPSHOTS)
    board: dict[str, list[TicketView]] = {status: [] for status in TICKET_STATUSES}
    for ticket, snapshots in zip(tickets, near, strict=True):
        photos = drop_off_photos(ticket, snapshots)
        board[ticket["status"]].append(TicketView(ticket, next_status(ticket["status"]), photos))

    async def page(limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        found = core.db(core.store.notifications_of, retailer, limit=limit, offset=offset)
        return await found, await core.db(core.store.notification_count, retailer)

    outbox, pages = await fetch_page(request, page)  # the page's ``page`` is the "to notify" list's
    return {
        "board": board,
        "handed_back_shown": HANDED_BACK_SHOWN,
        "outbox": outbox,
        "pager": pages,
        "can_move": current_user(request).role in ("owner", "staff"),
    }


@routes.post("/repairs/{cabinet_id}/{ticket_id}", name="move_ticket")
@requires("owner", "staff")
async def move(request: web.Request) -> web.StreamResponse:
    """Move a ticket one step forward (the form names the status it moves to, so a stale page cannot skip)."""
    core, user = request.app[CORE], current_user(request)
    cabinet_id, ticket_id = request.match_info["cabinet_id"], request.match_info["ticket_id"]
    found = await core.db(core.store.find_ticket, user.retailer, ticket_id)
    if not any(t["cabinet_id"] == cabinet_id for t in found):  # another retailer's ticket: as if none
        raise web.HTTPNotFound()
    status = str((await request.post()).get("status", ""))
    if status not in TICKET_STATUSES[1:]:
        raise web.HTTPBadRequest(reason="status")
    # Conflict (409 page) when the ticket is no longer at the step before ``status``.
    await core.db(core.store.move_ticket, cabinet_id, ticket_id, status, by=user.email, now=core.now())
    raise web.HTTPSeeOther(request.app.router["repairs"].url_for())


@routes.get("/repairs/photos/{cabinet_id}/{name}", name="repair_photo")
@requires()
async def photo(request: web.Request) -> web.StreamResponse:
    core, retailer = request.app[CORE], current_user(request).retailer
    cabinet_id = request.match_info["cabinet_id"]
    cabinet = await core.db(core.store.cabinet, cabinet_id)
    if cabinet is None or cabinet["retailer"] != retailer:
        raise web.HTTPNotFound()
    jpeg = await core.db(core.store.snapshot, cabinet_id, request.match_info["name"])
    if jpeg is None:
        raise web.HTTPNotFound()
    return web.Response(body=jpeg, content_type="image/jpeg")
