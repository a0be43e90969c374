"""Pictures of every retailer-console page for docs/console/: both languages, a desktop and a phone.

    python scripts/console_screenshots.py [OUT_DIR]      (default docs/console; `make screenshots` runs it)

A demo cloud is filled through the paths real use takes: `kiosk-cloud serve` as a process on a fresh
database, the retailer, cabinets and users made with its CLI, configurations put through the retailer API,
a week of each cabinet's events uploaded signed by that cabinet (CloudClient, as its uploader sends them),
scan-to-pay payments asked for by the cabinets (paid at the simulator), and the console's own forms for
storefronts, restock plans, orders, tokens, an invitation, handled alarms, a refund, the WeChat Pay merchant
account (stored sealed, shown masked) and two rollouts of signed releases (the cabinets' update outcomes
uploaded as events). Then Debian's Chromium (Playwright, as tests/console drives it) signs in and
photographs each page.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from cryptography.hazmat.primitives.serialization import (  # noqa: E402
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright  # noqa: E402

from firmware.control_client import _bin, start_cloud  # noqa: E402
from sync_client.cabinet_config import hash_secret  # noqa: E402
from sync_client.cloud_client import CloudClient  # noqa: E402
from sync_client.schema import Event, utc_iso  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
RETAILER = "velo-mall"
OWNER, STAFF, TECHNICIAN = "owner@velo-mall.example", "mia@velo-mall.example", "tom@velo-mall.example"
PASSWORD = "demo password for the pictures"
DAYS = 8
DESKTOP: ViewportSize = {"width": 1366, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
# (cabinet, place, how busy it is: sales a day)
CABINETS = (
    ("mall-atrium-1", {"address": "Velo Mall, atrium, Alexanderplatz 1, Berlin", "lat": 52.5219, "lon": 13.4132}, 6),
    ("station-east-2", {"address": "Ostbahnhof, hall B, Berlin", "lat": 52.5103, "lon": 13.4348}, 4),
    ("campus-north-3", {"address": "Campus Nord, Philippstr. 13, Berlin", "lat": 52.5268, "lon": 13.3825}, 2),
)
PRODUCTS = (  # sku, variant SKUs (or the product itself), cents
    ("SCOOT-S1", ("SCOOT-S1-mint", "SCOOT-S1-graphite"), 49900),
    ("BIKE-C7", ("BIKE-C7",), 129900),
    ("HELMET-H2", ("HELMET-H2",), 5900),
)
PAID_BY_QR = 4  # scan-to-pay payments each cabinet asks for (the last one left unpaid)
# The retailer's WeChat Pay merchant account as its merchant platform gives it (the keys made at each run).
WECHAT_PAY = {
    "mchid": "1900009191",
    "appid": "wxd678efh567hg6787",
    "serial_no": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
    "platform_serial": "PUB_KEY_ID_0119000091912025010100000001",
    "apiv3_key": "k3Y9aV2mQ8zL5xR1tB7nC4wE6uH0jP2s",
}
# (version, cabinets, each one's outcome: installed, failed or None for still waiting); the current one last.
ROLLOUTS = (
    ("1.4.2", ("station-east-2", "campus-north-3"), ("installed", "installed")),
    ("1.5.0", ("mall-atrium-1", "station-east-2", "campus-north-3"), (None, "installed", "failed")),
)
# (file, path, what it shows); {cabinet} is the first cabinet
PAGES = (
    ("sign-in", "/console/sign-in", "Sign in"),
    ("fleet", "/console/fleet", "Fleet: every cabinet, online state, alarms, today's sales, low stock, place"),
    ("cabinet", "/console/cabinets/{cabinet}", "One cabinet: its state, alarms and stock"),
    ("sales", "/console/sales", "Sales by day with the chart, per cabinet and product"),
    ("refunds", "/console/refunds", "Refunds: unclaimed sales and their state"),
    ("funnel", "/console/funnel", "The shopper funnel: sessions, views, checkouts, paid, bought"),
    ("stock", "/console/stock", "Stock per cabinet and variant, low and out marked"),
    ("restock", "/console/restock", "Today's restock list by storefront"),
    ("storefronts", "/console/storefronts", "Storefronts and the cabinets each restocks"),
    ("orders", "/console/orders", "Online orders for pickup"),
    ("payments", "/console/payments", "Scan-to-pay: the payment provider (credentials masked) and the payments"),
    ("repairs", "/console/repairs", "The repair board"),
    ("callbacks", "/console/callbacks", "Call-back requests for the customer service"),
    ("alarms", "/console/alarms?state=all", "Alarms, open and handled"),
    ("actions", "/console/actions", "Remote actions"),
    ("releases", "/console/releases", "Rollouts of signed releases: cabinets updated, failed and waiting"),
    ("catalogue", "/console/catalogue/{cabinet}", "A cabinet's catalogue, prices and ads"),
    ("media", "/console/media", "Uploaded media"),
    ("access", "/console/access", "Access: PINs and staff cards"),
    ("users", "/console/users", "Users and invitations"),
    ("tokens", "/console/tokens", "API tokens"),
)


def cli(db: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [*_bin("kiosk-cloud"), *args, "--db", str(db)], input=stdin, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def api(url: str, token: str, method: str, path: str, body: Any) -> Any:
    request = urllib.request.Request(
        url + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read() or b"null")


def document(place: dict[str, Any]) -> dict[str, Any]:
    return {
        "currency": "EUR",
        "store_base_url": "https://velo-mall.example",
        "languages": ["en", "zh"],
        "place": place,
        "products": [
            {
                "sku": "SCOOT-S1",
                "name": {"en": "Volt S1 e-scooter", "zh": "Volt S1 电动滑板车"},
                "summary": {"en": "35 km range, folds in 3 s", "zh": "续航 35 公里，3 秒折叠"},
                "price_cents": 49900,
                "variants": [
                    {"sku": "SCOOT-S1-mint", "name": {"en": "Mint", "zh": "薄荷绿"}, "colour": "#7fd1b9"},
                    {"sku": "SCOOT-S1-graphite", "name": {"en": "Graphite", "zh": "石墨灰"}, "colour": "#3a3f44"},
                ],
            },
            {
                "sku": "BIKE-C7",
                "name": {"en": "Cruiser C7 e-bike", "zh": "Cruiser C7 电动自行车"},
                "price_cents": 129900,
            },
            {"sku": "HELMET-H2", "name": {"en": "City helmet H2", "zh": "城市头盔 H2"}, "price_cents": 5900},
        ],
        "ads": [
            {"id": "spring", "kind": "image", "url": "ads/urban-glide.png", "duration_s": 8, "product": "SCOOT-S1"}
        ],
        "retailer": {
            "pin_hashes": [hash_secret("482916", n=2**12)],
            "staff_cards": [{"uid": "04a1b2c3", "role": "retailer"}],
        },
    }


@dataclass
class Week:
    """One cabinet's facts over the last DAYS days."""

    cabinet_id: str
    facts: list[tuple[float, str, dict[str, Any]]]

    def add(self, at: float, kind: str, payload: dict[str, Any]) -> None:
        self.facts.append((at, kind, payload))

    def events(self) -> list[Event]:
        """As the cabinet's outbox numbers them: in time order from 1."""
        ordered = sorted(self.facts, key=lambda fact: fact[0])
        return [
            Event(str(uuid.uuid4()), self.cabinet_id, seq, kind, utc_iso(at), at, payload)
            for seq, (at, kind, payload) in enumerate(ordered, 1)
        ]


