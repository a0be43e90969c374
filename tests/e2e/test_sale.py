"""One sale end to end through real processes: only taps and the shopper's hands."""

from collections import Counter

import pytest

from firmware.control_client import ControlError, export_events

from .conftest import CABINET_ID


def walk_to_checkout(client, sku="SCOOT-S1"):
    assert client.state()["screen"] == "attract"
    client.tap("start")
    client.wait_screen("catalog")
    client.tap(f"product:{sku}")
    client.wait_screen("product")
    client.tap("buy")
    client.wait_screen("checkout")
    client.tap("pay:terminal")
    client.wait_for(lambda s: s["payment_status"] == "present_card", what="terminal asks for a card")


def take_the_product(client):
    client.sim("pos/approve")
    state = client.wait_for(lambda s: s["screen"] == "door" and s["lock"]["energized"], what="door unlocked")
    assert state["journey"] == "door_unlocked"
    client.sim("door/open")
    client.wait_for(lambda s: s["journey"] == "door_opened", what="door opened")
    client.sim("door/close")
    client.wait_screen("thanks")


def sale_events(events, sale_id=None):
    kinds = ("payment.approved", "door.unlocked", "door.opened", "door.closed", "sale.completed")
    return [e for e in events if e["type"] in kinds and (sale_id is None or e["payload"].get("sale_id") == sale_id)]


def assert_one_sale_in_cloud(workdir, sku):
    events = export_events(workdir)
    completed = [e for e in events if e["type"] == "sale.completed"]
    assert len(completed) == 1, completed
    sale_id = completed[0]["payload"]["sale_id"]
    assert completed[0]["payload"]["sku"] == sku
    assert completed[0]["cabinet_id"] == CABINET_ID
    counts = Counter(e["type"] for e in sale_events(events, sale_id))
    assert counts == {
        "payment.approved": 1,
        "door.unlocked": 1,
        "door.opened": 1,
        "door.closed": 1,
        "sale.completed": 1,
    }, counts
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids)), "an event was stored twice"
    seqs = sorted(e["seq"] for e in events)
    assert seqs == list(range(1, len(seqs) + 1)), "gap in the cabinet's sequence numbers"
    return completed[0]


def test_a_sale_reaches_the_cloud_exactly_once(cabinet, cloud):
    workdir, _ = cloud
    stock_before = cabinet.state()["stock"]["SCOOT-S1"]
    walk_to_checkout(cabinet)
    take_the_product(cabinet)
    state = cabinet.wait_for(lambda s: s["outbox"]["pending"] == 0, what="outbox drained")
    assert state["stock"]["SCOOT-S1"] == stock_before - 1
    assert_one_sale_in_cloud(workdir, "SCOOT-S1")
    cabinet.tap("done")
    cabinet.wait_screen("attract")


def test_a_sale_with_the_network_down_reaches_the_cloud_once_it_is_back(cabinet, cloud):
    workdir, _ = cloud
    cabinet.wait_for(lambda s: s["outbox"]["pending"] == 0 and s["online"], what="initial sync")
    cabinet.sim("network/down")
    walk_to_checkout(cabinet, "BIKE-C7")
    take_the_product(cabinet)
    state = cabinet.state()
    assert state["outbox"]["pending"] >= 5
    assert not sale_events(export_events(workdir)), "nothing of the sale can be in the cloud yet"
    cabinet.wait_for(lambda s: not s["online"], what="offline shown")
    cabinet.sim("network/up")
    cabinet.wait_for(lambda s: s["outbox"]["pending"] == 0 and s["online"], what="outbox drained")
    assert_one_sale_in_cloud(workdir, "BIKE-C7")


def test_declined_payment_never_energizes_the_relay(cabinet, cloud):
    workdir, _ = cloud
    walk_to_checkout(cabinet)
    cabinet.sim("pos/decline")
    state = cabinet.wait_screen("product")
    assert state["message"] == "declined"
    assert not state["lock"]["energized"]
    assert not any(entry["energized"] for entry in cabinet.pins()["relay"])
    cabinet.wait_for(lambda s: s["outbox"]["pending"] == 0, what="outbox drained")
    events = export_events(workdir)
    failed = [e for e in events if e["type"] == "payment.failed"]
    assert len(failed) == 1 and failed[0]["payload"]["outcome"] == "declined"
    assert not sale_events(events)
    # and the door stays shut for a shopper who pulls the handle anyway
    with pytest.raises(ControlError) as refused:
        cabinet.sim("door/open")
    assert refused.value.status == 409
    assert not cabinet.state()["door"]["open"]
