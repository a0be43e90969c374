"""Signing in and out, the language switch, and accepting an invitation (choosing a password)."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from cloud_stub.console.auth import (
    CORE,
    HOME,
    SESSION,
    PasswordRefused,
    User,
    end_session,
    hash_password,
    invite_hash,
    local_path,
    needs_rehash,
    normal_email,
    record_failure,
    set_session_cookie,
    sign_in_wait,
    start_session,
    verify_password,
)
from cloud_stub.console.i18n import LANG_COOKIE, LANGUAGES

routes = web.RouteTableDef()


@routes.get("/", name="home")
async def home(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(HOME)


@routes.get("/sign-in", name="sign_in")
async def sign_in_form(request: web.Request) -> web.StreamResponse:
    return await _sign_in_page(request, {"next": local_path(request.query.get("next")), "email": ""})


async def _sign_in_page(request: web.Request, context: dict[str, Any], status: int = 200) -> web.StreamResponse:
    """The form; a browser without a session gets an anonymous one first (it carries the form's CSRF token)."""
    session_id = None
    if request.get(SESSION) is None:
        session_id = await start_session(request, None)
    context = {"error": "", "error_values": {}, **context, "csrf_token": request[SESSION].csrf_token}
    response = aiohttp_jinja2.render_template("sign_in.html", request, context, status=status)
    if session_id is not None:
        set_session_cookie(request, response, session_id)
    return response


@routes.post("/sign-in")
async def sign_in(request: web.Request) -> web.StreamResponse:
    core = request.app[CORE]
    form = await request.post()
    email, password = normal_email(str(form.get("email", ""))), str(form.get("password", ""))
    context: dict[str, Any] = {"next": local_path(str(form.get("next", ""))), "email": email}
    wait = await sign_in_wait(core, email, request.remote)
    if wait > 0:
        context.update(error="too_many_attempts", error_values={"seconds": math.ceil(wait)})
        return await _sign_in_page(request, context, status=429)
    record = await core.db(core.store.user_by_email, email)
    stored = await core.db(core.store.password_hash, record["id"]) if record else None
    if record is None or not await verify_password(stored, password):
        await record_failure(core, email, request.remote)
        context.update(error="wrong_credentials")
        return await _sign_in_page(request, context, status=401)
    await core.db(core.store.clear_login_failures, f"account:{email}")
    if stored is not None and needs_rehash(stored):
        await core.db(core.store.set_password_hash, record["id"], await asyncio.to_thread(hash_password, password))
    user = User(record["id"], record["retailer"], record["email"], record["role"])
    session_id = await start_session(request, user)  # a new id: the one from before sign-in is gone
    response = web.HTTPSeeOther(context["next"])
    set_session_cookie(request, response, session_id)
    raise response


@routes.post("/sign-out", name="sign_out")
async def sign_out(request: web.Request) -> web.StreamResponse:
    response = web.HTTPSeeOther(request.app.router["sign_in"].url_for())
    await end_session(request, response)
    raise response


@routes.get("/language/{lang}", name="language")
async def switch_language(request: web.Request) -> web.StreamResponse:
    """Keep the chosen language in a cookie and go back to the page (only ever a page of this console)."""
    lang = request.match_info["lang"]
    if lang not in LANGUAGES:
        raise web.HTTPNotFound()
    response = web.HTTPSeeOther(local_path(request.query.get("next")))
    response.set_cookie(
        LANG_COOKIE, lang, max_age=365 * 24 * 3600, path="/console", samesite="Lax", secure=request.secure
    )
    raise response


@routes.get("/invite/{token}", name="invite")
async def invite_form(request: web.Request) -> web.StreamResponse:
    return await _invite_page(request)


@routes.post("/invite/{token}")
async def accept_invite(request: web.Request) -> web.StreamResponse:
    core = request.app[CORE]
    form = await request.post()
    password, again = str(form.get("password", "")), str(form.get("password_again", ""))
    if password != again:
        return await _invite_page(request, "passwords_differ", 400)
    try:
        password_hash = await asyncio.to_thread(hash_password, password)  # 64 MiB of work: off the event loop
    except PasswordRefused as refused:
        return await _invite_page(request, str(refused), 400)
    record = await core.db(core.store.accept_invite, invite_hash(request.match_info["token"]), password_hash)
    user = User(record["id"], record["retailer"], record["email"], record["role"])
    session_id = await start_session(request, user)
    response = web.HTTPSeeOther(HOME)
    set_session_cookie(request, response, session_id)
    raise response


async def _invite_page(request: web.Request, error: str = "", status: int = 200) -> web.StreamResponse:
    """The invited user's form; a wrong, used or expired link is a 404 page."""
    core = request.app[CORE]
    invited = await core.db(core.store.user_for_invite, invite_hash(request.match_info["token"]), now=core.now())
    if invited is None:
        raise web.HTTPNotFound(reason="invite_invalid")
    session_id = None
    if request.get(SESSION) is None:
        session_id = await start_session(request, None)
    context = {"invited": invited, "error": error, "csrf_token": request[SESSION].csrf_token}
    response = aiohttp_jinja2.render_template("invite.html", request, context, status=status)
    if session_id is not None:
        set_session_cookie(request, response, session_id)
    return response
