"""WeChat Pay API v3, Native payment: the merchant's side, written by hand on aiohttp and ``cryptography``.

Why not the ``wechatpayv3`` SDK (2.0.4): its gateway is a private attribute fixed to api.mch.weixin.qq.com (an
emulator on loopback can only be reached by patching it), its synchronous client blocks the event loop on
``requests`` and its asynchronous one brings ``httpx``; what we need of the API (five calls and the two
signature schemes) is small and written from the public documentation below, with the SDK's ``utils.py`` read
for the exact signing strings.

- Requests are signed ``WECHATPAY2-SHA256-RSA2048`` with the merchant's private key over
  ``METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n``; the answers and notifications carry
  ``Wechatpay-Timestamp/-Nonce/-Signature/-Serial`` and are verified with the platform's public key over
  ``TIMESTAMP\\nNONCE\\nBODY\\n`` (SHA256-RSA, PKCS#1 v1.5), within 5 minutes of now.
- A notification's ``resource`` is AEAD_AES_256_GCM under the merchant's APIv3 key.
- Amounts are integer fen; Native payment is domestic: CNY only.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cloud_stub.payments.credentials import CredentialsError, Field
from cloud_stub.payments.http import CHINA, HttpProvider
from cloud_stub.payments.provider import (
    CreatedPayment,
    ForgedNotification,
    Notification,
    NotificationAnswer,
    PaymentRequest,
    PaymentState,
    PaymentStatus,
    ProviderError,
    ProviderUnreachable,
)
from cloud_stub.payments.rsa import load_private_key, load_public_key, sign, verify

NAME = "wechatpay"
GATEWAY = "https://api.mch.weixin.qq.com"
SCHEME = "WECHATPAY2-SHA256-RSA2048"
TIMESTAMP_WINDOW_S = 300  # the documentation's 5 minutes, both for answers and notifications
APIV3_KEY_BYTES = 32
MAX_DESCRIPTION_BYTES = 127
# What the retailer enters: the public settings and the secrets (sealed at rest, never answered in clear).
FIELDS = (
    Field("mchid", secret=False),
    Field("appid", secret=False),
    Field("serial_no", secret=False),
    Field("platform_serial", secret=False),
    Field("platform_public_key", secret=False, multiline=True),
    Field("base_url", secret=False, required=False),
    Field("private_key", secret=True, multiline=True),
    Field("apiv3_key", secret=True),
)
# trade_state -> our status (query and notification): NOTPAY and USERPAYING still wait for the shopper.
TRADE_STATES = {
    "SUCCESS": PaymentStatus.PAID,
    "REFUND": PaymentStatus.REFUNDED,
    "NOTPAY": PaymentStatus.PENDING,
    "USERPAYING": PaymentStatus.PENDING,
    "CLOSED": PaymentStatus.CLOSED,
    "REVOKED": PaymentStatus.CLOSED,
    "PAYERROR": PaymentStatus.CLOSED,
}
# A close answered with one of these means the order was paid first: ask what happened instead.
PAID_CODES = frozenset({"ORDERPAID", "ORDER_PAID"})

log = logging.getLogger("cloud_stub.payments")


class WeChatPayError(ProviderError):
    """WeChat Pay answered an error: its HTTP status and documented ``code`` (PARAM_ERROR, ORDER_NOT_EXIST ...)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"WeChat Pay {status} {code}: {message}")
        self.status = status
        self.code = code


def to_fen(amount_minor: int, currency: str) -> int:
    """WeChat Pay's ``amount.total``: integer fen. CNY's minor unit is the fen, so the amount passes unchanged;
    another currency cannot be taken by Native payment (domestic)."""
    if currency != "CNY":
        raise ProviderError(f"currency: WeChat Pay Native payment takes CNY only, not {currency}")
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        raise ProviderError(f"amount: expected a positive whole number of fen, got {amount_minor!r}")
    return amount_minor


