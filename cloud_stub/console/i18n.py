"""The console's words in English and Chinese, the language switch (a cookie), money and times.

Add a page's strings to both ``EN`` and ``ZH`` under the same key (a test checks that both have the
same keys and placeholders). Templates call ``t("key", name=value)``.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from datetime import UTC, datetime

from aiohttp import web

LANGUAGES = ("en", "zh")
LANG_COOKIE = "console_lang"

EN: dict[str, str] = {
    "app_name": "Cabinet console",
    "skip_to_content": "Skip to content",
    "nav_fleet": "Fleet",
    "nav_users": "Users",
    "nav_tokens": "API tokens",
    "nav_main": "Main",
    "sign_in": "Sign in",
    "sign_out": "Sign out",
    "signed_in_as": "Signed in as {email} ({role})",
    "email": "Email",
    "password": "Password",
    "password_again": "Password again",
    "language": "Language",
    "switch_language": "中文",
    "wrong_credentials": "Wrong email or password.",
    "too_many_attempts": "Too many failed sign-ins. Try again in {seconds} s.",
    "password_too_short": "The password must have at least 10 characters.",
    "password_too_long": "The password is too long.",
    "passwords_differ": "The two passwords differ.",
    "role_owner": "owner",
    "role_staff": "staff",
    "role_technician": "technician",
    "error_title": "Error {status}",
    "error_403": "You may not do this.",
    "error_403_csrf": "The form had expired or did not come from this console. Reload the page and try again.",
    "error_404": "Not found.",
    "error_409": "This cannot be done in its present state.",
    "error_429": "Too many requests.",
    "back_home": "Back to the fleet",
    # fleet
    "fleet_title": "Fleet",
    "fleet_empty": "No cabinets yet. A technician registers one with kiosk provision (or kiosk-cloud cabinet add).",
    "cabinet": "Cabinet",
    "state": "State",
    "online": "online",
    "offline": "offline",
    "never_seen": "never seen",
    "last_contact": "Last contact",
    "alarms_24h": "Alarms (24 h)",
    "faults": "Faults",
    "backlog": "Unsent events",
    "software": "Software",
    "config_version": "Configuration",
    "config_applied": "v{applied} applied",
    "config_pending": "v{current} sent, v{applied} applied",
    "config_not_applied": "v{current} sent, not applied yet",
    "config_rejected": "v{version} rejected: {reason}",
    "config_none": "none",
    "sales_today": "Sales today",
    "sales_count": "{count} sold",
    "stock_low": "Stock low or out",
    "stock_out": "{sku}: out",
    "stock_low_item": "{sku}: {count} left",
    "stock_ok": "ok",
    "place": "Place",
    "map": "Map",
    "unknown": "—",
    "cabinet_title": "Cabinet {id}",
    "recent_alarms": "Alarms in the last 24 hours",
    "no_alarms": "No alarms.",
    "stock": "Stock",
    "sku": "Product",
    "count": "Count",
    "no_stock": "No stock counts received yet.",
    "as_of": "As of",
    "summary": "Summary",
    "kind": "Kind",
    "detail": "Detail",
    "at": "At",
    # users
    "users_title": "Users",
    "role": "Role",
    "status": "Status",
    "active": "active",
    "invited": "invited",
    "invite": "Invite",
    "invite_user": "Invite a user",
    "remove": "Remove",
    "remove_confirm": "Remove {email}?",
    "invite_link_once": "Send this link to {email}. It is shown only once and is valid for 7 days:",
    "user_removed": "{email} was removed.",
    "cannot_remove_self": "You cannot remove yourself.",
    "email_taken": "This email already has an account.",
    "email_invalid": "This is not an email address.",
    "invite_title": "Choose your password",
    "invite_for": "Account {email} at {retailer}",
    "invite_invalid": "This invitation link is wrong, already used or expired.",
    "set_password": "Set password",
    # tokens
    "tokens_title": "API tokens",
    "tokens_intro": "Integrations call the JSON API with this header:",
    "label": "Label",
    "created": "Created",
    "created_by": "Created by",
    "revoked": "Revoked",
    "live": "live",
    "new_token": "New token",
    "create": "Create",
    "rotate": "Rotate",
    "revoke": "Revoke",
    "revoke_confirm": "Revoke the token {label}? Integrations using it stop working.",
    "token_once": "The token {label} (copy it now; it is shown only once):",
    "token_revoked": "The token {label} was revoked.",
    "label_required": "Give the token a label (1 to 64 characters).",
    "actions": "Actions",
    # sales and refunds
    "nav_sales": "Sales",
    "nav_refunds": "Refunds",
    "sales_title": "Sales",
    "sales_intro": "Completed sales (the door opened and closed). Days are UTC days.",
    "filter_from": "From",
    "filter_to": "To",
    "filter_period": "Group by",
    "period_day": "day",
    "period_week": "week",
    "filter_cabinet": "Cabinet",
    "filter_product": "Product",
    "filter_all": "all",
    "filter_apply": "Show",
    "filter_bad_date": "{field}: enter a date as YYYY-MM-DD.",
    "filter_from_after_to": "{field}: the first day is after the last.",
    "filter_too_long": "{field}: at most 366 days at once.",
    "filter_bad_period": "{field}: choose day or week.",
    "sales_total": "{count} sales, {totals}",
    "sales_none": "No sales in this range.",
    "download_csv": "Download CSV",
    "chart_label": "Sales in {currency} per {period}, {first} to {last}; the highest is {top}",
    "by_period_day": "By day",
    "by_period_week": "By week (from Monday)",
    "by_cabinet": "By cabinet",
    "by_product": "By product and variant",
    "period": "Period",
    "variant": "Variant",
    "sales_n": "Sales",
    "total": "Total",
    "refunds_title": "Refunds",
    "refunds_intro": "Payments that go back to the shopper: sales whose door never opened, and approvals the cabinet "
    "could record only late. A cabinet reverses them by itself; one it could not give back is flagged for your refund.",
    "refunds_none": "No payments to give back.",
    "refund_kind": "Why",
    "refund_kind_unclaimed": "door never opened",
    "refund_kind_late": "recorded late",
    "sale": "Sale",
    "amount": "Amount",
    "method": "Paid by",
    "method_terminal": "card terminal",
    "method_qr": "scan-to-pay",
    "receipt": "Receipt",
    "refund_state_reversing": "reversal under way at the cabinet",
    "refund_state_refund_needed": "refund needed",
    "refund_state_refund_requested": "refund sent to the cabinet",
    "refund_state_refund_acknowledged": "the cabinet took the refund",
    "refund_state_refund_refused": "the cabinet refused the refund",
    "refund_state_refund_expired": "the refund expired before the cabinet came online",
    "refund_state_refunded_by_provider": "refunded by the payment provider; the cabinet's record to follow",
    "refund_state_settled": "settled: the money is back",
    "refund_by": "asked by {email}",
    "refund": "Refund",
    "refund_requested": "The refund of sale {sale} was sent; its state follows below.",
    "refund_not_needed": "This payment needs no refund now (settled, or a refund is under way).",
}

ZH: dict[str, str] = {
    "app_name": "柜机管理台",
    "skip_to_content": "跳到正文",
    "nav_fleet": "柜机总览",
    "nav_users": "用户",
    "nav_tokens": "API 令牌",
    "nav_main": "主菜单",
    "sign_in": "登录",
    "sign_out": "退出",
    "signed_in_as": "已登录：{email}（{role}）",
    "email": "电子邮箱",
    "password": "密码",
    "password_again": "再次输入密码",
    "language": "语言",
    "switch_language": "English",
    "wrong_credentials": "邮箱或密码错误。",
    "too_many_attempts": "登录失败次数过多，请 {seconds} 秒后再试。",
    "password_too_short": "密码至少需要 10 个字符。",
    "password_too_long": "密码太长。",
    "passwords_differ": "两次输入的密码不一致。",
    "role_owner": "店主",
    "role_staff": "店员",
    "role_technician": "技术员",
    "error_title": "错误 {status}",
    "error_403": "您无权执行此操作。",
    "error_403_csrf": "表单已过期或并非来自本管理台。请刷新页面后重试。",
    "error_404": "未找到。",
    "error_409": "当前状态下无法执行此操作。",
    "error_429": "请求过多。",
    "back_home": "返回柜机总览",
    "fleet_title": "柜机总览",
    "fleet_empty": "还没有柜机。技术员可用 kiosk provision（或 kiosk-cloud cabinet add）注册。",
    "cabinet": "柜机",
    "state": "状态",
    "online": "在线",
    "offline": "离线",
    "never_seen": "从未连接",
    "last_contact": "最后联系",
    "alarms_24h": "警报（24 小时）",
    "faults": "故障",
    "backlog": "未上传事件",
    "software": "软件",
    "config_version": "配置",
    "config_applied": "已应用 v{applied}",
    "config_pending": "已下发 v{current}，已应用 v{applied}",
    "config_not_applied": "已下发 v{current}，尚未应用",
    "config_rejected": "v{version} 被拒绝：{reason}",
    "config_none": "无",
    "sales_today": "今日销售",
    "sales_count": "{count} 笔",
    "stock_low": "库存不足或售罄",
    "stock_out": "{sku}：售罄",
    "stock_low_item": "{sku}：剩 {count} 件",
    "stock_ok": "正常",
    "place": "位置",
    "map": "地图",
    "unknown": "—",
    "cabinet_title": "柜机 {id}",
    "recent_alarms": "最近 24 小时的警报",
    "no_alarms": "没有警报。",
    "stock": "库存",
    "sku": "商品",
    "count": "数量",
    "no_stock": "尚未收到库存数量。",
    "as_of": "更新时间",
    "summary": "概要",
    "kind": "类型",
    "detail": "详情",
    "at": "时间",
    "users_title": "用户",
    "role": "角色",
    "status": "状态",
    "active": "已启用",
    "invited": "已邀请",
    "invite": "邀请",
    "invite_user": "邀请用户",
    "remove": "移除",
    "remove_confirm": "移除 {email}？",
    "invite_link_once": "请把此链接发给 {email}。链接只显示一次，7 天内有效：",
    "user_removed": "{email} 已被移除。",
    "cannot_remove_self": "不能移除自己。",
    "email_taken": "该邮箱已有账户。",
    "email_invalid": "这不是有效的电子邮箱。",
    "invite_title": "设置密码",
    "invite_for": "{retailer} 的账户 {email}",
    "invite_invalid": "邀请链接有误、已被使用或已过期。",
    "set_password": "设置密码",
    "tokens_title": "API 令牌",
    "tokens_intro": "集成系统调用 JSON API 时使用以下请求头：",
    "label": "名称",
    "created": "创建时间",
    "created_by": "创建人",
    "revoked": "已撤销",
    "live": "有效",
    "new_token": "新建令牌",
    "create": "创建",
    "rotate": "轮换",
    "revoke": "撤销",
    "revoke_confirm": "撤销令牌 {label}？使用它的集成将停止工作。",
    "token_once": "令牌 {label}（请立即复制，只显示一次）：",
    "token_revoked": "令牌 {label} 已撤销。",
    "label_required": "请为令牌命名（1 到 64 个字符）。",
    "actions": "操作",
    # sales and refunds
    "nav_sales": "销售",
    "nav_refunds": "退款",
    "sales_title": "销售",
    "sales_intro": "已完成的销售（柜门已打开并关闭）。日期按 UTC 计。",
    "filter_from": "从",
    "filter_to": "到",
    "filter_period": "分组方式",
    "period_day": "天",
    "period_week": "周",
    "filter_cabinet": "柜机",
    "filter_product": "商品",
    "filter_all": "全部",
    "filter_apply": "显示",
    "filter_bad_date": "{field}：请按 YYYY-MM-DD 输入日期。",
    "filter_from_after_to": "{field}：开始日期晚于结束日期。",
    "filter_too_long": "{field}：一次最多 366 天。",
    "filter_bad_period": "{field}：请选择天或周。",
    "sales_total": "{count} 笔销售，{totals}",
    "sales_none": "此时间段内没有销售。",
    "download_csv": "下载 CSV",
    "chart_label": "{currency} 销售额（每{period}），{first} 至 {last}；最高 {top}",
    "by_period_day": "按天",
    "by_period_week": "按周（自周一起）",
    "by_cabinet": "按柜机",
    "by_product": "按商品和款式",
    "period": "时段",
    "variant": "款式",
    "sales_n": "销售笔数",
    "total": "合计",
    "refunds_title": "退款",
    "refunds_intro": "需退还给顾客的付款：柜门从未打开的销售，以及柜机延迟记录的授权。"
    "柜机会自动撤销；无法退还的会标记为需要您退款。",
    "refunds_none": "没有需要退还的付款。",
    "refund_kind": "原因",
    "refund_kind_unclaimed": "柜门未打开",
    "refund_kind_late": "延迟记录",
    "sale": "销售",
    "amount": "金额",
    "method": "支付方式",
    "method_terminal": "刷卡终端",
    "method_qr": "扫码支付",
    "receipt": "凭条",
    "refund_state_reversing": "柜机正在撤销",
    "refund_state_refund_needed": "需要退款",
    "refund_state_refund_requested": "退款已发送给柜机",
    "refund_state_refund_acknowledged": "柜机已接受退款",
    "refund_state_refund_refused": "柜机拒绝了退款",
    "refund_state_refund_expired": "柜机上线前退款已过期",
    "refund_state_refunded_by_provider": "支付服务商已退款，等待柜机记录",
    "refund_state_settled": "已结清：款项已退回",
    "refund_by": "由 {email} 发起",
    "refund": "退款",
    "refund_requested": "销售 {sale} 的退款已发送，状态见下方。",
    "refund_not_needed": "此付款现在无需退款（已结清或退款进行中）。",
}

STRINGS = {"en": EN, "zh": ZH}
# Digits after the decimal point where it is not 2 (ISO 4217).
_MINOR_DIGITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3}


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def language(request: web.Request) -> str:
    """The cookie's language, else the browser's first of ours, else English."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    for part in request.headers.get("Accept-Language", "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "en"


def translator(lang: str) -> Callable[..., str]:
    strings = STRINGS.get(lang, EN)

    def t(key: str, **values: object) -> str:
        text = strings.get(key) or EN[key]  # KeyError for a key no language has: a bug in a template
        return text.format(**values) if values else text

    return t


def money(amount_cents: int, currency: str) -> str:
    """An amount in the currency's units: 49900 EUR -> "499.00 EUR"."""
    return f"{units(amount_cents, currency)} {currency}"


def units(amount_cents: int, currency: str) -> str:
    """An amount in the currency's units without the currency: 49900 EUR -> "499.00", 500 JPY -> "500"."""
    digits = _MINOR_DIGITS.get(currency, 2)
    if digits == 0:
        return str(amount_cents)
    whole, minor = divmod(abs(amount_cents), 10**digits)
    return f"{'-' if amount_cents < 0 else ''}{whole}.{minor:0{digits}d}"


def when(iso: str | None) -> str:
    """An ISO time as "2026-11-30 14:05 UTC" (the console shows UTC: the fleet spans time zones)."""
    if not iso:
        return "—"
    try:
        at = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return iso
    return at.strftime("%Y-%m-%d %H:%M UTC")
