"""The consumer pages' words in English and Chinese (the same keys and placeholders in both: a test checks)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from cloud_stub.console.i18n import LANGUAGES
from cloud_stub.console.i18n import language as console_language

EN: dict[str, str] = {
    "site_name": "Smart cabinet",
    "switch_language": "中文",
    "not_found_title": "Link not found",
    "not_found": "This code or link is not known. Check that the whole code was scanned, or ask at the cabinet.",
    "receipt_title": "Receipt",
    "receipt_pending_title": "Receipt on its way",
    "receipt_pending": "Your receipt will appear here shortly, once the cabinet has sent the sale. Keep this page "
    "and reload it in a minute.",
    "reference": "Reference",
    "product": "Product",
    "variant": "Variant",
    "amount": "Amount",
    "time": "Time",
    "cabinet": "Cabinet",
    "place": "Place",
    "payment": "Payment",
    "payment_collected": "Paid",
    "payment_reversed": "Reversed: you were not charged",
    "payment_refund_due": "Refund due: the money is on its way back",
    "payment_refunded": "Refunded",
    "help": "Need help?",
    "help_call": "Call {phone} and give the reference {reference}.",
    "help_reference": "Ask the retailer and give the reference {reference}.",
    "repair_title": "Repair status",
    "repair_intro": "Enter the ticket number from the cabinet and the last four digits of the phone number you gave.",
    "ticket_number": "Ticket number",
    "phone_end": "Last four digits of your phone number",
    "look_up": "Show the status",
    "repair_not_found": "No ticket matches this number and phone. Check both and try again.",
    "repair_wait": "Too many tries. Please try again in {seconds} s.",
    "repair_ticket": "Ticket {ticket}",
    "status_dropped_off": "Dropped off at the cabinet",
    "status_collected": "Collected by the store",
    "status_in_repair": "In repair",
    "status_returned": "Back in the cabinet, ready to collect",
    "status_handed_back": "Handed back",
    "near_title": "Cabinets near you",
    "near_intro": "Find a cabinet to buy, collect an order or drop off a vehicle for repair.",
    "use_my_position": "Use my position",
    "latitude": "Latitude",
    "longitude": "Longitude",
    "address": "Address",
    "search": "Search",
    "near_none": "No cabinet is listed yet.",
    "near_ask": "Share your position or enter coordinates to see the nearest cabinets.",
    "near_bad_position": "These coordinates are not a position on Earth.",
    "near_no_geocoder": "Searching by address is not available here; use your position or coordinates.",
    "near_address_unknown": "This address was not found.",
    "distance_km": "{km} km away",
    "online_now": "Online now",
    "offline_now": "Offline right now",
    "offers": "Offers",
    "offers_repair": "repair drop-off",
    "offers_pickup": "pickup of online orders",
    "opening_hours": "Opening hours",
    "hours_unknown": "Opening hours not stated",
    "geolocation_failed": "Your position is not available. Enter coordinates instead.",
    "day_0": "Mon",
    "day_1": "Tue",
    "day_2": "Wed",
    "day_3": "Thu",
    "day_4": "Fri",
    "day_5": "Sat",
    "day_6": "Sun",
}

ZH: dict[str, str] = {
    "site_name": "智能售货柜",
    "switch_language": "English",
    "not_found_title": "未找到链接",
    "not_found": "无法识别此代码或链接。请确认扫描了完整的代码，或在柜机处咨询。",
    "receipt_title": "收据",
    "receipt_pending_title": "收据即将生成",
    "receipt_pending": "柜机上传这笔交易后，您的收据将很快显示在这里。请保留此页面，一分钟后刷新。",
    "reference": "参考号",
    "product": "商品",
    "variant": "款式",
    "amount": "金额",
    "time": "时间",
    "cabinet": "柜机",
    "place": "地点",
    "payment": "付款",
    "payment_collected": "已支付",
    "payment_reversed": "已撤销：未向您收费",
    "payment_refund_due": "待退款：款项正在退回",
    "payment_refunded": "已退款",
    "help": "需要帮助？",
    "help_call": "请拨打 {phone} 并提供参考号 {reference}。",
    "help_reference": "请联系商家并提供参考号 {reference}。",
    "repair_title": "维修进度",
    "repair_intro": "请输入柜机给出的工单号，以及您留下的手机号码的后四位。",
    "ticket_number": "工单号",
    "phone_end": "手机号码后四位",
    "look_up": "查看进度",
    "repair_not_found": "没有与此工单号和手机号匹配的工单。请检查后重试。",
    "repair_wait": "尝试次数过多。请在 {seconds} 秒后重试。",
    "repair_ticket": "工单 {ticket}",
    "status_dropped_off": "已送至柜机",
    "status_collected": "门店已取件",
    "status_in_repair": "维修中",
    "status_returned": "已放回柜机，可以取回",
    "status_handed_back": "已交还",
    "near_title": "附近的柜机",
    "near_intro": "查找可购买、取件或送修车辆的柜机。",
    "use_my_position": "使用我的位置",
    "latitude": "纬度",
    "longitude": "经度",
    "address": "地址",
    "search": "搜索",
    "near_none": "暂无已登记的柜机。",
    "near_ask": "请共享您的位置或输入坐标，查看最近的柜机。",
    "near_bad_position": "这些坐标不是地球上的位置。",
    "near_no_geocoder": "此处不支持按地址搜索；请使用您的位置或坐标。",
    "near_address_unknown": "未找到此地址。",
    "distance_km": "距离 {km} 公里",
    "online_now": "当前在线",
    "offline_now": "当前离线",
    "offers": "服务",
    "offers_repair": "维修送件",
    "offers_pickup": "网购自提",
    "opening_hours": "营业时间",
    "hours_unknown": "未注明营业时间",
    "geolocation_failed": "无法获取您的位置。请改为输入坐标。",
    "day_0": "周一",
    "day_1": "周二",
    "day_2": "周三",
    "day_3": "周四",
    "day_4": "周五",
    "day_5": "周六",
    "day_6": "周日",
}
STRINGS = {"en": EN, "zh": ZH}


def language(request: web.Request) -> str:
    """``?lang=`` (the page's switch), else the console's rule: its cookie, the browser's languages, English."""
    chosen = request.query.get("lang")
    return chosen if chosen in LANGUAGES else console_language(request)


def translator(lang: str) -> Callable[..., str]:
    strings = STRINGS.get(lang, EN)

    def t(key: str, **values: object) -> str:
        text = strings.get(key) or EN[key]
        return text.format(**values) if values else text

    return t
