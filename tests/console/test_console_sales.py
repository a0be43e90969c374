"""The sales and refunds pages in Chromium, with a simulated cabinet running as a real process against the real
cloud: its sales show per day with the right total, filtered, and download as CSV; a sale whose door never
opened and whose reversal the terminal refused is listed, refunded by the owner from the console and followed
until it is settled; a long refunds list is paged; another retailer sees none of it. axe-core on each page, in
English and Chinese."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Page, expect

from cloud_stub.store import open_store
from sync_client.schema import Event
from tests.e2e.test_sale import take_the_product, walk_to_checkout

from .conftest import (
    CABINET_ID,
    OWNER,
    Console,
    Retail,
    axe_violations,
    cabinet_with_owner,
    csrf_token,
    sign_in,
    status,
)
from .test_console_fleet import reload_until

OTHER, OTHER_OWNER = "other-shop", "owner@other-shop.example"
# A door not opened within 2 s ends the sale (one unlock only): the sale is unclaimed and reversed.
NEVER_OPENED = """
[lock]
unlock_s = 0.5
max_unlock_s = 0.5
door_open_timeout_s = 2.0
max_unlocks_per_sale = 1
"""
SETTLE_MS = 30_000  # the command poll, the reversal on the terminal, the upload, the page's 5 s refresh


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def no_serious_violations(page: Page, name: str) -> None:
    for lang in ("zh", "en"):  # English last: the test goes on in English
        page.context.add_cookies([{"name": "console_lang", "value": lang, "url": page.url}])
        page.reload()
        assert not axe_violations(page), (name, lang, axe_violations(page))


def test_sales_per_day_with_totals_filters_and_csv_and_none_for_another_retailer(
    console: Console, retail: Retail, new_page: Callable[..., Page]
) -> None:
    client = cabinet_with_owner(console, retail)
    walk_to_checkout(client, "SCOOT-S1")  # type: ignore[no-untyped-call]
    take_the_product(client)  # type: ignore[no-untyped-call]
    client.tap("done")
    client.wait_screen("attract")
    walk_to_checkout(client, "BIKE-C7")  # type: ignore[no-untyped-call]
    take_the_product(client)  # type: ignore[no-untyped-call]

    page = new_page(bypass_csp=True)  # bypass_csp: only so that axe can be injected
    sign_in(page, OWNER)
    page.get_by_role("link", name="Sales").click()
    expect(page.get_by_role("heading", name="Sales", exact=True)).to_be_visible()
    total = page.get_by_test_id("sales-total")
    reload_until(page, lambda: total.inner_text().startswith("2 sales"), "both sales")
    expect(total).to_have_text("2 sales, 1798.00 EUR")
    by_day = page.get_by_test_id("by-period")
    expect(by_day.locator("tbody tr")).to_have_count(1)
    expect(by_day.get_by_role("rowheader")).to_have_text(today())
    expect(by_day.get_by_test_id("total")).to_have_text("1798.00 EUR")
    products = page.get_by_test_id("by-product").locator("tbody tr")
    expect(products).to_have_count(2)
    expect(products.nth(0)).to_contain_text("BIKE-C7")
    expect(products.nth(1)).to_contain_text("SCOOT-S1-mint")  # the variant the shopper paid for
    chart = page.get_by_test_id("chart")
    expect(chart.locator("rect")).to_have_count(30)  # a bar for each of the last 30 days
    assert "highest is 1798.00 EUR" in str(chart.get_attribute("aria-label"))
    no_serious_violations(page, "sales")

    # One product, by week: the filter is kept in the form and in the CSV link.
    page.get_by_label("Product").select_option("BIKE-C7")
    page.get_by_label("Group by").select_option("week")
    page.get_by_role("button", name="Show").click()
    expect(total).to_have_text("1 sales, 1299.00 EUR")
    expect(page.get_by_test_id("by-period").get_by_role("caption")).to_have_text("By week (from Monday)")
    with page.expect_download() as downloaded:
        page.get_by_role("link", name="Download CSV").click()
    rows = list(csv.reader(io.StringIO(Path(downloaded.value.path()).read_text(encoding="utf-8"), newline="")))
    assert rows[0] == ["completed_at_utc", "cabinet", "sale_id", "sku", "variant_sku", "amount", "currency", "method"]
    assert [r[1:2] + r[3:] for r in rows[1:]] == [[CABINET_ID, "BIKE-C7", "BIKE-C7", "1299.00", "EUR", "terminal"]]
    assert rows[1][0].startswith(today())

    # A date the form cannot use is refused naming the field.
    page.goto("/console/sales?from=yesterday")
    expect(page.get_by_role("alert")).to_have_text("From: enter a date as YYYY-MM-DD.")

    # Another retailer sees none of it: not by page, not by filter, not in the CSV.
    console.add_retailer(OTHER)
    console.add_user(OTHER, OTHER_OWNER)
    other = new_page()
    sign_in(other, OTHER_OWNER)
    other.goto(f"/console/sales?cabinet={CABINET_ID}")
    expect(other.get_by_test_id("sales-total")).to_have_text("No sales in this range.")
    expect(other.get_by_label("Cabinet")).not_to_contain_text(CABINET_ID)
    csv_text = other.request.get(f"/console/sales.csv?cabinet={CABINET_ID}").text()
    assert csv_text.splitlines() == [",".join(rows[0])]


def test_an_unclaimed_sale_is_refunded_from_the_console_until_settled(
    console: Console, retail: Retail, new_page: Callable[..., Page]
) -> None:
    client = cabinet_with_owner(console, retail, NEVER_OPENED)
    client.sim("pos/reversals", {"refuse": True})  # the terminal's host will refuse to give the money back
    walk_to_checkout(client, "SCOOT-S1")  # type: ignore[no-untyped-call]
    client.sim("pos/approve")
    client.wait_for(lambda s: s["screen"] == "thanks", what="the door never opened: the sale ended unclaimed")

    page = new_page(bypass_csp=True)
    sign_in(page, OWNER)
    page.get_by_role("link", name="Refunds").click()
    row = page.locator("tr[data-sale]")
    reload_until(page, lambda: "refund needed" in page.locator("main").inner_text(), "the flagged refund")
    sale_id = str(row.get_attribute("data-sale"))
    expect(row).to_contain_text("door never opened")
    expect(row).to_contain_text("499.00 EUR")
    expect(row).to_contain_text("card terminal")
    no_serious_violations(page, "refunds")

    # Another retailer's owner can neither see it nor refund it.
    console.add_retailer(OTHER)
    console.add_user(OTHER, OTHER_OWNER)
    other = new_page()
    sign_in(other, OTHER_OWNER)
    other.goto("/console/refunds")
    expect(other.locator("main")).to_contain_text("No payments to give back.")
    refused = other.request.post(
        f"/console/refunds/{CABINET_ID}/{sale_id}", form={"csrf_token": csrf_token(other)}, max_redirects=0
    )
    assert refused.status == 404

    client.sim("pos/reversals", {"refuse": False})  # the host takes reversals again
    row.get_by_role("button", name=f"Refund {sale_id}").click()
    expect(page.get_by_role("status")).to_have_text(f"The refund of sale {sale_id} was sent; its state follows below.")
    state = row.get_by_test_id("refund-state")
    expect(state).to_contain_text(f"asked by {OWNER}")
    expect(state).to_contain_text("settled: the money is back", timeout=SETTLE_MS)  # the page refreshes itself
    expect(row.get_by_role("button", name=f"Refund {sale_id}")).to_have_count(0)
    assert status(page.goto("/console/refunds")) == 200
    page.get_by_role("link", name="中文").click()
    expect(row.get_by_test_id("refund-state")).to_contain_text("已结清")


def test_the_refunds_list_pages_through_many_payments_and_another_retailer_sees_none(
    owner: Console, new_page: Callable[..., Page]
) -> None:
    # 60 sales whose door never opened, uploaded through the cloud's ingest path (as the device API stores them)
    events, seq = [], 0
    for n in range(60):
        at = f"2026-11-{1 + n // 24:02d}T{n % 24:02d}:00:00.000Z"
        sale = {"sale_id": f"u{n:02d}", "sku": "SCOOT-S1", "amount_cents": 49900, "currency": "EUR"}
        for kind, payload in (
            ("payment.approved", {**sale, "method": "terminal", "receipt_no": f"{n:04d}", "trace_no": "1"}),
            ("sale.unclaimed", {**sale, "action": "reversal"}),
        ):
            seq += 1
            events.append(Event(str(uuid.uuid4()), CABINET_ID, seq, kind, at, float(seq), payload))
    flagged = {"kind": "refund_needed", "sale_id": "u05", "detail": "host refused"}  # on the second page
    events.append(Event(str(uuid.uuid4()), CABINET_ID, seq + 1, "alarm", "2026-11-03T00:00:00.000Z", 0.0, flagged))
    store = open_store(owner.db)
    try:
        store.store_events(CABINET_ID, events)
    finally:
        store.close()

    page = new_page(bypass_csp=True)
    sign_in(page, OWNER)
    page.get_by_role("link", name="Refunds").click()
    rows = page.locator("tr[data-sale]")
    expect(page.get_by_test_id("refunds-shown")).to_have_text("Payments 1-50 of 60, newest first.")
    expect(rows).to_have_count(50)
    expect(rows.first).to_have_attribute("data-sale", "u59")
    pages = page.get_by_role("navigation", name="Pages of the refunds list")
    expect(pages).to_contain_text("Page 1 of 2")
    pages.get_by_role("link", name="Older").click()
    expect(page.get_by_test_id("refunds-shown")).to_have_text("Payments 51-60 of 60, newest first.")
    expect(rows).to_have_count(10)
    expect(rows.last).to_have_attribute("data-sale", "u00")
    expect(pages.get_by_role("link", name="Older")).to_have_count(0)
    no_serious_violations(page, "refunds, page 2")
    page.get_by_role("button", name="Refund u05").click()  # the owner stays on the page they were on
    expect(page.get_by_role("status")).to_have_text("The refund of sale u05 was sent; its state follows below.")
    expect(page.locator('tr[data-sale="u05"]').get_by_test_id("refund-state")).to_contain_text(f"asked by {OWNER}")
    expect(pages).to_contain_text("Page 2 of 2")
    page.get_by_role("link", name="中文").click()
    expect(page.get_by_test_id("refunds-shown")).to_have_text("第 51-60 笔，共 60 笔付款，最新的在前。")
    page.get_by_role("navigation", name="退款列表的分页").get_by_role("link", name="较新").click()
    expect(rows).to_have_count(50)
    expect(rows.first).to_have_attribute("data-sale", "u59")

    owner.add_retailer(OTHER)
    owner.add_user(OTHER, OTHER_OWNER)
    other = new_page()
    sign_in(other, OTHER_OWNER)
    other.goto("/console/refunds?page=2")
    expect(other.locator("main")).to_contain_text("No payments to give back.")
    expect(other.locator("tr[data-sale]")).to_have_count(0)
