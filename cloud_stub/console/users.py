"""The owner's page of users: invite one (a one-time link, shown once, on the GET after the POST: once.py)
and remove one."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from cloud_stub.console.auth import CORE, ROLES, NavItem, check_email, current_user, new_invite_token, requires
from cloud_stub.console.once import show_once, shown_once
from cloud_stub.store import CloudStoreError

routes = web.RouteTableDef()
nav = (NavItem("users", "nav_users", ("owner",)),)
INVITE_TTL_S = 7 * 24 * 3600.0


async def _page(request: web.Request, status: int = 200, **context: Any) -> web.StreamResponse:
    core = request.app[CORE]
    listed = await core.db(core.store.users_of, current_user(request).retailer)
    invited = shown_once(request, "users")
    context = {"users": listed, "roles": ROLES, "invited": invited, "notice": None, "error": None, **context}
    return aiohttp_jinja2.render_template("users.html", request, context, status=status)


@routes.get("/users", name="users")
@requires("owner")
async def users(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@routes.post("/users")
@requires("owner")
async def invite(request: web.Request) -> web.StreamResponse:
    """Create the user with a one-time link (shown once, on this answer) with which they choose a password."""
    core, owner = request.app[CORE], current_user(request)
    form = await request.post()
    role = str(form.get("role", ""))
    if role not in ROLES:
        raise web.HTTPBadRequest(reason="role")
    try:
        email = check_email(str(form.get("email", "")))
    except ValueError:
        return await _page(request, 400, error="email_invalid")
    token, token_hash = new_invite_token()
    try:
        await core.db(
            core.store.add_user,
            owner.retailer,
            email,
            role,
            invite_sha256=token_hash,
            invite_expires_at=core.now() + INVITE_TTL_S,
            created_by=owner.email,
            now=core.now(),
        )
    except CloudStoreError:
        return await _page(request, 409, error="email_taken")
    link = request.url.with_path(str(request.app.router["invite"].url_for(token=token))).with_query(None)
    raise show_once(request, "users", {"link": str(link), "email": email})


@routes.post("/users/{user_id}/remove", name="remove_user")
@requires("owner")
async def remove(request: web.Request) -> web.StreamResponse:
    core, owner = request.app[CORE], current_user(request)
    user_id = request.match_info["user_id"]
    if user_id == owner.id:
        return await _page(request, 409, error="cannot_remove_self")
    # Only among the owner's retailer's users: another retailer's user id is a 404, like one that does not exist.
    removed = next((u for u in await core.db(core.store.users_of, owner.retailer) if u["id"] == user_id), None)
    if removed is None:
        raise web.HTTPNotFound()
    await core.db(core.store.remove_user, owner.retailer, user_id)
    return await _page(request, notice=("user_removed", {"email": removed["email"]}))
