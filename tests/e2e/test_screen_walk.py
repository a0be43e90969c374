"""Every screen of the touchscreen, walked through the control API with taps, swipes and a long
press, in English and in Chinese, on a running cabinet with a retailer's catalog."""

import time

import pytest

from tests.e2e.conftest import CABINET_ID

LABELS = {"en": "Buy now", "zh": "立即购买"}
NAMES = {"en": "Volt S1 e-scooter", "zh": "Volt S1 电动滑板车"}  # the configuration's name in each language
GRAPHITE = {"en": "Graphite", "zh": "石墨灰"}


def rect(state, widget_id):
    return next(w["rect"] for w in state["widgets"] if w["id"] == widget_id)


def has_cjk(state):
    """Chinese anywhere but on the language switch (which names the other language)."""
    return any(any("\u4e00" <= ch <= "\u9fff" for ch in w["label"]) for w in state["widgets"] if w["id"] != "lang")


def settle(client, quiet_s=0.3, timeout=5.0):
    """Until nothing moves: no frame drawn for quiet_s."""
    deadline = time.monotonic() + timeout
    frame, since = client.state()["frame"], time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = client.state()["frame"]
        if now != frame:
            frame, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
    raise TimeoutError("the screen kept moving")


@pytest.mark.parametrize("language", ["en", "zh"])
def test_walk_every_screen(retail, cloud, language):
    workdir, _ = cloud
    api, start = retail
    client = start()
    order = api.call("POST", "/v1/retailer/orders", {"cabinet_id": CABINET_ID, "sku": "SCOOT-S1"})
    if language == "zh":
        client.tap("lang")
    seen = {}

    def at(screen):
        state = client.wait_screen(screen)
        assert state["language"] == language
        assert has_cjk(state) == (language == "zh"), f"{screen} is not in {language}"
        seen[screen] = state
        return state

    at("attract")
    client.tap("help")
    at("help")
    client.tap("back")
    client.tap("start")
    state = at("catalog")
    assert next(w["label"] for w in state["widgets"] if w["id"] == "product:SCOOT-S1") == NAMES[language]
    x, y, w, h = rect(state, "carousel")
    client.swipe(x + w - 40, y + h // 2, x + 40, y + h // 2)  # swipe the carousel along
    client.swipe(x + 40, y + h // 2, x + w - 40, y + h // 2)  # and back
    settle(client)  # a touch on a coasting carousel stops it rather than taps a card
    client.tap("product:SCOOT-S1")
    state = at("product")
    x, y, w, h = rect(state, "spinner")
    client.swipe(x + w // 4, y + h // 2, x + 3 * w // 4, y + h // 2)  # turn the 360° view
    assert "store_qr" in {w["id"] for w in state["widgets"]}
    assert next(w["label"] for w in state["widgets"] if w["id"] == "name") == NAMES[language]  # the retailer's
    assert GRAPHITE[language] in next(w["label"] for w in state["widgets"] if w["id"] == "variant:SCOOT-S1-graphite")
    client.tap("variant:SCOOT-S1-graphite")  # sold out (the count from before variants is the mint ones): no choice
    assert client.state()["widgets"] and any(
        w["label"] == LABELS[language] for w in client.state()["widgets"] if w["id"] == "buy"
    )
    client.tap("buy")
    at("checkout")
    client.tap("pay:terminal")
    client.wait_for(lambda s: s["payment_status"] == "present_card", what="card asked")
    client.sim("pos/approve")
    at("door")
    client.sim("door/open")
    client.wait_for(lambda s: s["journey"] == "door_opened", what="opened")
    client.sim("door/close")
    at("thanks")
    client.tap("done")
    at("attract")
    client.tap("pickup")
    at("pickup")
    for digit in order["pickup_code"]:
        client.tap(f"key:{digit}")
    client.tap("pickup:submit")
    at("door")
    client.sim("door/open")
    client.wait_for(lambda s: s["journeys"]["pickup"] == "door_opened", what="opened")
    client.sim("door/close")
    at("thanks")
    client.tap("done")
    at("attract")
    client.tap("repair")
    at("repair")
    client.tap("back")  # back from the first step leaves the journey
    at("attract")
    client.tap("brand", hold_s=3.2)
    at("pin_pad")
    client.tap("cancel")
    at("attract")
    assert set(seen) >= {
        "attract",
        "help",
        "catalog",
        "product",
        "checkout",
        "door",
        "thanks",
        "pickup",
        "repair",
        "pin_pad",
    }
