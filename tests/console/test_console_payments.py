"""The console's scan-to-pay page over HTTP, against the real cloud and the WeChat Pay emulator: the provider's
secrets shown masked only, a paid payment refunded by an owner through WeChat Pay once (POST, redirect, the
notice shown once), staff and other retailers kept out, and the credentials form."""

from __future__ import annotations

import re

import aiohttp

from cloud_stub.console.auth import hash_password
from tests.cloud.provider_rig import private_pem, public_pem, rsa_keys
from tests.cloud.wechatpay_rig import APIV3_KEY, MCHID, Rig, merchant_settings, rig
from tests.polling import until

__all__ = ["rig"]  # the fixture
PASSWORD = "correct horse battery"
OWNER, STAFF, OTHER_OWNER = "owner@shop-a.example", "staff@shop-a.example", "owner@shop-b.example"


async def signed_in(rig: Rig, email: str) -> aiohttp.ClientSession:
    session = aiohttp.ClientSession(base_url=rig.url, cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.get("/console/sign-in") as response:
        token = csrf(await response.text())
    async with session.post("/console/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token}) as r:
        assert r.url.path == "/console/fleet", await r.text()
    return session


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def add_users(rig: Rig) -> None:
    hashed = hash_password(PASSWORD)
    rig.store.add_user("shop-a", OWNER, "owner", password_hash=hashed)
    rig.store.add_user("shop-a", STAFF, "staff", password_hash=hashed)
    rig.store.add_user("shop-b", OTHER_OWNER, "owner", password_hash=hashed)


async def paid_payment(rig: Rig, sale_id: str) -> str:
    created = await rig.pay.create(sale_id, 49900, "CNY")
    await rig.phone_pays(created.qr_text)
    await until(lambda: rig.store.payment(created.payment_id)["status"] == "paid", what="paid")  # type: ignore[index]
    return created.payment_id


async def test_an_owner_refunds_a_paid_wechat_payment_once_from_the_payments_page(rig: Rig) -> None:
    add_users(rig)
    payment_id = await paid_payment(rig, "sale-c1")
    owner = await signed_in(rig, OWNER)
    try:
        async with owner.get("/console/payments") as response:
            page = await response.text()
        row = re.search(rf'<tr data-payment="{payment_id}">(.*?)</tr>', page, re.S)
        assert row and "WeChat Pay · wechatpay:OTHERS" in row.group(1) and ">paid<" in row.group(1)
        assert f"/console/payments/{payment_id}/refund" in row.group(1)
        async with owner.post(f"/console/payments/{payment_id}/refund", data={"csrf_token": csrf(page)}) as response:
            assert response.history and response.history[0].status == 303  # POST, then the page by GET
            page = await response.text()
        assert f"Payment {payment_id} was refunded through the provider." in page
        row = re.search(rf'<tr data-payment="{payment_id}">(.*?)</tr>', page, re.S)
        assert row and "refunded" in row.group(1) and OWNER in row.group(1) and "/refund" not in row.group(1)
        async with owner.get("/console/payments") as response:
            assert "was refunded through the provider" not in await response.text()  # shown once
        order = rig.wechat.orders[(MCHID, payment_id)]
        assert [r.refund for r in order.refunds.values()] == [49900]
        assert (await rig.pay.status(payment_id)).status == "refunded"
    finally:
        await owner.close()


async def test_staff_see_payments_but_cannot_refund_and_another_retailer_finds_none(rig: Rig) -> None:
    add_users(rig)
    payment_id = await paid_payment(rig, "sale-c2")
    for email, page_has_it, refund_status in ((STAFF, True, 403), (OTHER_OWNER, False, 404)):
        session = await signed_in(rig, email)
        try:
            async with session.get("/console/payments") as response:
                page = await response.text()
            assert (payment_id in page) is page_has_it
            assert f"/console/payments/{payment_id}/refund" not in page
            async with session.post(f"/console/payments/{payment_id}/refund", data={"csrf_token": csrf(page)}) as r:
                assert r.status == refund_status, email
        finally:
            await session.close()
    assert rig.store.payment(payment_id)["status"] == "paid"  # type: ignore[index]
    assert not rig.wechat.orders[(MCHID, payment_id)].refunds


async def test_the_provider_form_shows_secrets_masked_and_keeps_them_when_left_empty(rig: Rig) -> None:
    add_users(rig)
    owner = await signed_in(rig, OWNER)
    try:
        async with owner.get("/console/payments") as response:
            page = await response.text()
        assert f"set (32 characters, ending {APIV3_KEY[-4:]})" in page and APIV3_KEY not in page
        assert "PRIVATE KEY" not in page and private_pem(rsa_keys()[0]).splitlines()[2] not in page
        form = merchant_settings(rig.wechat.url)  # the form's hidden provider is the configured one
        assert '<input type="hidden" name="provider" value="wechatpay">' in page
        form |= {"private_key": "", "apiv3_key": "", "appid": "wx0000000000000001", "csrf_token": csrf(page)}
        async with owner.post("/console/payments/provider", data=form) as response:
            page = await response.text()
        assert "The payment provider was saved." in page and "wx0000000000000001" in page
        assert f"ending {APIV3_KEY[-4:]}" in page  # the secret left empty was kept
        async with owner.post(
            "/console/payments/provider", data={**form, "apiv3_key": "short", "csrf_token": csrf(page)}
        ) as r:
            assert r.status == 422 and "Not saved: apiv3_key: expected 32 characters" in await r.text()
    finally:
        await owner.close()


async def choose(session: aiohttp.ClientSession, provider: str) -> str:
    """The owner picks a provider in the form's choice (a GET): the page with that provider's fields."""
    async with session.get("/console/payments", params={"provider": provider}) as response:
        assert response.status == 200
        return await response.text()


async def test_an_owner_switches_to_alipay_then_btcpay_entering_each_providers_fields(rig: Rig) -> None:
    add_users(rig)
    alipay_key, app_key, _ = rsa_keys()
    owner = await signed_in(rig, OWNER)
    try:
        page = await choose(owner, "alipay")
        assert '<input type="hidden" name="provider" value="alipay">' in page
        assert 'name="app_id"' in page and '<textarea id="pp-alipay_public_key"' in page
        assert re.search(r'<textarea id="pp-app_private_key" name="app_private_key"[^>]*></textarea>', page)  # empty
        assert 'name="mchid"' not in page and "Leave empty to keep the stored one." not in page  # not WeChat's
        form = {
            "provider": "alipay",
            "app_id": "2021000000000077",
            "alipay_public_key": public_pem(alipay_key),
            "gateway": "http://127.0.0.1:9/gateway.do",
            "app_private_key": private_pem(app_key),
            "csrf_token": csrf(page),
        }
        async with owner.post("/console/payments/provider", data=form) as response:
            page = await response.text()
        assert "The payment provider was saved." in page
        shown = re.search(r'<dl data-testid="payment-provider">(.*?)</dl>', page, re.S)
        assert shown and "<dd>Alipay</dd>" in shown.group(1) and "2021000000000077" in shown.group(1)
        assert re.search(r'data-testid="secret-app_private_key">set \(\d+ characters, ending ', shown.group(1))
        assert "PRIVATE KEY" not in page and "PUBLIC KEY" not in shown.group(1)
        assert f"{rig.url}/v1/payments/notify/alipay/shop-a</code>" in shown.group(1)

        page = await choose(owner, "btcpay")
        form = {
            "provider": "btcpay",
            "server_url": "http://btcpay.example.com",  # not https: refused, naming the field
            "store_id": "StoreA1",
            "api_key": "api-key-0123456789abcdef",
            "webhook_secret": "whsec-a",
            "csrf_token": csrf(page),
        }
        async with owner.post("/console/payments/provider", data=form) as response:
            assert response.status == 422
            page = await response.text()
        assert "Not saved: server_url: expected an https:// URL" in page
        assert '<input type="hidden" name="provider" value="btcpay">' in page  # the form stays BTCPay's
        form |= {"server_url": "https://btcpay.example.com", "csrf_token": csrf(page)}
        async with owner.post("/console/payments/provider", data=form) as response:
            page = await response.text()
        shown = re.search(r'<dl data-testid="payment-provider">(.*?)</dl>', page, re.S)
        assert shown and "<dd>BTCPay Server</dd>" in shown.group(1) and "StoreA1" in shown.group(1)
        assert 'data-testid="secret-api_key">set (24 characters, ending cdef)' in shown.group(1)
        assert 'data-testid="secret-webhook_secret">set (7 characters)' in shown.group(1)
        assert "api-key-0123456789abcdef" not in page and "whsec-a" not in page
        assert f"{rig.url}/v1/payments/notify/btcpay/shop-a</code>" in shown.group(1)
        owner.cookie_jar.update_cookies({"console_lang": "zh"})
        async with owner.get("/console/payments") as response:
            page = await response.text()
        assert "Webhook 密钥" in page and "通知地址" in page and "支付宝" in page  # the choice, in Chinese
    finally:
        await owner.close()
    status, view = await rig.retailer("GET", "/v1/retailer/payment-provider")
    assert status == 200 and view["provider"] == "btcpay" and view["settings"]["store_id"] == "StoreA1"
