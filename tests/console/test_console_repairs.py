"""The repair board with a simulated cabinet running as a real process: a ticket made at the cabinet appears
with the customer's contact and vehicle, moves through its states by a named user, each change waits in the
"to notify" list; another retailer sees none of it; both languages; no serious accessibility violation."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from firmware.control_client import ControlClient
from tests.e2e.test_retail_journeys import type_text

from .conftest import OWNER, Console, Retail, axe_violations, cabinet_with_owner, sign_in
from .test_console_fleet import reload_until

VIN = "WBAPK7C55BA123456"


def drop_off_for_repair(client: ControlClient) -> str:
    """A customer drops a vehicle off at the cabinet's screen; the ticket number it shows."""
    client.tap("repair")
    client.wait_screen("repair")
    client.sim("qr/show", {"text": f"VIN:{VIN}"})
    client.wait_for(lambda s: any(w["id"] == "field:vehicle" and VIN in w["label"] for w in s["widgets"]), what="VIN")
    client.tap("next")
    client.wait_for(lambda s: "field:name" in {w["id"] for w in s["widgets"]}, what="contact step")
    client.tap("field:name")
    type_text(client, "Mia Chen")  # type: ignore[no-untyped-call]
    client.tap("field:phone")
    type_text(client, "1701234567")  # type: ignore[no-untyped-call]
    client.tap("next")
    client.wait_for(lambda s: "fault:brakes" in {w["id"] for w in s["widgets"]}, what="fault step")
    client.tap("fault:brakes")
    client.tap("field:description")
    type_text(client, "Rear brake squeaks")  # type: ignore[no-untyped-call]
    client.tap("next")
    client.wait_for(lambda s: "agree" in {w["id"] for w in s["widgets"]}, what="data notice")
    client.tap("agree")
    state = client.wait_for(lambda s: "ticket" in {w["id"] for w in s["widgets"]}, what="ticket shown")
    label = str(next(w["label"] for w in state["widgets"] if w["id"] == "ticket"))
    client.tap("done")
    client.wait_for(lambda s: s["outbox"]["pending"] == 0, what="the ticket uploaded")
    return next(word for word in label.split() if word.startswith("R-"))


def test_a_ticket_from_the_cabinet_moves_across_the_board_and_each_change_waits_to_be_notified(
    console: Console, retail: Retail, new_page: Callable[..., Page]
) -> None:
    page = new_page(bypass_csp=True)  # for axe-core's script
    client = cabinet_with_owner(console, retail)
    ticket = drop_off_for_repair(client)
    sign_in(page, OWNER)
    page.goto("/console/repairs")
    card = page.locator(f"article[data-ticket='{ticket}']")
    reload_until(page, lambda: card.count() == 1, "the ticket on the board")
    column = page.locator("section[data-status='dropped_off']")
    expect(column.locator(f"article[data-ticket='{ticket}']")).to_contain_text(VIN)
    expect(card).to_contain_text("Mia Chen")
    expect(card).to_contain_text("1701234567")
    expect(card).to_contain_text("brakes: Rear brake squeaks")
    expect(page.locator(f"tr[data-notify='{ticket}:dropped_off']")).to_contain_text("Mia Chen")
    assert not axe_violations(page)

    for button, status in (
        ("Collected", "collected"),
        ("Start repair", "in_repair"),
        ("Returned to cabinet", "returned"),
        ("Handed back", "handed_back"),
    ):
        card.get_by_role("button", name=f"{button}: {ticket}").click()
        expect(page.locator(f"section[data-status='{status}'] article[data-ticket='{ticket}']")).to_be_visible()
        expect(page.locator(f"tr[data-notify='{ticket}:{status}']")).to_contain_text(ticket)
    expect(card.get_by_role("button")).to_have_count(0)  # handed back is the last state
    card.get_by_text("History").click()
    history = card.locator("ol.history li")
    expect(history).to_have_count(5)
    expect(history.first).to_contain_text("Dropped off")
    expect(history.first).to_contain_text("at the cabinet")
    expect(history.last).to_contain_text("Handed back")
    expect(history.last).to_contain_text(OWNER)

    page.get_by_role("link", name="中文").click()
    expect(page.get_by_role("heading", name="维修", exact=True)).to_be_visible()
    expect(page.locator("section[data-status='handed_back'] h2")).to_contain_text("已交还")
    expect(page.get_by_role("heading", name="待通知")).to_be_visible()
    assert not axe_violations(page)

    console.add_retailer("other-shop")
    console.add_user("other-shop", "owner@other.example")
    other = new_page()
    sign_in(other, "owner@other.example")
    other.goto("/console/repairs")
    expect(other.locator("article.ticket")).to_have_count(0)
    assert ticket not in other.content() and "Mia Chen" not in other.content()
    token = str(other.locator("input[name=csrf_token]").first.get_attribute("value"))
    cabinet_id = page.locator(f"article[data-ticket='{ticket}'] h3 .muted").inner_text().strip("· ")
    moved = other.request.post(
        f"/console/repairs/{cabinet_id}/{ticket}", form={"csrf_token": token, "status": "collected"}
    )
    assert moved.status == 404
