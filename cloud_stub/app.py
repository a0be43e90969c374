"""The cloud's HTTP application (aiohttp): the device API for cabinets, the retailer API,
the retailer console (web pages under /console/) and a health check."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from aiohttp import web

from cloud_stub.answer_signing import answer_signer
from cloud_stub.console import setup_console
from cloud_stub.console.proxy import Network
from cloud_stub.consumer import background, setup_consumer
from cloud_stub.consumer.geocode import Geocoder
from cloud_stub.consumer.notify import Provider
from cloud_stub.consumer.pages import refusal_pages
from cloud_stub.core import MAX_BODY_BYTES, Core, plain_urls, refusals
from cloud_stub.device_api import DeviceApi
from cloud_stub.event_partitions import RetentionPolicy
from cloud_stub.event_retention import EventRetention
from cloud_stub.limits import DEFAULT_LIMITS, ServeLimits
from cloud_stub.payments.credentials import Sealer
from cloud_stub.payments.service import CATCH_UP_EVERY_S, PAYMENTS, Payments
from cloud_stub.retailer_api import RetailerApi
from cloud_stub.store import CloudStore

__all__ = ["MAX_BODY_BYTES", "PAYMENTS", "create_app"]


def _catch_up(payments: Payments, origin: str, every_s: float) -> Callable[[web.Application], AsyncIterator[None]]:
    async def run(_app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(payments.catch_up_forever(origin, every_s), name="payment-catch-up")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return run


def create_app(
    store: CloudStore,
    *,
    now: Callable[[], float] = time.time,
    simulate_payments: bool = False,
    limits: ServeLimits = DEFAULT_LIMITS,
    geocoder: Geocoder | None = None,
    notifier: Provider | None = None,
    trusted_proxies: tuple[Network, ...] = (),
    secret_key: Sealer | None = None,
    public_url: str | None = None,
    payment_catch_up_s: float = CATCH_UP_EVERY_S,
    updates_dir: Path | None = None,
    event_retention: RetentionPolicy | None = None,
) -> web.Application:
    """The cloud application on ``store``; ``now`` is the clock for signature windows and receipt times.
    ``simulate_payments`` adds the payment-provider simulator route (tests, `kiosk run --sim`);
    ``limits`` bounds how long a body may take to arrive; ``geocoder`` lets the locator search by address;
    ``notifier`` delivers the notification outbox (none: the messages wait, listed on the repair board);
    ``trusted_proxies``: the reverse proxies whose Forwarded headers the console believes
    (cloud_stub/console/proxy.py); ``secret_key`` seals the retailers' payment credentials (none: every payment
    goes to the simulator); ``public_url`` is where providers send their notifications (default: the request's
    origin); ``payment_catch_up_s`` how often payments whose notification is late are asked about;
    ``updates_dir``: a TUF repository of releases (cloud_stub/releases.py), served as static files under
    ``/updates/metadata/`` and ``/updates/targets/`` (any static host would do as well: TUF's signatures, not
    the server, are what a cabinet trusts); ``event_retention``: delete raw events past it hourly and make
    the coming months' partitions (cloud_stub/event_retention.py; none: neither, as in most tests).

    The caller owns ``store`` and closes it after the app has been cleaned up.
    """
    core = Core(store, now, limits)
    # Signing wraps the refusals so that a cabinet can trust a "no" as much as a "yes". The phone pages answer their
    # refusals (plain_urls' among them) with a page before ``refusals`` would with JSON.
    middlewares = [answer_signer(core.now), refusals, refusal_pages, plain_urls]
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=middlewares)

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "events": await core.db(store.count_events)})

    payments = Payments(core, secret_key, public_url)
    app.add_routes(
        [
            web.get("/healthz", healthz),
            *DeviceApi(core, payments, simulate_payments).routes(),
            *RetailerApi(core, payments).routes(),
        ]
    )
    if updates_dir is not None:
        app.router.add_static("/updates/", updates_dir, follow_symlinks=False)
    app[PAYMENTS] = payments
    if secret_key is not None:  # without it no real provider is configured: nothing to catch up with
        app.cleanup_ctx.append(_catch_up(payments, public_url or "", payment_catch_up_s))
    setup_console(app, core, trusted_proxies)
    setup_consumer(app, core, geocoder=geocoder, notifier=notifier)
    if event_retention is not None:
        app.cleanup_ctx.append(background(EventRetention(core, event_retention), "event-retention"))
    app.on_cleanup.append(core.close)
    return app
