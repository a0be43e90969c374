"""docs/openapi.yaml against the running app: the same routes, and every answer a scenario
draws from the app validates against the documented schema for its route and status."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import simplejpeg
import yaml
from aiohttp import web
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from cloud_stub.app import create_app
from cloud_stub.consumer.pages import PATHS as CONSUMER_HTML
from cloud_stub.store import SqliteCloudStore, open_store
from sync_client.cabinet_config import hash_secret
from sync_client.schema import (
    HDR_CLOUD_SIGNATURE,
    HDR_CLOUD_TIME,
    HDR_NONCE,
    dumps,
    sign_request,
    verify_answer,
)
from tests.cloud.cloud_helpers import make_event

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
DOC = yaml.safe_load(DOC_PATH.read_text())
METHODS = {"get", "put", "post", "patch", "delete"}


def node_ref(ref: str) -> list[str]:
    assert ref.startswith("#/"), ref
    return [p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/")]


def deref(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target = DOC
        for part in node_ref(node["$ref"]):
            target = target[part]
        node = target
    return node


def all_refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return ([node["$ref"]] if "$ref" in node else []) + [r for v in node.values() for r in all_refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in all_refs(v)]
    return []


def documented_routes() -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in DOC["paths"].items() for method in item if method in METHODS}


def app_routes(app: web.Application) -> set[tuple[str, str]]:
    """The JSON API's routes: not the retailer console's web pages (under /console, and / sending there), nor
    the consumer pages' HTML (their JSON, /near.json, is documented)."""
    return {
        (r.method, r.resource.canonical)
        for r in app.router.routes()
        if r.method != "HEAD"
        and r.resource.canonical != "/"
        and not r.resource.canonical.startswith("/console/")
        and (r.resource.canonical == "/near.json" or not r.resource.canonical.startswith(CONSUMER_HTML))
    }


