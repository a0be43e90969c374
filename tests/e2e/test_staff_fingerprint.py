"""A staff fingerprint end to end through real processes: a technician enrols a finger from the service
menu by taps and the bench's finger on the emulated module, the cloud hears of the slot, the retailer names
its owner in the configuration, the finger opens the restock, and removing the staff member from the
configuration deletes the template on the module."""

from __future__ import annotations

from firmware.control_client import export_events

from .conftest import CABINET_ID, TECHNICIAN_CARD, retailer_document

FINGERPRINT = """
[fingerprint]
backend = "sim"
"""


def labels(state: dict) -> dict[str, str]:
    return {w["id"]: w["label"] for w in state["widgets"]}


def step_shown(client, text: str) -> None:
    client.wait_for(lambda s: labels(s).get("step") == text, what=f"the enrol screen says {text!r}")


def events_of(workdir, kind: str) -> list[dict]:
    return [e["payload"] for e in export_events(workdir) if e["type"] == kind]


def put_fingerprints(api, client, fingerprints: list[dict]) -> None:
    version = client.state()["config_version"]
    document = retailer_document()
    document["retailer"]["staff_fingerprints"] = fingerprints
    api.call("PUT", f"/v1/retailer/cabinets/{CABINET_ID}/config", document)
    client.wait_for(lambda s: s["config_version"] != version, what="the new configuration applied")


def test_a_finger_enrolled_at_the_cabinet_opens_the_restock_until_its_owner_leaves(retail, cloud):
    workdir, _ = cloud
    api, start = retail
    client = start(FINGERPRINT)

    client.sim("nfc/present", {"uid": TECHNICIAN_CARD.upper()})
    client.wait_screen("service")
    client.tap("enrol")
    client.wait_screen("enrol")
    step_shown(client, "Place the finger on the sensor")
    client.sim("finger/place", {"finger": "mei-right-thumb"})
    step_shown(client, "Lift the finger")
    client.sim("finger/lift")
    step_shown(client, "Place the same finger again")
    client.sim("finger/place", {"finger": "mei-right-thumb"})
    step_shown(client, "Finger stored in slot 0")
    client.sim("finger/lift")
    client.tap("back")
    client.wait_screen("service")
    client.tap("exit")
    client.wait_screen("attract")
    client.wait_for(lambda s: s["outbox"]["pending"] == 0, what="outbox drained")
    # The retailer reads the slot from the cloud and names its owner in the configuration.
    [enrolled] = api.call("GET", f"/v1/retailer/cabinets/{CABINET_ID}/fingerprints")["changes"]
    assert (enrolled["change"], enrolled["slot"], enrolled["ok"], enrolled["detail"]) == ("enrolled", 0, True, "stored")

    put_fingerprints(api, client, [{"slot": enrolled["slot"], "staff": "Mei", "role": "retailer"}])
    client.sim("finger/place", {"finger": "someone-else"})  # not enrolled: audited, nothing opens
    client.wait_for(
        lambda s: any(a["method"] == "fingerprint" for a in events_of(workdir, "auth.attempt")),
        what="the unknown finger audited in the cloud",
    )
    client.sim("finger/place", {"finger": "mei-right-thumb"})  # the other finger lifted first
    state = client.wait_for(lambda s: s["screen"] == "restock" and s["lock"]["energized"], what="restock unlocked")
    assert state["journeys"]["restock"] == "unlocked"
    client.sim("finger/lift")
    client.sim("door/open")
    client.wait_for(lambda s: s["journeys"]["restock"] == "counting", what="counting")
    client.sim("door/close")
    client.wait_for(lambda s: s["journeys"]["restock"] == "recorded", what="restock recorded")
    client.tap("done")
    client.wait_screen("attract")

    put_fingerprints(api, client, [])  # Mei leaves: her template goes from the module
    client.wait_for(lambda s: s["outbox"]["pending"] == 0, what="outbox drained")
    client.wait_for(
        lambda s: (
            events_of(workdir, "fingerprint.deleted")
            == [{"slot": 0, "ok": True, "detail": "deleted", "reason": "removed"}]
        ),
        what="the template deleted and reported",
    )
    listed = api.call("GET", f"/v1/retailer/cabinets/{CABINET_ID}/fingerprints")
    assert [c["change"] for c in listed["changes"]] == ["deleted", "enrolled"] and listed["configured"] == []
    attempts = [
        (a["ok"], a["slot"], a["staff"]) for a in events_of(workdir, "auth.attempt") if a["method"] == "fingerprint"
    ]
    assert attempts == [(False, None, None), (True, 0, "Mei")]
