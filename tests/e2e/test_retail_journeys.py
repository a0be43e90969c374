"""Journeys beyond the card sale, end to end with a retailer-managed cloud: scan-to-pay, online-order
pickup, remote unlock. Real processes; only taps, the bench's hands and the retailer's HTTP API."""

import time
from collections import Counter

from firmware.control_client import export_events
from tests.e2e.conftest import CABINET_ID, PIN, STAFF_CARD, TECHNICIAN_CARD
from tests.ui.keys import text_key_taps

SKU = "SCOOT-S1"


def to_checkout(client, sku=SKU):
    client.tap("start")
    client.wait_screen("catalog")
    client.tap(f"product:{sku}")
    client.wait_screen("product")
    client.tap("buy")
    client.wait_screen("checkout")


def door_open_and_close(client, journey_key, opened_state):
    client.wait_for(lambda s: s["lock"]["energized"], what="relay energized")
    client.sim("door/open")
    client.wait_for(lambda s: s["journeys"][journey_key] == opened_state, what="door opened")
    client.sim("door/close")


def enter_pickup_code(client, code):
    client.tap("pickup")
    client.wait_screen("pickup")
    for digit in code:
        client.tap(f"key:{digit}")
    client.tap("pickup:submit")


def message_label(state):
    return next((w["label"] for w in state["widgets"] if w["id"] == "message"), None)


def test_scan_to_pay_sale_reaches_the_cloud_once(retail, cloud):
    workdir, _ = cloud
    _, start = retail
    client = start()
    client.wait_for(lambda s: "qr" in s["payment_methods"], what="scan-to-pay offered while online")
    to_checkout(client)
    client.tap("pay:qr")
    state = client.wait_for(lambda s: s["payment_status"] == "scan_to_pay", what="payment QR shown")
    assert "payment_qr" in {w["id"] for w in state["widgets"]}
    client.sim("phone/pay")
    door_open_and_close(client, "sale", "door_opened")
    client.wait_screen("thanks")
    client.wait_for(lambda s: s["outbox"]["pending"] == 0, what="outbox drained")
    events = export_events(workdir)
    approved = [e for e in events if e["type"] == "payment.approved"]
    assert len(approved) == 1 and approved[0]["payload"]["method"] == "qr"
    assert sum(e["type"] == "sale.completed" for e in events) == 1


def test_online_order_pickup_opens_once_for_its_code(retail, cloud):
    workdir, _ = cloud
    api, start = retail
    client = start()
    order = api.call("POST", "/v1/retailer/orders", {"cabinet_id": CABINET_ID, "sku": "BIKE-C7"})
    version = client.state()["config_version"]
    client.wait_for(lambda s: s["config_version"] > version, what="the order reached the cabinet")
    client.sim("network/down")  # a code works offline once the cabinet has synced after the order

    enter_pickup_code(client, "00000000")
    state = client.wait_for(lambda s: s["message"] == "pickup_wrong_code", what="wrong code said")
    assert not state["lock"]["energized"]
    client.tap("back")
    enter_pickup_code(client, order["pickup_code"])
    client.wait_screen("door")
    door_open_and_close(client, "pickup", "door_opened")
    client.wait_screen("thanks")
    client.tap("done")
    client.wait_screen("attract")
    enter_pickup_code(client, order["pickup_code"])  # each code opens the door once
    client.wait_for(lambda s: s["message"] == "pickup_already_collected", what="used code refused")
    client.sim("network/up")
    client.wait_for(lambda s: s["outbox"]["pending"] == 0 and s["online"], what="outbox drained")
    events = export_events(workdir)
    completed = [e["payload"] for e in events if e["type"] == "pickup.completed"]
    assert completed == [{"order_id": order["order_id"], "sku": "BIKE-C7"}]
    assert Counter(e["payload"]["reason"] for e in events if e["type"] == "pickup.refused") == {
        "wrong_code": 1,
        "already_collected": 1,
    }
    assert len([p for p in client.pins()["relay"] if p["energized"]]) == 1, "one pulse for one pickup"


def test_wrong_pickup_codes_lock_the_keypad_across_a_restart(retail, sim_cabinet):
    _, start = retail
    client = start()
    client.tap("pickup")
    for _ in range(5):
        for digit in "11111111":
            client.tap(f"key:{digit}")
        client.tap("pickup:submit")  # returns with the code being checked (or answered): wait for the answer
        client.wait_for(lambda s: s["journeys"]["pickup"] != "code_checking", what="the answer")
    client.wait_for(lambda s: s["message"] == "pickup_locked", what="keypad locked")
    assert client.process.stop() == 0
    restarted = start()  # the same data dir: the lock holds
    restarted.tap("pickup")
    state = restarted.wait_screen("pickup")
    assert state["message"] == "pickup_locked"


