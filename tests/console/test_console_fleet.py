"""The fleet page and a cabinet's page, with a simulated cabinet running as a real process against the
real cloud: it shows the cabinet online with its software and configuration versions, today's sale after
a sale made through the cabinet's control API (the shopper's hands), its place, and a forced door. A fleet of
55 cabinets comes in pages, filtered by state and searched by id or address, each row following the events its
cabinet uploads."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

from playwright.sync_api import Page, expect

from cloud_stub.store import open_store
from sync_client.schema import Event, dumps, new_event_id, sign_request, utc_iso
from tests.e2e.conftest import retailer_document
from tests.e2e.test_sale import take_the_product, walk_to_checkout

from .conftest import CABINET_ID, OWNER, RETAILER, Console, Retail, sign_in, status

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


FLEET = 55  # two pages of 50
WATCHED = "fleet-07"


def post_events(url: str, cabinet_id: str, key: bytes, events: list[tuple[str, dict[str, Any]]]) -> None:
    """Upload events as the cabinet does: POST /v1/events, signed with its key."""
    now = time.time()
    batch = [
        Event(new_event_id(), cabinet_id, seq, kind, utc_iso(now), now, payload).to_json()
        for seq, (kind, payload) in enumerate(events, start=1)
    ]
    body = dumps({"cabinet_id": cabinet_id, "events": batch})
    headers = {**sign_request(key, cabinet_id, "POST", "/v1/events", body), "Content-Type": "application/json"}
    with urllib.request.urlopen(urllib.request.Request(url + "/v1/events", body, headers), timeout=10) as answer:
        assert len(json.loads(answer.read())["acked"]) == len(events)


def test_the_fleet_follows_the_events_in_pages_with_filters_that_another_retailer_never_sees(
    console: Console, page: Page, new_page: Callable[..., Page]
) -> None:
    console.add_retailer(RETAILER)
    console.add_retailer("Other Shop")
    console.add_user(RETAILER, OWNER)
    console.add_user("Other Shop", "owner@other-shop.example")
    store = open_store(console.db)  # the same file `serve` uses (as the CLI would)
    try:
        keys = {f"fleet-{i:02d}": store.add_cabinet(f"fleet-{i:02d}", RETAILER) for i in range(FLEET)}
        for i, cabinet_id in enumerate(keys):
            place = {"address": f"Mall {i}, Berlin", "lat": 52.5, "lon": 13.4}
            store.put_config(cabinet_id, {**retailer_document(), "place": place})
        store.add_cabinet("other-01", "Other Shop")
    finally:
        store.close()

    sign_in(page, OWNER)
    expect(page.get_by_test_id("fleet-count")).to_have_text(f"Page 1 of 2 ({FLEET} cabinets)")
    row = page.locator(f"tr[data-cabinet='{WATCHED}']")
    expect(row.get_by_test_id("software")).to_have_text("—")  # not reported yet
    expect(row.get_by_test_id("sales")).to_have_text("0 sold")

    # The cabinet reports a heartbeat, a sale, a forced door and its count of e-bikes: its row follows.
    sale = {"sale_id": "s-1", "sku": "BIKE-C7", "amount_cents": 129900, "currency": "EUR"}
    at = utc_iso(time.time())
    post_events(
        console.url,
        WATCHED,
        keys[WATCHED],
        [
            ("heartbeat", {"faults": [], "backlog": 7, "software": "9.9.9"}),
            ("sale.completed", {**sale, "door_opened_at": at, "door_closed_at": at}),
            ("alarm", {"kind": "door_forced", "detail": "crowbar"}),
            ("stock.changed", {"sku": "BIKE-C7", "count": 1, "reason": "sale"}),
        ],
    )
    page.reload()
    expect(row.get_by_test_id("state")).to_have_text("online")
    expect(row.get_by_test_id("software")).to_have_text("9.9.9")
    expect(row.get_by_test_id("backlog")).to_have_text("7")
    expect(row.get_by_test_id("sales")).to_have_text("1 sold1299.00 EUR")
    expect(row.get_by_test_id("alarms")).to_have_text("1")
    expect(row.get_by_test_id("stock")).to_have_text("BIKE-C7: 1 left")  # under the default threshold of 2

    page.get_by_role("link", name="Next page").click()
    expect(page.get_by_test_id("fleet-count")).to_have_text(f"Page 2 of 2 ({FLEET} cabinets)")
    expect(page.locator("tbody tr")).to_have_count(FLEET - 50)
    expect(row).to_have_count(0)

    for state, expected in (("With open alarms", [WATCHED]), ("Low or out of stock", [WATCHED])):
        page.get_by_label("State").select_option(label=state)
        page.get_by_role("button", name="Filter").click()
        expect(page.locator("tbody tr")).to_have_count(len(expected))
        expect(page.locator("tbody th a")).to_have_text(expected)
    page.get_by_label("State").select_option(label="Offline")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_test_id("fleet-count")).to_have_text(f"Page 1 of 2 ({FLEET - 1} cabinets)")
    page.get_by_label("State").select_option(label="All")
    page.get_by_label("Cabinet or address").fill("mall 3")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody th a")).to_have_text(["fleet-03"] + [f"fleet-{i}" for i in range(30, 40)])

    # One e-bike left is fine once the owner sets the e-bike's threshold to 1: the fleet follows the stock page.
    page.goto("/console/stock")
    page.get_by_label("Low below, Cruiser C7 e-bike").fill("1")
    page.get_by_role("button", name="Save Cruiser C7 e-bike").click()
    page.goto("/console/fleet?state=low_stock")
    expect(page.get_by_text("No cabinet matches these filters.")).to_be_visible()

    # Another retailer's owner sees none of it: not in the list, not by search, not by address.
    other = new_page()
    sign_in(other, "owner@other-shop.example")
    expect(other.get_by_test_id("fleet-count")).to_have_text("Page 1 of 1 (1 cabinets)")
    other.goto("/console/fleet?q=fleet")
    expect(other.get_by_text("No cabinet matches these filters.")).to_be_visible()
    assert status(other.goto(f"/console/cabinets/{WATCHED}")) == 404
    assert status(other.goto("/console/fleet?state=broken")) == 400
    expect(other.get_by_role("alert")).to_contain_text("Unknown state")
