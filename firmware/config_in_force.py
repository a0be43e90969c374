"""The configuration from the cloud in force (or none yet), and what the cabinet reads from it: who may
open the door (the staff's PINs and cards), the pickup orders, the ads, the store and scan-to-pay."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from firmware.catalog import Catalog, product_from_cloud
from firmware.cloud_config import MEDIA_DIR, ads_due, content_report, playable_ads
from firmware.config import RetailerSection
from kiosk_ui.view import AdView
from sync_client.cabinet_config import Ad, CabinetConfig, PickupOrder

log = logging.getLogger(__name__)


@dataclass
class ConfigInForce:
    catalog: Catalog  # takes the configuration's products
    local: RetailerSection  # the configuration file's PINs, beside the cloud's
    now: Callable[[], datetime.datetime] = datetime.datetime.now  # local wall time: the ads' schedules
    cloud: CabinetConfig | None = None
    _ads: tuple[tuple[Ad, AdView], ...] = field(default=(), repr=False)  # its ads with their media resolved

    def apply(self, config: CabinetConfig) -> None:
        """A configuration the cloud sent (or the cached one at boot): products, ads, access, orders."""
        self.cloud = config
        self._ads = playable_ads(config)
        if config.products:
            self.catalog.replace_products(
                [product_from_cloud(p, str(MEDIA_DIR), config.languages) for p in config.products]
            )
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

    def pickup_orders(self) -> tuple[PickupOrder, ...]:
        return self.cloud.pickup_orders if self.cloud else ()

    def ads_due(self, language: str = "en") -> tuple[AdView, ...]:
        return ads_due(self._ads, self.now(), language)

    def ad_product(self, ad_id: str) -> tuple[str, str] | None:
        """(product SKU, variant SKU or "") the ad advertises; None for an ad that names no product."""
        ad = next((a for a in (self.cloud.ads if self.cloud else ()) if a.id == ad_id), None)
        return (ad.product, ad.variant) if ad and ad.product else None

    def ad_duration_s(self, ad_id: str) -> float:
        """How long the ad is shown (0 for one the configuration does not know)."""
        ad = next((a for a in (self.cloud.ads if self.cloud else ()) if a.id == ad_id), None)
        return ad.duration_s if ad else 0

    def store_base_url(self) -> str | None:
        return self.cloud.store_base_url if self.cloud and self.cloud.store_base_url else None

    def scan_to_pay(self) -> bool:
        return bool(self.cloud and self.cloud.scan_to_pay.enabled)