def test_the_document_is_openapi_31_and_every_reference_resolves() -> None:
    assert DOC["openapi"].startswith("3.1")
    for ref in all_refs(DOC):
        deref({"$ref": ref})
    for path, item in DOC["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                assert operation.get("responses"), (method, path)
                assert operation.get("summary"), (method, path)


def test_the_document_lists_exactly_the_routes_of_the_app(tmp_path: Path) -> None:
    store = SqliteCloudStore(tmp_path / "c.db")
    assert app_routes(create_app(store, simulate_payments=True)) == documented_routes()
    without_sim = app_routes(create_app(store))
    assert ("POST", "/sim/payments/{payment_id}/pay") not in without_sim
    store.close()


def schema_for(template: str, method: str, status: int) -> dict | None:
    operation = DOC["paths"][template][method.lower()]
    assert str(status) in operation["responses"], f"{method} {template} answered {status}, which is not documented"
    response = deref(operation["responses"][str(status)])
    content = response.get("content", {})
    return content["application/json"]["schema"] if "application/json" in content else None


def validate(template: str, method: str, status: int, body: Any) -> None:
    schema = schema_for(template, method, status)
    if schema is None:
        return
    # Validate with the whole document as the resource, so #/components/... references resolve.
    validator = Draft202012Validator(
        {"$ref": "urn:openapi#/__schema__"},
        registry=Registry().with_resource("urn:openapi", Resource.opaque({**DOC, "__schema__": schema})),
    )
    errors = sorted(validator.iter_errors(body), key=str)
    assert not errors, f"{method} {template} {status}: {errors[0].message} in {json.dumps(body)[:300]}"


def documented_headers(template: str, method: str, status: int) -> dict[str, dict]:
    response = deref(DOC["paths"][template][method.lower()]["responses"][str(status)])
    return {name: deref(header) for name, header in response.get("headers", {}).items()}


def test_every_device_answer_documents_the_cloud_signature_and_nothing_else_does() -> None:
    for path, item in DOC["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            device = {"cabinetSignature": []} in operation.get("security", [])
            for status in operation["responses"]:
                headers = documented_headers(path, method, int(status))
                signed = {HDR_CLOUD_TIME, HDR_CLOUD_SIGNATURE} <= headers.keys()
                assert signed == device, (method, path, status)
                # Only a request that authenticated gets a signed answer; a 401 may not have.
                required = {
                    name for name in (HDR_CLOUD_TIME, HDR_CLOUD_SIGNATURE) if headers.get(name, {}).get("required")
                }
                assert required == (
                    set() if status == "401" or not device else {HDR_CLOUD_TIME, HDR_CLOUD_SIGNATURE}
                ), (method, path, status)


async def test_real_answers_match_the_documented_schemas(cloud_target: str) -> None:
    """Every route answered on either store, checked against the document."""
    seen: list[tuple[str, str, int, Any]] = []
    signed_answers: list[tuple[str, str, int, str | None, dict[str, str], bytes]] = []

    @web.middleware
    async def record(request: web.Request, handler):
        response = await handler(request)
        body = json.loads(response.body) if response.content_type == "application/json" and response.body else None
        template = request.match_info.route.resource.canonical
        seen.append((template, request.method, response.status, body))
        signed_answers.append(
            (
                template,
                request.method,
                response.status,
                request.headers.get(HDR_NONCE),
                dict(response.headers),
                response.body if isinstance(response.body, bytes) else b"",
            )
        )
        return response

    store = open_store(cloud_target)
    token = store.add_retailer("shop-a")
    key = store.add_cabinet("cab-1", "shop-a")
    app = create_app(store, simulate_payments=True)
    app.middlewares.insert(0, record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    retailer = {"Authorization": f"Bearer {token}"}

    async def device(method: str, path: str, body: Any = None) -> Any:
        data = body if isinstance(body, bytes) else dumps(body) if body is not None else b""
        async with session.request(
            method, url + path, data=data, headers=sign_request(key, "cab-1", method, path, data)
        ) as resp:
            return await resp.json() if resp.content_type == "application/json" else None

    async def shop(method: str, path: str, body: Any = None) -> Any:
        async with session.request(method, url + path, json=body, headers=retailer) as resp:
            return await resp.json()

    config = {
        "currency": "EUR",
        "products": [{"sku": "BIKE-C7", "name": "Cruiser", "price_cents": 129900}],
        "retailer": {"pin_hashes": [hash_secret("1234", n=2**10)], "staff_cards": []},
    }
    try:
        async with aiohttp.ClientSession() as session:
            await device("GET", "/v1/config")  # 404: none yet
            enroll = store.add_enroll_token("shop-a", 3600)
            new_cabinet = {"cabinet_id": "cab-new", "key": secrets.token_hex(32), "token": enroll}
            for body in (new_cabinet, new_cabinet, {**new_cabinet, "key": "zz"}):  # 201, 401 (used), 400
                async with session.post(url + "/v1/enroll", json=body) as resp:
                    await resp.json()
            async with session.post(
                url + "/v1/enroll",
                json={**new_cabinet, "cabinet_id": "cab-1", "token": store.add_enroll_token("shop-a", 60)},
            ) as resp:
                await resp.json()  # 409: the id is taken
            await shop("PUT", "/v1/retailer/cabinets/cab-1/config", config)
            await shop("PUT", "/v1/retailer/cabinets/cab-1/config", {**config, "currency": "euro"})  # 422
            await shop("PATCH", "/v1/retailer/cabinets/cab-1/products/BIKE-C7", {"price_cents": 119900})
            await shop("PATCH", "/v1/retailer/cabinets/cab-1/products/BIKE-C7", {"colour": "red"})  # 400
            await shop("POST", "/v1/retailer/orders", {"cabinet_id": "cab-1", "sku": "BIKE-C7"})
            await shop("GET", "/v1/retailer/cabinets/cab-1/config")
            await device("GET", "/v1/config")
            await device("GET", "/v1/pickup-orders")
            events = [
                make_event(1, "cab-1", "config.rejected", {"version": 2, "etag": '"x"', "reason": "r"}),
                make_event(
                    2,
                    "cab-1",
                    "payment.approved",
                    {
                        "sale_id": "s",
                        "sku": "BIKE-C7",
                        "amount_cents": 1,
                        "currency": "EUR",
                        "method": "qr",
                        "receipt_no": None,
                        "trace_no": None,
                    },
                ),
                make_event(3, "cab-1", "alarm", {"kind": "door_forced", "detail": "x"}),
                make_event(4, "cab-1", "stock.changed", {"sku": "BIKE-C7", "count": 1, "reason": "sale"}),
                make_event(
                    5,
                    "cab-1",
                    "repair.ticket",
                    {"ticket_id": "t", "device": "lock", "detail": "d", "status": "dropped_off"},
                ),
                make_event(
                    6,
                    "cab-1",
                    "session.ended",
                    {
                        "started_at": "2026-11-25T16:30:00Z",
                        "ended_at": "2026-11-25T16:32:00Z",
                        "ended_by": "idle",
                        "screens": ["attract", "product"],
                        "products": [
                            {
                                "sku": "BIKE-C7",
                                "dwell_s": 30.5,
                                "turns": 1,
                                "narrations": 0,
                                "variant": None,
                                "checkout": True,
                                "payment": "declined",
                            }
                        ],
                        "step": "checkout",
                        "left_at": "product",
                        "ad_id": "ad-1",
                    },
                ),
                make_event(7, "cab-1", "fingerprint.enrolled", {"slot": 0, "ok": True, "detail": "stored"}),
                {"id": "nope"},
            ]
            await device("POST", "/v1/events", {"cabinet_id": "cab-1", "events": events})
            await device("POST", "/v1/events", {"cabinet_id": "cab-2", "events": []})  # 403
            changed = {**events[2], "payload": {"kind": "door_forced", "detail": "y"}}
            await device("POST", "/v1/events", {"cabinet_id": "cab-1", "events": [changed]})  # 409

            async def chunked() -> AsyncIterator[bytes]:
                yield b"{}"

            async with session.post(
                url + "/v1/events", data=chunked(), headers=sign_request(key, "cab-1", "POST", "/v1/events", b"{}")
            ) as resp:
                assert resp.status == 411, await resp.text()
            for what in ("sales", "stock", "repair-tickets", "alarms", "fingerprints", "event-conflicts"):
                await shop("GET", f"/v1/retailer/cabinets/cab-1/{what}")
            await shop("GET", "/v1/retailer/cabinets/cab-9/sales")  # 404
            await shop("GET", "/v1/retailer/funnel?from=2026-11-01&to=2026-11-30")
            await shop("GET", "/v1/retailer/funnel?cabinet_id=cab-1")
            await shop("GET", "/v1/retailer/funnel?from=2026-13-01")  # 400
            await shop("GET", "/v1/retailer/funnel?cabinet_id=cab-9")  # 404
            await shop("GET", "/v1/retailer/cabinets/cab-1/repair-tickets?status=lost")  # 400
            await shop("PATCH", "/v1/retailer/repair-tickets/t", {"status": "collected"})
            await shop("PATCH", "/v1/retailer/repair-tickets/t", {"status": "collected"})  # 409
            await shop("PATCH", "/v1/retailer/repair-tickets/t", {"status": "lost"})  # 400
            await shop("PATCH", "/v1/retailer/repair-tickets/none", {"status": "collected"})  # 404
            thumb = simplejpeg.encode_jpeg(np.zeros((240, 320, 3), np.uint8))
            snapshot = "/v1/snapshots/20261125T174005-opened-none.jpg"
            await device("PUT", snapshot, thumb)  # 201
            await device("PUT", snapshot, thumb)  # 200
            await device("PUT", snapshot, simplejpeg.encode_jpeg(np.full((240, 320, 3), 255, np.uint8)))  # 409
            await device("PUT", snapshot, b"GIF89a")  # 415
            await device("PUT", snapshot, b"\xff\xd8" + bytes(300_000))  # 413
            await device("PUT", "/v1/snapshots/snap.jpg", thumb)  # 400
            await shop("GET", "/v1/retailer/cabinets/cab-1/snapshots")
            await shop("GET", "/v1/retailer/cabinets/cab-1/snapshots?limit=0")  # 400
            await shop("GET", "/v1/retailer/cabinets/cab-1/snapshots/20261125T174006-closed-none.jpg")  # 404
            async with session.get(
                url + "/v1/retailer/cabinets/cab-1/snapshots/20261125T174005-opened-none.jpg", headers=retailer
            ) as resp:
                assert resp.status == 200 and resp.content_type == "image/jpeg"
            png = b"\x89PNG\r\n\x1a\n" + bytes(64)
            for body in (png, png, b"GIF89a"):  # 201, 200 (the same content), 400 (not a PNG or JPEG)
                async with session.post(url + "/v1/retailer/media?kind=image", data=body, headers=retailer) as resp:
                    await resp.json()
            async with session.post(
                url + "/v1/retailer/media?kind=image", data=png + bytes(5 * 2**20), headers=retailer
            ) as resp:
                assert resp.status == 413
            await shop("GET", "/v1/retailer/media")
            digest = hashlib.sha256(png).hexdigest()
            assert await device("GET", f"/v1/media/{digest}") is None  # the file itself
            await device("GET", f"/v1/media/{'0' * 64}")  # 404
            await shop("GET", "/v1/retailer/cabinets")
            command = await shop(
                "POST",
                "/v1/retailer/cabinets/cab-1/commands",
                {"kind": "unlock", "args": {"seconds": 2, "reason": "help"}},
            )
            await device("GET", "/v1/commands")
            await device("POST", f"/v1/commands/{command['id']}/ack", {"result": "ok: unlocked"})
            await device("POST", "/v1/commands/none/ack", {"result": "ok"})  # 404
            await shop("GET", f"/v1/retailer/commands/{command['id']}")
            payment = await device("POST", "/v1/payments", {"sale_id": "s", "amount_cents": 500, "currency": "EUR"})
            await device("POST", "/v1/payments", {"sale_id": "s", "amount_cents": 500, "currency": "EUR"})  # 200
            await device("POST", "/v1/payments", {"sale_id": "s", "amount_cents": 9, "currency": "EUR"})  # 409
            await device("GET", f"/v1/payments/{payment['payment_id']}")
            async with session.get(url + f"/pay/{payment['payment_id']}") as resp:
                assert resp.content_type == "text/html"
            async with session.post(url + f"/sim/payments/{payment['payment_id']}/pay") as resp:
                assert resp.status == 200
            async with session.post(url + f"/sim/payments/{payment['payment_id']}/pay") as resp:
                assert resp.status == 409
            await device("POST", f"/v1/payments/{payment['payment_id']}/cancel")
            await device("GET", "/v1/payments/by-sale/s")
            await device("GET", "/v1/payments/by-sale/never")  # 404
            await device("POST", f"/v1/payments/{payment['payment_id']}/refund")
            await device("POST", f"/v1/payments/{payment['payment_id']}/refund")  # 200 again
            unpaid = await device("POST", "/v1/payments", {"sale_id": "u", "amount_cents": 500, "currency": "EUR"})
            await device("POST", f"/v1/payments/{unpaid['payment_id']}/refund")  # 409
            await shop("GET", "/v1/retailer/payment-provider")  # 404: none, the simulator
            await shop("PUT", "/v1/retailer/payment-provider", {"provider": "wechatpay"})  # 422: no server key
            await shop("GET", "/v1/retailer/payments")
            await shop("POST", f"/v1/retailer/payments/{payment['payment_id']}/refund")  # 200: refunded already
            await shop("POST", f"/v1/retailer/payments/{unpaid['payment_id']}/refund")  # 409
            async with session.post(url + "/v1/payments/notify/wechatpay/shop-a", json={}) as resp:
                assert resp.status == 404  # shop-a has no WeChat Pay
            async with session.get(url + "/healthz") as resp:
                assert resp.status == 200
            for query, expected in (("?lat=52.5&lon=13.4", 200), ("?lat=100&lon=0", 400)):  # the consumer locator
                async with session.get(url + "/near.json" + query) as resp:
                    assert resp.status == expected
            async with session.get(url + "/v1/retailer/cabinets") as resp:
                assert resp.status == 401
    finally:
        await runner.cleanup()
        store.close()
    for template, method, status, body in seen:
        validate(template, method, status, body)
    checked, device_answers = 0, 0
    for template, method, status, nonce, headers, body in signed_answers:
        device_answers += status != 401 and {"cabinetSignature": []} in DOC["paths"][template][method.lower()].get(
            "security", []
        )
        for name, header in documented_headers(template, method, status).items():
            if header.get("required"):
                assert name in headers, f"{method} {template} {status}: no {name} header"
                assert Draft202012Validator(header["schema"]).is_valid(headers[name]), (name, headers[name])
        if HDR_CLOUD_SIGNATURE in headers:  # the scenario's device requests are all cab-1's
            verify_answer(key, nonce, status, headers, body)
            checked += 1
    assert checked == device_answers >= 15
    statuses = {(t, m, s) for t, m, s, _ in seen}
    assert len(statuses) >= 30, sorted(statuses)  # the scenario reached the whole API
    assert {(m, t) for t, m, _ in statuses} == documented_routes()


def test_a_answer_that_strays_from_the_document_is_caught() -> None:
    try:
        validate("/v1/events", "POST", 200, {"acked": "all of them", "rejected": []})
    except AssertionError as exc:
        assert "is not of type 'array'" in str(exc)
    else:
        raise AssertionError("validate accepted a wrong answer")
