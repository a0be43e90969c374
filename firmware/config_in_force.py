"""The configuration from the cloud in force (or none yet), and what the cabinet reads from it: who may
open the door (the staff's PINs and cards), the pickup orders, the ads, the store and scan-to-pay."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from firmware.catalog import Catalog, product_from_cloud
from firmware.cloud_config import MEDIA_DIR, ads_due, content_report, playable_ads
from firmware.config import RetailerSection
from kiosk_ui.view import AdView
from sync_client.cabinet_config import (
    Ad,
    CabinetConfig,
    ConfigProduct,
    PickupOrder,
    StaffFingerprint,
    media_hash,
)
from sync_client.media_fetch import MediaCache

log = logging.getLogger(__name__)


@dataclass
class ConfigInForce:
    catalog: Catalog  # takes the configuration's products
    local: RetailerSection  # the configuration file's PINs, beside the cloud's
    now: Callable[[], datetime.datetime] = datetime.datetime.now  # local wall time: the ads' schedules
    media: MediaCache | None = None  # the uploaded media downloaded so far
    cloud: CabinetConfig | None = None
    # The ads playing, with their media resolved: the configuration's once all its media are here; until then
    # the last good set keeps playing (a retailer expects the old ads rather than a blank screen).
    _ads: tuple[tuple[Ad, AdView], ...] = field(default=(), repr=False)
    _ads_version: int | None = None  # the configuration version _ads belongs to
    missing_ads: tuple[str, ...] = ()  # ids of the configuration's ads whose media are not downloaded yet
    # after every configuration: its staff fingerprints are recorded and the module reconciled with them
    on_fingerprints: Callable[[], None] = lambda: None

    def apply(self, config: CabinetConfig) -> None:
        """A configuration the cloud sent (or the cached one at boot): products, ads, access, orders. Products,
        prices and access apply at once; its ads once their media are in (``media_arrived``)."""
        self.cloud = config
        self.on_fingerprints()
        self._ads_in_force()
        self._products_in_force()
        log.info(
            "configuration in force",
            extra={
                "version": config.version,
                "products": len(config.products),
                "ads": len(config.ads),
                "orders": len(config.pickup_orders),
            },
        )
        for warning in content_report(config):
            log.warning("configuration content: %s", warning)

    def media_arrived(self) -> None:
        """Media were downloaded: the ads and the products' pictures that were waiting for them."""
        self._ads_in_force()
        if self.cloud and any(media_hash(m.url) for p in self.cloud.products for m in p.media):
            self._products_in_force()

    def _products_in_force(self) -> None:
        config = self.cloud
        if config is None or not config.products:
            return
        self.catalog.replace_products(
            [product_from_cloud(self._cached_media(p), str(MEDIA_DIR), config.languages) for p in config.products]
        )

    def _cached_media(self, product: ConfigProduct) -> ConfigProduct:
        """The product with its uploaded pictures as the cached files (those not downloaded yet left out)."""
        media = []
        for item in product.media:
            if media_hash(item.url):
                path = self.media.resolve(item.url) if self.media else None
                if path is None:
                    continue
                item = replace(item, url=str(path))
            media.append(item)
        return replace(product, media=tuple(media))

    def _ads_in_force(self) -> None:
        """The configuration's ads when all their media are here. With some still missing the last good set
        keeps playing; with nothing playing yet, or the set already the configuration's, the ads that are
        here play meanwhile."""
        resolve = self.media.resolve if self.media else (lambda url: None)
        playable, missing = playable_ads(self.cloud, resolve)
        version = self.cloud.version if self.cloud else None
        if not missing or not self._ads or self._ads_version == version:
            self._ads, self._ads_version = playable, version
        if missing:
            log.warning("ads waiting for their media", extra={"version": version, "ads": list(missing)})
        self.missing_ads = missing

    def version(self) -> str:
        return str(self.cloud.version) if self.cloud else "local file"

    def pin_hashes(self) -> list[str]:
        """The retailers' PINs: the cloud's, and the configuration file's."""
        hashes = list(self.cloud.retailer.pin_hashes) if self.cloud else []
        return hashes + ([self.local.pin_hash] if self.local.pin_hash else [])

    def technician_pin_hashes(self) -> list[str]:
        """The technicians' PINs: the cloud's (set in the retailer's console), and the configuration file's."""
        hashes = list(self.cloud.retailer.technician_pin_hashes) if self.cloud else []
        return hashes + ([self.local.technician_pin_hash] if self.local.technician_pin_hash else [])

    def staff_cards(self) -> dict[str, str]:
        """Card UID (upper-case hex) -> role ("retailer" or "technician")."""
        return {c.uid.upper(): c.role for c in self.cloud.retailer.staff_cards} if self.cloud else {}

    def staff_fingerprints(self) -> dict[int, StaffFingerprint]:
        """Slot of the fingerprint module -> whose finger it holds (and their role)."""
        return {f.slot: f for f in self.cloud.retailer.staff_fingerprints} if self.cloud else {}

    def pickup_orders(self) -> tuple[PickupOrder, ...]:
        return self.cloud.pickup_orders if self.cloud else ()

    def ads_due(self, language: str = "en") -> tuple[AdView, ...]:
        return ads_due(self._ads, self.now(), language)

    def ad_product(self, ad_id: str) -> tuple[str, str] | None:
        """(product SKU, variant SKU or "") the ad advertises; None for an ad that names no product."""
        ad = self._ad(ad_id)
        return (ad.product, ad.variant) if ad and ad.product else None

    def ad_duration_s(self, ad_id: str) -> float:
        """How long the ad is shown (0 for one the configuration does not know)."""
        ad = self._ad(ad_id)
        return ad.duration_s if ad else 0

    def _ad(self, ad_id: str) -> Ad | None:
        """An ad playing (maybe of the last good set), else one of the configuration's."""
        playing = (ad for ad, _ in self._ads)
        return next((a for a in (*playing, *(self.cloud.ads if self.cloud else ())) if a.id == ad_id), None)

    def store_base_url(self) -> str | None:
        return self.cloud.store_base_url if self.cloud and self.cloud.store_base_url else None

    def scan_to_pay(self) -> bool:
        return bool(self.cloud and self.cloud.scan_to_pay.enabled)
