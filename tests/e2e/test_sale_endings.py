"""The endings of a paid sale through real processes: what the screen says about the money and the door."""

from firmware.control_client import export_events

from .test_sale import take_the_product, walk_to_checkout

SHORT_WINDOW = """
[lock]
unlock_s = 0.5
max_unlock_s = 0.5
door_open_timeout_s = 2.0
max_unlocks_per_sale = 2
"""


def labels(state):
    return {w["id"]: w["label"] for w in state["widgets"]}


def reference_of(sale_id):
    return "S-" + sale_id.replace("-", "")[:8].upper()


def test_a_shopper_who_paid_and_never_opened_the_door_reads_that_the_payment_was_reversed(sim_cabinet, cloud):
    workdir, _ = cloud
    cabinet = sim_cabinet(SHORT_WINDOW)
    walk_to_checkout(cabinet)
    cabinet.sim("pos/approve")
    cabinet.wait_for(lambda s: s["screen"] == "door" and s["lock"]["energized"], what="door unlocked")
    relocked = cabinet.wait_for(lambda s: "unlock_again" in labels(s), what="the latch held again")
    shown = labels(relocked)
    assert shown["title"] == "The door locked again" and "alarm" not in shown
    cabinet.tap("unlock_again")
    cabinet.wait_for(lambda s: s["lock"]["energized"], what="released again")
    ending = cabinet.wait_for(
        lambda s: s["screen"] == "thanks" and "was reversed" in labels(s).get("money", ""), what="the reversal told"
    )
    shown = labels(ending)
    assert shown["money"] == "The door was not opened: your payment was reversed."
    assert shown["title"] == "You have not been charged" and "Enjoy" not in " ".join(shown.values())
    cabinet.wait_for(lambda s: s["outbox"]["pending"] == 0, what="outbox drained")
    events = export_events(workdir)
    [unclaimed] = [e["payload"] for e in events if e["type"] == "sale.unclaimed"]
    [reversed_] = [e["payload"] for e in events if e["type"] == "payment.reversed"]
    assert reversed_["sale_id"] == unclaimed["sale_id"]
    assert shown["reference"] == f"Reference: {reference_of(unclaimed['sale_id'])}"
    assert shown["receipt"] == f"Terminal receipt no. {unclaimed['receipt_no']}"
    relay = cabinet.pins()["relay"]
    rises = zip([{"energized": False}, *relay], relay, strict=False)
    assert sum(1 for a, b in rises if b["energized"] and not a["energized"]) == 2, "unlocked twice, no more"
    cabinet.tap("done")
    cabinet.wait_screen("attract")


def test_a_sale_collected_thanks_with_its_reference(cabinet, cloud):
    workdir, _ = cloud
    walk_to_checkout(cabinet)
    take_the_product(cabinet)
    shown = labels(cabinet.state())
    assert shown["title"] == "Thank you!" and "money" not in shown
    cabinet.wait_for(lambda s: s["outbox"]["pending"] == 0, what="outbox drained")
    [completed] = [e["payload"] for e in export_events(workdir) if e["type"] == "sale.completed"]
    assert shown["reference"] == f"Reference: {reference_of(completed['sale_id'])}"