def from_fen(total: Any, currency: Any) -> int:
    """The minor units of a WeChat Pay amount; anything but whole CNY fen is refused (a forged or broken body)."""
    if currency not in (None, "CNY") or isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise ForgedNotification(f"amount: expected whole CNY fen, got {total!r} {currency!r}")
    return total


def rfc3339(epoch_s: float) -> str:
    """``time_expire`` as the documentation writes it: 2018-06-08T10:34:56+08:00."""
    return datetime.fromtimestamp(int(epoch_s), CHINA).isoformat()


def authorization(
    mchid: str,
    serial_no: str,
    private_key: RSAPrivateKey,
    method: str,
    path: str,
    body: str,
    timestamp: int,
    nonce: str,
) -> str:
    """The Authorization header of a merchant's request."""
    signature = sign(private_key, f"{method}\n{path}\n{timestamp}\n{nonce}\n{body}\n")
    return (
        f'{SCHEME} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
        f'timestamp="{timestamp}",serial_no="{serial_no}"'
    )


def aead_decrypt(apiv3_key: bytes, nonce: str, ciphertext: str, associated_data: str) -> bytes:
    return AESGCM(apiv3_key).decrypt(
        nonce.encode(), base64.b64decode(ciphertext, validate=True), associated_data.encode()
    )


def aead_encrypt(apiv3_key: bytes, nonce: str, plaintext: bytes, associated_data: str) -> str:
    return base64.b64encode(AESGCM(apiv3_key).encrypt(nonce.encode(), plaintext, associated_data.encode())).decode()


@dataclass(frozen=True)
class Merchant:
    """A retailer's WeChat Pay credentials, parsed (check them with ``Merchant.parse`` before storing)."""

    mchid: str
    appid: str
    serial_no: str
    platform_serial: str
    platform_key: RSAPublicKey
    private_key: RSAPrivateKey
    apiv3_key: bytes
    base_url: str = GATEWAY

    @classmethod
    def parse(cls, settings: Mapping[str, str], secrets_: Mapping[str, str]) -> Merchant:
        apiv3_key = secrets_["apiv3_key"].encode()
        if len(apiv3_key) != APIV3_KEY_BYTES:
            raise CredentialsError(f"apiv3_key: expected {APIV3_KEY_BYTES} characters, got {len(apiv3_key)}")
        base_url = settings.get("base_url") or GATEWAY
        if not base_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise CredentialsError("base_url: expected an https:// URL")
        return cls(
            mchid=settings["mchid"],
            appid=settings["appid"],
            serial_no=settings["serial_no"],
            platform_serial=settings["platform_serial"],
            platform_key=load_public_key(settings["platform_public_key"], "platform_public_key"),
            private_key=load_private_key(secrets_["private_key"], "private_key"),
            apiv3_key=apiv3_key,
            base_url=base_url.rstrip("/"),
        )


