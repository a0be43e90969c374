"""Scan-to-pay in the console: the retailer's payment provider and its merchant credentials (an owner chooses
the provider, then enters its fields; the secrets are sealed at rest and shown masked, never in clear), and the
scan-to-pay payments with how each was paid; a paid one can be refunded through its provider by an owner (POST,
then a redirect: a reload refunds nothing again)."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from cloud_stub.console.auth import CORE, NavItem, current_user, requires
from cloud_stub.console.once import show_once, shown_once
from cloud_stub.payments.credentials import CredentialsError
from cloud_stub.payments.provider import ProviderError, ProviderUnreachable
from cloud_stub.payments.service import PAYMENTS, PROVIDER_FIELDS, own_payment, payment_summary
from cloud_stub.store import NotFound

routes = web.RouteTableDef()
nav = (NavItem("payments", "nav_payments", ("owner", "staff")),)
LISTED = 100
DEFAULT_CHOICE = "wechatpay"  # the form's provider before one is configured or chosen


async def _page(
    request: web.Request, status: int = 200, chosen: str | None = None, **context: Any
) -> web.StreamResponse:
    """The page; the form is ``chosen``'s (the query's ``provider``), else the configured provider's."""
    core, retailer = request.app[CORE], current_user(request).retailer
    payments = request.config_dict[PAYMENTS]
    rows = await core.db(core.store.payments_of, retailer, limit=LISTED)
    view = await payments.view(retailer)
    asked = chosen or request.query.get("provider", "")
    chosen = asked if asked in PROVIDER_FIELDS else view.provider if view else DEFAULT_CHOICE
    origin = str(request.url.origin())
    context = {
        "payments": [payment_summary(p) for p in rows],
        "provider": view,
        "notify_url": payments.notify_url(retailer, view.provider, origin) if view else None,
        "choices": sorted(PROVIDER_FIELDS),
        "chosen": chosen,
        "fields": PROVIDER_FIELDS[chosen],
        # what the form shows of the settings: the stored ones when it is the configured provider's
        "stored": view.settings if view and view.provider == chosen else {},
        "can_configure": payments.sealer is not None,
        "done": shown_once(request, "payments"),
        "error": None,
        **context,
    }
    return aiohttp_jinja2.render_template("payments.html", request, context, status=status)


@routes.get("/payments", name="payments")
@requires("owner", "staff")
async def payments_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@routes.post("/payments/{payment_id}/refund", name="refund_payment")
@requires("owner")
async def refund(request: web.Request) -> web.StreamResponse:
    """Refund a paid payment through its provider; another retailer's payment is as absent as a missing one."""
    core, user = request.app[CORE], current_user(request)
    try:
        payment = await own_payment(core, user.retailer, request.match_info["payment_id"])
    except NotFound:
        raise web.HTTPNotFound() from None
    try:
        moved, changed = await request.config_dict[PAYMENTS].refund(payment, user.email, str(request.url.origin()))
    except ProviderUnreachable:
        return await _page(request, 503, error=("payment_provider_unreachable", {}))
    except ProviderError as exc:
        return await _page(request, 422, error=("payment_refund_refused", {"reason": str(exc)}))
    if not changed and moved["status"] != "refunded":
        return await _page(request, 409, error=("payment_not_refundable", {"status": moved["status"]}))
    raise show_once(request, "payments", {"refunded": moved["id"]})


@routes.post("/payments/provider", name="payment_provider")
@requires("owner")
async def configure(request: web.Request) -> web.StreamResponse:
    """Store the chosen provider's settings and credentials; a secret left empty keeps the stored one."""
    user = current_user(request)
    form = await request.post()
    provider = str(form.get("provider", ""))[:40]
    given = {f.name: str(form.get(f.name, "")).strip() for f in PROVIDER_FIELDS.get(provider, ())}
    try:
        await request.config_dict[PAYMENTS].configure(user.retailer, provider, given, user.email)
    except CredentialsError as exc:
        return await _page(request, 422, provider, error=("payment_credentials_refused", {"reason": str(exc)}))
    raise show_once(request, "payments", {"configured": provider})
