"""Alipay's signing rules on the documentation's own example, the signed answer's text, the credentials, and the
notification parser fuzzed."""

from __future__ import annotations

import json
from functools import cache
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloud_stub.payments.alipay import (
    Alipay,
    Merchant,
    response_node_text,
    sign_content,
    signed_request,
)
from cloud_stub.payments.credentials import CredentialsError
from cloud_stub.payments.emulators.alipay import AlipayEmulator, AppAccount, Order
from cloud_stub.payments.provider import ForgedNotification, Notification, ProviderError, ProviderUnreachable
from cloud_stub.payments.rsa import sign, verify
from tests.cloud.provider_rig import private_pem, public_pem, rsa_keys

APP_ID = "2021000000000001"

# The open platform's "how to sign" example (自行实现签名): its request parameters and the string to sign it
# gives for them. The example's key is not published, so its sign value cannot be checked, only the string.
DOCUMENTED_BIZ = (
    '{"button":[{"actionParam":"ZFB_HFCZ","actionType":"out","name":"话费充值"},{"name":"查询","subButton":'
    '[{"actionParam":"ZFB_YECX","actionType":"out","name":"余额查询"},{"actionParam":"ZFB_LLCX","actionType":'
    '"out","name":"流量查询"},{"actionParam":"ZFB_HFCX","actionType":"out","name":"话费查询"}]},{"actionParam":'
    '"http://m.alipay.com","actionType":"link","name":"最新优惠"}]}'
)
DOCUMENTED_REQUEST = {
    "app_id": "2014072300007148",
    "method": "alipay.mobile.public.menu.add",
    "charset": "GBK",
    "sign_type": "RSA2",
    "timestamp": "2014-07-24 03:07:50",
    "biz_content": DOCUMENTED_BIZ,
    "sign": "e9zEAe4TTQ4LPLQvETPoLGXTiURcxiAKfMVQ6Hrrsx2hmyIEGvSfAQzbLxHrhyZ48wOJXTsD4FPnt+YGdK57+fP1BCbf9rIVycfj",
    "version": "1.0",
}
DOCUMENTED_STRING = (
    f"app_id=2014072300007148&biz_content={DOCUMENTED_BIZ}&charset=GBK&method=alipay.mobile.public.menu.add"
    "&sign_type=RSA2&timestamp=2014-07-24 03:07:50&version=1.0"
)


@cache
def provider() -> Alipay:
    keys = rsa_keys()
    settings = {"app_id": APP_ID, "alipay_public_key": public_pem(keys[1]), "gateway": "http://127.0.0.1:9"}
    return Alipay(Merchant.parse(settings, {"app_private_key": private_pem(keys[0])}), "http://127.0.0.1:9/n")


def test_the_documented_string_to_sign() -> None:
    assert sign_content(DOCUMENTED_REQUEST, drop=("sign",)) == DOCUMENTED_STRING
    # A notification drops sign_type too; an empty parameter is not signed.
    notification = {**DOCUMENTED_REQUEST, "notify_id": ""}
    assert sign_content(notification, drop=("sign", "sign_type")) == DOCUMENTED_STRING.replace("&sign_type=RSA2", "")


def test_a_signed_request_verifies_with_the_apps_public_key_only() -> None:
    merchant_key, alipay_key, _ = rsa_keys()
    params = {k: v for k, v in DOCUMENTED_REQUEST.items() if k != "sign"}
    signed = signed_request(params, merchant_key)
    assert verify(merchant_key.public_key(), DOCUMENTED_STRING, signed["sign"])
    assert not verify(alipay_key.public_key(), DOCUMENTED_STRING, signed["sign"])
    assert not verify(merchant_key.public_key(), DOCUMENTED_STRING + "&x=1", signed["sign"])
    assert not verify(merchant_key.public_key(), DOCUMENTED_STRING, "not base64!")


def test_the_signed_text_of_an_answer_is_found_exactly() -> None:
    inner = '{"code":"10000","msg":"Success","qr_code":"https://qr.alipay.com/x}{\\"","out_trade_no":"a{b"}'
    raw = f'{{"alipay_trade_precreate_response" : {inner},"sign":"abc"}}'
    assert response_node_text(raw, "alipay_trade_precreate_response") == inner
    assert json.loads(inner)["qr_code"] == 'https://qr.alipay.com/x}{"'
    assert response_node_text('{"other_response":{}}', "alipay_trade_precreate_response") is None
    assert response_node_text('{"alipay_trade_precreate_response":"x"}', "alipay_trade_precreate_response") is None
    assert response_node_text('{"alipay_trade_precreate_response":{"a":1', "alipay_trade_precreate_response") is None


