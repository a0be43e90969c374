"""What the cabinet takes from the configuration the cloud sends down, and the
document a simulated cabinet gives its local cloud so that the whole flow
(catalog, ads, staff access, pickup orders, scan-to-pay) runs for real in `--sim`.
"""

from __future__ import annotations

import datetime as dt
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


def ads_due(playable: tuple[tuple[Ad, AdView], ...], now: dt.datetime) -> tuple[AdView, ...]:
    """The ads to play now: those inside one of their schedule windows."""
    return tuple(view for ad, view in playable if ad_is_due(ad, now))


# The demo posters, each advertising one of the default products (by SKU) and naming no price.
DEMO_POSTERS = {"SCOOT-S1": "ads/volt-s1.png", "BIKE-C7": "ads/cruiser-c7.png"}


def sim_document(config: Config) -> dict[str, Any]:
    """The simulated cabinet's configuration in the cloud: its TOML products in three colours each
    (each a variant with its own SKU), the demo ads of those of them that have a poster (a tap opens
    the product), the demo PIN and staff card, scan-to-pay on."""
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
                "variants": [
                    {"sku": f"{p.sku}-SIG", "name": "Signature", "colour": p.colour},
                    {"sku": f"{p.sku}-GRA", "name": "Graphite", "colour": "graphite"},
                    {"sku": f"{p.sku}-SIL", "name": "Silver", "colour": "silver"},
                ],
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
            {
                "id": f"ad-{p.sku.lower()}",
                "kind": "image",
                "url": DEMO_POSTERS[p.sku],
                "duration_s": 6,
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
