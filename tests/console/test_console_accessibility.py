"""axe-core (vendored, run inside Chromium) on every console page, in English and Chinese, on a desktop
and a phone: no serious or critical violation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .conftest import CABINET_ID, OWNER, Console, axe_violations, sign_in, status


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_no_serious_accessibility_violations_on_any_page(
    owner: Console, new_page: Callable[..., Page], phone: bool
) -> None:
    page = new_page(bypass_csp=True, phone=phone)  # bypass_csp: only so that axe can be injected
    found: dict[str, list[dict[str, Any]]] = {}

    def language(lang: str) -> None:
        page.context.add_cookies([{"name": "console_lang", "value": lang, "url": f"{owner.url}/console/"}])

    def scan(name: str) -> None:
        for lang in ("zh", "en"):  # English last: the test goes on in English
            language(lang)
            page.reload()
            if violations := axe_violations(page):
                found[f"{name} ({lang})"] = violations

    page.goto("/console/sign-in")
    scan("sign-in")
    sign_in(page, OWNER)
    scan("fleet")
    page.goto(f"/console/cabinets/{CABINET_ID}")
    scan("cabinet")
    page.goto("/console/users")
    scan("users")
    page.goto("/console/tokens")
    scan("tokens")
    page.goto("/console/payments")
    scan("payments")
    page.goto("/console/releases")
    scan("releases")
    assert status(page.goto("/console/cabinets/nope")) == 404
    scan("404")
    # The invited user's page and the pages that show a secret once (no reload: that would post again).
    page.goto("/console/users")
    page.get_by_label("Email").fill("new@velo-mall.example")
    page.get_by_role("button", name="Invite").click()
    if violations := axe_violations(page):
        found["users with the invitation link"] = violations
    link = page.get_by_test_id("invite-link").inner_text()
    page.goto("/console/tokens")
    page.get_by_label("Label").fill("ERP")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_test_id("new-token")).to_be_visible()
    if violations := axe_violations(page):
        found["tokens with a new token"] = violations
    page.goto(link)
    scan("invitation")
    assert not found, found
