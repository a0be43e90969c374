"""Power loss after the approval, before the door opened: the paid sale is never dropped.
On boot it is offered to the shopper again for a bounded time; unclaimed, it is reversed on the terminal.
Power loss with a pickup's door open: the order is collected, its code never opens the door again."""

from firmware.control_client import export_events
from tests.e2e.conftest import CABINET_ID
from tests.e2e.test_retail_journeys import enter_pickup_code
from tests.e2e.test_sale import walk_to_checkout

RESUME = """
[lock]
resume_window_s = {window}
max_unlock_s = 0.5
unlock_s = 0.4
"""


def pay_then_cut_the_power(client):
    walk_to_checkout(client)
    client.sim("pos/approve")
    client.wait_for(lambda s: s["journey"] == "door_unlocked", what="paid and unlocked")
    client.process.kill()  # SIGKILL: the power cut


def test_after_a_power_cut_the_paid_sale_is_offered_again_and_completes(cloud, sim_cabinet):
    workdir, _ = cloud
    client = sim_cabinet(RESUME.format(window=30))
    pay_then_cut_the_power(client)
    client = sim_cabinet(RESUME.format(window=30))
    state = client.wait_screen("door")
    assert state["journey"] == "door_unlocked" and not state["lock"]["energized"], "no pulse without the shopper"
    client.tap("unlock_again")
    client.wait_for(lambda s: s["lock"]["energized"], what="unlocked for the shopper")
    client.sim("door/open")
    client.wait_for(lambda s: s["journey"] == "door_opened", what="opened")
    client.sim("door/close")
    client.wait_screen("thanks")
    client.wait_for(lambda s: s["outbox"]["pending"] == 0, what="outbox drained")
    events = export_events(workdir)
    sale_ids = {e["payload"]["sale_id"] for e in events if e["type"] == "payment.approved"}
    completed = [e["payload"]["sale_id"] for e in events if e["type"] == "sale.completed"]
    assert len(sale_ids) == 1 and completed == list(sale_ids)
    assert not [e for e in events if e["type"] in ("sale.unclaimed", "payment.reversed")]


def test_after_a_power_cut_an_unclaimed_sale_is_reversed_on_the_terminal(cloud, sim_cabinet):
    workdir, _ = cloud
    client = sim_cabinet(RESUME.format(window=1.5))
    pay_then_cut_the_power(client)
    client = sim_cabinet(RESUME.format(window=1.5))
    client.wait_screen("door")
    client.wait_for(lambda s: s["journey"] in ("done", "idle"), timeout=15, what="the window passed")
    client.wait_for(lambda s: s["outbox"]["pending"] == 0, what="outbox drained")
    events = export_events(workdir)
    approved = [e["payload"] for e in events if e["type"] == "payment.approved"]
    reversed_ = [e["payload"] for e in events if e["type"] == "payment.reversed"]
    assert len(approved) == 1 and len(reversed_) == 1
    assert reversed_[0]["receipt_no"] == approved[0]["receipt_no"]
    unclaimed = [e["payload"] for e in events if e["type"] == "sale.unclaimed"]
    assert len(unclaimed) == 1 and unclaimed[0]["action"] == "reversal"


def test_a_power_cut_with_the_pickup_door_open_leaves_the_code_used(retail, cloud):
    """SIGKILL with the door open on a pickup: the next boot records the order collected, and the same code
    says "already collected" without a pulse of the relay."""
    workdir, _ = cloud
    api, start = retail
    client = start()
    order = api.call("POST", "/v1/retailer/orders", {"cabinet_id": CABINET_ID, "sku": "BIKE-C7"})
    version = client.state()["config_version"]
    client.wait_for(lambda s: s["config_version"] > version, what="the order reached the cabinet")

    enter_pickup_code(client, order["pickup_code"])
    client.wait_for(lambda s: s["lock"]["energized"], what="relay energized")
    client.sim("door/open")
    client.wait_for(lambda s: s["journeys"]["pickup"] == "door_opened", what="door opened")
    client.process.kill()  # SIGKILL: the power cut, the door open, the bike gone
    client = start()
    client.sim("door/close")
    # Once the cloud has the collection it drops the order from the configuration: the code still says so.
    client.wait_for(
        lambda s: s["outbox"]["pending"] == 0 and s["config_version"] > version + 1,
        what="the collection uploaded and the order gone from the configuration",
    )
    enter_pickup_code(client, order["pickup_code"])
    client.wait_for(lambda s: s["message"] == "pickup_already_collected", what="the used code refused")
    assert not [p for p in client.pins()["relay"] if p["energized"]], "no second opening"
    client.wait_for(lambda s: s["outbox"]["pending"] == 0, what="outbox drained")
    events = export_events(workdir)
    completed = [e["payload"] for e in events if e["type"] == "pickup.completed"]
    assert completed == [{"order_id": order["order_id"], "sku": "BIKE-C7", "recovered": True}]