def counts(client):
    return dict(client.state()["stock"])


def test_staff_card_restock_records_the_counts_the_retailer_set(retail, cloud):
    workdir, _ = cloud
    api, start = retail
    client = start()
    before = counts(client)["BIKE-C7"]  # a product without variants: counted under its own SKU
    client.sim("nfc/present", {"uid": STAFF_CARD.upper()})
    state = client.wait_for(lambda s: s["screen"] == "restock" and s["lock"]["energized"], what="restock unlocked")
    assert state["journeys"]["restock"] == "unlocked"
    client.sim("door/open")
    client.wait_for(lambda s: s["journeys"]["restock"] == "counting", what="counting")
    for _ in range(3):
        client.tap("count:BIKE-C7:plus")
    client.sim("door/close")
    client.wait_for(lambda s: s["journeys"]["restock"] == "recorded", what="restock recorded")
    client.tap("done")
    client.wait_screen("attract")
    assert counts(client)["BIKE-C7"] == before + 3
    client.wait_for(lambda s: s["outbox"]["pending"] == 0, what="outbox drained")
    events = export_events(workdir)
    recorded = [e["payload"] for e in events if e["type"] == "restock.recorded"]
    assert [(r["sku"], r["added"], r["count"]) for r in recorded] == [("BIKE-C7", 3, before + 3)]
    assert any(e["type"] == "auth.attempt" and e["payload"]["ok"] and e["payload"]["method"] == "card" for e in events)
    stock = {row["sku"]: row["count"] for row in api.call("GET", f"/v1/retailer/cabinets/{CABINET_ID}/stock")["stock"]}
    assert stock["BIKE-C7"] == before + 3, "the retailer sees the new count"


def test_pin_pad_opens_by_long_press_and_locks_after_five_wrong_pins_across_a_restart(retail):
    _, start = retail
    client = start()
    client.tap("brand", hold_s=3.2)
    client.wait_screen("pin_pad")

    def enter(pin):
        for digit in pin:
            client.tap(f"key:{digit}")
        client.tap("pin:submit")

    enter(PIN)  # the right PIN opens for the retailer
    client.wait_for(lambda s: s["screen"] == "restock" and s["lock"]["energized"], what="restock unlocked")
    assert client.process.stop() == 0
    client = start()
    client.tap("brand", hold_s=3.2)
    client.wait_screen("pin_pad")
    for _ in range(5):
        before = message_label(client.state())
        enter("0000")
        # The pad checks each PIN off the event loop and takes no keys meanwhile: wait for its answer.
        client.wait_for(
            lambda s, before=before: s["message"] != "checking" and message_label(s) != before, what="the answer"
        )
    state = client.wait_for(lambda s: s["message"] == "pin_locked", what="pad locked")
    assert not state["lock"]["energized"]
    assert client.process.stop() == 0
    client = start()  # pulling the plug does not unlock the pad
    client.tap("brand", hold_s=3.2)
    assert client.wait_screen("pin_pad")["message"] == "pin_locked"


def test_remote_unlock_from_the_retailer_is_applied_once(retail, cloud):
    workdir, _ = cloud
    api, start = retail
    client = start()
    command = api.call(
        "POST",
        f"/v1/retailer/cabinets/{CABINET_ID}/commands",
        {"kind": "unlock", "args": {"seconds": 2, "reason": "courier delivery"}},
    )
    client.wait_for(lambda s: s["lock"]["energized"], what="remote unlock")
    client.sim("door/open")
    client.wait_for(lambda s: s["journeys"]["restock"] == "counting", what="door opened")
    client.sim("door/close")
    client.wait_for(lambda s: s["journeys"]["restock"] == "recorded", what="recorded")
    client.wait_for(lambda s: s["outbox"]["pending"] == 0, what="outbox drained")
    deadline = time.monotonic() + 10
    while not (answer := api.call("GET", f"/v1/retailer/commands/{command['id']}"))["acked_at"]:
        assert time.monotonic() < deadline, "the cabinet acknowledged the command"
        time.sleep(0.1)
    assert answer["result"] == "ok: unlocking"
    pulses = [p for p in client.pins()["relay"] if p["energized"]]
    assert len(pulses) == 1, "the command was applied once"
    applied = [e for e in export_events(workdir) if e["type"] == "command.applied"]
    assert len(applied) == 1 and applied[0]["payload"]["command_id"] == command["id"]


