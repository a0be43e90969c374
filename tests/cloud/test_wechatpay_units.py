"""The parts of WeChat Pay's boundary that take outside bytes or money, alone: the notification verifier (fuzzed),
the emulator's Authorization parser (fuzzed), the fen conversion, and the sealing of a retailer's secrets."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud_stub.payments.credentials import CredentialsError, Sealer, masked
from cloud_stub.payments.emulators.wechatpay import AuthorizationError, parse_authorization
from cloud_stub.payments.provider import ForgedNotification, PaymentStatus, ProviderError
from cloud_stub.payments.rsa import sign, verify
from cloud_stub.payments.wechatpay import (
    Merchant,
    WeChatPay,
    aead_encrypt,
    authorization,
    from_fen,
    rfc3339,
    to_fen,
)
from tests.cloud.provider_rig import rsa_keys
from tests.cloud.wechatpay_rig import APIV3_KEY, MCHID, PLATFORM_SERIAL, merchant_settings

NOW = 1_764_500_000.0


@cache
def provider() -> WeChatPay:
    """One merchant's provider (loading an RSA key is slow: once per run)."""
    settings_ = merchant_settings("https://api.mch.weixin.qq.com")
    secrets_ = {k: settings_.pop(k) for k in ("private_key", "apiv3_key")}
    settings_.pop("provider")
    return WeChatPay(Merchant.parse(settings_, secrets_), "https://cloud.example/notify", now=lambda: NOW)


def notification(
    resource: dict[str, Any], *, event_type: str = "TRANSACTION.SUCCESS", key: str = APIV3_KEY
) -> tuple[dict[str, str], bytes]:
    """A notification as WeChat Pay sends it, signed with the platform key at NOW."""
    nonce = "fG3hJ8kL2mN4"
    envelope = {
        "id": "EV-2018022511223320873",
        "create_time": "2015-05-20T13:29:35+08:00",
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": "支付成功",
        "resource": {
            "original_type": "transaction",
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": aead_encrypt(key.encode(), nonce, json.dumps(resource).encode(), "transaction"),
            "associated_data": "transaction",
            "nonce": nonce,
        },
    }
    body = json.dumps(envelope).encode()
    timestamp, header_nonce = str(int(NOW)), "593BEC0C930BF1AFEB40B4A08C8FB242"
    headers = {
        "Wechatpay-Serial": PLATFORM_SERIAL,
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": header_nonce,
        "Wechatpay-Signature": sign(rsa_keys()[1], f"{timestamp}\n{header_nonce}\n{body.decode()}\n"),
    }
    return headers, body


PAID = {
    "mchid": MCHID,
    "appid": "wxd678efh567hg6787",
    "out_trade_no": "1217752501201407033233368018",
    "transaction_id": "1217752501201407033233368018",
    "trade_type": "NATIVE",
    "trade_state": "SUCCESS",
    "bank_type": "CMC",
    "success_time": "2018-06-08T10:34:56+08:00",
    "amount": {"total": 49900, "payer_total": 49900, "currency": "CNY", "payer_currency": "CNY"},
}


GENUINE = notification(PAID)


def test_a_genuine_notification_says_paid_with_the_amount_in_fen_and_the_method() -> None:
    headers, body = notification(PAID)
    verified = provider().verify_notification({k.lower(): v for k, v in headers.items()}, body)
    assert verified.notification_id == "EV-2018022511223320873"
    assert verified.state.status is PaymentStatus.PAID
    assert (verified.state.amount_minor, verified.state.method_detail) == (49900, "wechatpay:CMC")
    assert verified.state.provider_ref == PAID["transaction_id"]


@pytest.mark.parametrize(
    "resource, reason",
    [
        ({**PAID, "mchid": "1900000000"}, "mchid"),  # another merchant's payment
        ({**PAID, "amount": {"total": 499.0, "currency": "CNY"}}, "amount"),  # not whole fen
        ({**PAID, "amount": {"total": 49900, "currency": "USD"}}, "amount"),
        ({**PAID, "trade_state": "PAID_TWICE"}, "trade_state"),
    ],
)
def test_a_signed_notification_that_does_not_make_sense_is_refused(resource: dict[str, Any], reason: str) -> None:
    headers, body = notification(resource)
    with pytest.raises(ForgedNotification, match=reason):
        provider().verify_notification(headers, body)


def test_a_notification_encrypted_under_another_apiv3_key_is_refused() -> None:
    headers, body = notification(PAID, key="x" * 32)
    with pytest.raises(ForgedNotification, match="decrypt"):
        provider().verify_notification(headers, body)


def test_an_event_this_cloud_does_not_act_on_is_not_a_forgery() -> None:
    headers, body = notification(PAID, event_type="TRANSACTION.SOMETHING_NEW")
    assert provider().verify_notification(headers, body).state.status is PaymentStatus.PAID
    headers, body = notification(PAID, event_type="MARKETING.COUPON")
    with pytest.raises(ProviderError) as raised:
        provider().verify_notification(headers, body)
    assert not isinstance(raised.value, ForgedNotification)


