"""The call-back queue in the console against a real `kiosk-cloud serve` and Chromium: a request the cabinet
uploaded is followed up (called, with a note; who and when are shown), exported as CSV and deleted on request;
another retailer sees none of it and cannot touch it; both languages; no serious accessibility violation."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.consumer.conftest import RETAILER, seed_cloud
from tests.consumer.test_callbacks import PHONE, request

from .conftest import OWNER, Console, axe_violations, csrf_token, sign_in

OTHER = "clerk@other-shop.example"


def test_a_request_is_called_back_exported_and_deleted_on_request(
    console: Console, new_page: Callable[..., Page]
) -> None:
    seeded = seed_cloud(console.db)
    asked = request(seeded)
    seeded.store.close()
    console.add_user(RETAILER, OWNER)
    page = new_page(bypass_csp=True)  # for axe-core's script
    sign_in(page, OWNER)
    page.get_by_role("link", name="Call-backs").click()
    row = page.locator("tr", has=page.get_by_test_id("callback-phone"))
    expect(row.get_by_test_id("callback-phone")).to_have_text(PHONE)
    expect(row.get_by_test_id("callback-state")).to_contain_text("new")
    row.get_by_text("version 1 (en)").click()
    expect(row).to_contain_text(asked["consent_text"])
    assert not axe_violations(page)

    row.get_by_label("New state").select_option("called")
    row.get_by_label("Note").fill("No answer, try after 5 pm")
    row.get_by_role("button", name="Save").click()
    state = page.get_by_test_id("callback-state")
    expect(state).to_contain_text(f"{OWNER}: called: No answer, try after 5 pm")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    text = download.value.path().read_text()
    header, line = text.splitlines()[:2]
    assert header.startswith("requested_at_utc,cabinet,request_id,sku,phone,state") and PHONE in line
    assert asked["request_id"] in line and ",called," in line and "No answer" in line

    page.get_by_role("button", name=f"Delete (the shopper asked): {PHONE}").click()
    expect(page.get_by_role("status")).to_contain_text("deleted")
    expect(page.get_by_test_id("callback-phone")).to_have_count(0)


def test_another_retailer_sees_none_and_the_queue_reads_in_chinese(
    console: Console, new_page: Callable[..., Page]
) -> None:
    seeded = seed_cloud(console.db)
    asked = request(seeded)
    seeded.store.close()
    console.add_retailer("other-shop")
    console.add_user("other-shop", OTHER)
    other = new_page()
    sign_in(other, OTHER)
    other.goto("/console/callbacks")
    expect(other.get_by_text("No call-back requests here.")).to_be_visible()
    assert PHONE not in other.content()
    csv = other.request.get("/console/callbacks.csv")
    assert csv.status == 200 and PHONE not in csv.text()
    token = csrf_token(other)
    for path in (f"/console/callbacks/{asked['request_id']}", f"/console/callbacks/{asked['request_id']}/delete"):
        answer = other.request.post(path, form={"csrf_token": token, "state": "closed", "note": ""})
        assert answer.status == 404, path
    missing = other.request.post(f"/console/callbacks/{uuid.uuid4()}", form={"csrf_token": token, "state": "closed"})
    assert missing.status == 404, "another retailer's request is as absent as one that does not exist"

    console.add_user(RETAILER, OWNER)
    page = new_page(bypass_csp=True)
    sign_in(page, OWNER)
    page.goto("/console/callbacks")
    page.get_by_role("link", name="中文").click()
    expect(page.get_by_role("heading", name="回电请求")).to_be_visible()
    expect(page.get_by_test_id("callback-state")).to_contain_text("新请求")
    expect(page.get_by_test_id("callback-phone")).to_have_text(PHONE)  # the other retailer's tries changed nothing
    assert not axe_violations(page)
