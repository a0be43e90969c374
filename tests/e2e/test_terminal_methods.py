"""How the shopper paid at the card terminal, end to end: the terminal emulator reports a phone wallet or a
chip card in its ZVT status information, the cabinet records it with the approval, and the cloud shows it
on the shopper's receipt page and counts the retailer's sales by it."""

from __future__ import annotations

import datetime
import urllib.request

from cloud_stub.store import SqliteCloudStore
from firmware.control_client import export_events

from .conftest import CABINET_ID, RETAILER
from .test_sale import walk_to_checkout


def pay_and_take(client, card: str) -> None:
    walk_to_checkout(client)
    assert client.sim("pos/approve", {"card": card})["card"] == card
    client.wait_for(lambda s: s["screen"] == "door" and s["lock"]["energized"], what="door unlocked")
    client.sim("door/open")
    client.wait_for(lambda s: s["journey"] == "door_opened", what="door opened")
    client.sim("door/close")
    client.wait_screen("thanks")
    client.tap("done")
    client.wait_screen("attract")


def test_wallet_and_chip_payments_reach_the_receipt_and_the_sales_by_method(retail, cloud):
    workdir, url = cloud
    api, start = retail
    client = start()
    pay_and_take(client, "wallet")
    pay_and_take(client, "chip")
    client.wait_for(lambda s: s["outbox"]["pending"] == 0, what="outbox drained")

    approvals = [e["payload"] for e in export_events(workdir) if e["type"] == "payment.approved"]
    assert [(a["method"], a["method_detail"], a["card"]) for a in approvals] == [
        ("terminal", "wallet", "VISA"),
        ("terminal", "chip", "girocard"),
    ]
    with urllib.request.urlopen(f"{url}/r/{approvals[0]['receipt_token']}?lang=en", timeout=10) as response:
        page = response.read().decode()
    assert '<dd class="paid-by">Phone wallet · VISA</dd>' in page
    with urllib.request.urlopen(f"{url}/r/{approvals[1]['receipt_token']}?lang=zh", timeout=10) as response:
        assert '<dd class="paid-by">芯片卡 · girocard</dd>' in response.read().decode()

    listed = api.call("GET", f"/v1/retailer/cabinets/{CABINET_ID}/sales")["sales"]
    assert sorted((s["method_detail"], s["card"]) for s in listed) == [("chip", "girocard"), ("wallet", "VISA")]

    today = datetime.datetime.now(datetime.UTC).date()
    summary = SqliteCloudStore(workdir / "cloud.db").sales_summary(
        RETAILER, since_day=(today - datetime.timedelta(days=1)).isoformat(), until_day=today.isoformat()
    )
    price = approvals[0]["amount_cents"]
    assert summary["methods"] == [
        {"method": "terminal", "method_detail": "chip", "currency": "EUR", "count": 1, "cents": price},
        {"method": "terminal", "method_detail": "wallet", "currency": "EUR", "count": 1, "cents": price},
    ]
