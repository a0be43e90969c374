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
    "fleet_empty": "No cabinets yet. Register one with `kiosk-cloud cabinet add` or `kiosk provision`.",
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
    "config_rejected": "v{version} rejected: {reason}",
    "config_none": "none",
    "sales_today": "Sales today",
    "sales_count": "{count} sales",
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
    "tokens_intro": "Integrations call the JSON API with `Authorization: Bearer TOKEN`.",
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
    # catalogue and media
    "nav_catalogue": "Catalogue",
    "nav_media": "Media",
    "catalogue_title": "Catalogue and ads",
    "catalogue_intro": "Each cabinet has its own catalogue, prices and ad playlist. Choose a cabinet.",
    "catalogue_of": "Catalogue of {id}",
    "catalogue_saved": "Saved as configuration version {version}. The cabinet takes it at its next poll.",
    "catalogue_problems": "Nothing was saved. Correct the fields marked below.",
    "products": "Products",
    "sku_code": "SKU",
    "product_n": "Product {n}",
    "price_in": "Price ({currency})",
    "product_name": "Name",
    "materials_lines": "Materials (one a line)",
    "design_notes": "Design notes",
    "online_only": "Online only (pickup orders, not sold on the screen)",
    "variants": "Variants",
    "variant_n": "Variant {n}",
    "colour": "Colour (#rrggbb or a name)",
    "variant_name": "Variant name",
    "remove_variant": "Remove this variant",
    "add_variant": "Add a variant",
    "remove_product": "Remove this product",
    "add_product": "Add a product",
    "ads": "Ad playlist",
    "ads_intro": "Ads play in this order on the attract screen; a tap opens the product an ad advertises.",
    "ad_n": "Ad {n}",
    "order": "Position",
    "ad_id": "Ad id",
    "media_kind": "Kind",
    "kind_image": "image",
    "kind_video": "video",
    "kind_audio": "audio",
    "ad_media": "Picture or video",
    "none_chosen": "(none chosen)",
    "duration_s": "Duration (seconds)",
    "ad_product": "Advertises",
    "the_catalog": "the whole catalogue",
    "ad_variant": "Variant shown first (SKU, optional)",
    "ad_text": "Text over the ad",
    "ad_windows": "When it plays",
    "ad_windows_hint": "One window a line, days 1 (Monday) to 7 and local times, e.g. 1-5 09:00-18:00. Empty: always.",
    "remove_ad": "Remove this ad",
    "add_ad": "Add an ad",
    "save_catalogue": "Save",
    "lang_en": "English",
    "lang_zh": "Chinese",
    "price_invalid": "Type the price in the currency's units, e.g. 499.00.",
    "windows_invalid": "Write each window as days and times, e.g. 1-5 09:00-18:00.",
    "duration_invalid": "Type the seconds as a number, e.g. 8.",
    "media_title": "Media",
    "media_intro": (
        "Pictures and videos for ads and WAV recordings for narrations. Each is stored under the SHA-256 of its "
        "content; your cabinets download what their catalogue names and check it."
    ),
    "media_stored": "Stored {name} as sha256:{sha}….",
    "media_file": "File",
    "upload": "Upload",
    "media_uploaded": "Uploaded",
    "media_name": "Name",
    "media_size": "Size",
    "media_reference": "Reference",
    "kib": "{n} KiB",
    "media_none": "Nothing uploaded yet.",
    "at_most_mib": "at most {mib} MiB",
    "media_no_file": "Choose a file to upload.",
    "media_kind_unknown": "Choose image, video or audio.",
    "media_too_large": "The file is larger than {mib} MiB, the limit for its kind.",
    "media_empty": "The file is empty.",
    "media_not_kind": "The file is not of the kind chosen (images: PNG or JPEG; videos: MP4 or WebM; audio: WAV).",
    "error_413": "The file is too large for the console (8 MiB); upload larger videos through the API.",
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
    "fleet_empty": "还没有柜机。请用 `kiosk-cloud cabinet add` 或 `kiosk provision` 注册。",
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
    "tokens_intro": "集成系统通过 `Authorization: Bearer TOKEN` 调用 JSON API。",
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
    # catalogue and media
    "nav_catalogue": "商品目录",
    "nav_media": "媒体",
    "catalogue_title": "商品目录与广告",
    "catalogue_intro": "每台柜机有自己的商品目录、价格和广告列表。请选择柜机。",
    "catalogue_of": "{id} 的商品目录",
    "catalogue_saved": "已保存为配置版本 {version}。柜机下次轮询时生效。",
    "catalogue_problems": "未保存。请修正下方标出的字段。",
    "products": "商品",
    "sku_code": "SKU 编码",
    "product_n": "商品 {n}",
    "price_in": "价格（{currency}）",
    "product_name": "名称",
    "materials_lines": "材料（每行一项）",
    "design_notes": "设计说明",
    "online_only": "仅限线上（自提订单，不在屏幕上销售）",
    "variants": "款式",
    "variant_n": "款式 {n}",
    "colour": "颜色（#rrggbb 或名称）",
    "variant_name": "款式名称",
    "remove_variant": "删除此款式",
    "add_variant": "添加款式",
    "remove_product": "删除此商品",
    "add_product": "添加商品",
    "ads": "广告列表",
    "ads_intro": "广告按此顺序在待机画面播放；点击广告打开其推广的商品。",
    "ad_n": "广告 {n}",
    "order": "顺序",
    "ad_id": "广告编号",
    "media_kind": "类型",
    "kind_image": "图片",
    "kind_video": "视频",
    "kind_audio": "音频",
    "ad_media": "图片或视频",
    "none_chosen": "（未选择）",
    "duration_s": "时长（秒）",
    "ad_product": "推广商品",
    "the_catalog": "整个目录",
    "ad_variant": "首先显示的款式（SKU，可选）",
    "ad_text": "广告上的文字",
    "ad_windows": "播放时段",
    "ad_windows_hint": "每行一个时段：星期 1（周一）到 7 和当地时间，例如 1-5 09:00-18:00。留空：一直播放。",
    "remove_ad": "删除此广告",
    "add_ad": "添加广告",
    "save_catalogue": "保存",
    "lang_en": "英文",
    "lang_zh": "中文",
    "price_invalid": "请按货币单位输入价格，例如 499.00。",
    "windows_invalid": "请按星期和时间填写每个时段，例如 1-5 09:00-18:00。",
    "duration_invalid": "请用数字输入秒数，例如 8。",
    "media_title": "媒体",
    "media_intro": (
        "用于广告的图片和视频，以及用于讲解的 WAV 录音。每个文件按其内容的 SHA-256 存储；"
        "柜机下载目录中引用的文件并校验。"
    ),
    "media_stored": "已存储 {name}，引用为 sha256:{sha}…。",
    "media_file": "文件",
    "upload": "上传",
    "media_uploaded": "已上传",
    "media_name": "名称",
    "media_size": "大小",
    "media_reference": "引用",
    "kib": "{n} KiB",
    "media_none": "尚未上传任何文件。",
    "at_most_mib": "最大 {mib} MiB",
    "media_no_file": "请选择要上传的文件。",
    "media_kind_unknown": "请选择图片、视频或音频。",
    "media_too_large": "文件超过该类型的上限 {mib} MiB。",
    "media_empty": "文件为空。",
    "media_not_kind": "文件与所选类型不符（图片：PNG 或 JPEG；视频：MP4 或 WebM；音频：WAV）。",
    "error_413": "文件对控制台来说太大（8 MiB）；较大的视频请通过 API 上传。",
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


def minor_digits(currency: str) -> int:
    """Digits after the decimal point of the currency's units (2 for EUR, 0 for JPY)."""
    return _MINOR_DIGITS.get(currency, 2)


def money(amount_cents: int, currency: str) -> str:
    """An amount in the currency's units: 49900 EUR -> "499.00 EUR"."""
    digits = _MINOR_DIGITS.get(currency, 2)
    if digits == 0:
        return f"{amount_cents} {currency}"
    whole, minor = divmod(abs(amount_cents), 10**digits)
    return f"{'-' if amount_cents < 0 else ''}{whole}.{minor:0{digits}d} {currency}"


def when(iso: str | None) -> str:
    """An ISO time as "2026-11-30 14:05 UTC" (the console shows UTC: the fleet spans time zones)."""
    if not iso:
        return "—"
    try:
        at = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return iso
    return at.strftime("%Y-%m-%d %H:%M UTC")
