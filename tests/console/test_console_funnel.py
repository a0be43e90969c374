"""The funnel page in Chromium against a real `kiosk-cloud serve`: footfall counts, shopper sessions and a sale
stored through the store's ingest (the same file the server reads) show as the funnel's steps, chart, product
table and CSV; another retailer sees none of it and gets 404 for the cabinet; axe-core in English and Chinese."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from cloud_stub.store import open_store
from sync_client.schema import Event, event_from_json, new_event_id

from .conftest import CABINET_ID, OWNER, Console, axe_violations, sign_in, status

OTHER, OTHER_OWNER, OTHER_CABINET = "other-shop", "owner@other-shop.example", "other-cab-1"


def events(cabinet: str, sessions: int, bought: int, footfall: tuple[int, int] = (0, 0)) -> list[Event]:
    """``sessions`` sessions today, each viewing SCOOT-S1; ``bought`` of them paid and took it; ``footfall``:
    the people the camera counted passing and stopping (none: footfall off)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    made: list[dict[str, Any]] = []
    if any(footfall):
        counted = {"started_at": now, "ended_at": now, "passers": footfall[0], "stoppers": footfall[1]}
        made.append({"type": "footfall.counted", "payload": counted})
    for i in range(sessions):
        paid = i < bought
        visit = {
            "sku": "SCOOT-S1",
            "dwell_s": 10.0,
            "turns": 1,
            "narrations": 0,
            "variant": None,
            "checkout": paid,
            "payment": "approved" if paid else None,
        }
        made.append(
            {
                "type": "session.ended",
                "payload": {
                    "started_at": now,
                    "ended_at": now,
                    "ended_by": "idle",
                    "screens": ["attract", "product"],
                    "products": [visit],
                    "step": "paid" if paid else "product",
                    "left_at": "thanks" if paid else "product",
                    "ad_id": None,
                },
            }
        )
        if paid:
            money = {
                "sale_id": f"0000000{i}-0000-4000-8000-000000000000",
                "sku": "SCOOT-S1",
                "amount_cents": 100,
                "currency": "EUR",
            }
            made.append(
                {
                    "type": "payment.approved",
                    "payload": {**money, "method": "terminal", "receipt_no": None, "trace_no": None},
                }
            )
            made.append({"type": "sale.completed", "payload": {**money, "door_opened_at": now, "door_closed_at": now}})
    return [
        event_from_json(
            {
                **e,
                "id": new_event_id(),
                "cabinet_id": cabinet,
                "seq": n + 1,
                "schema_version": 1,
                "wall_time": now,
                "mono_time": float(n),
            }
        )
        for n, e in enumerate(made)
    ]


def test_the_funnel_page_shows_the_steps_chart_products_and_csv_to_its_retailer_only(
    owner: Console, new_page: Any
) -> None:
    owner.add_retailer(OTHER)
    owner.add_cabinet(OTHER_CABINET, OTHER)
    owner.add_user(OTHER, OTHER_OWNER)
    store = open_store(owner.db)
    try:
        store.store_events(CABINET_ID, events(CABINET_ID, sessions=4, bought=1, footfall=(20, 5)))
        store.store_events(OTHER_CABINET, events(OTHER_CABINET, sessions=7, bought=0))
    finally:
        store.close()

    page: Page = new_page(bypass_csp=True)  # bypass_csp: only so that axe can be injected
    sign_in(page, OWNER)
    page.get_by_role("link", name="Funnel").click()
    expect(page.get_by_role("heading", name="Shopper funnel")).to_be_visible()
    expect(page.get_by_test_id("funnel-summary")).to_have_text("20 passed by, 4 sessions, 1 bought")
    steps = page.get_by_test_id("funnel-steps")
    expect(steps.locator("tbody th")).to_have_text(
        ["Passed by", "Stopped", "Sessions", "Viewed a product", "Started a checkout", "Paid", "Bought"]
    )
    expect(steps.get_by_test_id("count")).to_have_text(["20", "5", "4", "4", "1", "1", "1"])
    expect(steps.get_by_test_id("conversion")).to_have_text(
        ["–", "25.0 %", "80.0 %", "100.0 %", "25.0 %", "100.0 %", "100.0 %"]
    )
    chart = page.get_by_test_id("funnel-chart")
    expect(chart.locator("rect")).to_have_count(7)
    assert "20, 5, 4, 4, 1, 1, 1" in str(chart.get_attribute("aria-label"))
    cells = page.get_by_test_id("funnel-products").locator("tbody tr").first.locator("th, td")
    expect(cells).to_have_text(["SCOOT-S1", "4", "40", "4", "0", "1", "1", "1"])
    for lang in ("zh", "en"):  # English last
        page.context.add_cookies([{"name": "console_lang", "value": lang, "url": page.url}])
        page.reload()
        assert not axe_violations(page), (lang, axe_violations(page))
        if lang == "zh":
            expect(page.get_by_role("heading", name="顾客转化漏斗")).to_be_visible()
            expect(page.get_by_test_id("funnel-summary")).to_have_text("20 人经过，4 次会话，1 次购买")
            expect(steps.locator("tbody th").first).to_have_text("经过")
            expect(steps.locator("tbody th").nth(1)).to_have_text("停下")

    page.get_by_label("Cabinet").select_option(CABINET_ID)
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("funnel-summary")).to_have_text("20 passed by, 4 sessions, 1 bought")
    with page.expect_download() as downloaded:
        page.get_by_role("link", name="Download CSV").click()
    rows = list(csv.reader(io.StringIO(Path(downloaded.value.path()).read_text(encoding="utf-8"), newline="")))
    assert rows[0][:4] == ["section", "key", "count", "conversion"]
    assert [r[:4] for r in rows[1:8]] == [
        ["step", "passers", "20", ""],
        ["step", "stoppers", "5", "0.25"],
        ["step", "sessions", "4", "0.8"],
        ["step", "viewed", "4", "1.0"],
        ["step", "checkouts", "1", "0.25"],
        ["step", "paid", "1", "1.0"],
        ["step", "sold", "1", "1.0"],
    ]
    assert rows[8][:3] == ["product", "SCOOT-S1", "4"]

    other = new_page()
    sign_in(other, OTHER_OWNER)
    other.goto("/console/funnel")
    expect(other.get_by_test_id("funnel-summary")).to_have_text("0 passed by, 7 sessions, 0 bought")
    assert status(other.goto(f"/console/funnel?cabinet={CABINET_ID}")) == 404
    assert other.request.get(f"/console/funnel.csv?cabinet={CABINET_ID}").status == 404
