"""Who may do what: cabinets only as themselves, retailers only on their own cabinets; nothing stored
when a request is refused."""

from __future__ import annotations

import pytest

from sync_client.schema import SIGNATURE_WINDOW_S
from tests.cloud.cloud_helpers import CAB, OTHER, START, Cloud

CONFIG = {"currency": "EUR", "products": [{"sku": "BIKE-C7", "name": "Cruiser C7", "price_cents": 129900}]}
PER_CABINET = ["sales", "stock", "repair-tickets", "alarms", "config"]


@pytest.mark.parametrize("route", ["/v1/config", "/v1/commands", "/v1/pickup-orders"])
async def test_device_reads_need_a_fresh_valid_signature(cloud: Cloud, route: str) -> None:
    async with cloud.session.get(cloud.url + route) as resp:
        assert resp.status == 401 and (await resp.json())["error"] == "X-Cabinet-Id: header missing"
    stale = await cloud.signed("GET", route, signed_at=START - SIGNATURE_WINDOW_S - 1)
    assert stale.status == 401 and stale.body["error"].startswith("X-Timestamp:")
    assert (await cloud.signed("GET", route, nonce="once")).status in (200, 404)
    replay = await cloud.signed("GET", route, nonce="once")
    assert replay.status == 401 and replay.body["error"].startswith("X-Nonce:")


async def test_a_cabinet_cannot_ack_another_cabinets_command(cloud: Cloud) -> None:
    command_id = cloud.store.add_command(OTHER, "refresh_config", {})
    assert (await cloud.signed("GET", "/v1/commands")).body == {"commands": []}
    reply = await cloud.signed("POST", f"/v1/commands/{command_id}/ack", {"result": "ok"})
    assert reply.status == 403
    assert cloud.store.command(command_id)["acked_at"] is None
    own = await cloud.signed("POST", f"/v1/commands/{command_id}/ack", {"result": "ok: done"}, cabinet_id=OTHER)
    assert own.status == 200
    again = await cloud.signed("POST", f"/v1/commands/{command_id}/ack", {"result": "ok: again"}, cabinet_id=OTHER)
    assert again.body == own.body  # acknowledged once; a repeat changes nothing


async def test_a_cabinet_cannot_read_or_cancel_another_cabinets_payment(cloud: Cloud) -> None:
    created = await cloud.signed(
        "POST", "/v1/payments", {"sale_id": "s-1", "amount_cents": 500, "currency": "EUR"}, cabinet_id=OTHER
    )
    assert created.status == 201
    payment_id = created.body["payment_id"]
    assert (await cloud.signed("GET", f"/v1/payments/{payment_id}")).status == 403
    assert (await cloud.signed("POST", f"/v1/payments/{payment_id}/cancel")).status == 403
    assert cloud.store.payment(payment_id)["status"] == "pending"


async def test_retailers_need_a_valid_token(cloud: Cloud) -> None:
    async with cloud.session.get(cloud.url + "/v1/retailer/cabinets") as resp:
        assert resp.status == 401
    reply = await cloud.retailer("GET", "/v1/retailer/cabinets", token="guessed")
    assert reply.status == 401 and reply.body["error"] == "Authorization: unknown retailer token"


async def test_a_retailer_sees_and_manages_only_its_own_cabinets(cloud: Cloud) -> None:
    listing = await cloud.retailer("GET", "/v1/retailer/cabinets")
    assert [c["id"] for c in listing.body["cabinets"]] == [CAB]
    for what in PER_CABINET:
        reply = await cloud.retailer("GET", f"/v1/retailer/cabinets/{OTHER}/{what}")
        assert reply.status == 404, what
        assert reply.body["error"] == f"cabinet_id: no cabinet '{OTHER}' among retailer 'shop-a''s cabinets"
    writes = [
        ("PUT", f"/v1/retailer/cabinets/{OTHER}/config", CONFIG),
        ("PATCH", f"/v1/retailer/cabinets/{OTHER}/products/BIKE-C7", {"price_cents": 1}),
        ("POST", f"/v1/retailer/cabinets/{OTHER}/commands", {"kind": "unlock", "args": {"seconds": 3, "reason": "x"}}),
        ("POST", "/v1/retailer/orders", {"cabinet_id": OTHER, "sku": "BIKE-C7"}),
    ]
    for method, path, body in writes:
        assert (await cloud.retailer(method, path, body)).status == 404, path
    assert cloud.store.config(OTHER) is None
    assert cloud.store.pending_commands(OTHER) == []
    assert cloud.store.open_orders(OTHER) == []
    # the other retailer's own command is invisible too
    command_id = cloud.store.add_command(OTHER, "refresh_config", {})
    assert (await cloud.retailer("GET", f"/v1/retailer/commands/{command_id}")).status == 404
    assert (await cloud.retailer("GET", f"/v1/retailer/commands/{command_id}", retailer="shop-b")).status == 200
