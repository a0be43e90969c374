""" "Continue on your phone" in a phone-sized real browser: a simulated cabinet (a real `kiosk run --sim` process,
tapped through its control API) shows the form's QR; Debian's Chromium through Playwright, at a phone's
viewport with touch and a phone's user agent, opens that link on a real `kiosk-cloud serve` and fills the
form in by tapping and typing; the cabinet's screen follows it and finishes the journey (a repair ticket, a
call-back that reaches the cloud with the consent the phone showed)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from cloud_stub.store import SqliteCloudStore
from kiosk_ui.i18n import CALLBACK_CONSENT_VERSION
from kiosk_ui.i18n import t as kiosk_text
from tests.console.conftest import TIMEOUT_MS, status
from tests.console.conftest import browser as browser
from tests.e2e.conftest import CABINET_ID, RETAILER, retailer_document
from tests.polling import eventually

LINK_BASE = "https://consumer.example"  # what the QR says; the phone talks to the local cloud instead
PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)
RETENTION_DAYS = 14


@pytest.fixture
def phone(browser: Browser, cloud: tuple[Any, str]) -> Iterator[Callable[[str], Page]]:
    """A phone's browser on the cloud: 390x844, touch, a phone's user agent, in ``locale``."""
    contexts: list[BrowserContext] = []

    def open_page(locale: str) -> Page:
        context = browser.new_context(
            base_url=cloud[1],
            viewport={"width": 390, "height": 844},
            device_scale_factor=3,
            is_mobile=True,
            has_touch=True,
            user_agent=PHONE_UA,
            locale=locale,
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def widget(state: dict[str, Any], widget_id: str) -> dict[str, Any]:
    return next((w for w in state["widgets"] if w["id"] == widget_id), {})


def configured(retail: Any, **document: Any) -> Any:
    api, start = retail
    client = start()
    version = client.state()["config_version"]
    api.call("PUT", f"/v1/retailer/cabinets/{CABINET_ID}/config", {**retailer_document(), **document})
    client.wait_for(lambda s: s["config_version"] != version, what="the consumer pages reached the cabinet")
    return client


def open_on_phone(client: Any, page: Page, path_lang: str) -> str:
    """Tap "Continue on your phone", read the QR, open its link on the phone (once the offer reached the
    cloud with the cabinet's next upload). Returns the link's path."""
    client.tap("phone_offer")
    state = client.wait_for(lambda s: widget(s, "phone_qr"), what="the phone's QR")
    link = str(widget(state, "phone_qr")["qr"])
    assert link.startswith(LINK_BASE + "/f/")
    path = link.removeprefix(LINK_BASE)
    eventually(lambda: status(page.goto(f"{path}?lang={path_lang}")), lambda code: code == 200, 15.0, "the form")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page overflows a phone"
    return path


def test_the_repair_form_filled_in_on_a_phone_finishes_the_ticket_on_the_cabinet(
    retail: Any, phone: Callable[[str], Page]
) -> None:
    client = configured(retail, link_base=LINK_BASE)
    client.tap("repair")
    client.wait_for(lambda s: widget(s, "phone_offer"), what="the phone offered")
    page = phone("zh-CN")
    open_on_phone(client, page, "zh")
    client.wait_for(
        lambda s: "Continuing on the phone" in widget(s, "phone_status").get("label", ""),
        what="the cabinet shows the phone has the form",
    )
    page.get_by_label("车架号（见车辆铭牌）").tap()
    page.get_by_label("车架号（见车辆铭牌）").fill("wbapk7c55ba123456")
    page.get_by_label("您的姓名").fill("李雷")
    page.get_by_label("您的手机号码").fill("138 0013 8000")
    page.get_by_label("故障类型").select_option("tyre")
    page.get_by_label("故障描述").fill("后轮爆胎")
    page.get_by_role("button", name="同意并提交").tap()
    expect(page.get_by_role("heading", name="已发送到柜机")).to_be_visible()

    state = client.wait_for(lambda s: widget(s, "ticket"), what="the ticket on the cabinet")
    ticket = widget(state, "ticket")["label"]
    client.tap("done")
    client.wait_for(lambda s: s["outbox"]["pending"] == 0, what="the ticket uploaded")
    api, _ = retail
    (recorded,) = api.call("GET", f"/v1/retailer/cabinets/{CABINET_ID}/repair-tickets")["tickets"]
    assert (recorded["ticket_id"], recorded["name"], recorded["phone"]) == (ticket, "李雷", "13800138000")
    assert recorded["detail"] == "tyre: 后轮爆胎"


def test_the_call_back_asked_on_a_phone_finishes_on_the_cabinet_with_the_consent_shown(
    retail: Any, cloud: Any, phone: Callable[[str], Page]
) -> None:
    client = configured(retail, link_base=LINK_BASE, callback_retention_days=RETENTION_DAYS)
    client.tap("start")
    client.tap("product:SCOOT-S1")
    client.wait_screen("product")
    client.tap("callback")
    client.wait_screen("callback")
    page = phone("zh-CN")
    open_on_phone(client, page, "zh")
    consent = kiosk_text("callback.consent", "zh", days=RETENTION_DAYS)
    assert page.locator("#consent").inner_text() == consent, "the consent exactly as the cabinet shows it"
    expect(page.get_by_text(f"同意书版本 {CALLBACK_CONSENT_VERSION}")).to_be_visible()
    client.wait_for(
        lambda s: "Continuing on the phone" in widget(s, "phone_status").get("label", ""),
        what="the cabinet shows the phone has the form",
    )

    page.get_by_label("您的手机号码").fill("12")
    page.get_by_role("button", name="我同意，请回电").tap()
    expect(page.get_by_role("alert")).to_have_text("请输入 7 到 15 位数字，国际号码前加 +。")
    page.get_by_label("您的手机号码").fill("+86 138 0013 8000")
    page.get_by_role("button", name="我同意，请回电").tap()
    expect(page.get_by_role("heading", name="谢谢，我们会给您回电。")).to_be_visible()

    client.wait_for(lambda s: widget(s, "sent"), what="the cabinet thanks the shopper")
    client.wait_for(lambda s: s["outbox"]["pending"] == 0, what="the request uploaded")
    store = SqliteCloudStore(cloud[0] / "cloud.db")
    try:
        (arrived,) = store.callbacks_of(RETAILER)
        assert (arrived["phone"], arrived["sku"], arrived["language"]) == ("+8613800138000", "SCOOT-S1", "zh")
        assert (arrived["consent_text"], arrived["consent_version"]) == (consent, CALLBACK_CONSENT_VERSION)
        sent = eventually(
            lambda: {c["kind"]: c for c in store.commands_of(RETAILER, cabinet_id=CABINET_ID)},
            lambda sent: all(c["acked_at"] for c in sent.values()),
            10.0,
            "the commands acknowledged",
        )
    finally:
        store.close()
    assert sent["callback_form"]["result"].startswith("ok: call-back ")
    assert sent["callback_form"]["args"] == {}, "the number leaves the command queue once delivered"
    assert status(page.goto(page.url)) == 410, "a used link is closed"
