"""Stock and restock (T+0) in the console with a simulated cabinet running as a real process: a sale brings a
variant under the threshold the owner set, the restock list says which storefront brings how many to the
cabinet, a restock at the cabinet (a staff card) closes the line and the count short of the target is flagged;
another retailer sees none of it; both languages; no serious accessibility violation."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from firmware.control_client import ControlClient
from tests.e2e.conftest import STAFF_CARD
from tests.e2e.test_sale import take_the_product, walk_to_checkout

from .conftest import CABINET_ID, OWNER, Console, Retail, axe_violations, cabinet_with_owner, sign_in
from .test_console_fleet import reload_until

MINT = "SCOOT-S1-mint"  # the scooter's first colour: a variant with its own SKU and count


def restock_at_the_cabinet(client: ControlClient, taps: dict[str, int]) -> None:
    """A staff card opens the door; the retailer sets the counts on screen (plus taps) and closes it."""
    client.sim("nfc/present", {"uid": STAFF_CARD.upper()})
    client.wait_for(lambda s: s["screen"] == "restock" and s["lock"]["energized"], what="restock unlocked")
    client.sim("door/open")
    client.wait_for(lambda s: s["journeys"]["restock"] == "counting", what="counting")
    for sku, times in taps.items():
        for _ in range(times):
            client.tap(f"count:{sku}:plus")
    client.sim("door/close")
    client.wait_for(lambda s: s["journeys"]["restock"] == "recorded", what="restock recorded")
    client.tap("done")
    client.wait_screen("attract")
    client.wait_for(lambda s: s["outbox"]["pending"] == 0, what="the restock uploaded")


def test_a_sale_puts_a_variant_on_the_restock_list_and_the_restock_closes_it_with_its_difference(
    console: Console, retail: Retail, new_page: Callable[..., Page]
) -> None:
    page = new_page(bypass_csp=True)  # for axe-core's script
    client = cabinet_with_owner(console, retail)
    client.wait_for(lambda s: s["outbox"]["pending"] == 0, what="the variants' first counts uploaded")
    sign_in(page, OWNER)

    # The owner names the storefront that restocks the cabinet.
    page.goto("/console/storefronts")
    page.get_by_label("Name").fill("Velo Mall shop")
    page.get_by_label("Address").fill("Alexanderplatz 1, Berlin")
    page.get_by_role("button", name="Add").click()
    page.get_by_label(f"Storefront of {CABINET_ID}").select_option(label="Velo Mall shop")
    page.get_by_role("button", name=f"Save {CABINET_ID}").click()
    expect(page.get_by_label(f"Storefront of {CABINET_ID}")).to_have_value(
        page.locator("option", has_text="Velo Mall shop").get_attribute("value") or ""
    )
    assert not axe_violations(page)

    # The stock per variant, and the scooter's level: low below 3, restocked up to 4.
    page.goto("/console/stock")
    mint = page.locator(f"tr[data-cabinet='{CABINET_ID}'][data-sku='{MINT}']")
    expect(mint.get_by_test_id("count")).to_contain_text("3")
    expect(mint.get_by_test_id("stock-state")).to_have_text("ok")
    page.get_by_label("Low below, Volt S1 e-scooter").fill("3")
    page.get_by_label("Target, Volt S1 e-scooter").fill("4")
    page.get_by_role("button", name="Save Volt S1 e-scooter").click()
    expect(mint).to_contain_text("3 / 4")
    assert not axe_violations(page)
    page.get_by_label("Low below, Volt S1 e-scooter").fill("5")  # a target under the threshold is refused
    page.get_by_role("button", name="Save Volt S1 e-scooter").click()
    expect(page.get_by_role("alert")).to_contain_text("the target at least the threshold")
    expect(mint).to_contain_text("3 / 4")

    page.goto("/console/restock")
    expect(page.get_by_text("Nothing is under its threshold.")).to_be_visible()

    walk_to_checkout(client, "SCOOT-S1")  # type: ignore[no-untyped-call]
    take_the_product(client)  # type: ignore[no-untyped-call]  # a Mint scooter: 2 left, under 3
    client.tap("done")
    client.wait_screen("attract")
    proposal = page.locator(f"tr[data-proposal='{CABINET_ID}']")
    reload_until(page, lambda: proposal.count() == 1, "the cabinet on the restock list")
    expect(proposal).to_contain_text("Velo Mall shop")
    expect(proposal).to_contain_text(f"Bring 2 × Volt S1 e-scooter · Mint ({MINT}): 2 there, 4 after")
    assert not axe_violations(page)
    proposal.get_by_role("button", name=f"Put on today's list {CABINET_ID}").click()
    line = page.locator(f"tr[data-line='{CABINET_ID}']")
    expect(line).to_contain_text("Bring 2 × Volt S1 e-scooter · Mint")
    expect(line).to_contain_text(OWNER)
    expect(proposal).to_have_count(0)

    # The staff brings one scooter instead of two: the line closes, the count one short is flagged.
    restock_at_the_cabinet(client, {MINT: 1})
    done = page.locator(f"tr[data-done='{CABINET_ID}']")
    reload_until(page, lambda: done.count() == 1, "the restock closing the line")
    expect(line).to_have_count(0)
    flagged = done.locator(f"li[data-sku='{MINT}']")
    expect(flagged).to_have_class("bad")
    expect(flagged).to_contain_text(f"Difference: Volt S1 e-scooter · Mint ({MINT}): expected 4, counted 3 (-1)")
    expect(done).to_contain_text(f"card:{STAFF_CARD.upper()}")
    # 3 left is not under the threshold of 3: nothing new to plan.
    expect(page.get_by_text("Nothing is under its threshold.")).to_be_visible()

    # In Chinese.
    page.get_by_role("link", name="中文").click()
    expect(page.get_by_role("heading", name="补货清单", exact=True)).to_be_visible()
    expect(done).to_contain_text("差异")
    assert not axe_violations(page)

    # Another retailer sees none of it and cannot plan or re-home this cabinet.
    console.add_retailer("other-shop")
    console.add_user("other-shop", "owner@other.example")
    other = new_page()
    sign_in(other, "owner@other.example")
    other.goto("/console/stock")
    expect(other.get_by_text("No cabinet has a catalogue yet.")).to_be_visible()
    other.goto("/console/restock")
    assert CABINET_ID not in other.locator("main").inner_text()
    other.goto("/console/storefronts")
    assert "Velo Mall shop" not in other.content()
    token = str(other.locator("input[name=csrf_token]").first.get_attribute("value"))
    assert (
        other.request.post("/console/restock/plan", form={"csrf_token": token, "cabinet_id": CABINET_ID}).status == 404
    )
    moved = other.request.post(
        "/console/storefronts/cabinet", form={"csrf_token": token, "cabinet_id": CABINET_ID, "storefront_id": ""}
    )
    assert moved.status == 404
    levels = other.request.post(
        "/console/stock/levels", form={"csrf_token": token, "sku": "SCOOT-S1", "threshold": "0", "target": "1"}
    )
    assert levels.status == 404
