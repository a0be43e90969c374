"""The consumer pages on a phone: a real `kiosk-cloud serve`, Debian's Chromium at a phone's size, in English
and Chinese; data put into the served database through the cloud's own store (conftest.seed_cloud)."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from cloud_stub.store import SqliteCloudStore
from sync_client.cabinet_config import link_code
from tests.console.conftest import axe_violations, status
from tests.consumer.conftest import CABINET, PHONE, RETAILER, Seeded, approve


def _no_horizontal_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page overflows a phone"


def test_a_scan_is_counted_and_sent_to_the_variants_store_page(seeded: Seeded, new_page: Callable[..., Page]) -> None:
    code = link_code(seeded.key, CABINET, "product", "SC-1", "SC-1-MINT")  # what the cabinet prints offline
    page = new_page(phone=True)
    for _ in range(2):  # the phone's browser follows the answer to the shop (not reachable from this test)
        answer = page.request.get(f"/q/{code}", max_redirects=0)
        assert answer.status == 303 and answer.headers["location"] == "https://shop.example.com/c?v=mint"
    counts = seeded.store.scan_counts(CABINET)
    assert [(c["code"], c["kind"], c["sku"], c["variant_sku"], c["scans"]) for c in counts] == [
        (code, "product", "SC-1", "SC-1-MINT", 2)
    ]


def test_an_unknown_code_is_a_friendly_404_in_both_languages(seeded: Seeded, new_page: Callable[..., Page]) -> None:
    page = new_page(phone=True)
    assert status(page.goto("/q/aaaaaaaaaa")) == 404
    assert page.get_by_role("heading", name="Link not found").is_visible()
    _no_horizontal_scroll(page)
    page.get_by_role("link", name="中文").click()
    assert page.get_by_role("heading", name="未找到链接").is_visible()
    assert seeded.store.scan_counts(CABINET) == [], "an unknown code counts nothing"


def test_a_garbage_link_is_a_short_400_page_in_both_languages(seeded: Seeded, new_page: Callable[..., Page]) -> None:
    """A link with a NUL (a bad scan, a mangled copy) gets the phone pages' own page, not the APIs' JSON."""
    page = new_page(phone=True)
    assert status(page.goto("/q/abc%00defgh")) == 400
    assert page.get_by_role("heading", name="This request cannot be read").is_visible()
    expect(page.get_by_role("alert")).to_contain_text("“code” holds a character that cannot be read")
    _no_horizontal_scroll(page)
    page.get_by_role("link", name="中文").click()
    assert page.get_by_role("heading", name="无法读取此请求").is_visible()
    expect(page.get_by_role("alert")).to_contain_text("“code”含有无法读取的字符")
    assert seeded.store.scan_counts(CABINET) == [], "a garbage link counts nothing"


def test_the_receipt_says_it_is_coming_then_shows_the_sale(seeded: Seeded, new_page: Callable[..., Page]) -> None:
    page = new_page(phone=True, locale="zh-CN")
    assert status(page.goto(f"/r/{seeded.receipt_token}")) == 200
    reference = "S-" + seeded.receipt_token[:8]
    assert page.get_by_role("heading", name="收据即将生成").is_visible()
    assert page.locator(".reference").inner_text() == reference
    approve(seeded)
    page.goto(f"/r/{seeded.receipt_token}?lang=en")
    assert page.get_by_role("heading", name="Receipt").is_visible()
    facts = page.locator(".facts").inner_text()
    for expected in (reference, "City scooter", "Mint", "499.00 EUR", "Alexanderplatz 1, Berlin", CABINET, "Paid"):
        assert expected in facts
    assert page.locator(".time").inner_text() == "2026-11-30 14:05 Europe/Berlin", "the cabinet's local time"
    assert "+49 30 1234 5678" in page.locator(".help").inner_text()
    _no_horizontal_scroll(page)
    page.get_by_role("link", name="中文").click()
    assert "城市滑板车" in page.locator(".facts").inner_text() and "已支付" in page.locator(".facts").inner_text()
    assert status(page.goto("/r/not-a-token")) == 404


def test_the_receipt_shows_a_reversed_payment(seeded: Seeded, new_page: Callable[..., Page]) -> None:
    approve(seeded)
    seeded.event(
        "payment.reversed", {"sale_id": seeded.sale_id, "receipt_no": "0042", "amount_cents": 49900, "currency": "EUR"}
    )
    page = new_page(phone=True)
    page.goto(f"/r/{seeded.receipt_token}")
    assert page.locator(".payment").inner_text() == "Reversed: you were not charged"


def test_repair_status_by_ticket_and_phone_digits_and_no_enumeration(
    seeded: Seeded, new_page: Callable[..., Page]
) -> None:
    page = new_page(phone=True)
    page.goto("/repair")
    _no_horizontal_scroll(page)
    page.get_by_label("Ticket number").fill("k7qx2m")  # as a person types it: lower case, no R-
    page.get_by_label("Last four digits of your phone number").fill(PHONE[-4:])
    page.get_by_role("button", name="Show the status").click()
    steps = page.locator(".timeline li").all_inner_texts()
    assert [s.split("\n")[0].strip() for s in steps] == ["Dropped off at the cabinet", "Collected by the store"]
    assert "2026-11-28 10:30 Europe/Berlin" in steps[0], "the cabinet's local time"
    wrong_phone = _look_up(new_page(phone=True), seeded.ticket, "9999")
    unknown_ticket = _look_up(new_page(phone=True), "R-ZZZZZZ", PHONE[-4:])
    assert wrong_phone == unknown_ticket == (404, "No ticket matches this number and phone. Check both and try again.")


def _look_up(page: Page, ticket: str, digits: str) -> tuple[int, str]:
    page.goto("/repair")
    page.get_by_label("Ticket number").fill(ticket)
    page.get_by_label("Last four digits of your phone number").fill(digits)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Show the status").click()
    return answer.value.status, page.get_by_role("alert").inner_text()


def test_repair_look_ups_are_rate_limited_per_ticket(seeded: Seeded, new_page: Callable[..., Page]) -> None:
    page = new_page(phone=True)
    for _ in range(5):
        assert _look_up(page, seeded.ticket, "0000")[0] == 404
    code, text = _look_up(page, seeded.ticket, PHONE[-4:])  # even the right pair must wait now
    assert code == 429 and text.startswith("Too many tries")


def test_the_locator_lists_the_nearest_cabinet_from_the_phones_position(
    seeded: Seeded, new_page: Callable[..., Page]
) -> None:
    seeded.store.remember_nonce(CABINET, "a poll", keep_s=60)  # the cabinet was just in touch: online
    page = new_page(phone=True)
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 52.5200, "longitude": 13.4050})
    page.goto("/near")
    page.get_by_role("button", name="Use my position").click()
    page.wait_for_url("**/near?**lat=52.52*")
    cabinet = page.locator(".cabinet")
    assert cabinet.count() == 1
    text = cabinet.inner_text()
    for expected in (
        "Alexanderplatz 1, Berlin",
        "0.6 km away",
        "Online now",
        "City scooter",
        "repair drop-off",
        "Mon/Tue/Wed/Thu/Fri/Sat 10:00–20:00",
    ):
        assert expected in text, text
    _no_horizontal_scroll(page)
    page.get_by_role("link", name="中文").click()
    assert "距离" in page.locator(".cabinet").inner_text()
    assert status(page.goto("/near?lat=91&lon=0")) == 400


def test_the_consumer_pages_pass_axe(seeded: Seeded, new_page: Callable[..., Page]) -> None:
    approve(seeded)
    page = new_page(phone=True, bypass_csp=True)
    for form in ("repair", "callback"):  # the forms a cabinet offers on a phone
        seeded.event("form.offered", {"token": form.ljust(22, "x"), "form": form, "valid_s": 300, **CALLBACK_OFFER})
    paths = ["/q/aaaaaaaaaa", "/q/abc%00defgh", f"/r/{seeded.receipt_token}", "/repair", "/near?lat=52.5&lon=13.4"]
    for path in [*paths, "/f/" + "repair".ljust(22, "x"), "/f/" + "callback".ljust(22, "x") + "?lang=zh"]:
        page.goto(path)
        assert axe_violations(page) == [], path


CALLBACK_OFFER = {
    "sku": "SC-1",
    "consent_version": "1",
    "consent": {"en": "I agree that my number is kept 30 days.", "zh": "我同意号码保存 30 天。"},
}


def test_the_call_back_form_on_a_phone_shows_the_cabinets_consent_and_checks_the_number(
    seeded: Seeded, new_page: Callable[..., Page]
) -> None:
    token = "c" * 22
    seeded.event("form.offered", {"token": token, "form": "callback", "valid_s": 300, **CALLBACK_OFFER})
    english_only = "e" * 22  # a cabinet whose consent is in English only
    offer = {**CALLBACK_OFFER, "consent": {"en": "I agree that my number is kept 30 days."}}
    seeded.event("form.offered", {"token": english_only, "form": "callback", "valid_s": 300, **offer})
    page = new_page(phone=True)
    assert status(page.goto(f"/f/{token}?lang=zh")) == 200
    assert page.locator("#consent").inner_text() == "我同意号码保存 30 天。"
    assert "城市滑板车" in page.locator("main").inner_text(), "the product by its name in the page's language"
    _no_horizontal_scroll(page)
    assert status(page.goto(f"/f/{english_only}?lang=zh")) == 200  # a language the cabinet has not: its first
    assert page.locator("#consent").inner_text() == "I agree that my number is kept 30 days."
    assert status(page.goto(f"/f/{token}?lang=en")) == 200
    page.get_by_label("Your phone number").fill("0170 55")
    page.get_by_role("button", name="I agree, call me").click()
    expect(page.get_by_role("alert")).to_have_text("7 to 15 digits, with + in front for an international number.")
    kinds = [c["kind"] for c in seeded.store.commands_of(RETAILER, cabinet_id=CABINET)]
    assert "callback_form" not in kinds, "a refused number sends nothing to the cabinet"
    page.get_by_label("Your phone number").fill("+49 170 555 0000")
    page.get_by_role("button", name="I agree, call me").click()
    expect(page.get_by_role("heading", name="Thank you. We will call you.")).to_be_visible()
    sent = {c["kind"]: c for c in SqliteCloudStore(seeded.store.path).commands_of(RETAILER, cabinet_id=CABINET)}
    assert sent["callback_form"]["args"] == {
        "token": token,
        "phone": "+491705550000",
        "consent_text": "I agree that my number is kept 30 days.",
        "consent_version": "1",
        "language": "en",
    }
    assert status(page.goto(f"/f/{token}")) == 410, "used: the link is closed"