def shopper(
    at: float, sku: str, step: str, left_at: str, payment: str | None, *, ad_id: str | None = None
) -> dict[str, Any]:
    """An anonymous shopper session of about three minutes ending at ``at`` (the funnel's raw material)."""
    viewed = step != "touch"
    visit = {"sku": sku, "dwell_s": 45.0, "turns": 2, "narrations": 1, "variant": None}
    visit |= {"checkout": step == "paid", "payment": payment}
    return {
        "started_at": utc_iso(at - 180),
        "ended_at": utc_iso(at),
        "ended_by": "idle",
        "screens": ["attract", "catalog", "product"] if viewed else ["attract"],
        "products": [visit] if viewed else [],
        "step": step,
        "left_at": left_at,
        "ad_id": ad_id,
    }


def week_of(index: int, cabinet_id: str, per_day: int, now: float) -> Week:
    week = Week(cabinet_id, [])
    counts = {v: 0 for _, variants, _ in PRODUCTS for v in variants}
    sale_no = 0
    for day in range(DAYS, -1, -1):
        start = now - day * 86400 - 10 * 3600  # from ten hours before this time of day
        if day == DAYS or (day and (day + index) % 3 == 0):  # the storefront restocks before opening
            restock(week, start - 1800, counts)
        sales_today = per_day + (day * 7 + index * 3) % 4 - 1 if day else max(1, per_day // 2)
        for n in range(sales_today):
            at = start + (n + 1) * (9 * 3600 / (sales_today + 1))
            if at >= now - 120:
                break
            sku, variants, cents = PRODUCTS[(sale_no + day) % len(PRODUCTS)]
            variant = variants[(sale_no // 3) % len(variants)]
            sale_no += 1
            sale_id = f"{cabinet_id}-s{sale_no}"
            sale = {"sale_id": sale_id, "sku": sku, "amount_cents": cents, "currency": "EUR"}
            if variant != sku:
                sale["variant_sku"] = variant
            method = "scan_to_pay" if sale_no % 3 == 0 else "terminal"
            receipt = {"receipt_no": f"{sale_no:04d}", "trace_no": f"{sale_no:06d}"}
            week.add(at - 200, "session.ended", shopper(at - 200, sku, "paid", "thanks", "approved"))
            week.add(at, "payment.approved", {**sale, "method": method, **receipt})
            week.add(at + 2, "door.unlocked", {"reason": "sale", "seconds": 10, "sale_id": sale_id})
            if index == 1 and day == 1 and n == 0:  # the shopper walked away: the reversal failed, refund it
                week.add(at + 40, "sale.unclaimed", {**sale, "action": "reversal", "receipt_no": receipt["receipt_no"]})
                week.add(at + 41, "alarm", {"kind": "refund_needed", "sale_id": sale_id, "detail": "host refused"})
                continue
            week.add(at + 9, "door.opened", {"authorized": True})
            week.add(at + 25, "door.closed", {"open_s": 16.0})
            opened, closed = utc_iso(at + 9), utc_iso(at + 25)
            week.add(at + 25, "sale.completed", {**sale, "door_opened_at": opened, "door_closed_at": closed})
            counts[variant] = max(0, counts[variant] - 1)
            week.add(at + 26, "stock.changed", {"sku": variant, "count": counts[variant], "reason": "sale"})
        for n, (step, left_at) in enumerate((("touch", "attract"), ("product", "product"), ("product", "catalog"))):
            if (at := start + 3600 * (n + 2) + 600) < now - 600:  # shoppers who looked and left
                sku = PRODUCTS[(n + day) % len(PRODUCTS)][0]
                week.add(at, "session.ended", shopper(at, sku, step, left_at, None, ad_id="spring" if n == 0 else None))
        played = {"ad_id": "spring", "count": 120, "shown_s": 960.0}
        first, last = utc_iso(start), utc_iso(start + 9 * 3600)
        week.add(start + 9.5 * 3600, "ad.plays", {"plays": [{**played, "first_at": first, "last_at": last}]})
        # people the camera counted passing and stopping that day (footfall), within the UTC day it began
        until = min(start + 9 * 3600, (start // 86400 + 1) * 86400 - 1)
        passers, stoppers = 140 + (day * 37 + index * 11) % 60, 18 + (day * 5 + index) % 9
        counted = {"started_at": first, "ended_at": utc_iso(until), "passers": passers, "stoppers": stoppers}
        week.add(until + 60, "footfall.counted", counted)
    software = "1.4.2" if index else "1.4.1"
    week.add(now - 60, "heartbeat", {"faults": [], "backlog": 3 * index, "software": software})
    if index == 0:
        week.add(now - 3 * 3600, "alarm", {"kind": "door_forced", "detail": "door opened without an unlock"})
        week.add(now - 26 * 3600, "alarm", {"kind": "door_left_open", "detail": "door open for 120 s"})
        for t_no, (status, vehicle, fault) in enumerate(
            (
                ("dropped_off", "Volt S1 scooter", "brakes: squeaks when braking"),
                ("dropped_off", "Cruiser C7 e-bike", "battery: range down to 20 km"),
                ("dropped_off", "Kids K1 scooter", "wheel: front wheel wobbles"),
                ("dropped_off", "Volt S1 scooter", "display: no speed shown"),
            )
        ):
            category, _, description = fault.partition(": ")
            week.add(
                now - (40 - t_no * 8) * 3600,
                "repair.ticket",
                {
                    "ticket_id": f"R-{1041 + t_no}",
                    "device": vehicle,
                    "status": status,
                    "detail": fault,
                    "category": category,
                    "description": description,
                    "name": ("Ada Lovelace", "Li Wei", "Jonas Berg", "Mei Chen")[t_no],
                    "phone": ("+49 30 1234567", "+86 138 0013 8000", "+49 170 5550101", "+49 151 2223334")[t_no],
                },
            )
    if index == 2:
        week.add(now - 5 * 3600, "alarm", {"kind": "media_unavailable", "detail": "2 ad files not downloaded"})
    return week


def restock(week: Week, at: float, counts: dict[str, int]) -> None:
    """A restock with the staff card: every variant up to 5 (helmets 4), as the cabinet records it."""
    week.add(at, "door.unlocked", {"reason": "restock", "seconds": 10})
    week.add(at + 5, "door.opened", {"authorized": True})
    for sku, count in counts.items():
        target = 4 if sku.startswith("HELMET") else 5
        if count < target:
            counts[sku] = target
            week.add(
                at + 200,
                "restock.recorded",
                {"sku": sku, "added": target - count, "count": target, "staff_uid": "04a1b2c3"},
            )
            week.add(at + 200, "stock.changed", {"sku": sku, "count": target, "reason": "restock"})
    week.add(at + 240, "door.closed", {"open_s": 235.0, "reason": "restock"})


async def upload(url: str, cabinet_id: str, key_hex: str, week: Week) -> None:
    """Send the week as the cabinet's uploader does: signed batches to /v1/events."""
    client = CloudClient(url, cabinet_id, bytes.fromhex(key_hex))
    try:
        events = week.events()
        for start in range(0, len(events), 200):
            batch = [e.to_json() for e in events[start : start + 200]]
            reply = await client.request("POST", "/v1/events", {"cabinet_id": cabinet_id, "events": batch})
            if reply.body["rejected"]:
                raise SystemExit(f"{cabinet_id}: events rejected: {reply.body['rejected'][:2]}")
    finally:
        await client.close()


async def apply_config(url: str, cabinet_id: str, key_hex: str, seq: int) -> None:
    """The cabinet pulls its configuration and reports it applied (the fleet page's configuration column)."""
    client = CloudClient(url, cabinet_id, bytes.fromhex(key_hex))
    try:
        reply = await client.request("GET", "/v1/config")
        at = time.time()
        applied = {"version": reply.body["version"], "etag": reply.headers["ETag"]}
        event = Event(str(uuid.uuid4()), cabinet_id, seq, "config.applied", utc_iso(at), at, applied)
        await client.request("POST", "/v1/events", {"cabinet_id": cabinet_id, "events": [event.to_json()]})
    finally:
        await client.close()


async def pay_by_qr(url: str, cabinet_id: str, key_hex: str, week: Week) -> None:
    """The cabinet asks for scan-to-pay payments for its last QR sales (POST /v1/payments, as its payment flow
    does); the shoppers pay all but the newest at the provider's simulator."""
    client = CloudClient(url, cabinet_id, bytes.fromhex(key_hex))
    sales = [p for _, kind, p in sorted(week.facts, key=lambda f: f[0]) if kind == "payment.approved"]
    try:
        qr = [p for p in sales if p["method"] == "scan_to_pay"][-PAID_BY_QR:]
        for n, sale in enumerate(qr):
            asked = {k: sale[k] for k in ("sale_id", "amount_cents", "currency")}
            reply = await client.request("POST", "/v1/payments", asked, ok=(200, 201))
            if n < len(qr) - 1:
                urllib.request.urlopen(
                    urllib.request.Request(f"{url}/sim/payments/{reply.body['payment_id']}/pay", method="POST"),
                    timeout=30,
                ).close()
    finally:
        await client.close()


async def report_updates(url: str, cabinet_id: str, key_hex: str, seq: int, version: str, outcome: str) -> None:
    """The cabinet's update outcome as its updater reports it: installed, or failed and back on the old version."""
    client = CloudClient(url, cabinet_id, bytes.fromhex(key_hex))
    try:
        at = time.time()
        before = "1.4.1" if version == "1.4.2" else "1.4.2"
        if outcome == "installed":
            kind, payload = "update.installed", {"version": version, "previous": before}
        else:
            kind, payload = "update.failed", {"version": version, "running": before, "reason": "no sync within 600 s"}
        event = Event(str(uuid.uuid4()), cabinet_id, seq, kind, utc_iso(at), at, payload)
        await client.request("POST", "/v1/events", {"cabinet_id": cabinet_id, "events": [event.to_json()]})
    finally:
        await client.close()


def wechat_pay_form() -> dict[str, str]:
    """The merchant account as the owner enters it: its settings, its API key (private) and the platform's key."""
    merchant, platform = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    private = merchant.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    public = platform.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    return {"provider": "wechatpay", **WECHAT_PAY, "private_key": private, "platform_public_key": public}


def sign_in(page: Page, email: str) -> None:
    page.goto("/console/sign-in")
    page.locator("input[name=email]").fill(email)  # by name: the labels are in the page's language
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/console/fleet")


def post(page: Page, path: str, form: dict[str, str]) -> None:
    """A console form sent as the browser sends it (with the session's CSRF token)."""
    csrf = str(page.locator("input[name=csrf_token]").first.get_attribute("value"))
    answer = page.request.post(path, form={**form, "csrf_token": csrf})
    if not answer.ok:
        raise SystemExit(f"POST {path}: {answer.status} {answer.text()[:300]}")


def seed_console(page: Page, url: str, token: str) -> None:
    """What the retailer does in the console: storefronts, restock plans, orders, a token, an invitation,
    a thresholds change, handled alarms and repair tickets moved on."""
    page.goto("/console/storefronts")
    post(page, "/console/storefronts", {"name": "Velo Mall flagship", "address": "Alexanderplatz 1, Berlin"})
    post(page, "/console/storefronts", {"name": "Velo East workshop", "address": "Warschauer Str. 33, Berlin"})
    page.goto("/console/storefronts")
    ids = page.locator("select[name=storefront_id] option").evaluate_all("os => os.map(o => [o.value, o.text])")
    fronts = [value for value, _ in ids if value]
    for n, (cabinet_id, _, _) in enumerate(CABINETS):
        post(page, "/console/storefronts/cabinet", {"cabinet_id": cabinet_id, "storefront_id": fronts[min(n, 1)]})
    page.goto("/console/stock")
    post(page, "/console/stock/levels", {"sku": "BIKE-C7", "threshold": "4", "target": "6"})
    page.goto("/console/restock")
    post(page, "/console/restock/plan", {"cabinet_id": CABINETS[0][0]})
    for n, (sku, reference) in enumerate((("SCOOT-S1-mint", "Web order 1001, Ada"), ("HELMET-H2", "Web order 1002"))):
        page.goto("/console/orders")
        post(page, "/console/orders", {"item": f"{CABINETS[n][0]}/{sku}", "days": "7", "reference": reference})
    api(url, token, "POST", "/v1/retailer/orders", {"cabinet_id": CABINETS[1][0], "sku": "BIKE-C7"})
    page.goto("/console/orders")
    cancel = page.locator("form[action$='/cancelled']").first.get_attribute("action")
    if cancel:
        post(page, cancel, {})
    page.goto("/console/tokens")
    post(page, "/console/tokens", {"label": "Web shop (orders)"})
    page.goto("/console/users")
    post(page, "/console/users", {"email": "lena@velo-mall.example", "role": "staff"})
    page.goto("/console/alarms?state=all")
    acknowledge = page.locator("form[action$='/acknowledge']").last.get_attribute("action")
    if acknowledge:
        post(page, acknowledge, {"next": "/console/alarms"})
    tickets = api(url, token, "GET", f"/v1/retailer/cabinets/{CABINETS[0][0]}/repair-tickets", None)
    for ticket, steps in zip(tickets["tickets"], (3, 2, 1, 0), strict=False):
        for status in ("collected", "in_repair", "returned")[:steps]:
            api(url, token, "PATCH", f"/v1/retailer/repair-tickets/{ticket['ticket_id']}", {"status": status})
    page.goto("/console/payments")
    refund = page.locator("form[action$='/refund']").last.get_attribute("action")  # the oldest paid one
    if refund:
        post(page, refund, {})
    post(page, "/console/payments/provider", wechat_pay_form())
    for version, cabinets, _ in ROLLOUTS:
        page.goto("/console/releases")
        post(page, "/console/releases", {"version": version, "cabinets": " ".join(cabinets), "failure_limit": "2"})


def shoot(browser: Browser, url: str, out: Path, cabinet_id: str, overflows: list[str]) -> list[tuple[str, str, str]]:
    """Every page in each language and on each device; a page wider than its screen is added to ``overflows``."""
    taken = []
    for lang in ("en", "zh"):
        for device, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            context = browser.new_context(
                base_url=url, viewport=viewport, is_mobile=device == "phone", has_touch=device == "phone",
                locale="en-GB", device_scale_factor=1,
            )  # fmt: skip
            context.set_default_timeout(15_000)
            page = context.new_page()
            sign_in(page, OWNER)
            context.add_cookies([{"name": "console_lang", "value": lang, "url": f"{url}/console/"}])
            for name, path, _ in PAGES:
                if name == "sign-in":
                    context.clear_cookies()
                    context.add_cookies([{"name": "console_lang", "value": lang, "url": f"{url}/console/"}])
                page.goto(path.format(cabinet=cabinet_id))
                page.wait_for_load_state("networkidle")
                wider = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
                if wider > 0:
                    overflows.append(f"{path} ({lang}, {device}): {wider} px wider than the screen")
                file = f"{name}-{lang}-{device}.png"
                page.screenshot(path=str(out / file), full_page=True)
                taken.append((name, lang, device))
                if name == "sign-in":
                    sign_in(page, OWNER)
            context.close()
    return taken


def index(out: Path) -> None:
    lines = [
        "# The retailer console",
        "",
        "Every page of the console (`/console/`), in English and Chinese, on a desktop (1366 px wide) and a phone",
        "(390 px), with a demo retailer: three cabinets with a week of sales, stock running low, orders, repairs and",
        "alarms. English first, then Chinese. Made by `make screenshots` (`scripts/console_screenshots.py`): do not",
        "edit the pictures by hand.",
        "",
    ]
    for name, _, what in PAGES:
        lines += [f"## {what}", ""]
        lines += ["| Desktop | Phone |", "| --- | --- |"]
        for lang in ("en", "zh"):
            desktop, phone = f"{name}-{lang}-desktop.png", f"{name}-{lang}-phone.png"
            lines.append(f"| ![{name} ({lang}, desktop)]({desktop}) | ![{name} ({lang}, phone)]({phone}) |")
        lines.append("")
    (out / "README.md").write_text("\n".join(lines))


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/console")
    out.mkdir(parents=True, exist_ok=True)
    overflows: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        db = workdir / "cloud.db"
        key_file = workdir / "secret.key"  # seals the retailer's payment credentials in the database
        key_file.write_text(secrets.token_hex(32))
        proc, url = start_cloud(workdir, simulate_payments=True, args=("--secret-key-file", str(key_file)))
        try:
            token = cli(db, "retailer", "add", RETAILER)
            for email, role in ((OWNER, "owner"), (STAFF, "staff"), (TECHNICIAN, "technician")):
                cli(db, "user", "add", "--retailer", RETAILER, "--email", email, "--role", role, stdin=PASSWORD + "\n")
            now = time.time()
            keys, sent = {}, {}
            for i, (cabinet_id, place, per_day) in enumerate(CABINETS):
                keys[cabinet_id] = cli(db, "cabinet", "add", cabinet_id, "--retailer", RETAILER)
                api(url, token, "PUT", f"/v1/retailer/cabinets/{cabinet_id}/config", document(place))
                week = week_of(i, cabinet_id, per_day, now)
                sent[cabinet_id] = len(week.facts)
                asyncio.run(upload(url, cabinet_id, keys[cabinet_id], week))
                asyncio.run(pay_by_qr(url, cabinet_id, keys[cabinet_id], week))
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM)
                context = browser.new_context(base_url=url)
                page = context.new_page()
                sign_in(page, OWNER)
                seed_console(page, url, token)
                browser.close()
            for cabinet_id, _, _ in CABINETS[:2]:  # the third has not taken its new version yet
                sent[cabinet_id] += 1
                asyncio.run(apply_config(url, cabinet_id, keys[cabinet_id], sent[cabinet_id]))
            for version, cabinets, outcomes in ROLLOUTS:
                for cabinet_id, outcome in zip(cabinets, outcomes, strict=True):
                    if outcome:
                        sent[cabinet_id] += 1
                        asyncio.run(
                            report_updates(url, cabinet_id, keys[cabinet_id], sent[cabinet_id], version, outcome)
                        )
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM)
                taken = shoot(browser, url, out, CABINETS[0][0], overflows)
                browser.close()
        finally:
            proc.stop()
    index(out)
    print(f"{len(taken)} pictures of the console in {out}")
    for overflow in overflows:
        print(f"overflow: {overflow}", file=sys.stderr)
    return 1 if overflows else 0


if __name__ == "__main__":
    sys.exit(main())
