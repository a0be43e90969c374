"""The access page with a simulated cabinet as a real process: a weak restock PIN is refused with the rule it
breaks, a good one goes out in the next configuration and opens the cabinet's PIN pad; a technician PIN set for
all cabinets opens the service menu; a staff card added here opens the cabinet for a restock. Another retailer
can neither see nor change any of it; axe; both languages."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from firmware.control_client import ControlClient
from tests.e2e.conftest import CABINET_ID

from .conftest import OWNER, Console, Retail, axe_violations, cabinet_with_owner, csrf_token, sign_in, status

GOOD_PIN, TECHNICIAN_PIN, CARD = "583920", "71930482", "04 11 22 33 44 55 66"


def set_pin(page: Page, kind: str, pin: str) -> None:
    form = page.get_by_role("form", name=kind)
    form.get_by_label("New PIN", exact=True).fill(pin)
    form.get_by_label("New PIN again").fill(pin)
    form.get_by_role("button").click()


def enter_pin(client: ControlClient, pin: str) -> None:
    client.tap("brand", hold_s=3.2)  # the hidden PIN pad
    client.wait_screen("pin_pad")
    for digit in pin:
        client.tap(f"key:{digit}")
    client.tap("pin:submit")


def test_pins_and_cards_set_in_the_console_open_the_cabinet(
    console: Console, retail: Retail, new_page: Callable[..., Page]
) -> None:
    client = cabinet_with_owner(console, retail)
    page = new_page(bypass_csp=True)  # bypass_csp: only so that axe can be injected
    sign_in(page, OWNER)
    page.get_by_role("link", name="Access").click()
    page.get_by_label("Cabinets", exact=True).select_option(CABINET_ID)
    page.get_by_role("button", name="Show").click()
    row = page.locator(f"tr[data-cabinet='{CABINET_ID}']")
    expect(row.get_by_test_id("pin")).to_have_text("set")  # the retailer's document has one
    version = int(row.get_by_test_id("version").inner_text())
    assert not axe_violations(page), axe_violations(page)

    for weak, rule in (("123456", "a run of digits"), ("999999", "one digit repeated"), ("121212", "common PIN")):
        set_pin(page, f"Restock PIN for {CABINET_ID}", weak)
        expect(page.get_by_test_id("access-error")).to_contain_text(rule)
    assert int(row.get_by_test_id("version").inner_text()) == version, "a refused PIN changes nothing"
    assert not axe_violations(page), axe_violations(page)

    set_pin(page, f"Restock PIN for {CABINET_ID}", GOOD_PIN)
    expect(page.get_by_test_id("access-notice")).to_contain_text(f"Saved: {CABINET_ID} v{version + 1}")
    client.wait_for(lambda s: s["config_version"] == version + 1, what="the new PIN's configuration applied")
    enter_pin(client, GOOD_PIN)
    client.wait_for(lambda s: s["screen"] == "restock" and s["lock"]["energized"], what="restock unlocked by the PIN")
    client.sim("door/open")
    client.wait_for(lambda s: s["journeys"]["restock"] == "counting", what="counting")
    client.sim("door/close")
    client.wait_for(lambda s: s["journeys"]["restock"] == "recorded", what="restock recorded")
    client.tap("done")
    client.wait_screen("attract")

    # The technician PIN for every cabinet of the retailer, and a staff card.
    page.get_by_label("Cabinets", exact=True).select_option("all")
    page.get_by_role("button", name="Show").click()
    set_pin(page, "Technician PIN for All cabinets", TECHNICIAN_PIN)
    expect(page.get_by_test_id("access-notice")).to_contain_text(f"{CABINET_ID} v{version + 2}")
    expect(row.get_by_test_id("technician-pin")).to_have_text("set")
    page.get_by_label("Card UID").fill(CARD)
    page.get_by_label("Role").select_option("retailer")
    page.get_by_role("button", name="Add the card").click()
    expect(row.get_by_test_id("cards")).to_contain_text("04112233445566")
    client.wait_for(lambda s: s["config_version"] == version + 3, what="the card's configuration applied")
    client.sim("nfc/present", {"uid": CARD.replace(" ", "")})
    client.wait_for(lambda s: s["screen"] == "restock" and s["lock"]["energized"], what="restock unlocked by the card")
    client.sim("door/open")
    client.wait_for(lambda s: s["journeys"]["restock"] == "counting", what="counting")
    client.sim("door/close")
    client.wait_for(lambda s: s["journeys"]["restock"] == "recorded", what="restock recorded")
    client.tap("done")
    client.wait_screen("attract")
    enter_pin(client, TECHNICIAN_PIN)
    client.wait_screen("service")

    # In Chinese, a refusal says which rule.
    page.get_by_role("link", name="中文").click()
    expect(page.get_by_role("heading", name="权限：PIN 与员工卡")).to_be_visible()
    form = page.get_by_role("form", name="全部柜机 的补货 PIN")
    form.get_by_label("新 PIN", exact=True).fill("000000")
    form.get_by_label("再次输入新 PIN").fill("000000")
    form.get_by_role("button").click()
    expect(page.get_by_test_id("access-error")).to_have_text("已拒绝：全是同一数字。")
    assert not axe_violations(page), axe_violations(page)

    # Another retailer: the cabinet is not theirs to see or change; their "all cabinets" does not include it.
    console.add_retailer("rival-bikes")
    console.add_user("rival-bikes", "boss@rival.example")
    rival = new_page()
    sign_in(rival, "boss@rival.example")
    rival.goto("/console/access")
    expect(rival.locator(f"tr[data-cabinet='{CABINET_ID}']")).to_have_count(0)
    assert status(rival.goto(f"/console/access?cabinet={CABINET_ID}")) == 404
    rival.goto("/console/access")
    token = csrf_token(rival)
    for path, form_data in (
        ("/console/access/pin", {"kind": "restock", "pin": "583921", "pin_again": "583921"}),
        ("/console/access/cards", {"uid": "04aabbccdd", "role": "technician"}),
    ):
        answer = rival.request.post(path, form={"csrf_token": token, "scope": CABINET_ID, **form_data})
        assert answer.status == 404
    answer = rival.request.post(
        "/console/access/pin",
        form={"csrf_token": token, "scope": "all", "kind": "restock", "pin": "583921", "pin_again": "583921"},
    )
    assert answer.status == 200
    page.reload()
    expect(row.get_by_test_id("version")).to_have_text(str(version + 3))  # untouched by the rival
