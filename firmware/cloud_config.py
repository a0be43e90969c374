"""What the cabinet takes from the configuration the cloud sends down, and the
document a simulated cabinet gives its local cloud so that the whole flow
(catalog, ads, staff access, pickup orders, scan-to-pay) runs for real in `--sim`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

from firmware.catalog import toml_specs
from firmware.config import Config
from kiosk_ui.view import AdView
from sync_client.cabinet_config import Ad, CabinetConfig, hash_secret

# kiosk_ui's bundled media: where relative media paths in a configuration point.
MEDIA_DIR = Path(__file__).resolve().parent.parent / "kiosk_ui" / "assets"

# The simulation's demo access: printed in the README, never valid outside `--sim`.
SIM_PIN = "1234"
SIM_STAFF_CARD = "04a224b2c35e80"  # the bench panel's "Tap NFC card": a retailer
SIM_TECHNICIAN_CARD = "04c0ffee123456"  # a technician: opens the service menu
SIM_PICKUP_CODE = "24681012"  # an order for the first product, valid for a year


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


def playable_ads(config: CabinetConfig | None) -> tuple[tuple[Ad, AdView], ...]:
    """The configuration's ads whose media are here, resolved once when it is applied: remote media are
    not fetched by this release, and a redraw must not touch the disk."""
    playable = []
    for ad in config.ads if config else ():
        if "://" in ad.url:
            continue
        path = Path(ad.url) if ad.url.startswith("/") else MEDIA_DIR / ad.url
        if path.is_file():
            playable.append((ad, AdView(ad.id, ad.kind, str(path), ad.duration_s)))
    return tuple(playable)


def ads_due(playable: tuple[tuple[Ad, AdView], ...], now: dt.datetime, language: str = "en") -> tuple[AdView, ...]:
    """The ads to play now: those inside one of their schedule windows, their text in that language."""
    return tuple(replace(view, text=ad.text.in_(language)) for ad, view in playable if ad_is_due(ad, now))


def sim_document(config: Config) -> dict[str, Any]:
    """The simulated cabinet's configuration in the cloud: its TOML products, the demo ads,
    the demo PIN and staff card, scan-to-pay on."""
    products = []
    for p in config.products:
        specs = dict(toml_specs(p))
        products.append(
            {
                "sku": p.sku,
                "name": p.name,
                "price_cents": p.price_cents,
                "summary": p.summary,
                "materials": ["aluminium frame", "recycled rubber grips"],
                "design_notes": "Designed to fold or lock in seconds; lights built into the frame.",
                "colours": [f"Signature:{p.colour}", "Graphite", "Silver"],
                "specs": specs,
            }
        )
    return {
        "config_schema": 1,
        "version": 1,
        "currency": config.cabinet.currency,
        "store_base_url": config.cabinet.store_base_url,
        "products": products,
        "ads": [
            {"id": "ad-urban-glide", "kind": "image", "url": "ads/urban-glide.png", "duration_s": 6},
            {"id": "ad-city-cruiser", "kind": "image", "url": "ads/city-cruiser.png", "duration_s": 6},
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
