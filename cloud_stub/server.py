"""Run the cloud app on a TCP port inside the caller's event loop."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from cloud_stub.app import create_app
from cloud_stub.console.proxy import Network
from cloud_stub.consumer.notify import Provider
from cloud_stub.event_partitions import RetentionPolicy
from cloud_stub.limits import DEFAULT_LIMITS, GatedSite, ServeLimits
from cloud_stub.payments.credentials import Sealer
from cloud_stub.payments.service import CATCH_UP_EVERY_S
from cloud_stub.store import CloudStore


async def start_cloud(
    store: CloudStore,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    now: Callable[[], float] = time.time,
    simulate_payments: bool = False,
    limits: ServeLimits = DEFAULT_LIMITS,
    notifier: Provider | None = None,
    trusted_proxies: tuple[Network, ...] = (),
    secret_key: Sealer | None = None,
    public_url: str | None = None,
    payment_catch_up_s: float = CATCH_UP_EVERY_S,
    updates_dir: Path | None = None,
    event_retention: RetentionPolicy | None = None,
) -> tuple[web.AppRunner, str]:
    """Serve the cloud on host:port (0 picks a free port); return the runner and the base URL.
    ``simulate_payments`` adds POST /sim/payments/{id}/pay (the shopper paying on the phone);
    ``limits`` are the timeouts and the connection bound; ``notifier`` delivers customer notifications;
    ``trusted_proxies`` the reverse proxies whose Forwarded headers the console believes; ``secret_key``,
    ``public_url`` and ``payment_catch_up_s``: the payment providers' (see ``create_app``); ``event_retention``:
    the raw events' (see ``create_app``).

    Stop it with ``await runner.cleanup()``; the store stays open and is the caller's to close.
    """
    # access_log=None: the app logs one line per ingest with what it stored; aiohttp's line would repeat it.
    runner = web.AppRunner(
        create_app(
            store,
            now=now,
            simulate_payments=simulate_payments,
            limits=limits,
            notifier=notifier,
            trusted_proxies=trusted_proxies,
            secret_key=secret_key,
            public_url=public_url,
            payment_catch_up_s=payment_catch_up_s,
            updates_dir=updates_dir,
            event_retention=event_retention,
        ),
        access_log=None,
        keepalive_timeout=limits.header_timeout_s,
        lingering_time=limits.linger_s,
    )
    await runner.setup()
    site = GatedSite(runner, host, port, limits)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_host, bound_port = runner.addresses[0][:2]
    return runner, f"http://[{bound_host}]:{bound_port}" if ":" in bound_host else f"http://{bound_host}:{bound_port}"
