"""Rollouts of a signed release (docs/updates.md): a version to a group of cabinets (their ids) or a percentage
of the fleet, paused by itself once its failed updates reach a limit; each rollout's cabinets counted as
installed, failed, waiting or timed out (not reported within the rollout's time, a day by default), with
pause and resume. The release itself is published with `kiosk-cloud release`;
the cabinets verify it through TUF whatever this page says, so the page decides only who installs it and when.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from packaging.version import InvalidVersion, Version

from cloud_stub.console.auth import CORE, NavItem, current_user, requires

routes = web.RouteTableDef()
nav = (NavItem("releases", "nav_releases", ("owner",)),)
DEFAULT_FAILURE_LIMIT = 2
DEFAULT_REPORT_WITHIN_H = 24  # a day: a cabinet off for the night still reports in time
MAX_REPORT_WITHIN_H = 720


def chosen(cabinets: list[str], version: str, percent: int) -> list[str]:
    """``percent`` of ``cabinets`` (at least one), the same ones for the same version each time: ordered by a
    hash of version and id, so a later, larger percentage of the same version includes the earlier cabinets."""
    ranked = sorted(cabinets, key=lambda c: hashlib.sha256(f"{version}/{c}".encode()).hexdigest())
    return ranked[: max(1, math.ceil(len(ranked) * percent / 100))]


@dataclass(frozen=True)
class RolloutForm:
    version: str
    cabinets: list[str]
    failure_limit: int
    report_within_h: int


@dataclass(frozen=True)
class FormError:
    key: str  # i18n
    values: dict[str, Any]


def parse_rollout(form: Any, fleet: list[str]) -> RolloutForm | FormError:
    """The rollout the form asks for, or what is wrong with it."""
    version = str(form.get("version", "")).strip()
    try:
        Version(version)
    except InvalidVersion:
        return FormError("rollout_bad_version", {"version": version})
    try:
        limit = int(str(form.get("failure_limit", DEFAULT_FAILURE_LIMIT)))
    except ValueError:
        limit = 0
    if limit < 1:
        return FormError("rollout_bad_limit", {})
    try:
        hours = int(str(form.get("report_within_h", DEFAULT_REPORT_WITHIN_H)))
    except ValueError:
        hours = 0
    if not 1 <= hours <= MAX_REPORT_WITHIN_H:
        return FormError("rollout_bad_report_within", {})
    group = [c for c in str(form.get("cabinets", "")).replace(",", " ").split() if c]
    if group:
        strangers = sorted(set(group) - set(fleet))
        if strangers:
            return FormError("rollout_unknown_cabinets", {"cabinets": ", ".join(strangers)})
        return RolloutForm(version, group, limit, hours)
    try:
        percent = int(str(form.get("percent", "")))
    except ValueError:
        percent = 0
    if not 1 <= percent <= 100 or not fleet:
        return FormError("rollout_bad_percent", {})
    return RolloutForm(version, chosen(fleet, version, percent), limit, hours)


async def _page(request: web.Request, status: int = 200, error: FormError | None = None) -> web.StreamResponse:
    core, user = request.app[CORE], current_user(request)
    rollouts = await core.db(core.store.rollouts_of, user.retailer, now=core.now())
    context = {
        "rollouts": rollouts,
        "error": error,
        "default_limit": DEFAULT_FAILURE_LIMIT,
        "default_report_within_h": DEFAULT_REPORT_WITHIN_H,
        "max_report_within_h": MAX_REPORT_WITHIN_H,
    }
    response: web.StreamResponse = aiohttp_jinja2.render_template("releases.html", request, context, status=status)
    return response


@routes.get("/releases", name="releases")
@requires("owner")
async def releases(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@routes.post("/releases", name="rollout")
@requires("owner")
async def rollout(request: web.Request) -> web.StreamResponse:
    core, user = request.app[CORE], current_user(request)
    fleet = [c["id"] for c in await core.db(core.store.cabinets_of, user.retailer)]
    parsed = parse_rollout(await request.post(), fleet)
    if isinstance(parsed, FormError):
        return await _page(request, 400, parsed)
    await core.db(
        core.store.start_rollout,
        user.retailer,
        parsed.version,
        parsed.cabinets,
        parsed.failure_limit,
        now=core.now(),
        created_by=user.email,
        report_within_s=parsed.report_within_h * 3600,
    )
    raise web.HTTPSeeOther(str(request.app.router["releases"].url_for()))


@routes.post("/releases/{rollout_id}/{action}", name="rollout_action")
@requires("owner")
async def rollout_action(request: web.Request) -> web.StreamResponse:
    core, user = request.app[CORE], current_user(request)
    rollout_id, action = request.match_info["rollout_id"], request.match_info["action"]
    if action == "pause":
        done = await core.db(
            core.store.pause_rollout, user.retailer, rollout_id, f"paused by {user.email}", now=core.now()
        )
    elif action == "resume":
        done = bool(await core.db(core.store.resume_rollout, user.retailer, rollout_id, now=core.now()))
    else:
        raise web.HTTPNotFound()
    if not done and rollout_id not in {r["id"] for r in await core.db(core.store.rollouts_of, user.retailer)}:
        raise web.HTTPNotFound()  # another retailer's: as absent as none at all
    raise web.HTTPSeeOther(str(request.app.router["releases"].url_for()))