class WeChatPay(HttpProvider[Merchant]):
    """The PaymentProvider for one merchant; ``notify_url`` is where WeChat Pay posts its notifications."""

    name = NAME

    # --- the calls --------------------------------------------------------------------------------
    async def create(self, request: PaymentRequest) -> CreatedPayment:
        body = {
            "appid": self.merchant.appid,
            "mchid": self.merchant.mchid,
            "description": _description(request.description),
            "out_trade_no": request.order_id,
            "time_expire": rfc3339(request.expires_at),
            "notify_url": self.notify_url,
            "amount": {"total": to_fen(request.amount_minor, request.currency), "currency": "CNY"},
        }
        answer = await self._call("POST", "/v3/pay/transactions/native", body)
        code_url = answer.get("code_url")
        if not isinstance(code_url, str) or not code_url:
            raise ProviderError("WeChat Pay answered no code_url")
        return CreatedPayment(qr_text=code_url, provider_ref=None)

    async def query(self, order_id: str) -> PaymentState:
        answer = await self._call(
            "GET", f"/v3/pay/transactions/out-trade-no/{order_id}?mchid={self.merchant.mchid}", None
        )
        try:
            return self._transaction_state(answer)
        except ForgedNotification as exc:
            raise ProviderError(f"WeChat Pay query answer: {exc}") from None

    async def close(self, order_id: str) -> None:
        await self._call("POST", f"/v3/pay/transactions/out-trade-no/{order_id}/close", {"mchid": self.merchant.mchid})

    async def refund(self, order_id: str, refund_id: str, amount_minor: int, total_minor: int) -> None:
        body = {
            "out_trade_no": order_id,
            "out_refund_no": refund_id,
            "reason": "not collected" if amount_minor == total_minor else "partial",
            "amount": {
                "refund": to_fen(amount_minor, "CNY"),
                "total": to_fen(total_minor, "CNY"),
                "currency": "CNY",
            },
        }
        answer = await self._call("POST", "/v3/refund/domestic/refunds", body)
        if answer.get("status") not in ("SUCCESS", "PROCESSING"):  # PROCESSING: accepted, the money is on its way
            raise ProviderError(f"WeChat Pay refund {refund_id}: status {answer.get('status')!r}")

    # --- notifications -----------------------------------------------------------------------------
    def verify_notification(self, headers: dict[str, str], body: bytes) -> Notification:
        text = self._verified(headers, body, "notification")
        try:
            envelope = json.loads(text)
        except ValueError:
            raise ForgedNotification("body: not JSON") from None
        if not isinstance(envelope, dict):
            raise ForgedNotification("body: expected an object")
        notification_id, event_type = envelope.get("id"), envelope.get("event_type")
        resource = envelope.get("resource")
        if not isinstance(notification_id, str) or not notification_id or not isinstance(event_type, str):
            raise ForgedNotification("id, event_type: required strings")
        if not isinstance(resource, dict) or resource.get("algorithm") != "AEAD_AES_256_GCM":
            raise ForgedNotification("resource.algorithm: expected AEAD_AES_256_GCM")
        parts = [resource.get(k, "" if k == "associated_data" else None) for k in ("nonce", "ciphertext")]
        associated = resource.get("associated_data", "")
        if not all(isinstance(p, str) for p in (*parts, associated)):
            raise ForgedNotification("resource: nonce, ciphertext and associated_data must be strings")
        try:
            plain = aead_decrypt(self.merchant.apiv3_key, str(parts[0]), str(parts[1]), str(associated))
            resource_data = json.loads(plain)
        except (InvalidTag, ValueError, binascii.Error):
            raise ForgedNotification("resource: does not decrypt with the APIv3 key") from None
        if not isinstance(resource_data, dict):
            raise ForgedNotification("resource: expected an object")
        if event_type.startswith("TRANSACTION."):
            return Notification(notification_id, self._transaction_state(resource_data))
        if event_type == "REFUND.SUCCESS":
            return Notification(notification_id, self._refund_state(resource_data))
        raise ProviderError(f"event_type {event_type[:40]!r}: not one this cloud acts on")

    def answer(self, accepted: bool) -> NotificationAnswer:
        """The documented answers: 200/204 without a body to accept; 4XX/5XX with code FAIL to be sent again."""
        if accepted:
            return NotificationAnswer(204, b"", "application/json")
        body = json.dumps({"code": "FAIL", "message": "失败"}, ensure_ascii=False).encode()
        return NotificationAnswer(400, body, "application/json")

    # --- inside ----------------------------------------------------------------------------------------
    def _verified(self, headers: Mapping[str, str], body: bytes, what: str) -> str:
        """The body's text once its platform signature, serial and timestamp verify; ForgedNotification else."""
        lower = {k.lower(): v for k, v in headers.items()}
        names = ("wechatpay-serial", "wechatpay-signature", "wechatpay-timestamp", "wechatpay-nonce")
        serial, signature, timestamp, nonce = (lower.get(n) for n in names)
        if not (serial and signature and timestamp and nonce):
            raise ForgedNotification(f"{what}: Wechatpay-Serial/-Signature/-Timestamp/-Nonce headers required")
        if serial != self.merchant.platform_serial:
            raise ForgedNotification(f"{what}: Wechatpay-Serial {serial[:64]!r} is not the configured platform key")
        if not timestamp.isdigit() or abs(self.now() - int(timestamp[:12])) > TIMESTAMP_WINDOW_S:
            raise ForgedNotification(f"{what}: Wechatpay-Timestamp {timestamp[:20]!r} outside 5 minutes of now")
        try:
            text = body.decode()
        except UnicodeDecodeError:
            raise ForgedNotification(f"{what}: body is not UTF-8") from None
        if not verify(self.merchant.platform_key, f"{timestamp}\n{nonce}\n{text}\n", signature):
            raise ForgedNotification(f"{what}: Wechatpay-Signature does not verify with the platform key")
        return text

    def _transaction_state(self, data: Mapping[str, Any]) -> PaymentState:
        if data.get("mchid") != self.merchant.mchid:
            raise ForgedNotification(f"mchid: {str(data.get('mchid'))[:32]!r} is not this merchant")
        order_id, trade_state = data.get("out_trade_no"), data.get("trade_state")
        if not isinstance(order_id, str) or trade_state not in TRADE_STATES:
            raise ForgedNotification("out_trade_no and a known trade_state are required")
        amount = data.get("amount")
        total = from_fen(amount.get("total"), amount.get("currency")) if isinstance(amount, dict) else None
        transaction_id, bank_type = data.get("transaction_id"), data.get("bank_type")
        return PaymentState(
            order_id=order_id,
            status=TRADE_STATES[str(trade_state)],
            provider_ref=transaction_id if isinstance(transaction_id, str) else None,
            amount_minor=total,
            method_detail=f"wechatpay:{bank_type}" if isinstance(bank_type, str) and bank_type else "wechatpay",
        )

    def _refund_state(self, data: Mapping[str, Any]) -> PaymentState:
        if data.get("mchid") != self.merchant.mchid:
            raise ForgedNotification(f"mchid: {str(data.get('mchid'))[:32]!r} is not this merchant")
        order_id = data.get("out_trade_no")
        if not isinstance(order_id, str) or data.get("refund_status") != "SUCCESS":
            raise ForgedNotification("out_trade_no and refund_status SUCCESS are required")
        transaction_id = data.get("transaction_id")
        return PaymentState(
            order_id, PaymentStatus.REFUNDED, transaction_id if isinstance(transaction_id, str) else None
        )

    async def _call(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":")) if body is not None else ""
        headers = {
            "Authorization": authorization(
                self.merchant.mchid,
                self.merchant.serial_no,
                self.merchant.private_key,
                method,
                path,
                text,
                int(self.now()),
                secrets.token_hex(16).upper(),
            ),
            "Accept": "application/json",
            "User-Agent": "smart-cabinet-cloud",
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        what = f"WeChat Pay {method} {path.split('?')[0]}"
        reply = await self._send(what, method, self.merchant.base_url + path, data=text.encode(), headers=headers)
        try:
            answer_text = self._verified(reply.headers, reply.body, "answer")
        except ForgedNotification as exc:
            # An answer we cannot trust is no answer: the call may be repeated (every call here is idempotent).
            raise ProviderUnreachable(f"WeChat Pay {path.split('?')[0]}: {exc}") from None
        data: Any = json.loads(answer_text) if answer_text else {}
        if reply.status >= 400:
            code = data.get("code", "") if isinstance(data, dict) else ""
            message = data.get("message", "") if isinstance(data, dict) else ""
            raise WeChatPayError(reply.status, str(code), str(message))
        return data if isinstance(data, dict) else {}


def _description(text: str) -> str:
    """At most 127 bytes of UTF-8, cut on a character boundary."""
    encoded = text.encode()[:MAX_DESCRIPTION_BYTES]
    return encoded.decode(errors="ignore") or "-"