def test_an_answer_is_read_from_the_signed_text_not_a_second_copy() -> None:
    _, alipay_key, _ = rsa_keys()
    genuine = '{"code":"10000","msg":"Success","out_trade_no":"p1","qr_code":"https://qr.alipay.com/genuine"}'
    forged = '{"code":"10000","msg":"Success","out_trade_no":"p1","qr_code":"https://evil.example/"}'
    node = "alipay_trade_precreate_response"
    raw = f'{{"{node}":{genuine},"sign":"{sign(alipay_key, genuine)}","{node}":{forged}}}'
    answer = provider()._verified_answer("alipay.trade.precreate", raw.encode())
    assert answer["qr_code"] == "https://qr.alipay.com/genuine"
    with pytest.raises(ProviderUnreachable, match="does not verify"):
        provider()._verified_answer("alipay.trade.precreate", raw.replace("genuine", "changed", 1).encode())
    with pytest.raises(ProviderUnreachable, match="without a sign"):
        provider()._verified_answer("alipay.trade.precreate", f'{{"{node}":{genuine}}}'.encode())


def test_credentials_name_what_is_wrong() -> None:
    keys = rsa_keys()
    good = {"app_id": APP_ID, "alipay_public_key": public_pem(keys[1])}
    secret = {"app_private_key": private_pem(keys[0])}
    cases = [
        ({**good, "app_id": ""}, secret, "app_id: required"),
        ({**good, "app_id": "abc"}, secret, "app_id: expected"),
        ({**good, "alipay_public_key": "-----BEGIN PUBLIC KEY-----\nxx"}, secret, "alipay_public_key: not a PEM"),
        (good, {"app_private_key": "nope"}, "app_private_key: not a PEM"),
        (good, {}, "app_private_key: required"),
        ({**good, "gateway": "http://example.com/gateway.do"}, secret, "gateway: expected an https"),
    ]
    for settings, secrets_, message in cases:
        with pytest.raises(CredentialsError, match=message):
            Merchant.parse(settings, secrets_)
    assert Merchant.parse(good, secret).gateway == "https://openapi.alipay.com/gateway.do"


def genuine_notification() -> dict[str, str]:
    keys = rsa_keys()
    emulator = AlipayEmulator(keys[1])
    emulator.add_app(AppAccount(APP_ID, keys[0].public_key()))
    order = Order(APP_ID, "pay_0001", "Cabinet 7", 1234, "", None, "https://qr.alipay.com/x", scanned=True)
    order.trade_no, order.trade_status, order.paid_at, order.fund_channel = (
        "2026113022001",
        "TRADE_SUCCESS",
        0,
        "PCREDIT",
    )
    return emulator.notification(order)


GENUINE = genuine_notification()


def check(body: bytes) -> Notification | None:
    try:
        return provider().verify_notification({}, body)
    except ForgedNotification:
        return None


def test_the_genuine_notification_verifies() -> None:
    notification = check(urlencode(GENUINE).encode())
    assert notification is not None and notification.notification_id == GENUINE["notify_id"]
    assert (notification.state.amount_minor, notification.state.method_detail) == (1234, "alipay:huabei")


@given(st.binary(max_size=400))
def test_any_bytes_are_a_notification_or_forged(body: bytes) -> None:
    check(body)  # anything else (KeyError, UnicodeError, ValueError...) fails the test


@given(st.dictionaries(st.sampled_from(sorted(GENUINE)), st.text(max_size=30), max_size=8), st.booleans())
def test_a_changed_genuine_notification_never_verifies(changes: dict[str, str], drop_one: bool) -> None:
    params = {**GENUINE, **changes}
    if drop_one and changes:
        params.pop(next(iter(changes)))
    notification = check(urlencode(params).encode())
    # It verifies exactly when the signed string, the sign and its type are as Alipay made them.
    drop = ("sign", "sign_type")
    same = sign_content(params, drop=drop) == sign_content(GENUINE, drop=drop) and params.get("sign") == GENUINE["sign"]
    assert (notification is not None) == (same and params.get("sign_type") == "RSA2")


NODE = "alipay_trade_query_response"
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=4), st.booleans())
def test_the_signed_text_is_found_in_any_answer(inner: dict[str, object], ascii_only: bool) -> None:
    text = json.dumps(inner, ensure_ascii=ascii_only, separators=(",", ":"))
    raw = json.dumps({"x": "{", NODE: "placeholder", "sign": "s"}, ensure_ascii=ascii_only)
    raw = raw.replace('"placeholder"', text)
    assert response_node_text(raw, NODE) == text


@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_answer_bytes_are_an_answer_or_a_provider_error(raw: bytes) -> None:
    try:
        provider()._verified_answer("alipay.trade.query", raw)
    except ProviderError:
        pass  # unreachable (unreadable, unsigned success, bad sign) or Alipay's refusal
