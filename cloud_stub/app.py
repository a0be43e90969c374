"""The cloud's HTTP application (aiohttp): the device API for cabinets, the retailer API,
the retailer console (web pages under /console/) and a health check."""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web

from cloud_stub.answer_signing import answer_signer
from cloud_stub.console import setup_console
from cloud_stub.console.proxy import Network
from cloud_stub.consumer import setup_consumer
from cloud_stub.consumer.geocode import Geocoder
from cloud_stub.consumer.notify import Provider
from cloud_stub.core import MAX_BODY_BYTES, Core, refusals
from cloud_stub.device_api import DeviceApi
from cloud_stub.limits import DEFAULT_LIMITS, ServeLimits
from cloud_stub.retailer_api import RetailerApi
from cloud_stub.store import CloudStore

__all__ = ["MAX_BODY_BYTES", "create_app"]


def create_app(
    store: CloudStore,
    *,
    now: Callable[[], float] = time.time,
    simulate_payments: bool = False,
    limits: ServeLimits = DEFAULT_LIMITS,
    geocoder: Geocoder | None = None,
    notifier: Provider | None = None,
    trusted_proxies: tuple[Network, ...] = (),
) -> web.Application:
    """The cloud application on ``store``; ``now`` is the clock for signature windows and receipt times.
    ``simulate_payments`` adds the payment-provider simulator route (tests, `kiosk run --sim`);
    ``limits`` bounds how long a body may take to arrive; ``geocoder`` lets the locator search by address;
    ``notifier`` delivers the notification outbox (none: the messages wait, listed on the repair board);
    ``trusted_proxies``: the reverse proxies whose Forwarded headers the console believes
    (cloud_stub/console/proxy.py).

    The caller owns ``store`` and closes it after the app has been cleaned up.
    """
    core = Core(store, now, limits)
    # Signing wraps the refusals so that a cabinet can trust a "no" as much as a "yes".
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[answer_signer(core.now), refusals])

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "events": await core.db(store.count_events)})

    app.add_routes(
        [web.get("/healthz", healthz), *DeviceApi(core, simulate_payments).routes(), *RetailerApi(core).routes()]
    )
    setup_console(app, core, trusted_proxies)
    setup_consumer(app, core, geocoder=geocoder, notifier=notifier)
    app.on_cleanup.append(core.close)
    return app
