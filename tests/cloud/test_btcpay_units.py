"""BTCPay's webhook signature and events, the credentials, and the webhook parser fuzzed."""

from __future__ import annotations

import hashlib
import hmac
import json
from functools import cache
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloud_stub.payments.btcpay import BTCPay, Merchant, method_detail
from cloud_stub.payments.credentials import CredentialsError
from cloud_stub.payments.provider import ForgedNotification, Notification, PaymentStatus, ProviderError

STORE_ID = "9CiNzKoANXxmk5ayZngSXrHTiVvvgCrwrpFQd4m2K776"
SECRET = "whsec-3hT9kQ"


@cache
def provider() -> BTCPay:
    merchant = Merchant.parse(
        {"server_url": "https://btcpay.example", "store_id": STORE_ID}, {"api_key": "k", "webhook_secret": SECRET}
    )
    return BTCPay(merchant, "https://cloud.example/v1/payments/notify/btcpay/shop-a")


def signed(event: dict[str, Any], secret: str = SECRET) -> tuple[dict[str, str], bytes]:
    body = json.dumps(event).encode()
    return {"BTCPay-Sig": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}, body


def event(kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "deliveryId": "dlv-2",
        "webhookId": "wh-1",
        "originalDeliveryId": "dlv-1",
        "isRedelivery": True,
        "type": kind,
        "timestamp": 1764500000,
        "storeId": STORE_ID,
        "invoiceId": "inv-1",
        "metadata": {"orderId": "pay-0001", "itemDesc": "Cabinet 7"},
        **extra,
    }


@pytest.mark.parametrize(
    ("kind", "extra", "status", "detail"),
    [
        ("InvoiceCreated", {}, PaymentStatus.PENDING, "btc"),
        ("InvoiceProcessing", {"overPaid": False}, PaymentStatus.PENDING, "btc"),
        ("InvoiceSettled", {"manuallyMarked": False}, PaymentStatus.PAID, "btc"),
        ("InvoiceExpired", {"partiallyPaid": False}, PaymentStatus.CLOSED, "btc"),
        ("InvoiceInvalid", {"manuallyMarked": True}, PaymentStatus.CLOSED, "btc"),
        ("InvoiceReceivedPayment", {"afterExpiration": False, "paymentMethodId": "BTC-LN"}, PaymentStatus.PENDING,
         "btc:lightning"),
        ("InvoiceReceivedPayment", {"afterExpiration": True, "paymentMethodId": "BTC-CHAIN"}, PaymentStatus.PAID,
         "btc:onchain"),
    ],
)  # fmt: skip
def test_invoice_events(kind: str, extra: dict[str, Any], status: PaymentStatus, detail: str) -> None:
    notification = provider().verify_notification(*signed(event(kind, **extra)))
    assert notification.notification_id == "dlv-1"  # a redelivery is the same notification
    state = notification.state
    assert (state.order_id, state.status, state.provider_ref, state.method_detail) == (
        "pay-0001",
        status,
        "inv-1",
        detail,
    )


def test_the_signature_header_is_case_insensitive_and_a_first_delivery_is_its_own_id() -> None:
    first = {k: v for k, v in event("InvoiceSettled").items() if k != "originalDeliveryId"}
    headers, body = signed(first)
    notification = provider().verify_notification({"btcpay-sig": headers["BTCPay-Sig"].upper()}, body)
    assert notification.notification_id == "dlv-2"


def test_events_that_are_not_about_an_order_are_refused() -> None:
    for bad in (
        event("PayoutCreated"),
        {**event("InvoiceSettled"), "metadata": {}},
        event("InvoiceSettled", storeId="X"),
    ):
        with pytest.raises(ForgedNotification):
            provider().verify_notification(*signed(bad))


def test_method_details() -> None:
    assert [method_detail(m) for m in ("BTC-LN", "BTC-LightningNetwork", "BTC-CHAIN", "BTC", "LTC-CHAIN", None)] == [
        "btc:lightning",
        "btc:lightning",
        "btc:onchain",
        "btc:onchain",
        "ltc-chain",
        "btc",
    ]


def test_credentials_name_what_is_wrong() -> None:
    good = {"server_url": "https://btcpay.example/", "store_id": STORE_ID}
    secret = {"api_key": "k", "webhook_secret": SECRET}
    cases = [
        ({**good, "store_id": ""}, secret, "store_id: required"),
        ({**good, "store_id": "../x"}, secret, "store_id: expected"),
        ({**good, "server_url": "http://btcpay.example"}, secret, "server_url: expected an https"),
        (good, {"api_key": "k"}, "webhook_secret: required"),
    ]
    for settings, secrets_, message in cases:
        with pytest.raises(CredentialsError, match=message):
            Merchant.parse(settings, secrets_)
    assert Merchant.parse(good, secret).server_url == "https://btcpay.example"


def check(headers: dict[str, str], body: bytes) -> Notification | None:
    try:
        return provider().verify_notification(headers, body)
    except ForgedNotification:
        return None


@given(st.binary(max_size=300), st.text(max_size=80))
def test_any_bytes_and_signature_are_a_notification_or_forged(body: bytes, signature: str) -> None:
    assert check({"BTCPay-Sig": signature}, body) is None  # nobody guesses the HMAC


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@given(st.dictionaries(st.sampled_from(sorted(event("InvoiceSettled"))), JSON, max_size=5) | JSON)
def test_any_correctly_signed_json_is_a_notification_or_forged(changes: Any) -> None:
    document = {**event("InvoiceSettled"), **changes} if isinstance(changes, dict) else changes
    notification = check(*signed(document))
    if notification is not None:  # what verified is an invoice event of this store about an order
        assert isinstance(document, dict) and document["storeId"] == STORE_ID
        assert notification.state.order_id == document["metadata"]["orderId"]


class Answering(BTCPay):
    """The provider with BTCPay's answers given by the test (the HTTP part is tested against the emulator)."""

    def __init__(self, answer: Any) -> None:
        super().__init__(provider().merchant, provider().notify_url)
        self.answer_ = answer

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.answer_


INVOICE = st.fixed_dictionaries(
    {
        "id": JSON,
        "status": st.sampled_from(["New", "Processing", "Settled", "Expired", "Invalid", "Other"]) | JSON,
        "additionalStatus": st.sampled_from(["None", "PaidLate"]) | JSON,
        "amount": st.sampled_from(["12.50", "12.505", "-1", "1e3"]) | JSON,
        "currency": st.sampled_from(["EUR", "JPY", "eur"]) | JSON,
        "metadata": st.just({"orderId": "pay-0001"}) | JSON,
        "payments": JSON,
        "paymentMethodId": JSON,
    }
)


@given(st.lists(INVOICE, max_size=2) | JSON)
async def test_any_answer_to_a_query_is_a_state_or_a_provider_error(answer: Any) -> None:
    try:
        state = await Answering(answer).query("pay-0001")
    except ProviderError:
        return
    assert state.order_id == "pay-0001" and isinstance(state.amount_minor, int)
