"""The retailer console: server-rendered pages (aiohttp-jinja2) under ``/console/``, mounted on the cloud app.

``setup_console`` builds a sub-application with its own middlewares (error pages, then sessions and
CSRF), the Jinja2 environment (autoescaped templates in ``templates/``), the static files (CSS and the
vendored htmx) and every page group's routes and header links, listed once in ``PAGE_GROUPS``.

A page group (``fleet.py`` is the pattern) is a module with
- ``routes = web.RouteTableDef()`` and handlers ``@routes.get("/path", name="x")``, then ``@requires()``
  (any role) or ``@requires("owner")``, then ``@aiohttp_jinja2.template("x.html")`` returning the context
  (or ``aiohttp_jinja2.render_template(..., status=...)`` for another status);
- ``nav = (NavItem("x", "nav_x", roles), ...)``: its links in the header (optional);
- ``setup(console_app)``: state of its own on the console's app, e.g. a shutdown hook (optional);
- data through the store only: ``await core.db(core.store.method, current_user(request).retailer, ...)``
  with ``core = request.app[CORE]``; a record of another retailer is ``web.HTTPNotFound()`` (a store
  ``NotFound`` is turned into the same 404 page, a ``Conflict`` into a 409 page).
Templates ``{% extends "base.html" %}`` and fill ``title`` and ``content``; they see ``t`` (i18n.py: add
every key to EN and ZH), ``user``, ``csrf_token``, ``request``, ``lang`` and the filters ``money`` and
``when`` (and ``page_url``: a long list's pages, with ``_pager.html``). Every POST form holds
``<input type="hidden" name="csrf_token" value="{{ csrf_token }}">``; requests htmx makes send it as a header
by themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp.typedefs import Handler

from cloud_stub.console import (
    access,
    account,
    actions,
    alarms,
    callbacks,
    catalogue,
    fleet,
    funnel,
    media,
    once,
    orders,
    payments,
    releases,
    repairs,
    sales,
    stock,
    tokens,
    users,
)
from cloud_stub.console.auth import CORE, SESSION, NavItem, dummy_hash, sessions
from cloud_stub.console.i18n import EN, LANGUAGES, language, money, translator, when
from cloud_stub.console.paging import page_url
from cloud_stub.console.proxy import Network, trusted_proxies_middleware
from cloud_stub.core import Core, UnfitText, UnreadableForm
from cloud_stub.store import Conflict, NotFound

PREFIX = "/console"
HERE = Path(__file__).parent
# Every page group of the console; a new one is a module with ``routes`` (and ``nav``) added here.
PAGE_GROUPS = (
    account,
    fleet,
    alarms,
    actions,
    releases,
    stock,
    orders,
    repairs,
    sales,
    payments,
    funnel,
    catalogue,
    media,
    access,
    users,
    tokens,
    callbacks,
)
NAV: tuple[NavItem, ...] = tuple(item for group in PAGE_GROUPS for item in getattr(group, "nav", ()))
FILTERS: dict[str, Callable[..., str]] = {"money": money, "when": when, "page_url": page_url}
SECURITY_HEADERS = {
    # Scripts and styles only from files of this console: a stored text cannot run as script.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def setup_console(app: web.Application, core: Core, trusted_proxies: tuple[Network, ...] = ()) -> None:
    """Mount the console on ``app`` at /console/ (and send / there). Requests from ``trusted_proxies`` are
    taken as arriving the way their Forwarded headers say (https: Secure cookies; proxy.py)."""
    dummy_hash()  # now, so that the first sign-in with an unknown email takes no longer than the others
    console = web.Application(middlewares=[trusted_proxies_middleware(trusted_proxies), error_pages, sessions])
    console[CORE] = core
    aiohttp_jinja2.setup(
        console,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a misspelt variable is an error, not an empty cell
        context_processors=[page_context],
        filters=FILTERS,
    )
    console.router.add_static("/static/", HERE / "static", name="static", append_version=True)
    once.setup(console)
    for group in PAGE_GROUPS:
        console.add_routes(group.routes)
        if hasattr(group, "setup"):  # a group with state of its own on the app (the alarms' live streams)
            group.setup(console)
    console.on_response_prepare.append(_security_headers)
    app.add_subapp(PREFIX, console)
    app.router.add_get("/", _to_console)


async def _to_console(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(PREFIX + "/")


async def page_context(request: web.Request) -> dict[str, Any]:
    """What every template sees: ``nav`` (the header's links for the user's role), ``request``, ``t`` (the
    words in the page's language), ``lang``, ``user`` (None when signed out), ``csrf_token`` (put it in every
    form), ``languages``."""
    lang = language(request)
    session = request.get(SESSION)
    user = session.user if session else None
    return {
        "nav": _nav(request, user.role) if user else [],
        "request": request,
        "t": translator(lang),
        "lang": lang,
        "languages": LANGUAGES,
        "user": user,
        "csrf_token": session.csrf_token if session else "",
    }


def _nav(request: web.Request, role: str) -> list[dict[str, Any]]:
    """The header's links for ``role``: href, label (an i18n key) and whether it is the page shown."""
    links = []
    for item in NAV:
        if role in item.roles:
            href = str(request.app.router[item.route].url_for())
            current = request.path.startswith(item.paths) if item.paths else request.path == href
            links.append({"href": href, "label": item.label, "current": current})
    return links


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A refusal as a page in the user's language (403, 404, 429...); a record missing from the store is a 404."""
    try:
        return await handler(request)
    except NotFound:
        return await _error_page(request, 404, "error_404")
    except Conflict:
        return await _error_page(request, 409, "error_409")
    except UnfitText as exc:
        return await _error_page(request, 400, "error_400_text", field=exc.field[:60])
    except UnreadableForm as exc:
        return await _error_page(request, exc.status, f"error_{exc.status}_form_{exc.reason}", field=exc.field[:60])
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        # A handler names the message's i18n key as the reason (HTTPNotFound(reason="invite_invalid")).
        message = {"csrf": "error_403_csrf"}.get(exc.reason, exc.reason if exc.reason in EN else f"error_{exc.status}")
        return await _error_page(request, exc.status, message)


async def _error_page(request: web.Request, status: int, message: str, **values: object) -> web.StreamResponse:
    # The full context here: a refusal by the session middleware comes before the context processor ran.
    context = await page_context(request)
    try:
        text = context["t"](message, **values)
    except KeyError:
        text = str(status)
    return aiohttp_jinja2.render_template(
        "error.html", request, {**context, "status": status, "message": text}, status=status
    )


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(SECURITY_HEADERS)
    if not request.path.startswith(PREFIX + "/static/"):
        response.headers["Cache-Control"] = "no-store"  # pages hold a retailer's data: never kept by a proxy