def type_text(client, text):
    """Digits on the phone's keys; a name or description on the layered text keyboard."""
    for key in [f"kbd:{c}" for c in text] if text.isdigit() else text_key_taps(text):
        client.tap(key)


def test_repair_drop_off_gives_a_ticket_the_retailer_sees(retail, cloud):
    workdir, _ = cloud
    api, start = retail
    client = start()
    client.tap("repair")
    client.wait_for(lambda s: s["screen"] == "repair", what="repair screen")
    client.sim("qr/show", {"text": "VIN:WBAPK7C55BA123456"})  # the vehicle's own QR
    client.wait_for(
        lambda s: any(w["id"] == "field:vehicle" and "WBAPK7C55BA123456" in w["label"] for w in s["widgets"]),
        what="vehicle id filled from the scan",
    )
    client.tap("next")
    client.wait_for(lambda s: "field:name" in {w["id"] for w in s["widgets"]}, what="contact step")
    client.tap("field:name")
    type_text(client, "Jörg O'Brien-Müller")  # shift, the accents layer and the punctuation
    client.tap("field:phone")
    type_text(client, "12")  # too short: the form says so
    client.tap("next")
    state = client.wait_for(lambda s: any(w["id"] == "error:phone" for w in s["widgets"]), what="phone refused")
    type_text(client, "3456789")
    client.tap("next")
    client.wait_for(lambda s: "fault:brakes" in {w["id"] for w in s["widgets"]}, what="fault step")
    client.tap("fault:brakes")
    client.tap("field:description")
    type_text(client, "Rear brake squeaks, 2x/day")
    client.tap("next")
    client.wait_for(lambda s: "agree" in {w["id"] for w in s["widgets"]}, what="data notice")
    client.tap("agree")
    state = client.wait_for(lambda s: "ticket" in {w["id"] for w in s["widgets"]}, what="ticket shown")
    ticket = next(w["label"] for w in state["widgets"] if w["id"] == "ticket")
    client.tap("done")
    client.wait_screen("attract")
    client.wait_for(lambda s: s["outbox"]["pending"] == 0, what="outbox drained")
    tickets = api.call("GET", f"/v1/retailer/cabinets/{CABINET_ID}/repair-tickets")["tickets"]
    assert len(tickets) == 1 and tickets[0]["ticket_id"] in ticket
    assert tickets[0]["device"] == "WBAPK7C55BA123456" and tickets[0]["phone"].endswith("123456789")
    assert tickets[0]["name"] == "Jörg O'Brien-Müller", "stored as typed, not MUELLER"
    assert tickets[0]["detail"] == "brakes: Rear brake squeaks, 2x/day"
    log = (workdir / "kiosk.log").read_text()
    assert "123456789" not in log and "Müller" not in log, "personal data stays out of the logs"


def test_technician_card_opens_the_service_menu_self_test_and_lock_test(retail, cloud):
    workdir, api_start = cloud[0], retail[1]
    client = api_start()
    client.sim("nfc/present", {"uid": TECHNICIAN_CARD.upper()})
    client.wait_screen("service")
    assert not client.state()["lock"]["energized"], "a technician card opens the menu, not the door"
    client.tap("selftest")
    client.wait_for(
        lambda s: (
            any(w["id"] == "selftest_result" and w["label"] for w in s["widgets"])
            and all(w["enabled"] for w in s["widgets"] if w["id"] == "selftest")
        ),
        timeout=30,
        what="self-test finished",
    )
    devices = {
        w["id"].split(":")[1]: w["label"]
        for w in client.state()["widgets"]
        if w["id"].startswith("device:") and w["id"].endswith(":status")
    }
    assert devices and all(status for status in devices.values())

    def pulses():
        return len([p for p in client.pins()["relay"] if p["energized"]])

    client.wait_for(lambda s: not s["lock"]["energized"], what="the self-test's pulse ended")
    before = pulses()  # the self-test pulsed the lock once too
    client.tap("lock_test")
    client.wait_for(
        lambda s: not s["lock"]["energized"] and pulses() == before + 1, what="lock pulsed once and released"
    )
    client.wait_for(lambda s: s["journeys"]["service"] == "menu", what="back in the menu")
    client.tap("exit")
    client.wait_screen("attract")
    client.wait_for(lambda s: s["outbox"]["pending"] == 0, what="outbox drained")
    actions = [e["payload"]["action"] for e in export_events(workdir) if e["type"] == "service.action"]
    assert actions[:1] == ["enter"] and "selftest" in actions and "lock_test" in actions and actions[-1] == "exit"
