"""Every string the touchscreen shows, in English and Simplified Chinese.

The zh strings decide which glyphs go into the bundled CJK font subset:
after changing a text, run ``scripts/subset_cjk_font.py`` (tests/ui checks it).
"""
from __future__ import annotations

LANGUAGES = ("en", "zh")

STRINGS: dict[str, dict[str, str]] = {
    "brand": {"en": "e-Ride Store", "zh": "e-Ride 电动车自助店"},
    # The language button shows the language it switches to.
    "lang.toggle": {"en": "中文", "zh": "English"},
    "footer.cabinet": {"en": "Cabinet {id}", "zh": "售货柜 {id}"},
    "offline": {"en": "Offline", "zh": "离线"},
    "nav.help": {"en": "Help", "zh": "帮助"},
    "nav.pickup": {"en": "Pick up an order", "zh": "提取订单"},

    "attract.title": {"en": "Your new ride is right here", "zh": "您的新座驾就在这里"},
    "attract.subtitle": {
        "en": "Electric scooters and e-bikes. Pay here, the door opens, ride away.",
        "zh": "电动滑板车与电动自行车。在此付款，柜门打开，即刻骑走。",
    },
    "attract.start": {"en": "Touch anywhere to start", "zh": "轻触任意位置开始"},

    "catalog.title": {"en": "Choose your ride", "zh": "选择您的车型"},
    "catalog.empty": {
        "en": "No vehicles available right now. Please check back soon.",
        "zh": "目前暂无可售车辆，请稍后再来。",
    },
    "catalog.swipe_hint": {"en": "Swipe for more", "zh": "左右滑动查看更多"},
    "catalog.online_badge": {"en": "Online store", "zh": "网店有售"},
    "stock.in": {"en": "In stock", "zh": "有货"},
    "stock.count": {"en": "{count} in stock", "zh": "现货 {count} 件"},
    "stock.last_one": {"en": "Last one here", "zh": "仅剩最后 1 件"},
    "stock.sold_out": {"en": "Sold out", "zh": "已售罄"},
    "stock.online": {"en": "Order online", "zh": "网上订购"},

    "nav.back": {"en": "‹  Back", "zh": "‹  返回"},
    "nav.cancel": {"en": "Cancel", "zh": "取消"},
    "product.buy": {"en": "Buy now", "zh": "立即购买"},
    "product.spin_hint": {"en": "360°  ·  drag to turn", "zh": "360°  ·  拖动旋转"},
    "product.materials": {"en": "Materials", "zh": "材质"},
    "product.design": {"en": "Design", "zh": "设计"},
    "product.colour": {"en": "Colour", "zh": "颜色"},
    "product.qr": {"en": "Scan to see it in our online store", "zh": "扫码在网店查看"},
    "product.online_only": {"en": "Available in our online store", "zh": "网店有售"},
    "product.online_hint": {
        "en": "Scan the code to order it online, delivered to your door.",
        "zh": "扫描二维码在网上订购，送货上门。",
    },

    "checkout.title": {"en": "How would you like to pay?", "zh": "请选择付款方式"},
    "checkout.total": {"en": "Total", "zh": "合计"},
    "pay.terminal": {"en": "Card or phone", "zh": "银行卡或手机"},
    "pay.terminal.hint": {"en": "Tap, insert or swipe at the terminal", "zh": "在付款终端上挥卡、插卡或刷卡"},
    "pay.qr": {"en": "Scan to pay", "zh": "扫码支付"},
    "pay.qr.hint": {"en": "Pay on your phone with a QR code", "zh": "用手机扫描二维码付款"},
    "pay.qr.offline": {"en": "Unavailable while offline", "zh": "离线时不可用"},
    "status.present_card": {"en": "Present your card on the terminal", "zh": "请在付款终端上出示银行卡"},
    "status.present_card.hint": {"en": "Tap, insert or swipe your card or phone", "zh": "可挥卡、插卡、刷卡或使用手机"},
    "status.enter_pin": {"en": "Enter your PIN on the terminal", "zh": "请在付款终端上输入密码"},
    "status.enter_pin.hint": {"en": "Keep your PIN covered", "zh": "输入时请遮挡密码"},
    "status.processing": {"en": "Processing payment…", "zh": "正在处理付款…"},
    "status.processing.hint": {"en": "Please wait a moment", "zh": "请稍候"},
    "status.scan_to_pay": {"en": "Scan with your phone to pay", "zh": "请用手机扫码付款"},
    "status.scan_to_pay.hint": {
        "en": "Open your banking or payment app and scan this code.",
        "zh": "打开银行或支付应用，扫描此二维码。",
    },

    "message.declined": {"en": "Payment declined. You have not been charged.", "zh": "付款被拒绝，未扣款。"},
    "message.timed_out": {"en": "The payment timed out. You have not been charged.", "zh": "付款超时，未扣款。"},
    "message.cancelled": {"en": "Payment cancelled. You have not been charged.", "zh": "付款已取消，未扣款。"},
    "message.fault": {
        "en": "Payment is unavailable right now. Please try again later.",
        "zh": "付款功能暂时不可用，请稍后再试。",
    },
    "message.sold_out": {"en": "Sorry, this vehicle has just sold out.", "zh": "抱歉，该车型刚刚售罄。"},
    "message.pickup_wrong_code": {
        "en": "That code is not right. Please check it and try again.",
        "zh": "取货码不正确，请核对后重试。",
    },
    "message.pickup_locked": {
        "en": "Too many tries. Please wait {seconds} s.",
        "zh": "尝试次数过多，请等待 {seconds} 秒。",
    },

    "pickup.title": {"en": "Pick up your order", "zh": "提取您的订单"},
    "pickup.enter": {
        "en": "Enter the {length}-digit pickup code from your order confirmation.",
        "zh": "请输入订单确认信息中的 {length} 位取货码。",
    },
    "pickup.or_scan": {"en": "Or hold your order QR code up to the camera", "zh": "或将订单二维码对准摄像头"},
    "pickup.submit": {"en": "Open", "zh": "开柜"},
    "pickup.delete": {"en": "←  Delete", "zh": "←  删除"},

    "help.title": {"en": "Need a hand?", "zh": "需要帮助？"},
    "help.call": {"en": "Call us", "zh": "致电我们"},
    "help.no_phone": {"en": "Please ask at the mall's information desk.", "zh": "请到商场服务台咨询。"},
    "help.cabinet": {"en": "This cabinet's number", "zh": "本售货柜编号"},
    "help.quote": {
        "en": "Tell us this number so we know which cabinet you are at.",
        "zh": "请告知此编号，以便我们确认您所在的售货柜。",
    },
    "help.promise": {
        "en": "Paid but the door did not open? You get your money back.",
        "zh": "已付款但柜门未打开？我们将全额退款。",
    },
    "help.web": {"en": "Help online", "zh": "在线帮助"},

    "door.unlocked": {"en": "Open the door and take your product", "zh": "请打开柜门，取走您的商品"},
    "door.opened": {"en": "Take your product and close the door", "zh": "请取走商品并关好柜门"},
    "door.closed": {"en": "The door is closed", "zh": "柜门已关闭"},
    "door.countdown": {"en": "The door locks again in {seconds} s", "zh": "柜门将在 {seconds} 秒后重新上锁"},
    "door.unlock_again": {"en": "Unlock the door again", "zh": "再次开锁"},

    "thanks.title": {"en": "Thank you!", "zh": "谢谢惠顾！"},
    "thanks.subtitle": {"en": "Enjoy your new ride.", "zh": "祝您骑行愉快。"},
    "thanks.done": {"en": "Done", "zh": "完成"},

    # Labels of ProductView.specs keys; an unknown key is shown as written.
    "spec.range": {"en": "Range", "zh": "续航"},
    "spec.top_speed": {"en": "Top speed", "zh": "最高时速"},
    "spec.weight": {"en": "Weight", "zh": "重量"},
    "spec.battery": {"en": "Battery", "zh": "电池"},
    "spec.motor": {"en": "Motor", "zh": "电机"},
    "spec.charge_time": {"en": "Charging time", "zh": "充电时间"},
    "spec.max_load": {"en": "Max. load", "zh": "最大载重"},
    "spec.wheels": {"en": "Wheels", "zh": "车轮"},
    "spec.frame": {"en": "Frame", "zh": "车架"},
    "spec.brakes": {"en": "Brakes", "zh": "刹车"},
}

