"""The loopback-only control API: how tests and HIL benches drive the cabinet
the way a person would. Enabled by ``--sim`` or a bench profile, never in
production, and bound to 127.0.0.1 only.

    GET  /state                   screen, widgets, lock, door, outbox, journey
    POST /tap    {"widget": ID} | {"x": X, "y": Y}, "hold_s"?   a real touch (held: a long press)
    POST /swipe  {"x1", "y1", "x2", "y2", "duration_s"?, "steps"?}   a real drag, finger down to up
    GET  /screenshot[?window=1]   the touchscreen (or the whole window) as PNG
    GET  /sim/pins                the relay and door pins' recorded history
    POST /sim/<action>            the shopper's hands (see firmware.sim.BENCH_ACTIONS)

A web page open on the bench machine can reach 127.0.0.1 too, so every request must name a loopback
Host (no DNS rebinding), carry no Origin or a loopback one, and a POST must be application/json (a form
or a no-cors fetch cannot send that without a preflight this API never answers): else 403 or 415.
"""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from firmware.sim import BENCH_ACTIONS, BenchError, SimBench
from kiosk_ui.i18n import format_price
from kiosk_ui.view import (
    AttractScreen,
    CheckoutScreen,
    DoorScreen,
    OutOfServiceScreen,
    PickupScreen,
    PinPadScreen,
    ProductScreen,
    ThanksScreen,
)

if TYPE_CHECKING:
    from firmware.cabinet import Cabinet
    from kiosk_ui.app import KioskUi

log = logging.getLogger(__name__)
# The screens that carry a message, and those that show a product: /state reports them.
MESSAGE_SCREENS = (ProductScreen, CheckoutScreen, PickupScreen, PinPadScreen, OutOfServiceScreen)
PRODUCT_SCREENS = (ProductScreen, CheckoutScreen, DoorScreen, ThanksScreen)
# Typed keys: request.app[CABINET] is a Cabinet to mypy. The names are strings so that pygame (KioskUi) and
# the cabinet load only when the runtime does; aiohttp keeps the type for checking, never evaluates it.
CABINET = web.AppKey["Cabinet"]("cabinet")
UI = web.AppKey["KioskUi"]("ui")
BENCH = web.AppKey[SimBench | None]("bench")


_LOOPBACK = re.compile(r"(?:127\.0\.0\.1|localhost|\[::1\])(?::(?P<port>[0-9]{1,5}))?", re.IGNORECASE)


def is_loopback_host(value: str) -> bool:
    """A Host header naming this machine's loopback: 127.0.0.1, localhost or [::1], with a port or without."""
    match = _LOOPBACK.fullmatch(value)
    return match is not None and (match["port"] is None or int(match["port"]) <= 65535)


def is_loopback_origin(value: str) -> bool:
    """An Origin header of a page served from loopback: http://127.0.0.1:*, http://localhost:*, http://[::1]:*."""
    scheme, separator, host = value.partition("://")
    return bool(separator) and scheme.lower() == "http" and is_loopback_host(host)


@web.middleware
async def loopback_only(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    host, origin = request.headers.get("Host", ""), request.headers.get("Origin")
    if not is_loopback_host(host):
        return _error(403, f"Host: {host[:100]!r} is not loopback (127.0.0.1, localhost or [::1])")
    if origin is not None and not is_loopback_origin(origin):
        return _error(403, f"Origin: {origin[:100]!r} is not a loopback origin")
    if request.method == "POST" and request.content_type != "application/json":
        given = request.headers.get("Content-Type")
        return _error(
            415,
            f"Content-Type: expected application/json, got {given[:100]!r}"
            if given
            else "Content-Type: missing; expected application/json",
        )
    return await handler(request)


def create_control_app(cabinet: Cabinet, ui: KioskUi, bench: SimBench | None) -> web.Application:
    app = web.Application(middlewares=[loopback_only])
    app[CABINET], app[UI], app[BENCH] = cabinet, ui, bench
    app.router.add_get("/state", get_state)
    app.router.add_post("/tap", post_tap)
    app.router.add_post("/swipe", post_swipe)
    app.router.add_get("/screenshot", get_screenshot)
    app.router.add_get("/sim/pins", get_pins)
    app.router.add_get("/modules", get_modules)
    app.router.add_post("/sim/{action:.+}", post_sim)
    return app


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _json_body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"body: not JSON: {exc}"}), content_type="application/json"
        ) from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "body: expected a JSON object"}), content_type="application/json"
        )
    return body


