"""The owner's API tokens for integrations: list, create (shown once), rotate and revoke. A new or rotated
token is shown on the GET that follows the POST (once.py): a reload makes no second token."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from cloud_stub.console.auth import CORE, NavItem, current_user, requires
from cloud_stub.console.once import show_once, shown_once

routes = web.RouteTableDef()
nav = (NavItem("tokens", "nav_tokens", ("owner",)),)
MAX_LABEL_CHARS = 64


async def _page(request: web.Request, status: int = 200, **context: Any) -> web.StreamResponse:
    core = request.app[CORE]
    listed = await core.db(core.store.api_tokens_of, current_user(request).retailer)
    context = {"tokens": listed, "shown": shown_once(request, "tokens"), "notice": None, "error": None, **context}
    return aiohttp_jinja2.render_template("tokens.html", request, context, status=status)


@routes.get("/tokens", name="tokens")
@requires("owner")
async def tokens(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@routes.post("/tokens")
@requires("owner")
async def create(request: web.Request) -> web.StreamResponse:
    core, owner = request.app[CORE], current_user(request)
    label = str((await request.post()).get("label", "")).strip()
    if not 1 <= len(label) <= MAX_LABEL_CHARS:
        return await _page(request, 400, error="label_required")
    record, token = await core.db(
        core.store.add_api_token, owner.retailer, label, created_by=owner.email, now=core.now()
    )
    raise show_once(request, "tokens", {"label": record["label"], "token": token})


@routes.post("/tokens/{token_id}/rotate", name="rotate_token")
@requires("owner")
async def rotate(request: web.Request) -> web.StreamResponse:
    core, owner = request.app[CORE], current_user(request)
    record, token = await core.db(
        core.store.rotate_api_token,
        owner.retailer,
        request.match_info["token_id"],
        created_by=owner.email,
        now=core.now(),
    )
    raise show_once(request, "tokens", {"label": record["label"], "token": token})


@routes.post("/tokens/{token_id}/revoke", name="revoke_token")
@requires("owner")
async def revoke(request: web.Request) -> web.StreamResponse:
    core, owner = request.app[CORE], current_user(request)
    record = await core.db(core.store.revoke_api_token, owner.retailer, request.match_info["token_id"], now=core.now())
    return await _page(request, notice=("token_revoked", {"label": record["label"]}))