# Message keys the product screen knows (ViewState.message).
MESSAGES = ("declined", "timed_out", "cancelled", "fault", "sold_out", "pickup_wrong_code", "pickup_locked")

CURRENCY_SYMBOLS = {"EUR": "€", "CNY": "¥", "USD": "$", "GBP": "£"}


def t(key: str, language: str, **values: object) -> str:
    """The text for ``key`` in ``language``, with ``{name}`` placeholders filled."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; expected one of {LANGUAGES}")
    try:
        text = STRINGS[key][language]
    except KeyError:
        raise KeyError(f"no translation for {key!r}") from None
    return text.format(**values) if values else text


def spec_label(key: str, language: str) -> str:
    """The label of a product spec; specs the UI has no translation for show their key."""
    entry = STRINGS.get(f"spec.{key}")
    return entry[language] if entry else key


def format_price(cents: int, currency: str) -> str:
    """``129900, "EUR"`` -> ``"€1,299.00"``; unknown currencies keep their ISO code."""
    if not isinstance(cents, int) or cents < 0:
        raise ValueError(f"price must be a non-negative whole number of cents, got {cents!r}")
    amount = f"{cents // 100:,}.{cents % 100:02d}"
    symbol = CURRENCY_SYMBOLS.get(currency.upper())
    return f"{symbol}{amount}" if symbol else f"{currency.upper()} {amount}"


def font_characters() -> str:
    """Every character the bundled font must hold: printable ASCII, all UI texts, currency signs."""
    chars = {chr(c) for c in range(0x20, 0x7F)}
    for entry in STRINGS.values():
        for text in entry.values():
            chars.update(text)
    chars.update("".join(CURRENCY_SYMBOLS.values()))
    chars.add("…")  # the ellipsis used when a text is cut
    return "".join(sorted(chars))
