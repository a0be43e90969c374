"""The alarms page: every alarm the retailer's cabinets raised, live, acknowledged and then resolved by a named
user, with the door snapshots taken around it; and a cabinet's snapshot (the thumbnail) for its retailer only.

Live: ``static/alarms.js`` opens an ``EventSource`` on ``/alarms/stream``, which says ``alarms`` whenever one
of the retailer's alarms arrives or is handled; the page then refreshes its list in place through htmx. Without
server-sent events (or JavaScript's help) htmx polls the list every ``POLL_S``; without JavaScript it is a page.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from cloud_stub.console.auth import CORE, NavItem, current_user, local_path, requires
from cloud_stub.console.i18n import EN
from cloud_stub.console.paging import Pager, fetch_page
from cloud_stub.store import ALARM_STATES
from sync_client.schema import utc_iso

routes = web.RouteTableDef()
nav = (NavItem("alarms", "nav_alarms"),)
POLL_S = 20  # the fallback: htmx reloads the list this often
STREAM_CHECK_S = 1.0  # how often a live page's stream looks for news in the store
STREAM_KEEPALIVE_S = 15.0  # a comment line this often keeps proxies from closing a quiet stream
STREAM_MAX_S = 300.0  # then the stream ends and the browser reconnects (a session that ended stops here)
# The snapshots that belong to an alarm: taken from a little before it (the door opening) to a while after.
SNAPSHOTS_BEFORE_S, SNAPSHOTS_AFTER_S = 10.0, 120.0
FILTERS = (*ALARM_STATES, "all")
STREAMS_STOP = web.AppKey("alarm_streams_stop", asyncio.Event)


@dataclass(frozen=True)
class AlarmView:
    id: str
    cabinet_id: str
    kind: str
    detail: str
    at: str
    state: str  # open, acknowledged, resolved
    acknowledged_at: str | None
    acknowledged_by: str | None
    resolved_at: str | None
    resolved_by: str | None
    snapshots: list[dict[str, Any]]


def _shifted(iso: str, seconds: float) -> str:
    return utc_iso(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() + seconds)


def alarm_state(record: dict[str, Any]) -> str:
    if record["resolved_at"]:
        return "resolved"
    return "acknowledged" if record["acknowledged_at"] else "open"


async def _alarm_views(
    request: web.Request, state: str | None, cabinet_id: str | None
) -> tuple[list[AlarmView], Pager]:
    """A page of the alarms, with the snapshots of all of them read in one query."""
    core, retailer = request.app[CORE], current_user(request).retailer

    async def page(limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        found = core.db(core.store.alarms_of, retailer, state=state, cabinet_id=cabinet_id, limit=limit, offset=offset)
        return await found, await core.db(core.store.alarm_count, retailer, state=state, cabinet_id=cabinet_id)

    records, pages = await fetch_page(request, page)
    windows = [
        (r["cabinet_id"], _shifted(r["at"], -SNAPSHOTS_BEFORE_S), _shifted(r["at"], SNAPSHOTS_AFTER_S)) for r in records
    ]
    views = []
    for r, snapshots in zip(records, await core.db(core.store.snapshots_around, retailer, windows), strict=True):
        fields = {k: r[k] for k in ("id", "cabinet_id", "kind", "detail", "at")}
        handled = {k: r[k] for k in ("acknowledged_at", "acknowledged_by", "resolved_at", "resolved_by")}
        views.append(AlarmView(**fields, state=alarm_state(r), **handled, snapshots=snapshots))
    return views, pages


@routes.get("/alarms", name="alarms")
@requires()
@aiohttp_jinja2.template("alarms.html")
async def alarms(request: web.Request) -> dict[str, Any]:
    core, retailer = request.app[CORE], current_user(request).retailer
    shown = request.query.get("state", "open")
    if shown not in FILTERS:
        raise web.HTTPBadRequest(reason="alarm_filter_invalid")
    cabinets, _ = await core.db(core.store.cabinet_ids, retailer)  # the filter's suggestions
    cabinet_id = request.query.get("cabinet") or None
    if cabinet_id is not None and cabinet_id not in cabinets:  # another retailer's cabinet: as if none existed
        raise web.HTTPNotFound()
    views, pages = await _alarm_views(request, None if shown == "all" else shown, cabinet_id)
    return {
        "alarms": views,
        "pager": pages,
        "filters": FILTERS,
        "shown": shown,
        "cabinets": cabinets,
        "cabinet_id": cabinet_id,
        "poll_s": POLL_S,
        "known_alarm_kinds": {key for key in EN if key.startswith("alarm_kind_")},
    }


async def _handle(request: web.Request, action: str) -> web.StreamResponse:
    core, user = request.app[CORE], current_user(request)
    # NotFound (404) for an alarm that is not this retailer's; Conflict (409) when its state does not allow it.
    await core.db(core.store.handle_alarm, user.retailer, request.match_info["event_id"], action, user.email)
    back = local_path(str((await request.post()).get("next", "")), str(request.app.router["alarms"].url_for()))
    raise web.HTTPSeeOther(back)


@routes.post("/alarms/{event_id}/acknowledge", name="acknowledge_alarm")
@requires()
async def acknowledge(request: web.Request) -> web.StreamResponse:
    return await _handle(request, "acknowledge")


@routes.post("/alarms/{event_id}/resolve", name="resolve_alarm")
@requires()
async def resolve(request: web.Request) -> web.StreamResponse:
    return await _handle(request, "resolve")


@routes.get("/alarms/stream", name="alarm_stream")
@requires()
async def stream(request: web.Request) -> web.StreamResponse:
    """Server-sent events: ``event: alarms`` each time the retailer's alarms change (the page reloads its list)."""
    core, retailer = request.app[CORE], current_user(request).retailer
    stop = request.app[STREAMS_STOP]
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
    # The mark before the first byte: an alarm that arrives once the browser hears the stream is announced.
    mark = await core.db(core.store.alarms_mark, retailer)
    await response.prepare(request)
    await response.write(b"retry: 3000\n\n")
    loop = asyncio.get_running_loop()
    started = quiet_since = loop.time()
    while not stop.is_set() and loop.time() - started < STREAM_MAX_S:
        try:
            await asyncio.wait_for(stop.wait(), STREAM_CHECK_S)
        except TimeoutError:
            pass
        now_mark = await core.db(core.store.alarms_mark, retailer)
        try:
            if now_mark != mark:
                mark = now_mark
                await response.write(f"event: alarms\ndata: {mark}\n\n".encode())
                quiet_since = loop.time()
            elif loop.time() - quiet_since > STREAM_KEEPALIVE_S:
                await response.write(b": still here\n\n")
                quiet_since = loop.time()
        except ConnectionResetError:  # the page was closed
            break
    return response


async def stop_streams(app: web.Application) -> None:
    """At shutdown: end every open stream at once rather than keep the server waiting for them."""
    app[STREAMS_STOP].set()


def setup(app: web.Application) -> None:
    app[STREAMS_STOP] = asyncio.Event()
    app.on_shutdown.append(stop_streams)


@routes.get("/cabinets/{cabinet_id}/snapshots/{name}", name="snapshot")
@requires()
async def snapshot(request: web.Request) -> web.StreamResponse:
    """A snapshot's thumbnail, for the cabinet's retailer only (404 for anyone else, as for one that is not)."""
    core, retailer = request.app[CORE], current_user(request).retailer
    cabinet_id = request.match_info["cabinet_id"]
    cabinet = await core.db(core.store.cabinet, cabinet_id)
    jpeg = await core.db(core.store.snapshot, cabinet_id, request.match_info["name"]) if cabinet else None
    if cabinet is None or cabinet["retailer"] != retailer or jpeg is None:
        raise web.HTTPNotFound()
    return web.Response(body=jpeg, content_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})
