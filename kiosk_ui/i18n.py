"""Every string the touchscreen shows, in English and Simplified Chinese.

The zh strings decide which glyphs go into the bundled CJK font subset:
after changing a text, run ``scripts/subset_cjk_font.py`` (tests/ui checks it).
"""

from __future__ import annotations

from typing import get_args

from kiosk_ui.view import Language, SetupDetail

LANGUAGES: tuple[Language, ...] = get_args(Language)

STRINGS: dict[str, dict[str, str]] = {
    "brand": {"en": "e-Ride Store", "zh": "e-Ride 电动车自助店"},
    # The language button shows the language it switches to.
    "lang.toggle": {"en": "中文", "zh": "English"},
    "footer.cabinet": {"en": "Cabinet {id}", "zh": "售货柜 {id}"},
    "offline": {"en": "Offline", "zh": "离线"},
    "nav.help": {"en": "Help", "zh": "帮助"},
    "nav.accessible": {"en": "Accessible", "zh": "无障碍"},  # the accessibility mode's button, mode off
    "nav.accessible_on": {"en": "Accessible: on", "zh": "无障碍：已开"},  # ... mode on (a tap turns it off)
    "nav.pickup": {"en": "Pick up an order", "zh": "提取订单"},
    "nav.repair": {"en": "Drop off for repair", "zh": "车辆送修"},
    "key.space": {"en": "Space", "zh": "空格"},
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
    "nav.home": {"en": "Home", "zh": "首页"},
    "still_there.title": {"en": "Still there?", "zh": "您还在吗？"},
    "still_there.countdown": {
        "en": "Back to the start in {seconds} s. Nothing has been charged.",
        "zh": "{seconds} 秒后返回首页，不会扣款。",
    },
    "still_there.continue": {"en": "I'm still here", "zh": "我还在"},
    "checkout.time_left": {"en": "{seconds} s left to pay", "zh": "剩余付款时间 {seconds} 秒"},
    "checkout.no_method": {
        "en": "No way to pay right now. Ask for help, or come back later.",
        "zh": "目前无法付款。请寻求帮助，或稍后再来。",
    },
    "product.no_method": {
        "en": "Paying is unavailable right now: the card terminal or the network is down.",
        "zh": "暂时无法付款：付款终端或网络故障。",
    },
    "help.tip.checkout": {
        "en": "Paying: cancel at any time before your card is read. A declined card is never charged.",
        "zh": "付款：读卡前可随时取消。被拒绝的卡不会扣款。",
    },
    "help.tip.door": {
        "en": "Door: pull it while the latch is open. If it does not open, your payment is given back.",
        "zh": "柜门：锁打开时请拉门。若柜门未打开，款项将退还。",
    },
    "help.tip.thanks": {
        "en": "Something wrong with your vehicle? Call us with this cabinet's number.",
        "zh": "车辆有问题？请致电并告知本售货柜编号。",
    },
    "help.tip.out_of_service": {
        "en": "The cabinet cannot record anything right now, so it takes no payments, pickups or repairs. "
        "Call us, or come back later.",
        "zh": "售货柜暂时无法记录，因此不能付款、取货或报修。请致电我们，或稍后再来。",
    },
    "help.tip.pickup": {
        "en": "The pickup code is in your order confirmation e-mail or text message.",
        "zh": "取货码在您的订单确认邮件或短信中。",
    },
    "product.buy": {"en": "Buy now", "zh": "立即购买"},
    "product.spin_hint": {"en": "360°  ·  drag to turn", "zh": "360°  ·  拖动旋转"},
    "product.materials": {"en": "Materials", "zh": "材质"},
    "product.design": {"en": "Design", "zh": "设计"},
    "product.colour": {"en": "Colour", "zh": "颜色"},
    "product.variant_sold_out": {"en": "{name} · sold out", "zh": "{name} · 已售罄"},
    "product.qr": {"en": "Scan to see it in our online store", "zh": "扫码在网店查看"},
    "narration.listen": {"en": "Listen", "zh": "收听介绍"},
    "narration.stop": {"en": "Stop", "zh": "停止"},
    "narration.silent": {"en": "Subtitles only", "zh": "仅字幕"},
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
    "message.qr_unavailable": {"en": "Scan-to-pay unavailable. Not charged.", "zh": "扫码支付暂不可用，未扣款。"},
    "message.sold_out": {"en": "Sorry, this vehicle has just sold out.", "zh": "抱歉，该车型刚刚售罄。"},
    "message.pickup_wrong_code": {
        "en": "That code is wrong. Check the digits and correct them.",
        "zh": "取货码错误，请核对并更正数字。",
    },
    "message.pickup_already_collected": {
        "en": "This order has already been collected.",
        "zh": "该订单已被提取。",
    },
    "message.checking": {"en": "Checking…", "zh": "正在验证…"},
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
    "door.relocked": {"en": "The door locked again", "zh": "柜门已重新上锁"},
    # While the relay holds the latch released (the pulse): the only time the door can be pulled open.
    "door.latch_countdown": {
        "en": "The lock is open for {seconds} s: pull the door now",
        "zh": "门锁打开 {seconds} 秒，请立即拉开柜门",
    },
    "door.again_countdown": {
        "en": "Unlock it again within {seconds} s",
        "zh": "请在 {seconds} 秒内再次开锁",
    },
    "door.relocked_wait": {
        "en": "The door stays locked. This ends in {seconds} s",
        "zh": "柜门保持锁定，{seconds} 秒后结束",
    },
    "door.unlock_again": {"en": "Unlock the door again", "zh": "再次开锁"},
    # Door alarms (door and restock screens).
    "alarm.door_open_too_long": {"en": "Please close the door", "zh": "请关好柜门"},
    "alarm.door_stuck": {
        "en": "The door did not open. Try unlocking it again.",
        "zh": "柜门未能打开，请再次尝试开锁。",
    },
    # Staff: the PIN pad.
    "pin.header": {"en": "Staff access", "zh": "员工入口"},
    "pin.title": {"en": "Enter your PIN", "zh": "请输入密码"},
    "pin.hint": {
        "en": "{least} to {most} digits. Keep it covered.",
        "zh": "{least} 至 {most} 位数字，输入时请遮挡。",
    },
    "pin.submit": {"en": "Unlock", "zh": "开锁"},
    "message.pin_wrong": {"en": "Wrong PIN. Please try again.", "zh": "密码错误，请重试。"},
    "message.pin_wrong.left": {"en": "Wrong PIN. {attempts} tries left.", "zh": "密码错误，还可尝试 {attempts} 次。"},
    "message.pin_wrong.last": {
        "en": "Wrong PIN. One try left before the pad locks.",
        "zh": "密码错误，再错一次将锁定键盘。",
    },
    "message.pin_locked": {
        "en": "Too many tries. Try again in {seconds} s.",
        "zh": "尝试次数过多，请 {seconds} 秒后再试。",
    },
    # Staff: restock.
    "restock.header": {"en": "Restock", "zh": "补货"},
    "restock.unlocked": {"en": "Open the door", "zh": "请打开柜门"},
    "restock.unlocked.hint": {"en": "The door is unlocked for you.", "zh": "柜门已为您解锁。"},
    "restock.opened": {"en": "Count the stock, then close the door", "zh": "请清点库存，然后关好柜门"},
    "restock.opened.hint": {
        "en": "Set each product to the number now in the cabinet.",
        "zh": "请将每件商品的数量调整为柜内现有数量。",
    },
    "restock.closed": {"en": "Stock recorded", "zh": "库存已记录"},
    "restock.changed": {"en": "What changed is listed below.", "zh": "变动如下。"},
    "restock.unchanged": {"en": "Nothing changed.", "zh": "库存没有变化。"},
    "restock.empty": {"en": "This cabinet has no products to count.", "zh": "本售货柜没有需要清点的商品。"},
    "restock.page": {"en": "Page {page} of {pages}", "zh": "第 {page} 页，共 {pages} 页"},
    "restock.done": {"en": "Finish", "zh": "完成"},
    # Repair drop-off.
    "repair.step": {
        "en": "Repair drop-off  ·  step {step} of {steps}",
        "zh": "车辆送修  ·  第 {step} 步，共 {steps} 步",
    },
    "repair.booked": {"en": "Repair drop-off", "zh": "车辆送修"},
    "repair.vehicle": {
        "en": "Scan the QR code on your vehicle, or type its frame number",
        "zh": "请扫描车辆上的二维码，或输入车架号",
    },
    "repair.contact": {"en": "How can the workshop reach you?", "zh": "维修店如何联系您？"},
    "repair.next": {"en": "Next  ›", "zh": "下一步  ›"},
    "repair.phone_offer": {"en": "Continue on your phone", "zh": "在手机上填写"},
    "repair.phone_waiting": {
        "en": "Scan the code with your phone and fill in the form there, in any language.",
        "zh": "请用手机扫描二维码，在手机上填写表单，可使用任何语言。",
    },
    "repair.phone_opened": {
        "en": "Continuing on the phone… Your ticket number appears here when you send the form.",
        "zh": "正在手机上填写…… 提交表单后，工单号将显示在这里。",
    },
    "repair.phone_cancel": {"en": "Type here instead", "zh": "改为在此输入"},
    "field.vehicle": {"en": "Frame number", "zh": "车架号"},
    "field.name": {"en": "Your name", "zh": "您的姓名（可用拼音）"},
    "field.phone": {"en": "Phone number", "zh": "手机号码"},
    "field.description": {"en": "Describe the fault (optional)", "zh": "故障描述（选填）"},
    "field.left": {"en": "{count} characters left", "zh": "还可输入 {count} 个字符"},
    "fault.battery": {"en": "Battery", "zh": "电池"},
    "fault.brakes": {"en": "Brakes", "zh": "刹车"},
    "fault.tyre": {"en": "Tyre", "zh": "轮胎"},
    "fault.motor": {"en": "Motor", "zh": "电机"},
    "fault.display": {"en": "Display", "zh": "仪表"},
    "fault.other": {"en": "Other", "zh": "其他"},
    "field_error.required": {"en": "Please fill this in.", "zh": "请填写此项。"},
    "field_error.vehicle_invalid": {
        "en": "That does not look like a frame number.",
        "zh": "车架号格式不正确。",
    },
    "field_error.vehicle_unknown": {
        "en": "We do not know this vehicle. Please check the number.",
        "zh": "未找到该车辆，请核对车架号。",
    },
    "field_error.name_invalid": {"en": "Please enter your name.", "zh": "请输入您的姓名。"},
    "field_error.phone_invalid": {"en": "Please enter a valid phone number.", "zh": "请输入有效的手机号码。"},
    "field_error.too_long": {"en": "That is too long.", "zh": "内容过长。"},
    "field_error.category_required": {"en": "Please choose what is wrong.", "zh": "请选择故障类型。"},
    "consent.title": {"en": "Before we take your vehicle in", "zh": "接收车辆前请阅读"},
    "consent.stored": {
        "en": "We store your name, your phone number, the vehicle's frame number and the fault you described.",
        "zh": "我们将保存您的姓名、手机号码、车架号以及您描述的故障。",
    },
    "consent.kept": {
        "en": "We keep them until your vehicle is returned, plus 30 days, then delete them.",
        "zh": "这些信息保存至车辆归还后 30 天，随后删除。",
    },
    "consent.who": {
        "en": "Only the retailer repairing your vehicle sees them, to contact you about this repair.",
        "zh": "仅负责维修的零售商可以查看，用于就本次维修与您联系。",
    },
    "consent.fault": {"en": "Fault", "zh": "故障类型"},
    "consent.agree": {"en": "I agree", "zh": "我同意"},
    # a call-back for the manufacturer's customer service (issue 15); the consent's version is CALLBACK_CONSENT_VERSION
    "product.callback": {"en": "Call me back", "zh": "请回电给我"},
    "callback.title": {"en": "Call me back about this product", "zh": "请就此商品回电给我"},
    "callback.purpose": {
        "en": "The manufacturer's customer service calls you once to answer your questions about {product}.",
        "zh": "厂家客服将给您回电一次，解答您对{product}的疑问。",
    },
    "callback.consent": {
        "en": "I agree that my phone number is stored with this request, seen only by this cabinet's retailer "
        "and the manufacturer's customer service, used only to call me about this product, and deleted "
        "after {days} days or sooner when I ask.",
        "zh": "我同意：我的手机号码随本次请求保存，仅本柜零售商和厂家客服可见，仅用于就此商品给我回电，"
        "{days} 天后删除，或在我要求时提前删除。",
    },
    "callback.version": {"en": "Consent version {version}", "zh": "同意书版本 {version}"},
    "callback.phone": {"en": "Your phone number", "zh": "您的手机号码"},
    "callback.send": {"en": "I agree, call me", "zh": "我同意，请回电"},
    "callback.phone_invalid": {
        "en": "Please enter a phone number of 7 to 15 digits.",
        "zh": "请输入 7 到 15 位数字的手机号码。",
    },
    "callback.phone_offer": {"en": "Continue on your phone", "zh": "在手机上填写"},
    "callback.phone_waiting": {
        "en": "Scan the code with your phone and type your number there.",
        "zh": "请用手机扫描二维码，在手机上输入您的号码。",
    },
    "callback.phone_opened": {
        "en": "Continuing on the phone… This screen thanks you when you send the request.",
        "zh": "正在手机上填写…… 提交请求后，本屏幕将显示确认。",
    },
    "callback.phone_cancel": {"en": "Type here instead", "zh": "改为在此输入"},
    "callback.sent": {"en": "Thank you. We will call you.", "zh": "谢谢，我们会给您回电。"},
    "callback.sent_hint": {
        "en": "Your request is recorded and reaches customer service as soon as the cabinet is online.",
        "zh": "您的请求已记录，售货柜联网后即送达客服。",
    },
    "ticket.title": {"en": "Your vehicle is booked in", "zh": "您的车辆已登记送修"},
    "ticket.number": {"en": "Your ticket number", "zh": "您的送修单号"},
    "ticket.keep": {"en": "Keep this", "zh": "请妥善保存"},
    "ticket.hint": {
        "en": "Take a photo of the code. You need the number to collect your vehicle.",
        "zh": "请拍下此二维码，取车时需要提供单号。",
    },
    "ticket.leave": {
        "en": "Leave the vehicle where the retailer showed you. We will call you when it is ready.",
        "zh": "请将车辆停放在零售商指定的位置，修好后我们会致电通知您。",
    },
    # Technicians: the service menu and touch calibration.
    "service.header": {"en": "Service", "zh": "维护"},
    "service.devices": {"en": "Devices", "zh": "设备"},
    "service.status.ok": {"en": "OK", "zh": "正常"},
    "service.status.fault": {"en": "Fault", "zh": "故障"},
    "service.status.unknown": {"en": "Unknown", "zh": "未知"},
    "service.no_devices": {"en": "No device reported yet.", "zh": "尚无设备状态。"},
    "service.more": {"en": "and {count} more", "zh": "另有 {count} 个"},
    "service.selftest": {"en": "Run self-test", "zh": "运行自检"},
    "service.selftest.running": {"en": "Self-test running…", "zh": "自检进行中…"},
    "service.selftest.passed": {"en": "Self-test passed", "zh": "自检通过"},
    "service.selftest.failed": {"en": "Self-test failed: {count} faulty", "zh": "自检失败：{count} 个故障"},
    "service.alarms": {"en": "Open alarms", "zh": "未处理警报"},
    "service.no_alarms": {"en": "None", "zh": "无"},
    "service.network": {"en": "Network", "zh": "网络"},
    "service.no_network": {"en": "No network", "zh": "无网络"},
    "service.link_down": {"en": "Link down", "zh": "链路断开"},
    "service.cloud": {"en": "Cloud", "zh": "云端"},
    "service.online": {"en": "Online", "zh": "在线"},
    "service.offline": {"en": "Offline", "zh": "离线"},
    "service.version": {"en": "Software", "zh": "软件版本"},
    # Device names and their live states; a name or state without one here is shown as it is.
    "service.device.lock": {"en": "Lock", "zh": "门锁"},
    "service.device.door": {"en": "Door", "zh": "柜门"},
    "service.device.payment": {"en": "Card terminal", "zh": "刷卡终端"},
    "service.device.scan_to_pay": {"en": "Scan to pay", "zh": "扫码支付"},
    "service.device.nfc": {"en": "Card reader", "zh": "读卡器"},
    "service.device.scanner": {"en": "Code scanner", "zh": "扫码器"},
    "service.device.fingerprint": {"en": "Fingerprint", "zh": "指纹模块"},
    "service.device.camera": {"en": "Camera", "zh": "摄像头"},
    "service.device.tamper": {"en": "Tamper switch", "zh": "防拆开关"},
    "service.device.storage": {"en": "Storage", "zh": "存储"},
    "service.device.screen": {"en": "Screen", "zh": "屏幕"},
    "service.device.network": {"en": "Network link", "zh": "网络链路"},
    "service.state.locked": {"en": "Locked", "zh": "已上锁"},
    "service.state.released": {"en": "Released", "zh": "已开锁"},
    "service.state.open": {"en": "Open", "zh": "打开"},
    "service.state.closed": {"en": "Closed", "zh": "关闭"},
    "service.state.ready": {"en": "Ready", "zh": "就绪"},
    "service.state.reading": {"en": "Reading", "zh": "读取中"},
    "service.state.door_open_too_long": {"en": "Left open too long", "zh": "开门时间过长"},
    "service.pending": {"en": "Waiting to upload", "zh": "待上传"},
    "service.last_success": {"en": "Last upload", "zh": "上次上传"},
    "service.never": {"en": "never", "zh": "从未"},
    "service.dead_letters": {"en": "Refused by the cloud", "zh": "被云端拒收"},
    "service.config": {"en": "Configuration", "zh": "配置版本"},
    "service.lock_test": {"en": "Pulse the lock", "zh": "测试门锁"},
    "service.calibrate": {"en": "Calibrate touch", "zh": "触摸校准"},
    "service.restart": {"en": "Restart", "zh": "重启服务"},
    "service.restart.confirm": {"en": "Tap again to restart", "zh": "再按一次确认重启"},
    "service.exit": {"en": "Exit", "zh": "退出"},
    "service.enrol": {"en": "Enrol finger", "zh": "录入指纹"},
    # Enrol: a staff finger stored on the fingerprint module (place, lift, place again), from the service menu
    "enrol.header": {"en": "Enrol a staff finger", "zh": "录入员工指纹"},
    "enrol.place": {"en": "Place the finger on the sensor", "zh": "请把手指放在传感器上"},
    "enrol.lift": {"en": "Lift the finger", "zh": "请抬起手指"},
    "enrol.place_again": {"en": "Place the same finger again", "zh": "请再次放上同一根手指"},
    "enrol.progress": {"en": "Step {n} of {total}", "zh": "第 {n} 步，共 {total} 步"},
    "enrol.done": {"en": "Finger stored in slot {slot}", "zh": "指纹已存入槽位 {slot}"},
    "enrol.done_detail": {
        "en": "The cloud has been told. Name who slot {slot} belongs to in the retailer's configuration.",
        "zh": "已通知云端。请在零售商配置中注明槽位 {slot} 属于谁。",
    },
    "enrol.failed": {"en": "The finger was not stored", "zh": "指纹未能存入"},
    "enrol.back": {"en": "Back to the menu", "zh": "返回菜单"},
    "calibrate.title": {"en": "Touch the centre of each target", "zh": "请依次点按每个目标的中心"},
    "calibrate.progress": {"en": "Target {n} of {total}", "zh": "第 {n} 个，共 {total} 个"},
    # Error: a view the screen could not show (the cabinet was told; the next screen replaces it).
    "error.title": {"en": "One moment, please", "zh": "请稍候"},
    "error.subtitle": {
        "en": "This screen could not be shown. The cabinet has been told and carries on.",
        "zh": "本页暂时出错。售货柜已记录这个错误，正在正常运行。",
    },
    # Out of service: the cabinet cannot record a sale (its storage), so it takes no payment.
    "oos.title": {"en": "Out of service", "zh": "暂停服务"},
    "oos.subtitle": {
        "en": "This cabinet cannot take payments right now. Please come back later.",
        "zh": "本售货柜暂时不能付款，请稍后再来。",
    },
    # Technician needed: the cabinet is not provisioned or not configured, so it cannot start selling.
    "tech.title": {"en": "Technician needed", "zh": "需要技术人员"},
    "tech.subtitle": {
        "en": "This cabinet is not set up yet and is not selling.",
        "zh": "本售货柜尚未设置完成，暂不销售。",
    },
    "tech.key": {"en": "No cabinet key", "zh": "没有柜机密钥"},
    "tech.enrolment": {"en": "Not enrolled with the cloud", "zh": "未在云端注册"},
    "tech.config": {"en": "The configuration has a problem", "zh": "配置有问题"},
    "tech.fix": {
        "en": "Run kiosk provision, then kiosk doctor (hardware/README.md).",
        "zh": "请运行 kiosk provision，再运行 kiosk doctor（见 hardware/README.md）。",
    },
    "tech.hardware_id": {"en": "Hardware id", "zh": "硬件编号"},
    "tech.more": {"en": " (and {count} more: kiosk config check)", "zh": "（另有 {count} 项：kiosk config check）"},
    "message.out_of_service": {"en": "This cabinet cannot take payments right now.", "zh": "本售货柜暂时不能付款。"},
    "message.not_charged": {
        "en": "Your payment was cancelled. You have not been charged.",
        "zh": "您的付款已取消，未扣款。",
    },
    "message.refund_pending": {
        "en": "Your refund is under way. Please call us and quote this cabinet's number.",
        "zh": "退款正在处理中，请致电我们并告知本售货柜编号。",
    },
    "thanks.title": {"en": "Thank you!", "zh": "谢谢惠顾！"},
    "thanks.subtitle": {"en": "Enjoy your new ride.", "zh": "祝您骑行愉快。"},
    "thanks.done": {"en": "Done", "zh": "完成"},
    # How a paid sale ended when the door was never opened (ThanksScreen.money), and what the shopper keeps.
    "thanks.prepaid.title": {"en": "Thank you!", "zh": "谢谢惠顾！"},
    "thanks.prepaid.subtitle": {"en": "Enjoy your new ride.", "zh": "祝您骑行愉快。"},
    "thanks.reversing.notice": {
        "en": "The door was not opened: your payment is being reversed.",
        "zh": "柜门未被打开：您的付款正在撤销。",
    },
    "thanks.reversing.title": {"en": "You will not be charged", "zh": "您不会被扣款"},
    "thanks.reversing.subtitle": {
        "en": "If the money still shows on your account, call us with this reference.",
        "zh": "如您的账户仍显示扣款，请致电我们并告知此参考号。",
    },
    "thanks.reversed.notice": {
        "en": "The door was not opened: your payment was reversed.",
        "zh": "柜门未被打开：您的付款已撤销。",
    },
    "thanks.reversed.title": {"en": "You have not been charged", "zh": "您未被扣款"},
    "thanks.reversed.subtitle": {
        "en": "The money goes back to where you paid from. Nothing else to do.",
        "zh": "款项将退回您的付款账户，您无需再做任何操作。",
    },
    "thanks.refund_flagged.notice": {
        "en": "The door was not opened and the payment could not be reversed here.",
        "zh": "柜门未被打开，且此处无法撤销付款。",
    },
    "thanks.refund_flagged.title": {"en": "A refund is due to you", "zh": "我们将为您退款"},
    "thanks.refund_flagged.subtitle": {
        "en": "We have flagged it. Call us with this reference and we will refund you.",
        "zh": "我们已登记此退款。请致电我们并告知此参考号，我们将为您退款。",
    },
    "thanks.reference": {"en": "Reference", "zh": "参考号"},
    "thanks.order": {"en": "Order", "zh": "订单号"},
    "thanks.receipt": {"en": "Terminal receipt no. {receipt}", "zh": "终端收据号 {receipt}"},
    "thanks.call": {"en": "Call us: {phone}", "zh": "请致电：{phone}"},
    "thanks.qr_hint": {"en": "Scan to keep your receipt", "zh": "扫码保存您的收据"},
    "checkout.prepaid": {"en": "Paid online", "zh": "已在线支付"},
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

# The configuration checker's problems (firmware/config.py's codes, with the same placeholders) in the screen's
# languages other than English; English is the checker's own text, as the logs and the CLI print it. The file
# and the key are never translated.
PROBLEMS: dict[str, dict[str, str]] = {
    "zh": {
        "type": "应为 {expected}，实际为 {got}",
        "range_integer": "应为整数{bounds}，实际为 {got}",
        "range_number": "应为有限数值{bounds}，实际为 {got}",
        "unknown_key": "未知的键（可用：{known}）",
        "placeholder": "{got} 是模板的占位值：请填入此柜机自己的值",
        "table_expected": "应为表（table），实际为 {got}",
        "time_invalid": "应为 HH:MM，实际为 {got}",
        "required_missing": "缺少必填的键（应为 {expected}）",
        "above_limit": "{value} 大于 {limit_key} 的 {limit}",
        "pin_hash_invalid": "{problem}；请用 kiosk pin hash 生成",
        "sku_repeated": "sku {sku} 出现了不止一次",
        "port_required": "{section}.backend 为 {backend} 时必填",
        "scanner_camera_missing": "'camera' 需要摄像头（camera.backend 为 'none'）",
        "footfall_camera_missing": "统计客流需要摄像头（camera.backend 为 'none'）",
        "mounting": "屏幕的安装高度不在轮椅用户可触及的范围内（{problem}）",
        "file_missing": "{file} 不存在（或不是文件）",
        "file_unreadable": "当前用户无法读取 {file}",
        "ca_unusable": "{file} 中没有可用的 PEM 证书（{error}）",
        "plain_http": "{url} 是明文 http（网络上的任何人都能读取并篡改柜机收到的内容）；请使用 https，"
        "实验环境可设置 sync.allow_insecure_http = true",
        "not_https": "{url} 不是 https:// 网址",
        "config_missing": "文件不存在",
        "config_unreadable": "当前用户无法读取此文件",
        "toml_invalid": "不是有效的 TOML：{error}",
        "pin_hash_required": "正式运行时必填；没有默认 PIN（请用 kiosk pin hash 生成）",
        "key_file_required": "正式运行时必填（kiosk provision 会生成）",
        "key_file_absent": "{file} 不存在",
        "mock_pins": "'mock' 不驱动真实的继电器；请用 'rpigpio' 或 'lgpio'",
        "sim_payment": "'sim' 不收真实的钱；请用 'zvt'",
        "sim_device": "'sim' 仅用于模拟；请填写真实设备或 'none'",
        "cloud_url_required": "正式运行时必填",
        "unset": "{where}：{key} 未设置（kiosk provision 会设置）",
        "key_absent": "{file} 不存在（kiosk provision 会写入）",
        "key_unusable": "柜机密钥不可用：{error}",
        "cloud_placeholder": "{where}：{key} 为 {cloud}（kiosk provision 会设置）",
    },
}
SEPARATORS = {"en": ": ", "zh": "："}  # between a problem's file, key and what is wrong

CALLBACK_CONSENT_VERSION = "1"  # raise it whenever callback.consent changes in any language

# Message keys the screens know (the views' message fields).
MESSAGES = (
    "declined",
    "timed_out",
    "cancelled",
    "fault",
    "qr_unavailable",
    "sold_out",
    "pickup_wrong_code",
    "pickup_locked",
    "pickup_already_collected",
    "pin_wrong",
    "pin_locked",
    "checking",
    "out_of_service",
    "not_charged",
    "refund_pending",
)
SYMBOLS = "←−+·›‹…✓"  # drawn on keys and badges in both languages

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


def problem_line(
    template: str, where: str, key: str, params: tuple[tuple[str, str], ...], separator: str = ": "
) -> str:
    """A problem said by ``template`` (one language's text for its code), after its file and key unless the
    template places them itself; the file and the key stay as they are in every language."""
    values = dict(params)
    if "{where}" in template:
        return template.format(where=where, key=key, **values)
    return separator.join(part for part in (where, key, template.format(**values)) if part)


def setup_detail(detail: SetupDetail, language: str) -> str:
    """What a cabinet lacks in ``language``: the checker's English text, or its code said in ``language``
    (the English text where there is no translation); then how many more problems `kiosk config check` lists."""
    template = PROBLEMS.get(language, {}).get(detail.what)
    text = (
        detail.text
        if template is None
        else problem_line(template, detail.where, detail.key, detail.params, SEPARATORS[language])
    )
    return text + (t("tech.more", language, count=detail.more) if detail.more else "")


def known(key: str, fallback: str, language: str) -> str:
    """The text for key if there is one, else fallback as it is (a device or state the UI does not know)."""
    return t(key, language) if key in STRINGS else fallback


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
    for templates in PROBLEMS.values():
        for text in templates.values():
            chars.update(text)
    chars.update("".join(CURRENCY_SYMBOLS.values()))
    chars.update(SYMBOLS)  # "…" is also what a cut text ends with
    return "".join(sorted(chars))
