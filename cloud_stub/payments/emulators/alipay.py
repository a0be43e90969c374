"""An emulator of Alipay's open platform gateway for face-to-face payment, written from the public documentation.

What it does as Alipay does:
- one gateway, ``POST /gateway.do`` (form-encoded; the query string's parameters count too): the public
  parameters are checked (40001 Missing Required Arguments: isv.missing-app-id, isv.missing-method,
  isv.missing-signature, isv.missing-signature-type, isv.missing-timestamp, isv.missing-version; 40002 Invalid
  Arguments: isv.invalid-app-id, isv.invalid-method, isv.invalid-signature-type, isv.invalid-timestamp,
  isv.invalid-signature), the app's RSA2 signature verified with its registered public key, and the answer
  ``{"<method>_response": {...}, "sign": ...}`` signed with Alipay's key over the response object's exact text
  (gateway errors go unsigned, as the documentation allows);
- alipay.trade.precreate (a ``qr_code``; the trade itself exists only once the shopper scans it),
  alipay.trade.query (40004 ACQ.TRADE_NOT_EXIST before the scan), alipay.trade.close (ACQ.TRADE_NOT_EXIST,
  ACQ.TRADE_STATUS_ERROR), alipay.trade.cancel (``action`` close or refund; an order never scanned can no longer
  be scanned), alipay.trade.refund (idempotent per ``out_request_no``; ACQ.TRADE_STATUS_ERROR,
  ACQ.REFUND_AMT_NOT_EQUAL_TOTAL), and ACQ.INVALID_PARAMETER, ACQ.TRADE_HAS_SUCCESS, ACQ.TRADE_HAS_CLOSE on a
  precreate that cannot be made; an order past its ``time_expire`` can no longer be paid;
- the shopper: ``scan`` / ``pay`` (or ``POST /emulator/pay`` with the scanned ``qr_code``: the phone), then an
  asynchronous notification (trade_status_sync, form-encoded, RSA2 over the sorted parameters without sign and
  sign_type) to the order's notify_url, sent again on the documented schedule (4 m, 10 m, 10 m, 1 h, 2 h, 6 h,
  15 h; the tests shorten it) until the merchant answers ``success``; closing a scanned trade and a full refund
  are notified too (TRADE_CLOSED, with refund_fee for a refund).

Not emulated: other products (app, page, wap, barcode pay), certificate-mode keys (公钥证书), AES content
encryption, ISV app_auth_token, refund queries, bills, royalty, partial-refund notifications and rate limits.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from cloud_stub.payments.alipay import beijing_time, from_yuan, sign_content
from cloud_stub.payments.amounts import AmountError, to_decimal_text
from cloud_stub.payments.emulators.serving import ServedEmulator
from cloud_stub.payments.http import CHINA
from cloud_stub.payments.rsa import sign, verify

DOCUMENTED_RETRIES_S = (240.0, 600.0, 600.0, 3600.0, 7200.0, 21600.0, 54000.0)
PUBLIC_REQUIRED = (
    ("app_id", "isv.missing-app-id"),
    ("method", "isv.missing-method"),
    ("sign", "isv.missing-signature"),
    ("sign_type", "isv.missing-signature-type"),
    ("timestamp", "isv.missing-timestamp"),
    ("version", "isv.missing-version"),
)
METHODS = ("alipay.trade.precreate", "alipay.trade.query", "alipay.trade.close", "alipay.trade.cancel")
OUT_TRADE_NO_RE = re.compile(r"[0-9A-Za-z_]{1,64}")  # "only letters, digits and underscores"
PRODUCT_CODES = ("FACE_TO_FACE_PAYMENT", "OFFLINE_PAYMENT")
MAX_TOTAL_FEN = 100_000_000_00  # 100,000,000.00 yuan, the documented upper bound


class Refusal(Exception):
    def __init__(self, code: str, msg: str, sub_code: str, sub_msg: str) -> None:
        super().__init__(sub_code)
        self.code, self.msg, self.sub_code, self.sub_msg = code, msg, sub_code, sub_msg


def business(sub_code: str, sub_msg: str) -> Refusal:
    return Refusal("40004", "Business Failed", sub_code, sub_msg)


def invalid(sub_code: str, sub_msg: str) -> Refusal:
    return Refusal("40002", "Invalid Arguments", sub_code, sub_msg)


@dataclass(frozen=True)
class AppAccount:
    app_id: str
    public_key: RSAPublicKey  # the app's key: the merchant's signatures verify with it
    seller_id: str = "2088102147948060"


@dataclass
class Order:
    app_id: str
    out_trade_no: str
    subject: str
    total: int  # fen
    notify_url: str
    time_expire: float | None
    qr_code: str
    scanned: bool = False  # the trade exists at Alipay once the shopper scanned the code
    cancelled: bool = False  # cancelled before it was scanned: the code can no longer be paid
    trade_status: str = "WAIT_BUYER_PAY"
    trade_no: str = ""
    fund_channel: str = ""
    paid_at: float | None = None
    refunds: dict[str, int] = field(default_factory=dict)  # out_request_no -> fen

    @property
    def refunded(self) -> int:
        return sum(self.refunds.values())


class AlipayEmulator(ServedEmulator):
    def __init__(
        self,
        alipay_key: RSAPrivateKey,
        *,
        now: Callable[[], float] = time.time,
        retries_s: tuple[float, ...] = DOCUMENTED_RETRIES_S,
    ) -> None:
        super().__init__(retries_s)
        self.alipay_key = alipay_key
        self.now = now
        self.apps: dict[str, AppAccount] = {}
        self.orders: dict[tuple[str, str], Order] = {}
        self.refused: list[tuple[str, str]] = []  # (code, sub_code) of every refusal

    @property
    def gateway(self) -> str:
        return self.url + "/gateway.do"

    def add_app(self, app: AppAccount) -> None:
        self.apps[app.app_id] = app

    # --- serving -----------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes([web.post("/gateway.do", self._gateway), web.post("/emulator/pay", self._phone_pays)])
        return app

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        self._drop_if_down(request)
        form = await request.post()
        params = {**dict(request.query), **{k: v for k, v in form.items() if isinstance(v, str)}}
        method = params.get("method", "")
        node = (method if method in METHODS or method == "alipay.trade.refund" else "error").replace(".", "_")
        try:
            app = self._authenticate(params)
            answer = {"code": "10000", "msg": "Success", **self._call(app, method, _biz(params), params)}
        except Refusal as refusal:
            self.refused.append((refusal.code, refusal.sub_code))
            answer = {"code": refusal.code, "msg": refusal.msg, "sub_code": refusal.sub_code}
            answer["sub_msg"] = refusal.sub_msg
            if refusal.code != "40004":  # the gateway's own refusals go unsigned
                text = json.dumps({f"{node}_response": answer}, ensure_ascii=False, separators=(",", ":"))
                return web.Response(body=text.encode(), content_type="application/json", charset="utf-8")
        return web.Response(body=self.signed_answer(node, answer), content_type="application/json", charset="utf-8")

    def signed_answer(self, node: str, answer: dict[str, Any]) -> bytes:
        inner = json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
        signature = sign(self.alipay_key, inner)
        return f'{{"{node}_response":{inner},"sign":"{signature}"}}'.encode()

    def _authenticate(self, params: dict[str, str]) -> AppAccount:
        for name, sub_code in PUBLIC_REQUIRED:
            if not params.get(name):
                raise Refusal("40001", "Missing Required Arguments", sub_code, f"缺少{name}参数")
        app = self.apps.get(params["app_id"])
        if app is None:
            raise invalid("isv.invalid-app-id", "无效的AppID参数")
        if params["method"] not in (*METHODS, "alipay.trade.refund"):
            raise invalid("isv.invalid-method", "不存在的方法名")
        if params["sign_type"] != "RSA2":
            raise invalid("isv.invalid-signature-type", "无效的签名类型")
        try:
            datetime.strptime(params["timestamp"], "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise invalid("isv.invalid-timestamp", "非法的时间戳参数") from None
        if not verify(app.public_key, sign_content(params, drop=("sign",)), params["sign"]):
            raise invalid("isv.invalid-signature", "验签出错")
        return app

    def _call(self, app: AppAccount, method: str, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        if method == "alipay.trade.precreate":
            return self._precreate(app, biz, params.get("notify_url", ""))
        order = self._order(app, biz)
        if method == "alipay.trade.query":
            return self._query(order)
        if method == "alipay.trade.close":
            return self._close(order)
        if method == "alipay.trade.cancel":
            return self._cancel(order)
        return self._refund(order, biz)

    # --- the API -----------------------------------------------------------------------------------------
    def _precreate(self, app: AppAccount, biz: dict[str, Any], notify_url: str) -> dict[str, Any]:
        out_trade_no, subject = biz.get("out_trade_no"), biz.get("subject")
        if not isinstance(out_trade_no, str) or not OUT_TRADE_NO_RE.fullmatch(out_trade_no):
            raise business("ACQ.INVALID_PARAMETER", "参数无效: out_trade_no")
        if not isinstance(subject, str) or not subject or len(subject) > 256:
            raise business("ACQ.INVALID_PARAMETER", "参数无效: subject")
        if biz.get("product_code", PRODUCT_CODES[0]) not in PRODUCT_CODES:
            raise business("ACQ.INVALID_PARAMETER", "参数无效: product_code")
        try:
            total = from_yuan(biz.get("total_amount"))
        except AmountError:
            raise business("ACQ.INVALID_PARAMETER", "参数无效: total_amount") from None
        if not 1 <= total <= MAX_TOTAL_FEN:
            raise business("ACQ.INVALID_PARAMETER", "参数无效: total_amount out of [0.01, 100000000]")
        expire = _parse_beijing(biz.get("time_expire")) if "time_expire" in biz else None
        order = self.orders.get((app.app_id, out_trade_no))
        if order is not None:
            self._expire(order)
            if order.trade_status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
                raise business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
            if order.trade_status == "TRADE_CLOSED" or order.cancelled:
                raise business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
            if (order.total, order.subject) != (total, subject):
                raise business("ACQ.INVALID_PARAMETER", "out_trade_no already used with other content")
            return {"out_trade_no": out_trade_no, "qr_code": order.qr_code}
        qr_code = f"https://qr.alipay.com/bax0{secrets.token_hex(10)}"
        self.orders[(app.app_id, out_trade_no)] = Order(
            app.app_id, out_trade_no, subject, total, notify_url, expire, qr_code
        )
        return {"out_trade_no": out_trade_no, "qr_code": qr_code}

    def _order(self, app: AppAccount, biz: dict[str, Any]) -> Order:
        out_trade_no, trade_no = biz.get("out_trade_no"), biz.get("trade_no")
        if not out_trade_no and not trade_no:
            raise business("ACQ.INVALID_PARAMETER", "out_trade_no和trade_no不能同时为空")
        found = [
            o
            for o in self.orders.values()
            if o.app_id == app.app_id and (o.trade_no == trade_no if trade_no else o.out_trade_no == out_trade_no)
        ]
        if not found:
            raise business("ACQ.TRADE_NOT_EXIST", "交易不存在")
        self._expire(found[0])
        return found[0]

    def _expire(self, order: Order) -> None:
        """Past time_expire an unpaid order can no longer be paid (a scanned trade is closed)."""
        if order.trade_status == "WAIT_BUYER_PAY" and order.time_expire and self.now() >= order.time_expire:
            if order.scanned:
                self._move(order, "TRADE_CLOSED")
            else:
                order.cancelled = True

    def _query(self, order: Order) -> dict[str, Any]:
        if not order.scanned:
            raise business("ACQ.TRADE_NOT_EXIST", "交易不存在")
        return self.trade(order)

    def _close(self, order: Order) -> dict[str, Any]:
        if not order.scanned:
            raise business("ACQ.TRADE_NOT_EXIST", "交易不存在")
        if order.trade_status != "WAIT_BUYER_PAY":
            raise business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        self._move(order, "TRADE_CLOSED")
        return {"trade_no": order.trade_no, "out_trade_no": order.out_trade_no}

    def _cancel(self, order: Order) -> dict[str, Any]:
        answer: dict[str, Any] = {"out_trade_no": order.out_trade_no, "retry_flag": "N"}
        if not order.scanned:
            order.cancelled = True
            return answer
        if order.trade_status == "TRADE_FINISHED":
            raise business("ACQ.TRADE_HAS_FINISHED", "交易已经完结")
        if order.trade_status == "TRADE_SUCCESS":
            order.refunds[f"cancel-{order.trade_no}"] = order.total - order.refunded
            self._move(order, "TRADE_CLOSED")
            return {**answer, "trade_no": order.trade_no, "action": "refund"}
        if order.trade_status == "WAIT_BUYER_PAY":
            self._move(order, "TRADE_CLOSED")
        return {**answer, "trade_no": order.trade_no, "action": "close"}

    def _refund(self, order: Order, biz: dict[str, Any]) -> dict[str, Any]:
        request_no = biz.get("out_request_no") or order.out_trade_no
        try:
            amount = from_yuan(biz.get("refund_amount"))
        except AmountError:
            raise business("ACQ.INVALID_PARAMETER", "参数无效: refund_amount") from None
        if not isinstance(request_no, str):
            raise business("ACQ.INVALID_PARAMETER", "参数无效: out_request_no")
        if not order.scanned:
            raise business("ACQ.TRADE_NOT_EXIST", "交易不存在")
        fund_change = "N"
        if request_no not in order.refunds:
            if order.trade_status != "TRADE_SUCCESS":
                raise business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
            if amount <= 0 or amount > order.total - order.refunded:
                raise business("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
            order.refunds[request_no] = amount
            fund_change = "Y"
            if order.refunded == order.total:
                self._move(order, "TRADE_CLOSED")
        elif order.refunds[request_no] != amount:
            raise business("ACQ.INVALID_PARAMETER", "out_request_no already used with another refund_amount")
        return {
            "trade_no": order.trade_no,
            "out_trade_no": order.out_trade_no,
            "buyer_logon_id": "159****5620",
            "fund_change": fund_change,
            "refund_fee": to_decimal_text(order.refunded, "CNY"),
            "gmt_refund_pay": beijing_time(self.now()),
        }

    def trade(self, order: Order) -> dict[str, Any]:
        """A trade as alipay.trade.query answers it."""
        answer: dict[str, Any] = {
            "trade_no": order.trade_no,
            "out_trade_no": order.out_trade_no,
            "buyer_logon_id": "159****5620",
            "trade_status": order.trade_status,
            "total_amount": to_decimal_text(order.total, "CNY"),
        }
        if order.paid_at is not None:
            paid = to_decimal_text(order.total, "CNY")
            answer.update(buyer_pay_amount=paid, receipt_amount=paid, send_pay_date=beijing_time(order.paid_at))
            answer["fund_bill_list"] = [{"fund_channel": order.fund_channel, "amount": paid}]
        return answer

    # --- the shopper -------------------------------------------------------------------------------------
    def find(self, qr_code: str) -> Order:
        for order in self.orders.values():
            if order.qr_code == qr_code:
                return order
        raise KeyError(f"no order with the code {qr_code[:64]!r}")

    def scan(self, order: Order) -> bool:
        """The shopper scans the code: the trade exists from now on (False: the code can no longer be paid)."""
        self._expire(order)
        if order.cancelled or order.trade_status != "WAIT_BUYER_PAY":
            return False
        if not order.scanned:
            order.scanned, order.trade_no = True, f"{time.strftime('%Y%m%d')}2200{secrets.randbelow(10**14):014d}"
        return True

    def pay(self, order: Order, fund_channel: str = "ALIPAYACCOUNT") -> bool:
        """The shopper scans and pays; False when Alipay's app would say the order is closed."""
        if not self.scan(order):
            return False
        order.fund_channel, order.paid_at = fund_channel, self.now()
        self._move(order, "TRADE_SUCCESS")
        return True

    async def _phone_pays(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            order = self.find(str(body.get("qr_code", "")))
        except KeyError as exc:
            return web.json_response({"paid": False, "error": str(exc)}, status=404)
        paid = self.pay(order, str(body.get("fund_channel") or "ALIPAYACCOUNT"))
        return web.json_response({"paid": paid, "trade_status": order.trade_status}, status=200 if paid else 409)

    # --- notifications -----------------------------------------------------------------------------------
    def _move(self, order: Order, trade_status: str) -> None:
        order.trade_status = trade_status
        if order.notify_url:
            self.notify(order)

    def notification(self, order: Order) -> dict[str, str]:
        """The trade_status_sync parameters of the order's state, signed (a new notify_id each time)."""
        app = self.apps[order.app_id]
        params = {
            "notify_time": beijing_time(self.now()),
            "notify_type": "trade_status_sync",
            "notify_id": secrets.token_hex(16),
            "charset": "utf-8",
            "version": "1.0",
            "app_id": order.app_id,
            "auth_app_id": order.app_id,
            "trade_no": order.trade_no,
            "out_trade_no": order.out_trade_no,
            "seller_id": app.seller_id,
            "buyer_logon_id": "159****5620",
            "trade_status": order.trade_status,
            "total_amount": to_decimal_text(order.total, "CNY"),
            "subject": order.subject,
        }
        if order.paid_at is not None:
            paid = to_decimal_text(order.total, "CNY")
            params.update(receipt_amount=paid, buyer_pay_amount=paid, gmt_payment=beijing_time(order.paid_at))
            params["fund_bill_list"] = json.dumps([{"amount": paid, "fundChannel": order.fund_channel}])
        if order.refunds:
            params.update(refund_fee=to_decimal_text(order.refunded, "CNY"), gmt_refund=beijing_time(self.now()))
        params["sign_type"] = "RSA2"
        params["sign"] = sign(self.alipay_key, sign_content(params, drop=("sign", "sign_type")))
        return params

    def notify(self, order: Order) -> None:
        params = self.notification(order)  # the same notification (and notify_id) at every attempt
        body = urlencode(params).encode()
        self.notifier.send(
            order.notify_url,
            order.out_trade_no,
            params["notify_id"],
            lambda attempt: (body, {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}),
            lambda status, answer: status == 200 and answer.strip() == b"success",
        )


def _biz(params: dict[str, str]) -> dict[str, Any]:
    try:
        biz = json.loads(params.get("biz_content") or "{}")
    except ValueError:
        raise business("ACQ.INVALID_PARAMETER", "biz_content: not JSON") from None
    if not isinstance(biz, dict):
        raise business("ACQ.INVALID_PARAMETER", "biz_content: not an object")
    return biz


def _parse_beijing(text: object) -> float:
    try:
        return datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA).timestamp()
    except ValueError:
        raise business("ACQ.INVALID_PARAMETER", "参数无效: time_expire") from None
