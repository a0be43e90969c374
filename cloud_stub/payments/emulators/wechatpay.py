"""An emulator of WeChat Pay API v3 (Native payment), written from the public documentation, on loopback.

What it does as WeChat Pay does:
- checks every merchant request's ``Authorization: WECHATPAY2-SHA256-RSA2048 mchid=..,nonce_str=..,signature=..,
  timestamp=..,serial_no=..`` against the merchant's registered public key (401 SIGN_ERROR when it does not
  verify, when the serial is not the merchant's or the timestamp is more than 5 minutes off; 400 MCH_NOT_EXISTS
  for an unknown merchant), and signs every answer with the platform key (``Wechatpay-Timestamp/-Nonce/
  -Signature/-Serial``);
- keeps orders: ``POST /v3/pay/transactions/native`` (a ``code_url``; the same order number again with the same
  content gives the same code, with other content 403 OUT_TRADE_NO_USED), ``GET .../out-trade-no/{no}?mchid=``
  (trade_state NOTPAY, USERPAYING, SUCCESS, CLOSED, REFUND; 404 ORDER_NOT_EXIST), ``POST .../{no}/close``
  (204; a paid order 400 ORDERPAID), ``POST /v3/refund/domestic/refunds`` and ``GET .../refunds/{out_refund_no}``
  (idempotent per out_refund_no; SUCCESS);
- when a shopper pays (``pay``, or ``POST /emulator/pay`` with the scanned code_url: the phone), posts a
  TRANSACTION.SUCCESS notification to the order's notify_url, its resource encrypted with AEAD_AES_256_GCM under
  the merchant's APIv3 key and signed with the platform key, and sends it again on the documented schedule
  (15 s, 15 s, 30 s, 3 min, ...; shortened by the tests) until the merchant answers 200 or 204.

Not emulated: the platform certificate download, partner (service provider) mode, bills, profit sharing, refund
notifications, partial refunds beyond the amount's check, and rate limits.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from cloud_stub.payments.emulators.serving import ServedEmulator
from cloud_stub.payments.http import CHINA
from cloud_stub.payments.rsa import sign, verify
from cloud_stub.payments.wechatpay import (
    MAX_DESCRIPTION_BYTES,
    SCHEME,
    TIMESTAMP_WINDOW_S,
    aead_encrypt,
)

# The documented notification schedule after the first attempt: 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h.
DOCUMENTED_RETRIES_S = (15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600)
OUT_TRADE_NO_RE = re.compile(r"[0-9A-Za-z_\-*|]{6,32}")
AUTH_PARAM_RE = re.compile(r'\s*([a-z_]+)="([^"]*)"\s*')
AUTH_PARAMS = ("mchid", "nonce_str", "signature", "timestamp", "serial_no")


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class AuthorizationError(ValueError):
    """A malformed Authorization header (the emulator answers 401 SIGN_ERROR)."""


def parse_authorization(header: str) -> dict[str, str]:
    """The parameters of a ``WECHATPAY2-SHA256-RSA2048 k="v",...`` header; AuthorizationError when malformed."""
    scheme, _, rest = header.partition(" ")
    if scheme != SCHEME:
        raise AuthorizationError(f"Authorization: expected the {SCHEME} scheme")
    params: dict[str, str] = {}
    for part in rest.split(","):
        match = AUTH_PARAM_RE.fullmatch(part)
        if match is None:
            raise AuthorizationError(f"Authorization: malformed parameter {part[:40]!r}")
        if match.group(1) in params:
            raise AuthorizationError(f"Authorization: {match.group(1)} given twice")
        params[match.group(1)] = match.group(2)
    missing = [name for name in AUTH_PARAMS if name not in params]
    if missing:
        raise AuthorizationError(f"Authorization: {missing[0]} missing")
    if not params["timestamp"].isdigit() or len(params["timestamp"]) > 12:
        raise AuthorizationError("Authorization: timestamp is not a number of seconds")
    return params


class Refusal(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class MerchantAccount:
    mchid: str
    appid: str
    serial_no: str  # of the merchant's API certificate
    public_key: RSAPublicKey  # the certificate's key: the merchant's signatures verify with it
    apiv3_key: bytes


MERCHANT = web.RequestKey("merchant", MerchantAccount)
BODY = web.RequestKey("body", dict)


@dataclass
class Refund:
    refund_id: str
    out_refund_no: str
    refund: int
    status: str = "SUCCESS"
    created: float = 0.0


@dataclass
class Order:
    mchid: str
    appid: str
    out_trade_no: str
    description: str
    total: int
    notify_url: str
    time_expire: float | None
    code_url: str
    trade_state: str = "NOTPAY"
    transaction_id: str | None = None
    bank_type: str | None = None
    success_time: str | None = None
    refunds: dict[str, Refund] = field(default_factory=dict)

    def same_content(self, body: Mapping[str, Any]) -> bool:
        return (body.get("description"), body.get("amount", {}).get("total")) == (self.description, self.total)


class WeChatPayEmulator(ServedEmulator):
    def __init__(
        self,
        platform_key: RSAPrivateKey,
        platform_serial: str,
        *,
        now: Callable[[], float] = time.time,
        retries_s: tuple[float, ...] = DOCUMENTED_RETRIES_S,
    ) -> None:
        super().__init__(retries_s)
        self.platform_key = platform_key
        self.platform_serial = platform_serial
        self.now = now
        self.merchants: dict[str, MerchantAccount] = {}
        self.orders: dict[tuple[str, str], Order] = {}
        self.refused: list[tuple[int, str, str]] = []  # (status, code, message) of every refusal
        self.notifying = True  # False: payments are not notified (a notification that is late or lost)

    def add_merchant(self, merchant: MerchantAccount) -> None:
        self.merchants[merchant.mchid] = merchant

    # --- serving -----------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        w = self._answered
        app.add_routes(
            [
                web.post("/v3/pay/transactions/native", w(self._native)),
                web.get("/v3/pay/transactions/out-trade-no/{out_trade_no}", w(self._query)),
                web.post("/v3/pay/transactions/out-trade-no/{out_trade_no}/close", w(self._close)),
                web.post("/v3/refund/domestic/refunds", w(self._refund)),
                web.get("/v3/refund/domestic/refunds/{out_refund_no}", w(self._refund_query)),
                web.post("/emulator/pay", w(self._phone_pays)),
            ]
        )
        return app

    def _answered(self, handler: Callable[[web.Request], Awaitable[tuple[int, Any]]]) -> Handler:
        """The route: the merchant authenticated (under /v3/), the body parsed, the answer or the documented
        error ``{"code", "message"}`` signed with the platform key."""

        async def route(request: web.Request) -> web.StreamResponse:
            self._drop_if_down(request)
            body = await request.read()
            try:
                if request.path.startswith("/v3/"):
                    request[MERCHANT] = self._authenticate(request, body)
                request[BODY] = _json(body) if body else {}
                status, answer = await handler(request)
            except Refusal as refusal:
                self.refused.append((refusal.status, refusal.code, refusal.message))
                status, answer = refusal.status, {"code": refusal.code, "message": refusal.message}
            text = json.dumps(answer, ensure_ascii=False) if answer is not None else ""
            return web.Response(
                status=status,
                body=text.encode(),
                content_type="application/json",
                headers={**self.signed_headers(text), "Request-ID": uuid.uuid4().hex},
            )

        return route

    def _authenticate(self, request: web.Request, body: bytes) -> MerchantAccount:
        try:
            params = parse_authorization(request.headers.get("Authorization", ""))
        except AuthorizationError as exc:
            raise Refusal(401, "SIGN_ERROR", str(exc)) from None
        merchant = self.merchants.get(params["mchid"])
        if merchant is None:
            raise Refusal(400, "MCH_NOT_EXISTS", "商户号不存在")
        if params["serial_no"] != merchant.serial_no:
            raise Refusal(401, "SIGN_ERROR", "serial_no is not the merchant's API certificate")
        if abs(self.now() - int(params["timestamp"])) > TIMESTAMP_WINDOW_S:
            raise Refusal(401, "SIGN_ERROR", "timestamp more than 5 minutes from now")
        path = request.raw_path
        message = (
            f"{request.method}\n{path}\n{params['timestamp']}\n{params['nonce_str']}\n{body.decode(errors='replace')}\n"
        )
        if not verify(merchant.public_key, message, params["signature"]):
            raise Refusal(401, "SIGN_ERROR", "签名错误")
        return merchant

    def signed_headers(self, text: str) -> dict[str, str]:
        timestamp, nonce = str(int(self.now())), secrets.token_hex(16)
        return {
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": sign(self.platform_key, f"{timestamp}\n{nonce}\n{text}\n"),
            "Wechatpay-Serial": self.platform_serial,
            "Wechatpay-Signature-Type": SCHEME,
        }

    # --- the API -----------------------------------------------------------------------------------------
    async def _native(self, request: web.Request) -> tuple[int, Any]:
        merchant = request[MERCHANT]
        body = request[BODY]
        for name, kind in (("appid", str), ("mchid", str), ("description", str), ("out_trade_no", str)):
            if not isinstance(body.get(name), kind):
                raise Refusal(400, "PARAM_ERROR", f"输入源“/body/{name}”映射到字段“{name}”必填性规则校验失败")
        if body["mchid"] != merchant.mchid or body["appid"] != merchant.appid:
            raise Refusal(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        if not OUT_TRADE_NO_RE.fullmatch(body["out_trade_no"]):
            raise Refusal(400, "PARAM_ERROR", "out_trade_no: 6 to 32 letters, digits or _-*|")
        if len(body["description"].encode()) > MAX_DESCRIPTION_BYTES:
            raise Refusal(400, "PARAM_ERROR", "description: at most 127 bytes")
        notify_url = body.get("notify_url")
        if not isinstance(notify_url, str) or not notify_url.startswith(("https://", "http://127.0.0.1")):
            raise Refusal(400, "PARAM_ERROR", "notify_url: an https URL (loopback http in the emulator)")
        amount = body.get("amount")
        if not isinstance(amount, dict):
            raise Refusal(400, "PARAM_ERROR", "amount: required object")
        total = amount.get("total")
        if isinstance(total, bool) or not isinstance(total, int) or total <= 0:
            raise Refusal(400, "PARAM_ERROR", "amount.total: a positive integer of fen")
        if amount.get("currency", "CNY") != "CNY":
            raise Refusal(400, "PARAM_ERROR", "amount.currency: CNY only")
        expire = _parse_rfc3339(body.get("time_expire")) if "time_expire" in body else None
        key = (merchant.mchid, body["out_trade_no"])
        order = self.orders.get(key)
        if order is not None:
            if order.trade_state == "SUCCESS":
                raise Refusal(400, "ORDERPAID", "该订单已支付")
            if order.trade_state == "CLOSED":
                raise Refusal(400, "ORDER_CLOSED", "订单已关闭")
            if not order.same_content(body):
                raise Refusal(403, "OUT_TRADE_NO_USED", "商户订单号重复")
            return 200, {"code_url": order.code_url}
        code_url = f"weixin://wxpay/bizpayurl?pr={secrets.token_urlsafe(6)}"
        self.orders[key] = Order(
            merchant.mchid,
            merchant.appid,
            body["out_trade_no"],
            body["description"],
            total,
            notify_url,
            expire,
            code_url,
        )
        return 200, {"code_url": code_url}

    def _order(self, merchant: MerchantAccount, out_trade_no: str) -> Order:
        order = self.orders.get((merchant.mchid, out_trade_no))
        if order is None:
            raise Refusal(404, "ORDER_NOT_EXIST", "订单不存在")
        if order.trade_state in ("NOTPAY", "USERPAYING") and order.time_expire and self.now() > order.time_expire:
            order.trade_state = "CLOSED"  # past time_expire it can no longer be paid
        return order

    async def _query(self, request: web.Request) -> tuple[int, Any]:
        merchant = request[MERCHANT]
        if request.query.get("mchid") != merchant.mchid:
            raise Refusal(400, "PARAM_ERROR", "mchid: the query's merchant is required and must be the caller")
        return 200, self.transaction(self._order(merchant, request.match_info["out_trade_no"]))

    async def _close(self, request: web.Request) -> tuple[int, Any]:
        merchant = request[MERCHANT]
        if request[BODY].get("mchid") != merchant.mchid:
            raise Refusal(400, "PARAM_ERROR", "mchid: required and must be the caller")
        order = self._order(merchant, request.match_info["out_trade_no"])
        if order.trade_state in ("SUCCESS", "REFUND"):
            raise Refusal(400, "ORDERPAID", "订单已支付")
        order.trade_state = "CLOSED"
        return 204, None

    async def _refund(self, request: web.Request) -> tuple[int, Any]:
        merchant = request[MERCHANT]
        body = request[BODY]
        out_refund_no, amount = body.get("out_refund_no"), body.get("amount")
        if not isinstance(out_refund_no, str) or not 1 <= len(out_refund_no) <= 64 or not isinstance(amount, dict):
            raise Refusal(400, "PARAM_ERROR", "out_refund_no (1 to 64 characters) and amount are required")
        order = self.orders.get((merchant.mchid, str(body.get("out_trade_no"))))
        if order is None:
            raise Refusal(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        if out_refund_no in order.refunds:
            return 200, self.refund_answer(order, order.refunds[out_refund_no])
        refund, total = amount.get("refund"), amount.get("total")
        if not isinstance(refund, int) or not isinstance(total, int) or refund <= 0 or total != order.total:
            raise Refusal(400, "PARAM_ERROR", "amount.refund and amount.total: integers of fen, total the order's")
        if amount.get("currency", "CNY") != "CNY":
            raise Refusal(400, "PARAM_ERROR", "amount.currency: CNY only")
        if order.trade_state not in ("SUCCESS", "REFUND"):
            raise Refusal(400, "INVALID_REQUEST", "订单未支付")
        if refund > order.total - sum(r.refund for r in order.refunds.values()):
            raise Refusal(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
        made = Refund(f"5030{secrets.randbelow(10**24):024d}", out_refund_no, refund, created=self.now())
        order.refunds[out_refund_no] = made
        order.trade_state = "REFUND"
        return 200, self.refund_answer(order, made)

    async def _refund_query(self, request: web.Request) -> tuple[int, Any]:
        merchant = request[MERCHANT]
        for (mchid, _), order in self.orders.items():
            if mchid == merchant.mchid and request.match_info["out_refund_no"] in order.refunds:
                return 200, self.refund_answer(order, order.refunds[request.match_info["out_refund_no"]])
        raise Refusal(404, "RESOURCE_NOT_EXISTS", "退款单不存在")

    async def _phone_pays(self, request: web.Request) -> tuple[int, Any]:
        """The shopper's phone: it scanned ``code_url`` and pays (``bank_type`` as WeChat would report it)."""
        code_url = request[BODY].get("code_url")
        order = next((o for o in self.orders.values() if o.code_url == code_url), None)
        if order is None:
            raise Refusal(404, "ORDER_NOT_EXIST", "no order has this code_url")
        paid = self.pay(order.out_trade_no, str(request[BODY].get("bank_type", "OTHERS")))
        return 200, self.transaction(paid)

    # --- the shopper, and the notifications -----------------------------------------------------------------
    def pay(self, out_trade_no: str, bank_type: str = "OTHERS") -> Order:
        """The shopper pays the order (only while it can be paid); the notification goes out at once."""
        order = next((o for (_, no), o in self.orders.items() if no == out_trade_no), None)
        if order is None:
            raise Refusal(404, "ORDER_NOT_EXIST", "订单不存在")
        order = self._order(self.merchants[order.mchid], out_trade_no)
        if order.trade_state not in ("NOTPAY", "USERPAYING"):
            raise Refusal(400, "ORDER_CLOSED" if order.trade_state == "CLOSED" else "ORDERPAID", order.trade_state)
        order.trade_state = "SUCCESS"
        order.transaction_id = f"4200{secrets.randbelow(10**24):024d}"
        order.bank_type = bank_type
        order.success_time = datetime.fromtimestamp(int(self.now()), CHINA).isoformat()
        if self.notifying:
            notification_id = str(uuid.uuid4())  # the same in every attempt; each is signed anew

            def attempt_of(_: int) -> tuple[bytes, dict[str, str]]:
                headers, body = self.notification(order, notification_id)
                return body, headers

            self.notifier.send(order.notify_url, order.out_trade_no, notification_id, attempt_of, _acknowledged)
        return order

    def transaction(self, order: Order) -> dict[str, Any]:
        """The order as the query answers it and a notification's resource carries it."""
        paid = order.trade_state in ("SUCCESS", "REFUND")
        data: dict[str, Any] = {
            "appid": order.appid,
            "mchid": order.mchid,
            "out_trade_no": order.out_trade_no,
            "trade_type": "NATIVE",
            "trade_state": order.trade_state,
            "trade_state_desc": {
                "SUCCESS": "支付成功",
                "NOTPAY": "未支付",
                "CLOSED": "已关闭",
                "REFUND": "转入退款",
            }.get(order.trade_state, order.trade_state),
            "attach": "",
            "amount": {"total": order.total, "currency": "CNY"},
        }
        if paid:
            data |= {
                "transaction_id": order.transaction_id,
                "bank_type": order.bank_type,
                "success_time": order.success_time,
                "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
            }
            data["amount"] |= {"payer_total": order.total, "payer_currency": "CNY"}
        return data

    def refund_answer(self, order: Order, refund: Refund) -> dict[str, Any]:
        return {
            "refund_id": refund.refund_id,
            "out_refund_no": refund.out_refund_no,
            "transaction_id": order.transaction_id,
            "out_trade_no": order.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": datetime.fromtimestamp(int(refund.created), CHINA).isoformat(),
            "status": refund.status,
            "amount": {
                "total": order.total,
                "refund": refund.refund,
                "payer_total": order.total,
                "payer_refund": refund.refund,
                "currency": "CNY",
            },
        }

    def notification(self, order: Order, notification_id: str | None = None) -> tuple[dict[str, str], bytes]:
        """A TRANSACTION.SUCCESS notification for the order: its signed headers and body."""
        merchant = self.merchants[order.mchid]
        nonce = secrets.token_urlsafe(9)[:12]
        plain = json.dumps(self.transaction(order), ensure_ascii=False).encode()
        envelope = {
            "id": notification_id or str(uuid.uuid4()),
            "create_time": datetime.fromtimestamp(int(self.now()), CHINA).isoformat(),
            "resource_type": "encrypt-resource",
            "event_type": "TRANSACTION.SUCCESS",
            "summary": "支付成功",
            "resource": {
                "original_type": "transaction",
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": aead_encrypt(merchant.apiv3_key, nonce, plain, "transaction"),
                "associated_data": "transaction",
                "nonce": nonce,
            },
        }
        text = json.dumps(envelope, ensure_ascii=False)
        return {**self.signed_headers(text), "Content-Type": "application/json"}, text.encode()


def _acknowledged(status: int, _: bytes) -> bool:
    """The merchant's documented acknowledgements (200, 204) stop the retries."""
    return status in (200, 204)


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        raise Refusal(400, "PARAM_ERROR", "body: not JSON") from None
    if not isinstance(data, dict):
        raise Refusal(400, "PARAM_ERROR", "body: expected an object")
    return data


def _parse_rfc3339(value: Any) -> float:
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        raise Refusal(400, "PARAM_ERROR", "time_expire: expected RFC 3339, e.g. 2018-06-08T10:34:56+08:00") from None
