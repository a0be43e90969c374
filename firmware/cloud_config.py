"""What the cabinet takes from the configuration the cloud sends down, and the
document a simulated cabinet gives its local cloud so that the whole flow
(catalog, ads, staff access, pickup orders, scan-to-pay) runs for real in `--sim`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from firmware.catalog import toml_specs
from firmware.config import Config
from kiosk_ui.view import AdView
from sync_client.cabinet_config import Ad, CabinetConfig, content_texts, content_warnings, hash_secret, media_hash

# kiosk_ui's bundled media: where relative media paths in a configuration point.
MEDIA_DIR = Path(__file__).resolve().parent.parent / "kiosk_ui" / "assets"

# The simulation's demo access: printed in the README, never valid outside `--sim`.
SIM_PIN = "1234"
SIM_STAFF_CARD = "04a224b2c35e80"  # the bench panel's "Tap NFC card": a retailer
SIM_TECHNICIAN_CARD = "04c0ffee123456"  # a technician: opens the service menu
SIM_PICKUP_CODE = "24681012"  # an order for the first product, valid for a year
# The demo products' narration in Chinese (the English one is spoken from their summary).
SIM_NARRATION_ZH = {
    "SCOOT-S1": "可折叠城市电动滑板车，铝合金车架。续航三十五公里，重十三点五公斤。",
    "BIKE-C7": "低跨式电动自行车，七速变速，皮带传动。续航八十公里。",
}


def content_report(config: CabinetConfig) -> list[str]:
    """What the shopper would miss in this configuration: texts missing in a declared language, and
    characters no font on this cabinet draws (the bundled subset, the system's CJK font)."""
    from kiosk_ui.theme import undrawable  # here: the fonts load pygame, which `kiosk selftest` never needs

    report = content_warnings(config)
    for where, text in content_texts(config):
        for language, value in text.texts:
            if missing := undrawable(value):
                report.append(f"{where}.{language}: no font on this cabinet draws {missing!r} (shown as empty boxes)")
    return report


def ad_is_due(ad: Ad, now: dt.datetime) -> bool:
    """Inside one of the ad's schedule windows (local time); no windows means always."""
    if not ad.windows:
        return True
    hhmm = now.strftime("%H:%M")
    for window in ad.windows:
        if window.start <= window.end:
            if now.weekday() in window.days and window.start <= hhmm < window.end:
                return True
        else:  # spans midnight: the part after midnight belongs to the previous day's window
            yesterday = (now.weekday() - 1) % 7
            if (now.weekday() in window.days and hhmm >= window.start) or (
                yesterday in window.days and hhmm < window.end
            ):
                return True
    return False


def playable_ads(
    config: CabinetConfig | None, resolve: Callable[[str], Path | None] = lambda url: None
) -> tuple[tuple[tuple[Ad, AdView], ...], tuple[str, ...]]:
    """The configuration's ads whose media are here, resolved once when it is applied (a redraw must not touch
    the disk), and the ids of those whose uploaded media (``sha256:``, looked up with ``resolve``) are not
    downloaded yet. Remote URLs are not fetched by the cabinet: the retailer uploads media instead."""
    playable, missing = [], []
    for ad in config.ads if config else ():
        if media_hash(ad.url):
            path = resolve(ad.url)
            if path is None:
                missing.append(ad.id)
                continue
        elif "://" in ad.url:
            continue
        else:
            path = Path(ad.url) if ad.url.startswith("/") else MEDIA_DIR / ad.url
        if path.is_file():
            playable.append((ad, AdView(ad.id, ad.kind, str(path), ad.duration_s)))
    return tuple(playable), tuple(missing)


def ads_due(playable: tuple[tuple[Ad, AdView], ...], now: dt.datetime, language: str = "en") -> tuple[AdView, ...]:
    """The ads to play now: those inside one of their schedule windows, their text in that language."""
    return tuple(replace(view, text=ad.text.in_(language)) for ad, view in playable if ad_is_due(ad, now))


# The demo products' Chinese texts, by SKU (a product the simulation's TOML adds shows its English ones,
# and the configuration's warnings say so).
SIM_CHINESE = {
    "SCOOT-S1": ("Volt S1 电动滑板车", "可折叠城市滑板车，铝合金车架"),
    "BIKE-C7": ("Cruiser C7 电助力自行车", "低跨式电助力自行车，7 速，皮带传动"),
}


def _zh(en: str, zh: str | None) -> str | dict[str, str]:
    return {"en": en, "zh": zh} if zh else en


# The demo posters, each advertising one of the default products (by SKU) and naming no price: the
# picture, and the line shown over it in English and Chinese.
DEMO_POSTERS = {
    "SCOOT-S1": ("ads/volt-s1.png", "Glide through the city", "轻松穿行城市"),
    "BIKE-C7": ("ads/cruiser-c7.png", "Your cruiser is waiting", "您的座驾已就绪"),
}


def sim_document(config: Config) -> dict[str, Any]:
    """The simulated cabinet's configuration in the cloud: its TOML products with Chinese texts, in three
    colours each (each a variant with its own SKU), the demo ads of those of them that have a poster (a tap
    opens the product), the demo PIN and staff card, scan-to-pay on."""
    products = []
    for p in config.products:
        specs = dict(toml_specs(p))
        name_zh, summary_zh = SIM_CHINESE.get(p.sku, (None, None))
        products.append(
            {
                "sku": p.sku,
                "name": _zh(p.name, name_zh),
                "price_cents": p.price_cents,
                "summary": _zh(p.summary, summary_zh),
                "materials": [_zh("aluminium frame", "铝合金车架"), _zh("recycled rubber grips", "再生橡胶握把")],
                "design_notes": _zh(
                    "Designed to fold or lock in seconds; lights built into the frame.",
                    "数秒即可折叠或上锁；车灯嵌入车架。",
                ),
                "variants": [
                    {"sku": f"{p.sku}-SIG", "name": _zh("Signature", "经典色"), "colour": p.colour},
                    {"sku": f"{p.sku}-GRA", "name": _zh("Graphite", "石墨灰"), "colour": "graphite"},
                    {"sku": f"{p.sku}-SIL", "name": _zh("Silver", "银色"), "colour": "silver"},
                ],
                "specs": specs,
                **({"narration": {"zh": {"text": SIM_NARRATION_ZH[p.sku]}}} if p.sku in SIM_NARRATION_ZH else {}),
            }
        )
    return {
        "config_schema": 1,
        "version": 1,
        "currency": config.cabinet.currency,
        "store_base_url": config.cabinet.store_base_url,
        "fallback_language": "en",
        "languages": ["en", "zh"],
        "products": products,
        "ads": [
            {
                "id": f"ad-{p.sku.lower()}",
                "kind": "image",
                "url": DEMO_POSTERS[p.sku][0],
                "duration_s": 6,
                "text": _zh(*DEMO_POSTERS[p.sku][1:]),
                "product": p.sku,
            }
            for p in config.products
            if p.sku in DEMO_POSTERS
        ],
        "retailer": {
            "pin_hashes": [hash_secret(SIM_PIN)],
            "staff_cards": [
                {"uid": SIM_STAFF_CARD, "role": "retailer"},
                {"uid": SIM_TECHNICIAN_CARD, "role": "technician"},
            ],
        },
        "pickup_orders": [],
        "scan_to_pay": {"enabled": True, "provider": "simulated"},
    }
