"""Alipay face-to-face payment (当面付, "precreate": a QR code the shopper scans), written by hand on aiohttp.

Why no SDK: ``python-alipay-sdk`` (3.4) keeps its gateway in a private attribute fixed to openapi.alipay.com
(or the sandbox), calls it with blocking ``urlopen`` and brings pycryptodomex and pyOpenSSL; the official
``alipay-sdk-python`` (3.7) takes a ``server_url`` but connects with ``http.client`` on port 80/443 whatever
the URL says (an emulator on an ephemeral loopback port cannot be reached), blocks the event loop, and brings
``rsa`` and some 14,000 generated modules. What we need is four calls and one signature scheme, written from the
open platform's documentation:

- Every call is a form POST to the gateway with the public parameters (``app_id``, ``method``, ``format=JSON``,
  ``charset=utf-8``, ``sign_type=RSA2``, ``timestamp`` "yyyy-MM-dd HH:mm:ss" in Beijing time, ``version=1.0``,
  ``notify_url``) and ``biz_content`` (JSON). ``sign`` is SHA256withRSA (PKCS#1 v1.5, base64) with the app's
  private key over every other non-empty parameter sorted by name as ``k=v`` joined by ``&``, not URL-encoded.
- The answer is ``{"<method with _>_response": {...}, "sign": "..."}``; the sign covers the exact text of the
  ``..._response`` value and is verified with Alipay's public key. An error of the gateway itself (code 40002
  isv.invalid-signature, ...) may come unsigned: it is taken as a refusal only, never as a payment state.
- Asynchronous notifications are form POSTs; their sign covers every parameter but ``sign`` and ``sign_type``,
  sorted, URL-decoded. The merchant answers the text ``success``; anything else is sent again (4 m, 10 m, 10 m,
  1 h, 2 h, 6 h, 15 h).
- Amounts are yuan with two decimals (``total_amount``), exactly from and to integer fen; CNY only.

Calls used: alipay.trade.precreate, alipay.trade.query, alipay.trade.close (and alipay.trade.cancel for an order
whose code was never scanned: Alipay has no trade for it yet, so close answers ACQ.TRADE_NOT_EXIST), and
alipay.trade.refund (``out_request_no`` makes a retry idempotent).

Credentials (``FIELDS``; ``Merchant.parse(settings, secrets)`` raises CredentialsError naming the field):
settings ``app_id``, ``alipay_public_key`` (PEM), optional ``gateway`` (default the production gateway); secret
``app_private_key`` (PEM, PKCS#1 or PKCS#8). ``Alipay(merchant, notify_url, now=, timeout_s=)`` is the provider.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from cloud_stub.payments.amounts import AmountError, from_decimal_text, to_decimal_text
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

NAME = "alipay"
GATEWAY = "https://openapi.alipay.com/gateway.do"
# What the retailer enters: the public settings and the secret (sealed at rest, never answered in clear).
FIELDS = (
    Field("app_id", secret=False),
    Field("alipay_public_key", secret=False, multiline=True),
    Field("gateway", secret=False, required=False),
    Field("app_private_key", secret=True, multiline=True),
)
SUCCESS_CODE = "10000"
MAX_SUBJECT_CHARS = 256
# trade_status -> our status. TRADE_FINISHED: paid and no longer refundable (still paid).
TRADE_STATUSES = {
    "WAIT_BUYER_PAY": PaymentStatus.PENDING,
    "TRADE_SUCCESS": PaymentStatus.PAID,
    "TRADE_FINISHED": PaymentStatus.PAID,
    "TRADE_CLOSED": PaymentStatus.CLOSED,
}
# fund_bill_list's fundChannel -> the method detail's second part (PCREDIT is Huabei, Alipay's credit line).
FUND_CHANNELS = {"ALIPAYACCOUNT": "balance", "PCREDIT": "huabei", "BANKCARD": "bankcard", "PCARD": "bankcard"}


class AlipayError(ProviderError):
    """Alipay answered an error: its ``code`` (40004 Business Failed ...) and ``sub_code`` (ACQ.TRADE_NOT_EXIST ...)."""

    def __init__(self, method: str, code: str, msg: str, sub_code: str, sub_msg: str) -> None:
        super().__init__(f"Alipay {method}: {code} {msg} {sub_code} {sub_msg}".strip())
        self.code, self.sub_code = code, sub_code


def to_yuan(amount_minor: int, currency: str) -> str:
    """``total_amount``: yuan with two decimals, from fen. Face-to-face payment is domestic: CNY only."""
    if currency != "CNY":
        raise ProviderError(f"currency: Alipay face-to-face payment takes CNY only, not {currency[:8]}")
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        raise ProviderError(f"amount: expected a positive whole number of fen, got {amount_minor!r}")
    return to_decimal_text(amount_minor, "CNY")


def from_yuan(text: object) -> int:
    """The fen of an Alipay amount; AmountError for anything but a plain decimal of at most two places."""
    return from_decimal_text(text, "CNY")


def sign_content(params: Mapping[str, str], *, drop: tuple[str, ...]) -> str:
    """The documented string to sign: the non-empty parameters but ``drop``, sorted by name, ``k=v&k=v``."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in drop and params[k] != "")


