"""The fleet page and a cabinet's page, with a simulated cabinet running as a real process against the
real cloud: it shows the cabinet online with its software and configuration versions, today's sale after
a sale made through the cabinet's control API (the shopper's hands), its place, and a forced door."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from importlib.metadata import version

from playwright.sync_api import Page, expect

from tests.e2e.conftest import retailer_document
from tests.e2e.test_sale import take_the_product, walk_to_checkout

from .conftest import CABINET_ID, OWNER, RETAILER, Console, Retail, sign_in

ADDRESS, LAT, LON = "Velo Mall, Level 2, Alexanderplatz 1, Berlin", 52.521918, 13.413215


def reload_until(page: Page, ready: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
    """Reload the page until ``ready()`` (what the cabinet sent has to reach the cloud first)."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"the page never showed {what}:\n{page.locator('main').inner_text()}")
        page.reload()


def test_the_fleet_shows_a_running_cabinet_with_its_versions_todays_sale_and_place(
    console: Console, retail: Retail, page: Page
) -> None:
    api, start = retail
    client = start()
    console.add_user(RETAILER, OWNER)
    version_now = api.call(
        "PUT",
        f"/v1/retailer/cabinets/{CABINET_ID}/config",
        {**retailer_document(), "place": {"address": ADDRESS, "lat": LAT, "lon": LON}},
    )["version"]
    client.wait_for(lambda s: s["config_version"] == version_now, what="the configuration with the place applied")

    walk_to_checkout(client, "SCOOT-S1")  # type: ignore[no-untyped-call]
    take_the_product(client)  # type: ignore[no-untyped-call]

    sign_in(page, OWNER)
    row = page.locator(f"tr[data-cabinet='{CABINET_ID}']")
    reload_until(page, lambda: "1 sold" in row.get_by_test_id("sales").inner_text(), "today's sale")
    expect(row.get_by_test_id("sales")).to_contain_text("499.00 EUR")
    expect(row.get_by_test_id("state")).to_have_text("online")
    expect(row.get_by_test_id("software")).to_have_text(version("smart-cabinet"))
    reload_until(page, lambda: f"v{version_now} applied" in row.get_by_test_id("config").inner_text(), "config")
    expect(row).to_contain_text(ADDRESS)
    expect(row.get_by_role("link", name=f"Map ({LAT:.5f}, {LON:.5f})")).to_have_attribute(
        "href", "https://www.openstreetmap.org/?mlat=52.521918&mlon=13.413215#map=17/52.521918/13.413215"
    )
    expect(row.get_by_test_id("backlog")).to_have_text(re.compile(r"^\d+$"))  # unsent events at the heartbeat
    expect(row.get_by_test_id("stock")).to_have_text("SCOOT-S1: out")  # the simulation's one scooter is sold

    # A crowbar at the door: the cabinet's page lists the alarm, the fleet counts it.
    client.sim("door/force")
    page.get_by_role("link", name=CABINET_ID).click()
    expect(page.get_by_role("heading", name=f"Cabinet {CABINET_ID}")).to_be_visible()
    reload_until(page, lambda: "door_forced" in page.locator("main").inner_text(), "the forced door")
    expect(page.get_by_test_id("sales")).to_contain_text("499.00 EUR")
    page.get_by_role("link", name="Fleet").click()
    expect(row.get_by_test_id("alarms")).not_to_have_text("0")


def test_the_fleet_in_chinese_on_a_phone(owner: Console, new_page: Callable[..., Page]) -> None:
    phone = new_page(phone=True)
    sign_in(phone, OWNER)
    phone.get_by_role("link", name="中文").click()
    expect(phone.get_by_role("heading", name="柜机总览")).to_be_visible()
    row = phone.locator(f"tr[data-cabinet='{CABINET_ID}']")
    expect(row.get_by_test_id("state")).to_have_text("从未连接")
    # One column: the table's rows are cards no wider than the screen.
    box = row.bounding_box()
    assert box is not None and box["width"] <= 390, box
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.reload()  # the choice is kept (a cookie)
    expect(phone.get_by_role("heading", name="柜机总览")).to_be_visible()
