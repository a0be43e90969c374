"""A device that disappears is reported by name, the cabinet keeps running, and it comes back."""

from firmware.control_client import export_events
from tests.e2e.conftest import CABINET_ID
from tests.e2e.test_sale import take_the_product

FAST_CHECKS = """
[payment]
check_s = 0.5
"""


def test_unplugged_terminal_is_a_named_fault_and_the_sale_works_after_replug(cloud, sim_cabinet):
    workdir, _ = cloud
    cabinet = sim_cabinet(FAST_CHECKS)
    cabinet.wait_for(lambda s: s["payment_methods"] == ["terminal"], what="terminal ready")
    cabinet.sim("pos/unplug")
    state = cabinet.wait_for(lambda s: "payment" in s["faults"], what="payment fault reported")
    assert state["payment_methods"] == []
    cabinet.tap("start")
    cabinet.tap("product:SCOOT-S1")
    state = cabinet.wait_screen("product")
    buy = next(w for w in state["widgets"] if w["id"] == "buy")
    reason = [w["label"] for w in state["widgets"] if w["id"] == "buy_reason"]
    assert not buy["enabled"] and reason, "no way to pay is said, not hidden: buy is off, with why"
    cabinet.sim("nfc/present", {"uid": "04A224B2C35E80"})  # the rest of the cabinet still works
    cabinet.sim("pos/replug")
    cabinet.wait_for(lambda s: not s["faults"] and s["payment_methods"] == ["terminal"], what="terminal back")
    cabinet.tap("buy")  # the shopper tries again, and now it works
    cabinet.wait_screen("checkout")
    cabinet.tap("pay:terminal")
    cabinet.wait_for(lambda s: s["payment_status"] == "present_card", what="terminal asks for a card")
    take_the_product(cabinet)
    cabinet.wait_for(lambda s: s["outbox"]["pending"] == 0, what="outbox drained")
    events = export_events(workdir)
    faults = [e["payload"] for e in events if e["type"] == "device.fault"]
    assert faults and faults[0]["device"] == "payment"
    assert [e["payload"]["uid"] for e in events if e["type"] == "card.read"] == ["04A224B2C35E80"]
    assert sum(e["type"] == "sale.completed" for e in events) == 1
    assert all(e["cabinet_id"] == CABINET_ID for e in events)


def test_nfc_reader_unplugged_and_back_is_reopened_by_the_cabinet(cloud, sim_cabinet):
    workdir, _ = cloud
    cabinet = sim_cabinet()
    cabinet.sim("nfc/unplug")
    cabinet.wait_for(lambda s: "nfc" in s["faults"], what="nfc fault reported")
    assert cabinet.state()["payment_methods"] == ["terminal"], "a reader fault does not stop sales"
    cabinet.sim("nfc/replug")
    cabinet.wait_for(lambda s: "nfc" not in s["faults"], timeout=20, what="nfc back")
    cabinet.sim("nfc/present", {"uid": "04112233"})
    cabinet.wait_for(lambda s: s["outbox"]["pending"] == 0, what="outbox drained")
    cards = [e for e in export_events(workdir) if e["type"] == "card.read"]
    assert [c["payload"]["uid"] for c in cards] == ["04112233"]