def signed_request(params: dict[str, str], private_key: RSAPrivateKey) -> dict[str, str]:
    """The request's parameters with ``sign`` (requests sign everything but ``sign``, ``sign_type`` included)."""
    return {**params, "sign": sign(private_key, sign_content(params, drop=("sign",)))}


def response_node_text(raw: str, node: str) -> str | None:
    """The exact text of ``node``'s JSON object inside the answer (what Alipay signed), or None. JSON strings are
    skipped, so a brace inside a value does not end the object early."""
    key_at = raw.find(f'"{node}"')
    if key_at < 0:
        return None
    rest = raw[key_at + len(node) + 2 :]
    start = len(raw) - len(rest.lstrip().removeprefix(":").lstrip())
    if raw[key_at + len(node) + 2 : start].strip() != ":" or not raw.startswith("{", start):
        return None
    depth, in_string, escaped = 0, False, False
    for i in range(start, len(raw)):
        ch = raw[i]
        if escaped:
            escaped = False
        elif in_string:
            escaped, in_string = ch == "\\", ch != '"'
        elif ch == '"':
            in_string = True
        elif ch in "{}":
            depth += 1 if ch == "{" else -1
            if depth == 0:
                return raw[start : i + 1]
    return None


def beijing_time(epoch_s: float) -> str:
    return datetime.fromtimestamp(int(epoch_s), CHINA).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class Merchant:
    """A retailer's Alipay application, parsed (check it with ``Merchant.parse`` before storing)."""

    app_id: str
    alipay_key: RSAPublicKey
    private_key: RSAPrivateKey
    gateway: str = GATEWAY

    @classmethod
    def parse(cls, settings: Mapping[str, str], secrets_: Mapping[str, str]) -> Merchant:
        for f in FIELDS:
            if f.required and not (secrets_ if f.secret else settings).get(f.name):
                raise CredentialsError(f"{f.name}: required")
        app_id = settings["app_id"]
        if not app_id.isdigit() or len(app_id) > 32:
            raise CredentialsError(f"app_id: expected Alipay's digits (like 2014072300007148), got {app_id[:40]!r}")
        gateway = settings.get("gateway") or GATEWAY
        if not gateway.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise CredentialsError("gateway: expected an https:// URL")
        return cls(
            app_id=app_id,
            alipay_key=load_public_key(settings["alipay_public_key"], "alipay_public_key"),
            private_key=load_private_key(secrets_["app_private_key"], "app_private_key", " (RSA2 is SHA256withRSA)"),
            gateway=gateway,
        )


