"""The alarms page with a simulated cabinet as a real process: a forced door (the bench's crowbar) appears on
an open page without a reload (server-sent events), with the snapshot the cabinet took; a staff member
acknowledges it and the owner resolves it, both named; another retailer sees none of it; axe; both languages."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from .conftest import OWNER, RETAILER, Console, Retail, axe_violations, cabinet_with_owner, csrf_token, sign_in, status

STAFF = "staff@velo-mall.example"
LIVE_MS = 10_000  # well under the fallback poll (20 s): only the event stream brings it this soon


def test_a_forced_door_appears_live_and_is_acknowledged_then_resolved_by_name(
    console: Console, retail: Retail, new_page: Callable[..., Page]
) -> None:
    client = cabinet_with_owner(console, retail)
    console.add_user(RETAILER, STAFF, role="staff")

    owner = new_page()  # the console's own CSP in force: the live page needs no inline script
    sign_in(owner, OWNER)
    owner.get_by_role("link", name="Alarms").click()
    owner.get_by_label("State").select_option("all")
    owner.get_by_role("button", name="Show").click()
    expect(owner.get_by_test_id("alarm-count")).to_have_text("0 alarms shown")
    expect(owner.locator("body")).to_have_attribute("data-live", "yes")  # the event stream is open
    owner.evaluate("window.sameDocument = true")  # gone if the page were reloaded

    client.sim("door/force")
    row = owner.locator("tr[data-kind='door_forced']")
    expect(row).to_be_visible(timeout=LIVE_MS)
    expect(row.get_by_test_id("alarm-state")).to_contain_text("open")
    expect(row).to_contain_text("door forced")
    # The photo the cabinet took at the alarm follows it, also without a reload.
    thumb = row.get_by_role("img", name="Snapshot of the door")
    expect(thumb).to_be_visible(timeout=LIVE_MS)
    assert thumb.evaluate("img => img.complete && img.naturalWidth > 0"), "the thumbnail loads"
    assert owner.evaluate("window.sameDocument === true"), "the alarm came without reloading the page"

    # A staff member acknowledges it on their phone; the owner's open page shows who, live.
    staff = new_page(phone=True, bypass_csp=True)  # bypass_csp: only so that axe can be injected
    sign_in(staff, STAFF)
    assert status(staff.goto("/console/access")) == 403, "PINs and cards are the owner's"
    staff.goto("/console/alarms")
    assert not axe_violations(staff), axe_violations(staff)
    staff.locator("tr[data-kind='door_forced']").get_by_role("button", name="Acknowledge").click()
    expect(staff.locator("tr[data-kind='door_forced']")).to_have_count(0)  # no longer open
    expect(row.get_by_test_id("alarm-state")).to_contain_text(f"acknowledged by {STAFF}", timeout=LIVE_MS)

    row.get_by_role("button", name="Resolve").click()
    expect(row.get_by_test_id("alarm-state")).to_contain_text(f"resolved by {OWNER}")
    expect(row.get_by_test_id("alarm-state")).to_contain_text(f"acknowledged by {STAFF}")
    expect(row.get_by_role("button")).to_have_count(0)
    assert owner.evaluate("window.sameDocument === true")

    owner.get_by_label("State").select_option("resolved")
    owner.get_by_role("button", name="Show").click()
    expect(owner.locator("tr[data-kind='door_forced']")).to_have_count(1)
    owner.get_by_label("State").select_option("open")
    owner.get_by_role("button", name="Show").click()
    expect(owner.locator("tr[data-kind='door_forced']")).to_have_count(0)

    # In Chinese.
    owner.goto("/console/alarms?state=resolved")
    owner.get_by_role("link", name="中文").click()
    expect(owner.get_by_role("heading", name="警报")).to_be_visible()
    expect(owner.locator("tr[data-kind='door_forced']").get_by_test_id("alarm-state")).to_contain_text(f"{OWNER} 于")
    expect(owner.locator("tr[data-kind='door_forced']")).to_contain_text("柜门被强行打开")

    # Another retailer: no alarm listed, none to acknowledge, no snapshot to see, not even by its address.
    alarm_id = owner.locator("tr[data-kind='door_forced']").get_attribute("data-alarm")
    thumb_src = owner.locator("tr[data-kind='door_forced'] img").first.get_attribute("src")
    console.add_retailer("rival-bikes")
    console.add_user("rival-bikes", "boss@rival.example")
    rival = new_page()
    sign_in(rival, "boss@rival.example")
    rival.goto("/console/alarms?state=all")
    expect(rival.get_by_test_id("alarm-count")).to_have_text("0 alarms shown")
    assert status(rival.goto(str(thumb_src))) == 404
    assert status(rival.goto("/console/alarms?cabinet=e2e-cabinet-1")) == 404
    rival.goto("/console/alarms")
    answer = rival.request.post(
        f"/console/alarms/{alarm_id}/acknowledge", form={"csrf_token": csrf_token(rival)}, max_redirects=0
    )
    assert answer.status == 404
