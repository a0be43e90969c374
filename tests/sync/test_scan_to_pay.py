"""Scan-to-pay: the cabinet asks for a payment QR, the shopper pays on the phone, the cabinet sees it."""

from __future__ import annotations

import pytest

from sync_client.cloud_client import CloudRefused
from sync_client.scan_to_pay import ScanToPayClient
from tests.sync.conftest import Site


async def phone_pays(site: Site, payment_id: str) -> int:
    async with site.session.post(f"{site.url}/sim/payments/{payment_id}/pay") as resp:
        return resp.status


async def test_a_payment_goes_from_pending_to_paid_when_the_shopper_pays(site: Site) -> None:
    pay = ScanToPayClient(site.client)
    created = await pay.create("sale-1", 49900, "EUR")
    assert created.status == "pending" and created.amount_cents == 49900
    assert created.qr_text == f"{site.url}/pay/{created.payment_id}"
    async with site.session.get(created.qr_text) as page:  # what the phone opens
        assert page.status == 200 and "499.00 EUR" in await page.text()
    assert await pay.create("sale-1", 49900, "EUR") == created  # asked again after a lost answer: same payment
    assert await phone_pays(site, created.payment_id) == 200
    assert (await pay.status(created.payment_id)).status == "paid"
    assert (await pay.cancel(created.payment_id)).status == "paid"  # too late to cancel: stays paid
    assert await phone_pays(site, created.payment_id) == 409  # and is paid only once


async def test_a_cancelled_or_expired_payment_cannot_be_paid(site: Site) -> None:
    pay = ScanToPayClient(site.client)
    walked_away = await pay.create("sale-2", 1000, "EUR")
    assert (await pay.cancel(walked_away.payment_id)).status == "cancelled"
    assert await phone_pays(site, walked_away.payment_id) == 409

    slow = await pay.create("sale-3", 1000, "EUR")
    # Expiry is decided against the store's clock: read it once far in the future.
    expired = site.store.payment(slow.payment_id, now=10**10)
    assert expired["status"] == "expired"
    assert (await pay.status(slow.payment_id)).status == "expired"
    assert await phone_pays(site, slow.payment_id) == 409


async def test_the_same_sale_with_another_amount_is_a_conflict(site: Site) -> None:
    pay = ScanToPayClient(site.client)
    await pay.create("sale-4", 1000, "EUR")
    with pytest.raises(CloudRefused) as refused:
        await pay.create("sale-4", 2000, "EUR")
    assert refused.value.status == 409


async def test_a_paid_payment_is_refunded_once_and_an_unpaid_one_cannot_be(site: Site) -> None:
    pay = ScanToPayClient(site.client)
    paid = await pay.create("sale-5", 49900, "EUR")
    await phone_pays(site, paid.payment_id)
    assert (await pay.refund(paid.payment_id)).status == "refunded"
    assert (await pay.refund(paid.payment_id)).status == "refunded"  # asked again after a lost answer
    assert await phone_pays(site, paid.payment_id) == 409
    unpaid = await pay.create("sale-6", 1000, "EUR")
    with pytest.raises(CloudRefused) as refused:
        await pay.refund(unpaid.payment_id)
    assert refused.value.status == 409 and "pending" in refused.value.reason


async def test_the_payment_of_a_sale_is_found_by_its_sale_id(site: Site) -> None:
    pay = ScanToPayClient(site.client)
    created = await pay.create("sale-7", 1000, "EUR")
    assert await pay.find("sale-7") == created
    assert await pay.find("sale-never-paid") is None