class Alipay(HttpProvider[Merchant]):
    """The PaymentProvider for one Alipay application; ``notify_url`` is where Alipay posts its notifications."""

    name = NAME

    # --- the calls --------------------------------------------------------------------------------
    async def create(self, request: PaymentRequest) -> CreatedPayment:
        biz = {
            "out_trade_no": request.order_id,
            "total_amount": to_yuan(request.amount_minor, request.currency),
            "subject": request.description[:MAX_SUBJECT_CHARS] or "-",
            "product_code": "FACE_TO_FACE_PAYMENT",
            "time_expire": beijing_time(request.expires_at),
        }
        answer = await self._call("alipay.trade.precreate", biz)
        qr_code = answer.get("qr_code")
        if not isinstance(qr_code, str) or not qr_code:
            raise ProviderError("Alipay alipay.trade.precreate answered no qr_code")
        return CreatedPayment(qr_text=qr_code, provider_ref=None)  # trade_no comes once the shopper scans

    async def query(self, order_id: str) -> PaymentState:
        try:
            answer = await self._call("alipay.trade.query", {"out_trade_no": order_id})
        except AlipayError as exc:
            if exc.sub_code == "ACQ.TRADE_NOT_EXIST":  # precreated, not scanned yet: Alipay has no trade yet
                return PaymentState(order_id, PaymentStatus.PENDING)
            raise
        try:
            return self._state(answer, order_id)
        except ForgedNotification as exc:
            raise ProviderError(f"Alipay alipay.trade.query answer: {exc}") from None

    async def close(self, order_id: str) -> None:
        try:
            await self._call("alipay.trade.close", {"out_trade_no": order_id})
        except AlipayError as exc:
            if exc.sub_code == "ACQ.TRADE_STATUS_ERROR" and (await self.query(order_id)).status is PaymentStatus.CLOSED:
                return  # closed already (idempotent)
            if exc.sub_code != "ACQ.TRADE_NOT_EXIST":
                raise  # paid already: the caller asks what happened (the payment wins)
            # Never scanned: only a cancel stops the code from being paid later.
            answer = await self._call("alipay.trade.cancel", {"out_trade_no": order_id})
            if answer.get("action") == "refund":  # paid in between: the cancel gave the money back
                raise ProviderError(f"Alipay alipay.trade.cancel {order_id}: paid meanwhile and refunded") from None

    async def refund(self, order_id: str, refund_id: str, amount_minor: int, total_minor: int) -> None:
        if amount_minor > total_minor:
            raise ProviderError(f"refund: {amount_minor} is more than the payment's {total_minor}")
        biz = {
            "out_trade_no": order_id,
            "refund_amount": to_yuan(amount_minor, "CNY"),
            "out_request_no": refund_id,
            "refund_reason": "not collected" if amount_minor == total_minor else "partial",
        }
        await self._call("alipay.trade.refund", biz)  # code 10000: refunded (fund_change N on a repeat)

    # --- notifications -----------------------------------------------------------------------------
    def verify_notification(self, headers: dict[str, str], body: bytes) -> Notification:
        try:
            text = body.decode()
            pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict")
        except (UnicodeDecodeError, ValueError):
            raise ForgedNotification("body: not a UTF-8 form") from None
        params = dict(pairs)
        if len(params) != len(pairs):
            raise ForgedNotification("body: a parameter given twice")
        signature, sign_type = params.get("sign"), params.get("sign_type")
        if not signature or sign_type != "RSA2":
            raise ForgedNotification("sign and sign_type=RSA2 are required")
        if not verify(self.merchant.alipay_key, sign_content(params, drop=("sign", "sign_type")), signature):
            raise ForgedNotification("sign does not verify with Alipay's public key")
        if params.get("app_id") != self.merchant.app_id:
            raise ForgedNotification(f"app_id {params.get('app_id', '')[:32]!r} is not this application")
        notify_id, order_id = params.get("notify_id"), params.get("out_trade_no")
        if not notify_id or not order_id:
            raise ForgedNotification("notify_id and out_trade_no are required")
        return Notification(notify_id, self._state(params, order_id))

    def answer(self, accepted: bool) -> NotificationAnswer:
        """Alipay stops sending once it reads ``success``; anything else (``fail``) is sent again later."""
        return NotificationAnswer(200, b"success" if accepted else b"fail", "text/plain")

    # --- inside ----------------------------------------------------------------------------------------
    def _state(self, data: Mapping[str, Any], order_id: str) -> PaymentState:
        """A trade's state from a query answer or a notification (same field names)."""
        if data.get("out_trade_no") != order_id:
            raise ForgedNotification("out_trade_no: not the order asked about")
        status = TRADE_STATUSES.get(str(data.get("trade_status")))
        if status is None:
            raise ForgedNotification(f"trade_status: unknown {str(data.get('trade_status'))[:32]!r}")
        try:
            amount = from_yuan(data["total_amount"]) if "total_amount" in data else None
            refunded = from_yuan(data["refund_fee"]) if data.get("refund_fee") else 0
        except AmountError as exc:
            raise ForgedNotification(str(exc)) from None
        if status is PaymentStatus.CLOSED and amount and refunded == amount:
            status = PaymentStatus.REFUNDED  # closed by a full refund (the notification carries refund_fee)
        trade_no = data.get("trade_no")
        return PaymentState(
            order_id=order_id,
            status=status,
            provider_ref=trade_no if isinstance(trade_no, str) and trade_no else None,
            amount_minor=amount,
            method_detail=_method_detail(data.get("fund_bill_list")),
        )

    async def _call(self, method: str, biz: dict[str, str]) -> dict[str, Any]:
        params = {
            "app_id": self.merchant.app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": beijing_time(self.now()),
            "version": "1.0",
            "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
        }
        if method == "alipay.trade.precreate":
            params["notify_url"] = self.notify_url
        signed = signed_request(params, self.merchant.private_key)
        reply = await self._send(f"Alipay {method}", "POST", self.merchant.gateway, data=signed)
        if reply.status != 200:
            raise ProviderUnreachable(f"Alipay {method}: HTTP {reply.status}")
        return self._verified_answer(method, reply.body)

    def _verified_answer(self, method: str, raw: bytes) -> dict[str, Any]:
        node = method.replace(".", "_") + "_response"
        try:
            text = raw.decode()
            document = json.loads(text)
            signed = response_node_text(text, node)
            # The answer is read from the very text the sign covers (a second key of the same name is ignored).
            answer = json.loads(signed) if signed is not None and isinstance(document, dict) else None
        except (UnicodeDecodeError, ValueError):
            answer = None
        if not isinstance(answer, dict):
            # An answer we cannot read is no answer: every call here is idempotent and may be repeated.
            raise ProviderUnreachable(f"Alipay {method}: answer without {node}")
        code = str(answer.get("code", ""))
        signature = document.get("sign")
        if isinstance(signature, str):
            if not verify(self.merchant.alipay_key, str(signed), signature):
                raise ProviderUnreachable(f"Alipay {method}: answer's sign does not verify with Alipay's public key")
        elif code == SUCCESS_CODE:
            raise ProviderUnreachable(f"Alipay {method}: a success answer without a sign")
        if code != SUCCESS_CODE:
            fields = (str(answer.get(k, "")) for k in ("msg", "sub_code", "sub_msg"))
            raise AlipayError(method, code, *fields)
        return answer


def _method_detail(fund_bill_list: object) -> str:
    """``alipay:<channel>`` of the largest part of the payment (a query answers a list, a notification its JSON)."""
    bills = fund_bill_list
    if isinstance(bills, str):
        try:
            bills = json.loads(bills)
        except ValueError:
            return NAME
    if not isinstance(bills, list):
        return NAME
    channels: list[tuple[int, str]] = []
    for bill in bills:
        if not isinstance(bill, dict):
            continue
        channel = bill.get("fund_channel", bill.get("fundChannel"))
        try:
            amount = from_yuan(bill.get("amount"))
        except AmountError:
            continue
        if isinstance(channel, str) and channel:
            channels.append((amount, FUND_CHANNELS.get(channel, channel.lower()[:24])))
    return f"{NAME}:{max(channels)[1]}" if channels else NAME