def state_of(cabinet: Cabinet, ui: KioskUi) -> dict[str, Any]:
    view = cabinet.view_state()
    message = view.message if isinstance(view, MESSAGE_SCREENS) else None
    payment_status = view.payment_status if isinstance(view, CheckoutScreen) else None
    product = view.product if isinstance(view, PRODUCT_SCREENS) else None
    playing = cabinet.narration.player.playing
    return {
        "screen": ui.screen_id,
        "frame": ui.frame_count,
        "journey": cabinet.sale.state.value,
        "language": cabinet.language,
        "accessible": view.chrome.accessible,  # accessibility mode on for this session
        "reach_rows": [ui.accessible_theme.reach.top, ui.accessible_theme.reach.bottom],  # within wheelchair reach
        "widgets": [
            {
                "id": w.id,
                "rect": list(w.rect),
                "label": w.label,
                "enabled": w.enabled,
                **({"qr": w.extra["text"]} if w.extra.get("kind") == "qr" else {}),  # what a phone's camera reads
            }
            for w in ui.widgets()
        ],
        "lock": {"energized": cabinet.devices.lock.energized},
        "door": {"open": cabinet.devices.door.is_open},
        "outbox": {"pending": cabinet.outbox.pending_count()},
        "online": view.chrome.online,
        "payment_status": payment_status,
        "message": message,
        "product": product.sku if product else None,
        "price": format_price(product.price_cents, product.currency) if product else None,  # as the screen prints it
        "ads": [{"id": ad.id, "kind": ad.kind, "path": ad.path} for ad in view.ads]  # the attract loop's, in order
        if isinstance(view, AttractScreen)
        else [],
        "stock": {p.sku: p.stock for p in cabinet.shop.products()},
        "variant_stock": {v.sku: v.stock for p in cabinet.shop.products() for v in p.variants},
        "faults": dict(cabinet.faults),
        "payment_methods": list(cabinet.shop.payment_methods()),
        "config_version": cabinet.cloud.version if cabinet.cloud else None,
        "narration": {  # what plays now (sku and language), heard or subtitles only
            "playing": list(playing.key) if playing else None,
            "sound": bool(playing and playing.sound),
            "video": bool(playing and playing.narration.video),  # the retailer's video shown with it
            "subtitle": cabinet.narration.player.subtitle(),
            "ready": sorted("/".join(key) for key in cabinet.narration.library.ready),
            "videos": sorted("/".join(key) for key, n in cabinet.narration.library.ready.items() if n.video),
        },
        "journeys": {
            "sale": cabinet.sale.state.value,
            "pickup": cabinet.pickup.state.value,
            "restock": cabinet.restock.state.value,
            "repair": cabinet.repair.state.value,
            "service": cabinet.service.state.value,
        },
    }


async def get_state(request: web.Request) -> web.Response:
    return web.json_response(state_of(request.app[CABINET], request.app[UI]))


async def post_tap(request: web.Request) -> web.Response:
    ui = request.app[UI]
    body = await _json_body(request)
    if "widget" in body:
        widget_id = body["widget"]
        if not isinstance(widget_id, str):
            return _error(400, "widget: expected a string")
        found = {w.id: w for w in ui.widgets()}
        if widget_id not in found:
            return _error(
                404,
                f"widget: no {widget_id!r} on screen {ui.screen_id!r} "
                f"(on screen: {', '.join(sorted(found)) or 'none'})",
            )
        x, y, w, h = found[widget_id].rect
        x, y = x + w // 2, y + h // 2
    elif "x" in body and "y" in body:
        x, y = body["x"], body["y"]
        for name, value in (("x", x), ("y", y)):
            if not isinstance(value, int) or isinstance(value, bool):
                return _error(400, f"{name}: expected an integer")
        width, height = ui.size
        if not (0 <= x < width and 0 <= y < height):
            return _error(400, f"x, y: ({x}, {y}) is outside the {width}x{height} touchscreen")
    else:
        return _error(400, 'body: expected {"widget": ID} or {"x": X, "y": Y}')
    hold = body.get("hold_s")
    if hold is None:
        await ui.tap(x, y)
    elif not isinstance(hold, (int, float)) or isinstance(hold, bool) or not 0 < hold <= 60:
        return _error(400, "hold_s: expected seconds between 0 and 60")
    else:  # a long press: the hidden staff entry
        await ui.press(x, y, float(hold))
    return web.json_response({"screen": ui.screen_id, "frame": ui.frame_count, "x": x, "y": y})


async def post_swipe(request: web.Request) -> web.Response:
    ui = request.app[UI]
    body = await _json_body(request)
    width, height = ui.size
    points = {}
    for name, limit in (("x1", width), ("y1", height), ("x2", width), ("y2", height)):
        value = body.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < limit:
            return _error(400, f"{name}: expected an integer inside the {width}x{height} touchscreen")
        points[name] = value
    duration = body.get("duration_s", 0.25)
    steps = body.get("steps", 12)
    if not isinstance(duration, (int, float)) or isinstance(duration, bool) or not 0 < duration <= 5:
        return _error(400, "duration_s: expected seconds between 0 and 5")
    if not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= 200:
        return _error(400, "steps: expected an integer from 1 to 200")
    await ui.swipe(points["x1"], points["y1"], points["x2"], points["y2"], duration_s=duration, steps=steps)
    return web.json_response({"screen": ui.screen_id, "frame": ui.frame_count})


async def get_screenshot(request: web.Request) -> web.Response:
    buffer = io.BytesIO()
    request.app[UI].screenshot(buffer, window=request.query.get("window") in ("1", "true"))
    return web.Response(body=buffer.getvalue(), content_type="image/png")


async def get_modules(request: web.Request) -> web.Response:
    """The top-level packages this process has imported: what the configuration made it load."""
    return web.json_response({"modules": sorted({name.partition(".")[0] for name in sys.modules})})


async def get_pins(request: web.Request) -> web.Response:
    bench = request.app[BENCH]
    if bench is None:
        return _error(404, "no simulated pins on this cabinet")
    return web.json_response(bench.pins())


async def post_sim(request: web.Request) -> web.Response:
    bench = request.app[BENCH]
    action = request.match_info["action"]
    if bench is None:
        return _error(404, "no simulated devices on this cabinet")
    if action not in BENCH_ACTIONS:
        return _error(404, f"action: unknown {action!r} (known: {', '.join(sorted(BENCH_ACTIONS))})")
    body = await _json_body(request)
    try:
        result = await BENCH_ACTIONS[action](bench, body)
    except BenchError as exc:
        return _error(exc.status, str(exc))
    log.info("sim action", extra={"action": action})
    return web.json_response({"ok": True, **(result or {})})
