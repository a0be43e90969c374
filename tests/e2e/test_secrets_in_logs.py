"""PINs, pickup codes and staff card numbers never reach a log line: a real cabinet process, logging at
DEBUG, driven through a pickup, the retailer's PIN pad, the technician's PIN and both kinds of staff card."""

import re

from sync_client.cabinet_config import hash_secret
from tests.e2e.conftest import CABINET_ID, STAFF_CARD, TECHNICIAN_CARD, retailer_document
from tests.e2e.test_retail_journeys import door_open_and_close

# Long enough that none can turn up in a log line by chance (a port, a timestamp, a hex digest).
RETAILER_PIN, WRONG_PIN, TECHNICIAN_PIN = "5038172946", "6172839405", "9081726354"
WRONG_CODE = "31415926"


def leaked(log: str, secret: str) -> list[str]:
    """Log lines showing ``secret`` as a value of its own (not inside a longer hex or decimal run)."""
    pattern = re.compile(rf"(?<![0-9A-Za-z]){re.escape(secret)}(?![0-9A-Za-z])", re.IGNORECASE)
    return [line for line in log.splitlines() if pattern.search(line)]


def test_pins_codes_and_card_numbers_stay_out_of_the_log(retail, cloud):
    workdir, _ = cloud
    api, start = retail
    technician = f'[retailer]\ntechnician_pin_hash = "{hash_secret(TECHNICIAN_PIN, n=2**12)}"\n'
    client = start(technician, extra_args=("--log-level", "DEBUG"))
    document = retailer_document()
    document["retailer"]["pin_hashes"] = [hash_secret(RETAILER_PIN, n=2**12)]
    version = client.state()["config_version"]
    api.call("PUT", f"/v1/retailer/cabinets/{CABINET_ID}/config", document)
    order = api.call("POST", "/v1/retailer/orders", {"cabinet_id": CABINET_ID, "sku": "BIKE-C7"})
    client.wait_for(lambda s: s["config_version"] > version + 1, what="the PIN and the order reached the cabinet")

    def keypad(code, submit):
        for digit in code:
            client.tap(f"key:{digit}")
        client.tap(submit)

    client.tap("pickup")  # a pickup: a wrong code, then the right one
    client.wait_screen("pickup")
    keypad(WRONG_CODE, "pickup:submit")
    client.wait_for(lambda s: s["message"] == "pickup_wrong_code", what="wrong code said")
    for _ in WRONG_CODE:  # the wrong code stays typed, to be corrected: delete it
        client.tap("key:back")
    keypad(order["pickup_code"], "pickup:submit")
    door_open_and_close(client, "pickup", "door_opened")
    client.wait_screen("thanks")
    client.tap("done")
    client.wait_screen("attract")

    client.tap("brand", hold_s=3.2)  # the retailer's PIN: a wrong one, then the right one
    client.wait_screen("pin_pad")
    keypad(WRONG_PIN, "pin:submit")
    client.wait_for(lambda s: s["message"] == "pin_wrong", what="wrong PIN said")
    keypad(RETAILER_PIN, "pin:submit")
    door_open_and_close(client, "restock", "counting")
    client.wait_for(lambda s: s["journeys"]["restock"] == "recorded", what="restock recorded")
    client.tap("done")
    client.wait_screen("attract")

    client.tap("brand", hold_s=3.2)  # the technician's PIN on the same pad
    client.wait_screen("pin_pad")
    keypad(TECHNICIAN_PIN, "pin:submit")
    client.wait_screen("service")
    client.tap("exit")
    client.wait_screen("attract")

    client.sim("nfc/present", {"uid": TECHNICIAN_CARD.upper()})  # and both kinds of staff card
    client.wait_screen("service")
    client.tap("exit")
    client.wait_screen("attract")
    client.sim("nfc/present", {"uid": STAFF_CARD.upper()})
    door_open_and_close(client, "restock", "counting")
    client.wait_for(lambda s: s["journeys"]["restock"] == "recorded", what="restock recorded")
    client.tap("done")
    client.wait_screen("attract")
    client.process.stop()

    log = (workdir / "kiosk.log").read_text()
    assert "pickup transition" in log and "restock transition" in log, "the journeys were logged"
    assert 'msg="service action"' in log and f"who=card:**{TECHNICIAN_CARD[-2:].upper()}" in log, (
        "a card shows as its last two digits"
    )
    for secret in (
        RETAILER_PIN,
        WRONG_PIN,
        TECHNICIAN_PIN,
        WRONG_CODE,
        order["pickup_code"],
        STAFF_CARD,
        TECHNICIAN_CARD,
    ):
        assert not leaked(log, secret), f"{secret} in the log:\n" + "\n".join(leaked(log, secret))
