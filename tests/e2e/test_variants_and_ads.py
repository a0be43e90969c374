"""Variants and ads end to end: real processes, only taps, the bench's hands and the retailer's HTTP API.

The retailer's catalog (conftest.retailer_document) still lists the scooter's colours the way configurations
did before variants ("Mint", "Graphite"): each is a variant with a derived SKU, and the scooters the cabinet
counted before (as a whole) are the first colour's."""

import json
import urllib.error
from typing import Any

from firmware.control_client import export_events

from .conftest import CABINET_ID, STAFF_CARD, retailer_document

MINT, GRAPHITE = "SCOOT-S1-mint", "SCOOT-S1-graphite"
CONFIG_PATH = f"/v1/retailer/cabinets/{CABINET_ID}/config"


def widget(state: dict[str, Any], widget_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(w for w in state["widgets"] if w["id"] == widget_id)
    return found


def restock_graphite(client: Any, added: int) -> None:
    client.sim("nfc/present", {"uid": STAFF_CARD.upper()})
    client.wait_for(lambda s: s["screen"] == "restock" and s["lock"]["energized"], what="restock unlocked")
    client.sim("door/open")
    state = client.wait_for(lambda s: s["journeys"]["restock"] == "counting", what="counting")
    assert {f"count:{MINT}", f"count:{GRAPHITE}", "count:BIKE-C7"} <= {w["id"] for w in state["widgets"]}
    for _ in range(added):
        client.tap(f"count:{GRAPHITE}:plus")
    client.sim("door/close")
    client.wait_for(lambda s: s["journeys"]["restock"] == "recorded", what="restock recorded")
    client.tap("done")
    client.wait_screen("attract")


def test_the_variant_chosen_is_paid_for_recorded_and_counted_and_one_out_of_stock_is_not_sold(
    retail: Any, cloud: Any
) -> None:
    workdir, _ = cloud
    api, start = retail
    client = start()
    state = client.state()
    assert state["variant_stock"] == {MINT: 3, GRAPHITE: 0}, "the count from before variants is the first colour's"

    # The retailer counts a graphite scooter in: each variant has its own row and its own record.
    restock_graphite(client, 1)
    assert client.state()["variant_stock"] == {MINT: 3, GRAPHITE: 1}

    # The shopper chooses graphite, not the colour shown first, and pays for it.
    client.tap("start")
    client.wait_screen("catalog")
    client.tap("product:SCOOT-S1")
    client.wait_screen("product")
    client.tap(f"variant:{GRAPHITE}")
    client.tap("buy")
    state = client.wait_screen("checkout")
    assert widget(state, "variant")["label"] == "Graphite"
    client.tap("pay:terminal")
    client.wait_for(lambda s: s["payment_status"] == "present_card", what="terminal asks for a card")
    client.sim("pos/approve")
    client.wait_for(lambda s: s["screen"] == "door" and s["lock"]["energized"], what="door unlocked")
    client.sim("door/open")
    client.wait_for(lambda s: s["journey"] == "door_opened", what="door opened")
    client.sim("door/close")
    client.wait_screen("thanks")
    client.tap("done")  # now: the checks below take long enough on a loaded machine for the thanks to time out
    client.wait_screen("attract")
    state = client.wait_for(lambda s: s["outbox"]["pending"] == 0, what="outbox drained")
    assert state["variant_stock"] == {MINT: 3, GRAPHITE: 0}, "the graphite one left, the mint ones did not"

    events = export_events(workdir)
    recorded = [e["payload"] for e in events if e["type"] == "restock.recorded"]
    assert [(r["sku"], r["product_sku"], r["added"], r["count"]) for r in recorded] == [(GRAPHITE, "SCOOT-S1", 1, 1)]
    for kind in ("payment.approved", "sale.completed"):
        [sale_event] = [e["payload"] for e in events if e["type"] == kind]
        assert (sale_event["sku"], sale_event["variant_sku"]) == ("SCOOT-S1", GRAPHITE), kind
    sold = [e["payload"] for e in events if e["type"] == "stock.changed" and e["payload"]["reason"] == "sale"]
    assert [(s["sku"], s["count"]) for s in sold] == [(GRAPHITE, 0)]

    [sale] = api.call("GET", f"/v1/retailer/cabinets/{CABINET_ID}/sales")["sales"]
    assert sale["variant_sku"] == GRAPHITE
    stock = {row["sku"]: row["count"] for row in api.call("GET", f"/v1/retailer/cabinets/{CABINET_ID}/stock")["stock"]}
    assert (stock[MINT], stock[GRAPHITE]) == (3, 0), "the retailer sees each variant's count"

    # Graphite is out of stock now: shown as such, and a tap on it chooses nothing.
    client.tap("start")
    client.wait_screen("catalog")
    client.tap("product:SCOOT-S1")
    state = client.wait_screen("product")
    graphite = widget(state, f"variant:{GRAPHITE}")
    assert not graphite["enabled"] and "sold out" in graphite["label"]
    client.tap(f"variant:{GRAPHITE}")
    client.tap("buy")
    state = client.wait_screen("checkout")
    assert widget(state, "variant")["label"] == "Mint", "what is paid for is one that is there"


def test_an_ad_opens_the_product_it_advertises_and_one_for_a_product_not_carried_is_refused(retail: Any) -> None:
    api, start = retail
    client = start("[screen]\nidle_timeout_s = 2.0\n")  # back to the ads soon after a visit
    document = retailer_document()
    ad = {"id": "ad-volt", "kind": "image", "url": "ads/volt-s1.png", "duration_s": 60}

    try:
        api.call("PUT", CONFIG_PATH, {**document, "ads": [{**ad, "product": "TRIKE-T3"}]})
        raise AssertionError("the cloud took an ad for a product the cabinet does not carry")
    except urllib.error.HTTPError as refused:
        body = json.loads(refused.read())
        assert refused.code == 422
        assert body["error"] == "ads[0].product: ad 'ad-volt' advertises 'TRIKE-T3', which this cabinet does not carry"

    api.call("PUT", CONFIG_PATH, {**document, "ads": [{**ad, "product": "SCOOT-S1", "variant": MINT}]})
    client.wait_for(lambda s: s["config_version"] == 2, what="the configuration with the ad applied")
    client.wait_for(lambda s: widget(s, "stage")["label"] == "ad-volt", what="the ad on screen")
    client.tap("start")  # the whole screen: a real touch over the ad
    state = client.wait_screen("product")
    assert state["product"] == "SCOOT-S1"
    client.wait_screen("attract")  # the shopper walks away

    api.call("PUT", CONFIG_PATH, {**document, "ads": [{**ad, "id": "ad-any"}]})  # names no product
    client.wait_for(lambda s: s["config_version"] == 3, what="the configuration with a plain ad applied")
    client.wait_for(lambda s: widget(s, "stage")["label"] == "ad-any", what="the plain ad on screen")
    client.tap("start")
    client.wait_screen("catalog")
