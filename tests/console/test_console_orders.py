"""Online orders in the console against a simulated cabinet running as a real process: an order created in
the browser is picked up at the cabinet with the code the page showed once and then shows as collected; a
cancelled order's code is refused at the cabinet once its configuration has synced; another retailer sees
none of it; both languages; no serious accessibility violation."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from cloud_stub.store import open_store
from firmware.control_client import ControlClient
from tests.e2e.conftest import retailer_document
from tests.e2e.test_retail_journeys import door_open_and_close, enter_pickup_code

from .conftest import CABINET_ID, OWNER, RETAILER, Console, Retail, axe_violations, cabinet_with_owner, sign_in, status
from .test_console_fleet import reload_until


def create_order(page: Page, item: str, reference: str) -> str:
    """Create an order in the browser; the pickup code it shows once."""
    page.goto("/console/orders")
    page.get_by_label("Item").select_option(label=f"{item} · {CABINET_ID}")
    page.get_by_label("Reference (customer, web order)").fill(reference)
    page.get_by_role("button", name="Create order").click()
    code = page.get_by_test_id("pickup-code").inner_text().strip()
    assert code.isdigit() and len(code) == 8, code
    return code


def synced_after(client: ControlClient, version: int, what: str) -> None:
    client.wait_for(lambda s: s["config_version"] > version, what=what)


def test_an_order_made_in_the_console_is_picked_up_at_the_cabinet_and_shows_collected(
    console: Console, retail: Retail, new_page: Callable[..., Page]
) -> None:
    page = new_page(bypass_csp=True)  # for axe-core's script
    client = cabinet_with_owner(console, retail)
    sign_in(page, OWNER)
    version = client.state()["config_version"]
    code = create_order(page, "Cruiser C7 e-bike (BIKE-C7)", "Web order 1001, Ada")
    expect(page.get_by_test_id("created-order")).to_contain_text("shown only now")
    row = page.locator("tr", has_text="Web order 1001, Ada")
    expect(row.get_by_test_id("order-state")).to_have_text("open")
    order_id = row.get_attribute("data-order")
    page.reload()  # shown once, and the reload posts nothing again: still one order, its code gone
    expect(page.get_by_test_id("pickup-code")).to_have_count(0)
    expect(page.locator("tr", has_text="Web order 1001, Ada")).to_have_count(1)
    assert code not in page.content()
    assert not axe_violations(page)

    synced_after(client, version, "the order's code reached the cabinet")
    enter_pickup_code(client, code)  # type: ignore[no-untyped-call]
    client.wait_screen("door")
    door_open_and_close(client, "pickup", "door_opened")  # type: ignore[no-untyped-call]
    client.wait_screen("thanks")
    client.wait_for(lambda s: s["outbox"]["pending"] == 0, what="pickup.completed uploaded")

    reload_until(page, lambda: "collected" in row.get_by_test_id("order-state").inner_text(), "the order collected")
    expect(row.get_by_role("button", name="Cancel")).to_have_count(0)  # nothing left to cancel
    page.get_by_label("State").select_option("collected")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    page.get_by_label("State").select_option("open")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No orders.")).to_be_visible()

    # Another retailer with a cabinet of its own sees none of it, and cannot end it by its id.
    console.add_retailer("other-shop")
    console.add_cabinet("other-cab", "other-shop")
    console.add_user("other-shop", "owner@other.example")
    other = new_page()
    sign_in(other, "owner@other.example")
    other.goto("/console/orders")
    expect(other.get_by_text("No orders.")).to_be_visible()
    assert "Web order 1001" not in other.content()
    token = other.locator("input[name=csrf_token]").first.get_attribute("value")
    answer = other.request.post(f"/console/orders/{order_id}/cancelled", form={"csrf_token": str(token)})
    assert answer.status == 404


def test_a_cancelled_orders_code_is_refused_at_the_cabinet_after_the_sync(
    console: Console, retail: Retail, page: Page
) -> None:
    client = cabinet_with_owner(console, retail)
    sign_in(page, OWNER)
    version = client.state()["config_version"]
    code = create_order(page, "Volt S1 e-scooter · Mint (SCOOT-S1-mint)", "Bob")
    synced_after(client, version, "the order reached the cabinet")
    version = client.state()["config_version"]

    row = page.locator("tr", has_text="Bob")
    row.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("status")).to_contain_text("The order is cancelled")
    expect(row.get_by_test_id("order-state")).to_contain_text("cancelled")
    synced_after(client, version, "the configuration without the cancelled order")

    enter_pickup_code(client, code)  # type: ignore[no-untyped-call]
    state = client.wait_for(lambda s: s["message"] == "pickup_wrong_code", what="the cancelled code refused")
    assert not state["lock"]["energized"]

    # Cancelled is final: cancelling again (a second tab) is a conflict, not a second change.
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    again = page.request.post(
        f"/console/orders/{row.get_attribute('data-order')}/cancelled", form={"csrf_token": str(token)}
    )
    assert again.status == 409


def test_the_orders_page_in_chinese_expires_an_order(
    console: Console, retail: Retail, new_page: Callable[..., Page]
) -> None:
    page = new_page(bypass_csp=True)
    api = retail[0]  # no cabinet running: the order through the API, on the catalogue it will get
    console.add_cabinet(CABINET_ID, RETAILER)
    api.call("PUT", f"/v1/retailer/cabinets/{CABINET_ID}/config", retailer_document())
    api.call("POST", "/v1/retailer/orders", {"cabinet_id": CABINET_ID, "sku": "BIKE-C7"})
    console.add_user(RETAILER, OWNER)
    sign_in(page, OWNER)
    page.goto("/console/orders")
    page.get_by_role("link", name="中文").click()
    expect(page.get_by_role("heading", name="线上订单")).to_be_visible()
    row = page.locator("tbody tr").first
    expect(row.get_by_test_id("order-state")).to_have_text("待取货")
    expect(row).to_contain_text("通过 API")
    row.get_by_role("button", name="立即过期").click()
    expect(page.locator("tbody tr").first.get_by_test_id("order-state")).to_contain_text("已过期")
    assert not axe_violations(page)
    assert status(page.goto("/console/orders?state=nonsense")) == 200  # an unknown filter shows everything


def test_an_order_with_the_customers_phone_queues_its_code_for_the_notification_provider(
    console: Console, retail: Retail, new_page: Callable[..., Page]
) -> None:
    page = new_page()
    console.add_cabinet(CABINET_ID, RETAILER)
    retail[0].call("PUT", f"/v1/retailer/cabinets/{CABINET_ID}/config", retailer_document())
    console.add_user(RETAILER, OWNER)
    sign_in(page, OWNER)
    page.goto("/console/orders")
    page.get_by_label("Item").select_option(label=f"Cruiser C7 e-bike (BIKE-C7) · {CABINET_ID}")
    page.get_by_label("Customer's phone (optional)").fill("12-ab")
    page.get_by_role("button", name="Create order").click()
    expect(page.get_by_role("alert")).to_contain_text("Customer's phone: give + and 7 to 15 digits")
    page.get_by_label("Item").select_option(label=f"Cruiser C7 e-bike (BIKE-C7) · {CABINET_ID}")
    page.get_by_label("Customer's phone (optional)").fill("+49 170 555 9876")
    page.get_by_role("button", name="Create order").click()
    code = page.get_by_test_id("pickup-code").inner_text().strip()
    expect(page.get_by_test_id("created-order")).to_contain_text("sent to the customer's phone")
    store = open_store(console.db)  # the served database, SQLite or PostgreSQL
    try:  # waiting for delivery: due (no provider runs here)
        queued = [(n["kind"], n["pickup_code"]) for n in store.due_notifications(now=9e9)]
    finally:
        store.close()
    assert queued == [("pickup", code)]
