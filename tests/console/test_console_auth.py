"""Signing in to the retailer console as a person, in a real browser against a real `kiosk-cloud serve`:
sessions, CSRF, rate limits, open redirects, one retailer never seeing another's cabinets, invitations,
roles, and the API tokens managed from the console."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

from playwright.sync_api import Cookie, Page, expect

from cloud_stub.store import open_store
from sync_client.schema import Event, new_event_id, utc_iso

from .conftest import CABINET_ID, OWNER, RETAILER, Console, csrf_token, sign_in, status


def cookie(page: Page, name: str = "console_session") -> Cookie | None:
    return next((c for c in page.context.cookies() if c["name"] == name), None)


def test_sign_in_and_out_as_a_person(owner: Console, page: Page) -> None:
    errors: list[str] = []  # e.g. a script or style the page's Content-Security-Policy refused
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto("/console/fleet")
    expect(page).to_have_url(f"{owner.url}/console/sign-in?next=/console/fleet")
    sign_in(page, OWNER, path=page.url)
    expect(page).to_have_url(f"{owner.url}/console/fleet")
    expect(page.get_by_role("heading", name="Fleet")).to_be_visible()
    expect(page.get_by_text(f"Signed in as {OWNER} (owner)")).to_be_visible()
    expect(page.get_by_role("link", name="Fleet")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("link", name="API tokens")).not_to_have_attribute("aria-current", "page")
    session = cookie(page)
    assert session is not None and session["httpOnly"] and session["sameSite"] == "Lax", session

    assert page.evaluate("() => typeof htmx") == "object"  # the vendored htmx loaded under the policy
    assert not errors, errors

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{owner.url}/console/sign-in")
    page.goto("/console/fleet")
    expect(page).to_have_url(f"{owner.url}/console/sign-in?next=/console/fleet")


def test_the_session_id_changes_at_sign_in_and_the_old_one_is_worthless(
    owner: Console, page: Page, new_page: Callable[..., Page]
) -> None:
    page.goto("/console/sign-in")
    before = cookie(page)
    assert before is not None  # the sign-in form's own (anonymous) session
    sign_in(page, OWNER)
    after = cookie(page)
    assert after is not None and after["value"] != before["value"]
    expect(page.get_by_role("heading", name="Fleet")).to_be_visible()

    # An attacker who planted (or read) the id from before sign-in holds nothing.
    other = new_page()
    other.context.add_cookies([{"name": before["name"], "value": before["value"], "url": f"{owner.url}/console/"}])
    other.goto("/console/fleet")
    expect(other).to_have_url(f"{owner.url}/console/sign-in?next=/console/fleet")


def test_wrong_passwords_are_rate_limited(owner: Console, page: Page) -> None:
    for _ in range(3):
        sign_in(page, OWNER, "not the password")
        expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    # The right password now waits too: the account is held for a growing delay.
    response_status = []
    page.on("response", lambda r: response_status.append(r.status) if r.request.method == "POST" else None)
    sign_in(page, OWNER)
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-ins. Try again in")
    assert response_status == [429]
    page.goto("/console/fleet")
    expect(page).to_have_url(f"{owner.url}/console/sign-in?next=/console/fleet")


def test_a_post_without_the_csrf_token_is_refused(owner: Console, page: Page) -> None:
    sign_in(page, OWNER)
    page.goto("/console/tokens")
    refused = page.request.post(f"{owner.url}/console/tokens", form={"label": "forged"}, max_redirects=0)
    assert refused.status == 403
    assert "did not come from this console" in refused.text()
    wrong = page.request.post(f"{owner.url}/console/tokens", form={"label": "forged", "csrf_token": "x" * 43})
    assert wrong.status == 403
    page.reload()
    expect(page.get_by_role("row", name="forged")).to_have_count(0)
    # The same request with the session's token (as htmx sends it, in a header) goes through.
    sent = page.request.post(
        f"{owner.url}/console/tokens", form={"label": "genuine"}, headers={"X-CSRF-Token": csrf_token(page)}
    )
    assert sent.ok and sent.url == f"{owner.url}/console/tokens"  # POST/redirect/GET: the token on the GET
    page.reload()
    expect(page.get_by_role("rowheader", name="genuine")).to_be_visible()


def test_a_redirect_after_sign_in_never_leaves_the_console(owner: Console, page: Page) -> None:
    for target in ("https://evil.example/", "//evil.example/console/", "/\\evil.example", "javascript:alert(1)"):
        sign_in(page, OWNER, path=f"/console/sign-in?next={urllib.parse.quote(target)}")
        expect(page).to_have_url(f"{owner.url}/console/fleet")
        page.get_by_role("button", name="Sign out").click()
    sign_in(page, OWNER, path="/console/sign-in?next=/console/tokens")
    expect(page).to_have_url(f"{owner.url}/console/tokens")


def test_one_retailer_never_sees_anothers_cabinets(owner: Console, page: Page) -> None:
    owner.add_retailer("rival-bikes")
    owner.add_cabinet("rival-cab", "rival-bikes")
    owner.add_user("rival-bikes", "boss@rival.example")

    sign_in(page, "boss@rival.example")
    expect(page.get_by_role("link", name="rival-cab")).to_be_visible()
    expect(page.get_by_text(CABINET_ID)).to_have_count(0)
    assert status(page.goto(f"/console/cabinets/{CABINET_ID}")) == 404
    assert status(page.goto("/console/cabinets/no-such-cabinet")) == 404
    # Nor can the rival act on the first retailer's users or tokens by their ids.
    store = open_store(owner.db)
    try:
        owner_record = store.user_by_email(OWNER)
        assert owner_record is not None
    finally:
        store.close()
    page.goto("/console/users")
    form: dict[str, str | float | bool] = {"csrf_token": csrf_token(page)}
    assert page.request.post(f"{owner.url}/console/users/{owner_record['id']}/remove", form=form).status == 404
    assert page.request.post(f"{owner.url}/console/tokens/initial:{RETAILER}/revoke", form=form).status == 404
    assert page.request.post(f"{owner.url}/console/tokens/initial:{RETAILER}/rotate", form=form).status == 404
    assert api_status(owner.url, owner.tokens[RETAILER]) == 200
    # ...and the owner of the first sees theirs and not the rival's.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, OWNER)
    expect(page.get_by_role("link", name=CABINET_ID)).to_be_visible()
    expect(page.get_by_text("rival-cab")).to_have_count(0)
    assert status(page.goto("/console/cabinets/rival-cab")) == 404


def test_the_owner_invites_a_user_who_signs_in_with_the_invited_account(
    owner: Console, page: Page, new_page: Callable[..., Page]
) -> None:
    sign_in(page, OWNER)
    page.get_by_role("link", name="Users").click()
    page.get_by_label("Email").fill("Mia@Velo-Mall.example")
    page.get_by_label("Role").select_option("staff")
    page.get_by_role("button", name="Invite").click()
    link = page.get_by_test_id("invite-link").inner_text()
    expect(page.get_by_role("row", name="mia@velo-mall.example")).to_contain_text("invited")
    page.reload()  # the answer was a redirect: a reload invites nobody again and shows the link no more
    expect(page.get_by_test_id("invite-link")).to_have_count(0)
    expect(page.get_by_role("alert")).to_have_count(0)  # not "that email is taken" from a second invitation

    staff = new_page()
    staff.goto(link)
    expect(staff.get_by_text(f"Account mia@velo-mall.example at {RETAILER}")).to_be_visible()
    # The browser checks the length first (minlength); the server checks it whatever the browser did.
    short = staff.request.post(
        link, form={"password": "short", "password_again": "short", "csrf_token": csrf_token(staff)}
    )
    assert short.status == 400 and "at least 10 characters" in short.text()
    staff.get_by_label("Password", exact=True).fill("mias own long password")
    staff.get_by_label("Password again").fill("mias own long password")
    staff.get_by_role("button", name="Set password").click()
    expect(staff).to_have_url(f"{owner.url}/console/fleet")
    expect(staff.get_by_text("Signed in as mia@velo-mall.example (staff)")).to_be_visible()
    # The link was for once.
    assert status(staff.goto(link)) == 404

    staff.get_by_role("button", name="Sign out").click()
    sign_in(staff, "mia@velo-mall.example", "mias own long password")
    expect(staff.get_by_role("link", name=CABINET_ID)).to_be_visible()

    # The owner removes her: her session ends with it.
    page.goto("/console/users")
    expect(page.get_by_role("row", name="mia@velo-mall.example")).to_contain_text("active")
    page.once("dialog", lambda dialog: dialog.accept())  # htmx asks before removing
    page.get_by_role("button", name="Remove mia@velo-mall.example").click()
    expect(page.get_by_role("status")).to_have_text("mia@velo-mall.example was removed.")
    expect(page.get_by_role("row", name="mia@velo-mall.example")).to_have_count(0)
    staff.goto("/console/fleet")
    expect(staff).to_have_url(f"{owner.url}/console/sign-in?next=/console/fleet")


def test_staff_cannot_manage_users_or_tokens(owner: Console, page: Page) -> None:
    owner.add_user(RETAILER, "tom@velo-mall.example", role="staff")
    sign_in(page, "tom@velo-mall.example")
    expect(page.get_by_role("link", name="Users")).to_have_count(0)
    for path in ("/console/users", "/console/tokens"):
        assert status(page.goto(path)) == 403
    page.goto("/console/fleet")
    token = csrf_token(page)
    forged = page.request.post(
        f"{owner.url}/console/users", form={"email": "x@velo-mall.example", "role": "owner", "csrf_token": token}
    )
    assert forged.status == 403
    assert page.request.post(f"{owner.url}/console/tokens", form={"label": "x", "csrf_token": token}).status == 403


def api_status(url: str, token: str) -> int:
    request = urllib.request.Request(f"{url}/v1/retailer/cabinets", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            assert [c["id"] for c in json.loads(response.read())["cabinets"]] == [CABINET_ID]
            return int(response.status)
    except urllib.error.HTTPError as refused:
        return refused.code


def test_api_tokens_created_used_rotated_and_revoked_from_the_console(owner: Console, page: Page) -> None:
    sign_in(page, OWNER)
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("rowheader", name="initial")).to_be_visible()  # the one `retailer add` printed

    page.get_by_label("Label").fill("ERP export")
    page.get_by_role("button", name="Create").click()
    token = page.get_by_test_id("new-token").inner_text().strip()
    assert api_status(owner.url, token) == 200
    page.reload()  # shown once, and the reload creates no second token (the POST's answer was a redirect)
    expect(page.get_by_test_id("new-token")).to_have_count(0)
    expect(page.get_by_role("rowheader", name="ERP export")).to_have_count(1)

    page.get_by_role("button", name="Rotate ERP export").click()
    rotated = page.get_by_test_id("new-token").inner_text().strip()
    assert rotated != token
    assert api_status(owner.url, token) == 401
    assert api_status(owner.url, rotated) == 200

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke ERP export").click()
    expect(page.get_by_role("status")).to_have_text("The token ERP export was revoked.")
    assert api_status(owner.url, rotated) == 401

    initial = owner.tokens[RETAILER]
    assert api_status(owner.url, initial) == 200
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke initial").click()
    expect(page.get_by_role("status")).to_have_text("The token initial was revoked.")
    assert api_status(owner.url, initial) == 401


def test_html_a_cabinet_sent_is_shown_as_text(owner: Console, page: Page) -> None:
    """What cabinets send (an alarm's detail) reaches the page escaped, and the page's policy runs no
    script that is not one of the console's files."""
    store = open_store(owner.db)  # the same file the running server uses (WAL)
    try:
        payload = {"kind": "door_forced", "detail": "<img src=x onerror=\"document.title='owned'\"><b>bold</b>"}
        at = utc_iso(time.time())
        store.store_events(CABINET_ID, [Event(new_event_id(), CABINET_ID, 1, "alarm", at, 1.0, payload)])
    finally:
        store.close()
    sign_in(page, OWNER)
    page.goto(f"/console/cabinets/{CABINET_ID}")
    expect(page.get_by_role("cell", name=payload["detail"])).to_be_visible()
    assert page.locator("main img, main b").count() == 0
    assert page.title() != "owned"
    policy = page.evaluate("() => fetch(location.href).then(r => r.headers.get('content-security-policy'))")
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
