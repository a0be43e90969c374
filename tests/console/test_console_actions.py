"""Remote actions with a simulated cabinet as a real process: an unlock with a typed reason, confirmed on a
second step, energizes the cabinet's relay and the page shows it applied; the self-test's results and the
snapshot the cabinet took come back to the page; another retailer can neither see nor send any; axe; both
languages."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.e2e.conftest import CABINET_ID

from .conftest import OWNER, Console, Retail, axe_violations, cabinet_with_owner, csrf_token, sign_in, status

ANSWER_MS = 20_000  # the cabinet polls for commands every 0.3 s here; the page refreshes every 2 s
REASON = "courier delivery for Mrs Chen"


def test_remote_unlock_self_test_and_snapshot_reach_the_cabinet_and_their_answers_the_page(
    console: Console, retail: Retail, new_page: Callable[..., Page]
) -> None:
    client = cabinet_with_owner(console, retail)
    page = new_page(bypass_csp=True)  # bypass_csp: only so that axe can be injected
    sign_in(page, OWNER)
    page.get_by_role("link", name="Remote actions").click()
    expect(page.get_by_label("Cabinet")).to_have_value(CABINET_ID)
    assert not axe_violations(page), axe_violations(page)

    # An unlock needs a reason, then a confirmation that repeats it; nothing is sent before.
    page.get_by_label("Reason").fill(REASON)
    page.get_by_role("button", name="Unlock…").click()
    expect(page.get_by_role("heading", name=f"Unlock {CABINET_ID}?")).to_be_visible()
    expect(page.locator("main")).to_contain_text(REASON)
    expect(page.get_by_text("No commands sent to this cabinet yet.")).to_be_visible()
    assert not axe_violations(page), axe_violations(page)
    assert not any(p["energized"] for p in client.pins()["relay"])
    page.get_by_role("button", name="Yes, unlock now").click()

    client.wait_for(lambda s: s["lock"]["energized"], what="the relay energized by the remote unlock")
    unlock = page.locator("tr[data-kind='unlock']")
    expect(unlock).to_contain_text(f"reason: {REASON}")
    expect(unlock).to_contain_text(OWNER)
    expect(unlock.get_by_test_id("command-state")).to_have_text("applied", timeout=ANSWER_MS)
    expect(unlock.get_by_test_id("command-result")).to_contain_text("ok: unlocking")
    client.sim("door/open")
    client.wait_for(lambda s: s["journeys"]["restock"] == "counting", what="door opened")
    client.sim("door/close")
    client.wait_for(lambda s: s["journeys"]["restock"] == "recorded", what="recorded")
    client.tap("done")
    client.wait_screen("attract")

    page.get_by_role("button", name="Run the self-test").click()
    selftest = page.locator("tr[data-kind='selftest']")
    expect(selftest.get_by_test_id("selftest")).to_contain_text("Self-test", timeout=ANSWER_MS)
    expect(selftest.get_by_test_id("command-state")).to_have_text("applied")
    expect(selftest.get_by_test_id("selftest")).to_contain_text("lock:")  # each device's line

    page.get_by_role("button", name="Take a snapshot").click()
    snapshot = page.locator("tr[data-kind='snapshot']")
    photo = snapshot.get_by_role("img", name="Snapshot of the door")
    expect(photo).to_be_visible(timeout=ANSWER_MS)
    assert photo.evaluate("img => img.complete && img.naturalWidth > 0"), "the thumbnail loads"
    assert not axe_violations(page), axe_violations(page)

    # In Chinese.
    page.get_by_role("link", name="中文").click()
    expect(page.get_by_role("heading", name="远程操作")).to_be_visible()
    expect(unlock.get_by_test_id("command-state")).to_have_text("已执行")
    expect(page.get_by_role("button", name="运行自检")).to_be_visible()
    assert not axe_violations(page), axe_violations(page)

    # Another retailer: none of the commands, no unlock of a cabinet that is not theirs.
    console.add_retailer("rival-bikes")
    console.add_user("rival-bikes", "boss@rival.example")
    rival = new_page()
    sign_in(rival, "boss@rival.example")
    rival.goto("/console/actions")
    expect(rival.get_by_text(CABINET_ID)).to_have_count(0)
    assert status(rival.goto(f"/console/actions?cabinet={CABINET_ID}")) == 404
    rival.goto("/console/actions")
    token = csrf_token(rival)
    for path, form in (
        (f"/console/actions/{CABINET_ID}/unlock", {"reason": "let me in", "confirmed": "yes"}),
        (f"/console/actions/{CABINET_ID}/restart", {}),
    ):
        assert rival.request.post(path, form={"csrf_token": token, **form}, max_redirects=0).status == 404
    pulses = [p for p in client.pins()["relay"] if p["energized"]]
    assert len(pulses) == 1, "one unlock: the owner's"