def test_a_refund_notification_says_refunded() -> None:
    refund = {"mchid": MCHID, "out_trade_no": PAID["out_trade_no"], "refund_status": "SUCCESS", "refund_id": "50000"}
    headers, body = notification(refund, event_type="REFUND.SUCCESS")
    assert provider().verify_notification(headers, body).state.status is PaymentStatus.REFUNDED
    headers, body = notification({**refund, "refund_status": "ABNORMAL"}, event_type="REFUND.SUCCESS")
    with pytest.raises(ForgedNotification):
        provider().verify_notification(headers, body)


def test_the_answers_are_the_documented_ones() -> None:
    assert provider().answer(True).status in (200, 204)
    refused = provider().answer(False)
    assert refused.status >= 400 and json.loads(refused.body)["code"] == "FAIL"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    headers=st.dictionaries(
        st.sampled_from(["Wechatpay-Serial", "Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature", "X"]),
        st.text(max_size=80),
    ),
    body=st.binary(max_size=400),
)
def test_arbitrary_bytes_are_refused_as_forged_never_crash(headers: dict[str, str], body: bytes) -> None:
    with pytest.raises(ForgedNotification):
        provider().verify_notification(headers, body)


@settings(max_examples=200, deadline=None)
@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_any_changed_byte_of_a_genuine_notification_is_refused(position: int, flip: int) -> None:
    headers, body = GENUINE
    changed = bytearray(body)
    changed[position % len(body)] ^= flip
    with pytest.raises(ForgedNotification):
        provider().verify_notification(headers, bytes(changed))


@settings(max_examples=200, deadline=None)
@given(header=st.text(max_size=300))
def test_the_emulators_authorization_parser_refuses_junk_by_name(header: str) -> None:
    try:
        params = parse_authorization(header)
    except AuthorizationError as exc:
        assert str(exc).startswith("Authorization:")
    else:
        assert {"mchid", "nonce_str", "signature", "timestamp", "serial_no"} <= params.keys()


def test_the_merchants_authorization_header_parses_back_and_verifies() -> None:
    merchant_key = rsa_keys()[0]
    header = authorization(MCHID, "SERIAL1", merchant_key, "GET", "/v3/x?mchid=1", "", 1554208460, "NONCE1")
    params = parse_authorization(header)
    assert (params["mchid"], params["serial_no"], params["timestamp"], params["nonce_str"]) == (
        MCHID,
        "SERIAL1",
        "1554208460",
        "NONCE1",
    )
    assert verify(merchant_key.public_key(), "GET\n/v3/x?mchid=1\n1554208460\nNONCE1\n\n", params["signature"])


@given(st.integers(min_value=1, max_value=10**12))
def test_fen_pass_unchanged_both_ways(amount: int) -> None:
    assert to_fen(amount, "CNY") == amount
    assert from_fen(amount, "CNY") == amount


@pytest.mark.parametrize("amount, currency", [(0, "CNY"), (-1, "CNY"), (True, "CNY"), (1.5, "CNY"), (100, "EUR")])
def test_what_is_not_whole_positive_cny_fen_is_refused(amount: object, currency: str) -> None:
    with pytest.raises(ProviderError):
        to_fen(amount, currency)  # type: ignore[arg-type]


def test_time_expire_is_written_as_the_documentation_does() -> None:
    assert rfc3339(1528425296) == "2018-06-08T10:34:56+08:00"


def test_sealed_secrets_open_only_with_the_key_for_the_same_retailer_and_provider() -> None:
    sealer = Sealer.from_text("ab" * 32)
    sealed = sealer.seal("shop-a", "wechatpay", {"apiv3_key": APIV3_KEY})
    assert APIV3_KEY.encode() not in sealed
    assert sealer.open("shop-a", "wechatpay", sealed) == {"apiv3_key": APIV3_KEY}
    for retailer, name, other in (("shop-b", "wechatpay", sealer), ("shop-a", "alipay", sealer)):
        with pytest.raises(CredentialsError):
            other.open(retailer, name, sealed)
    with pytest.raises(CredentialsError, match="do not open"):
        Sealer.from_text("cd" * 32).open("shop-a", "wechatpay", sealed)


@pytest.mark.parametrize("text", ["", "zz" * 32, "c2hvcnQ=", "ab" * 31])
def test_a_bad_server_key_is_refused_naming_where_it_came_from(text: str) -> None:
    with pytest.raises(CredentialsError, match="KIOSK_CLOUD_SECRET_KEY"):
        Sealer.from_text(text)


def test_a_secret_is_masked_to_its_length_and_a_long_ones_last_four() -> None:
    assert masked("short") == "set (5 characters)"
    assert masked(APIV3_KEY) == f"set (32 characters, ending {APIV3_KEY[-4:]})"
