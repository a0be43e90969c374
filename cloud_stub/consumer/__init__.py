"""The consumer pages (issue 15), served by ``kiosk-cloud`` beside the console, mobile first, in English and
Chinese: QR hand-off links (/q/<code>), receipts (/r/<token>), repair status (/repair), the cabinet locator
(/near, /near.json). ``pages.py`` holds every route; ``setup_consumer`` mounts them on the cloud's app with
their own templates (autoescaped), static files (CSS and the locator's script: the CSP allows no inline
script) and the console's security headers. Data only through the store (``core.db``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Protocol

import aiohttp_jinja2
import jinja2
from aiohttp import web

from cloud_stub.console import SECURITY_HEADERS
from cloud_stub.consumer import pages
from cloud_stub.consumer.geocode import Geocoder
from cloud_stub.consumer.notify import Notifier, Provider
from cloud_stub.consumer.retention import Retention
from cloud_stub.core import Core

HERE = Path(__file__).parent
STATIC = "/consumer-static/"


def setup_consumer(app: web.Application, core: Core, *, geocoder: Geocoder | None, notifier: Provider | None) -> None:
    app[pages.CORE] = core
    if geocoder is not None:
        app[pages.GEOCODER] = geocoder
    aiohttp_jinja2.setup(
        app,
        app_key=pages.TEMPLATES,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    app.router.add_static(STATIC, HERE / "static", name="consumer_static")
    app.add_routes(pages.routes)
    app.on_response_prepare.append(_security_headers)
    if notifier is not None:
        app.cleanup_ctx.append(background(Notifier(core, notifier), "notifications"))
    app.cleanup_ctx.append(background(Retention(core), "callback-retention"))


class Worker(Protocol):
    async def run(self) -> None: ...


def background(worker: Worker, name: str) -> Callable[[web.Application], AsyncIterator[None]]:
    """``worker.run()`` for as long as the app serves."""

    async def run(_app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(worker.run(), name=name)
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return run


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    if request.path.startswith(pages.PATHS):
        response.headers.update(SECURITY_HEADERS)
        if not request.path.startswith(STATIC):
            response.headers["Cache-Control"] = "no-store"
