"""Remote actions on a cabinet: unlock (with a reason, confirmed on a second page; it expires as COMMAND_TTL_S
says), restart, run the self-test, take a snapshot. Each is a command the cabinet fetches with its next poll
(queued, delivered), then applies or refuses and acknowledges; one it never got in time expired. The page shows
each command's state until the cabinet's answer, the self-test's results and the snapshot taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from cloud_stub.console.auth import CORE, NavItem, current_user, requires
from cloud_stub.core import Refused
from cloud_stub.retailer_api import queue_command
from sync_client.schema import COMMAND_TTL_S, MAX_UNLOCK_COMMAND_S, utc_iso

routes = web.RouteTableDef()
nav = (NavItem("actions", "nav_actions", paths=("/console/actions",)),)
ACTIONS = ("restart", "selftest", "snapshot")  # the one-click ones; unlock has its own form and confirmation
UNLOCK_S = 10  # how long the latch stays released (the cabinet bounds it too)
MAX_REASON_CHARS = 200
REFRESH_S = 2  # while a command waits for the cabinet, the list refreshes this often
SNAPSHOT_WINDOW_S = 120.0  # a snapshot command's photo is one taken this soon after the cabinet applied it
SELFTEST_EVENTS = 50  # the newest self-tests looked through for a command's results


@dataclass(frozen=True)
class CommandView:
    id: str
    kind: str
    args: dict[str, Any]
    state: str  # queued, delivered, applied, refused, expired
    result: str | None
    created_at: str
    created_by: str | None
    expires_at: str
    delivered_at: str | None
    acked_at: str | None
    selftest: dict[str, Any] | None = None  # the selftest.completed payload it caused
    snapshots: tuple[dict[str, Any], ...] = ()

    @property
    def waiting(self) -> bool:
        """Not yet answered by the cabinet, or applied with its result (self-test, photo) still to come."""
        if self.state == "applied":
            return (self.kind == "selftest" and self.selftest is None) or (
                self.kind == "snapshot" and not self.snapshots
            )
        return self.state in ("queued", "delivered")


def command_state(command: dict[str, Any], now: float) -> str:
    """Where a command is: the cabinet's answer once acknowledged, else queued or delivered until it expires."""
    result = command["result"]
    if command["acked_at"]:
        if result == "expired":
            return "expired"
        # A handler refuses with "ok: refused: ..." (applied as a refusal); a malformed command is "refused: ..."
        return "refused" if (result or "").removeprefix("ok: ").startswith("refused") else "applied"
    if utc_iso(now) >= command["expires_at"]:
        return "expired"
    return "delivered" if command["delivered_at"] else "queued"


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


async def _views(request: web.Request, cabinet_id: str) -> list[CommandView]:
    core = request.app[CORE]
    now = core.now()
    commands = await core.db(core.store.commands_of, current_user(request).retailer, cabinet_id=cabinet_id)
    selftests = {
        e["payload"].get("command_id"): e["payload"]
        for e in await core.db(core.store.events_of, cabinet_id, ("selftest.completed",), limit=SELFTEST_EVENTS)
    }
    views = []
    for c in commands:
        state = command_state(c, now)
        snapshots: list[dict[str, Any]] = []
        if c["kind"] == "snapshot" and state == "applied":
            taken = await core.db(
                core.store.snapshots_taken,
                cabinet_id,
                since=utc_iso(_seconds(c["created_at"]) - 1),
                until=utc_iso(_seconds(c["acked_at"]) + SNAPSHOT_WINDOW_S),
            )
            snapshots = [s for s in taken if "-remote-" in s["name"]][:1]
        fields = ("id", "kind", "args", "result", "created_at", "created_by", "expires_at", "delivered_at", "acked_at")
        views.append(
            CommandView(
                **{k: c[k] for k in fields}, state=state, selftest=selftests.get(c["id"]), snapshots=tuple(snapshots)
            )
        )
    return views


async def _own_cabinets(request: web.Request) -> list[str]:
    core = request.app[CORE]
    return [c["id"] for c in await core.db(core.store.cabinets_of, current_user(request).retailer)]


async def _page(request: web.Request, cabinet_id: str | None, status: int = 200, **context: Any) -> web.StreamResponse:
    cabinets = await _own_cabinets(request)
    cabinet_id = cabinet_id or (cabinets[0] if cabinets else None)
    if cabinet_id is not None and cabinet_id not in cabinets:  # another retailer's: as absent as none at all
        raise web.HTTPNotFound()
    commands = await _views(request, cabinet_id) if cabinet_id else []
    context = {
        "cabinets": cabinets,
        "cabinet_id": cabinet_id,
        "commands": commands,
        "waiting": any(c.waiting for c in commands),
        "refresh_s": REFRESH_S,
        "actions": ACTIONS,
        "known_actions": {f"action_{kind}" for kind in COMMAND_TTL_S},
        "unlock_ttl_s": COMMAND_TTL_S["unlock"][0],
        "unlock_s": UNLOCK_S,
        "max_reason": MAX_REASON_CHARS,
        "error": None,
        "confirm": None,
        "page_url": _cabinet_url(request, cabinet_id) if cabinet_id else str(request.app.router["actions"].url_for()),
        **context,
    }
    return aiohttp_jinja2.render_template("actions.html", request, context, status=status)


@routes.get("/actions", name="actions")
@requires()
async def actions(request: web.Request) -> web.StreamResponse:
    return await _page(request, request.query.get("cabinet") or None)


def _cabinet_url(request: web.Request, cabinet_id: str) -> str:
    return str(request.app.router["actions"].url_for().with_query(cabinet=cabinet_id))


async def _queue(request: web.Request, cabinet_id: str, kind: str, args: dict[str, Any]) -> web.StreamResponse:
    core, user = request.app[CORE], current_user(request)
    if cabinet_id not in await _own_cabinets(request):
        raise web.HTTPNotFound()
    try:
        await queue_command(core, cabinet_id, kind, args, created_by=user.email)
    except Refused as exc:  # the cabinet's own rules (schema.validate_command): say what was wrong
        return await _page(request, cabinet_id, 400, error=("command_not_queued", {"reason": exc.message}))
    raise web.HTTPSeeOther(_cabinet_url(request, cabinet_id))


@routes.post("/actions/{cabinet_id}/unlock", name="unlock")
@requires()
async def unlock(request: web.Request) -> web.StreamResponse:
    """First the reason, answered with a page that asks to confirm; the confirmed form queues the unlock."""
    cabinet_id = request.match_info["cabinet_id"]
    form = await request.post()
    reason = " ".join(str(form.get("reason", "")).split())
    if cabinet_id not in await _own_cabinets(request):
        raise web.HTTPNotFound()
    if not 3 <= len(reason) <= MAX_REASON_CHARS:
        return await _page(request, cabinet_id, 400, error=("unlock_reason_required", {"most": MAX_REASON_CHARS}))
    if form.get("confirmed") != "yes":
        return await _page(request, cabinet_id, confirm={"reason": reason})
    return await _queue(
        request, cabinet_id, "unlock", {"seconds": min(UNLOCK_S, MAX_UNLOCK_COMMAND_S), "reason": reason}
    )


@routes.post("/actions/{cabinet_id}/{kind}", name="action")
@requires()
async def action(request: web.Request) -> web.StreamResponse:
    kind = request.match_info["kind"]
    if kind not in ACTIONS:
        raise web.HTTPNotFound()
    return await _queue(request, request.match_info["cabinet_id"], kind, {})
