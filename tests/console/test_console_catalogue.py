"""The catalogue and media pages in a real browser against a real `kiosk-cloud serve`: a price changed and an
image ad uploaded reach a simulated cabinet's screen (downloaded into its cache under the right hash, and
played); a bad edit is refused with the message next to its field (in the user's language); stored HTML
stays text; another retailer sees nothing; axe finds no serious violation, in English and Chinese."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from firmware.cloud_config import MEDIA_DIR
from tests.e2e.conftest import RetailerApi, retailer_document

from .conftest import CABINET_ID, OWNER, RETAILER, Console, Retail, axe_violations, cabinet_with_owner, sign_in, status

POSTER = MEDIA_DIR / "ads" / "urban-glide.png"  # a real PNG the cabinet's screen can show


def configure(console: Console, document: dict[str, Any] | None = None) -> int:
    api = RetailerApi(console.url, console.tokens[RETAILER])
    return int(
        api.call("PUT", f"/v1/retailer/cabinets/{CABINET_ID}/config", document or retailer_document())["version"]
    )


def upload(page: Page, path: Path) -> str:
    page.goto("/console/media")
    page.get_by_label("File").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_test_id("media-stored")).to_be_visible()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_new_price_and_an_uploaded_ad_reach_the_cabinets_screen(console: Console, retail: Retail, page: Page) -> None:
    client = cabinet_with_owner(console, retail)
    sign_in(page, OWNER)
    digest = upload(page, POSTER)

    page.get_by_role("link", name="Catalogue").click()
    page.get_by_role("link", name=f"Catalogue of {CABINET_ID}").click()
    product = page.get_by_test_id("product-0")
    expect(product.get_by_label("SKU", exact=True)).to_have_value("SCOOT-S1")
    product.get_by_label("Price (EUR)").fill("459.50")
    page.get_by_role("button", name="Add an ad").click()
    ad = page.get_by_test_id("ad-0")
    ad.get_by_label("Picture or video").select_option(f"sha256:{digest}")
    ad.get_by_label("Advertises").select_option("BIKE-C7")
    ad.get_by_label("Duration (seconds)").fill("5")
    ad.get_by_label("Text over the ad (English)").fill("Ride the Cruiser")
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_test_id("saved")).to_contain_text("Saved as configuration version 2")
    expect(page.get_by_test_id("product-0").get_by_label("Price (EUR)")).to_have_value("459.50")

    # The cabinet downloads the picture into its cache, checks it, and plays it on the attract loop.
    cached = console.workdir / "data" / "media" / digest
    state = client.wait_for(
        lambda s: s["config_version"] == 2 and [a["path"] for a in s["ads"]] == [str(cached)],
        what="the uploaded ad playing",
    )
    assert state["screen"] == "attract" and state["ads"][0]["id"] == "ad-1"
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == digest
    client.tap("start")  # a tap on the ad opens the product it advertises
    state = client.wait_screen("product")
    assert state["product"] == "BIKE-C7" and state["price"] == "€1,299.00"
    client.tap("back")
    client.wait_screen("catalog")
    client.tap("product:SCOOT-S1")
    state = client.wait_for(lambda s: s["product"] == "SCOOT-S1", what="the scooter's page")
    assert state["price"] == "€459.50"


def test_a_bad_edit_is_refused_with_each_message_next_to_its_field(owner: Console, page: Page) -> None:
    version = configure(owner, {**retailer_document(), "ads": [
        {"id": "ad-c7", "kind": "image", "url": "ads/cruiser-c7.png", "duration_s": 6, "product": "BIKE-C7"}
    ]})  # fmt: skip
    sign_in(page, OWNER)
    page.goto(f"/console/catalogue/{CABINET_ID}")
    page.get_by_role("button", name="Add a variant").nth(2).click()  # KIDS-K1 gets a variant...
    kids = page.get_by_test_id("product-2")
    kids.get_by_label("SKU", exact=True).nth(1).fill("SCOOT-S1")  # ...under the scooter's SKU
    kids.get_by_label("Variant name (English)").fill("Red")
    page.get_by_test_id("product-1").get_by_label("Remove this product").check()  # BIKE-C7, which the ad advertises
    page.get_by_test_id("product-0").get_by_label("Price (EUR)").fill("4,99.0")
    page.get_by_role("button", name="Save").first.click()

    expect(page.get_by_test_id("problems")).to_contain_text("Nothing was saved")
    ad_product = page.locator("#a0-product")
    expect(ad_product).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#a0-product-error")).to_contain_text("advertises 'BIKE-C7', which this cabinet does not carry")
    expect(page.locator("#p0-price-error")).to_have_text("Type the price in the currency's units, e.g. 499.00.")
    expect(page.locator("#p1-v0-sku-error")).to_contain_text("'SCOOT-S1' is already the SKU of product 'SCOOT-S1'")
    expect(page.locator("#p1-v0-sku")).to_have_value("SCOOT-S1")  # what was typed stays in the form
    api = RetailerApi(owner.url, owner.tokens[RETAILER])
    assert api.call("GET", f"/v1/retailer/cabinets/{CABINET_ID}/config")["version"] == version, "nothing saved"


def test_stored_html_in_a_product_name_is_shown_as_text(owner: Console, page: Page) -> None:
    name = "<img src=x onerror=alert(1)><b>Bold</b>"
    document = retailer_document()
    document["products"][1] = {**document["products"][1], "name": name}
    configure(owner, document)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, OWNER)
    page.goto(f"/console/catalogue/{CABINET_ID}")
    product = page.get_by_test_id("product-1")
    expect(product.locator("legend")).to_have_text(f"Product 2: {name}")
    expect(product.get_by_label("Name (English)")).to_have_value(name)
    assert page.locator("main b, main img").count() == 0 and dialogs == []


def test_another_retailer_sees_neither_the_catalogue_nor_the_media(
    owner: Console, new_page: Callable[..., Page]
) -> None:
    configure(owner)
    page = new_page()
    sign_in(page, OWNER)
    digest = upload(page, POSTER)
    owner.add_retailer("other-shop")
    owner.add_user("other-shop", "owner@other.example")
    other = new_page()
    sign_in(other, "owner@other.example")
    assert status(other.goto(f"/console/catalogue/{CABINET_ID}")) == 404
    assert status(other.goto(f"/console/media/{digest}")) == 404
    assert status(page.goto(f"/console/media/{digest}")) == 200, "its own retailer sees it"
    other.goto("/console/catalogue")
    expect(other.locator("main")).not_to_contain_text(CABINET_ID)
    other.goto("/console/media")
    expect(other.get_by_text("Nothing uploaded yet.")).to_be_visible()
    csrf = other.locator("input[name=csrf_token]").first.get_attribute("value")
    answer = other.request.post(f"/console/catalogue/{CABINET_ID}", form={"csrf_token": str(csrf), "p0-sku": "X"})
    assert answer.status == 404, "nor can it save one"


def test_the_pages_in_both_languages_pass_axe(owner: Console, new_page: Callable[..., Page]) -> None:
    configure(owner)
    page = new_page(bypass_csp=True)  # only so that axe can be injected
    sign_in(page, OWNER)
    found: dict[str, list[dict[str, Any]]] = {}
    for lang in ("zh", "en"):
        page.context.add_cookies([{"name": "console_lang", "value": lang, "url": f"{owner.url}/console/"}])
        for path in ("/console/catalogue", f"/console/catalogue/{CABINET_ID}", "/console/media"):
            page.goto(path)
            if violations := axe_violations(page):
                found[f"{path} ({lang})"] = violations
    expect(page.get_by_role("heading", name="Media")).to_be_visible()
    page.context.add_cookies([{"name": "console_lang", "value": "zh", "url": f"{owner.url}/console/"}])
    page.goto(f"/console/catalogue/{CABINET_ID}")
    expect(page.get_by_role("heading", name=f"{CABINET_ID} 的商品目录")).to_be_visible()
    expect(page.get_by_test_id("product-0").get_by_label("名称 (中文)")).to_have_value("Volt S1 电动滑板车")
    page.get_by_test_id("product-0").get_by_label("价格（EUR）").fill("abc")
    page.locator("#p0-name-en").fill("")  # the validator's problems, in Chinese next to their fields
    page.locator("#p0-sku").fill("no spaces!")
    page.get_by_role("button", name="保存").first.click()
    expect(page.locator("#p0-price-error")).to_have_text("请按货币单位输入价格，例如 499.00。")
    expect(page.locator("#p0-name-en-error")).to_have_text("不能为空")
    expect(page.locator("#p0-sku-error")).to_have_text("'no spaces!' 不是 1 到 64 个字符（A-Z a-z 0-9 . _ -）")
    if violations := axe_violations(page):
        found["catalogue with errors (zh)"] = violations
    assert not found, found
