"""What the shop shows: its products as the screens show them, their pages in the online store, the ads
due now, and the ways to pay right now. The presenters see it through ``firmware.presenters.Shop``."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from firmware.catalog import Catalog
from firmware.config import CabinetSection
from firmware.config_in_force import ConfigInForce
from firmware.scan_to_pay_terminal import ScanToPayTerminal
from hal.payment import PaymentTerminal
from kiosk_ui.view import AdView, ProductView, VariantView
from sync_client.cabinet_config import link_code


@dataclass
class ShopWindow:
    catalog: Catalog
    cabinet: CabinetSection  # its id, currency and the store's address when the cloud gives none
    in_force: ConfigInForce
    terminals: Mapping[str, PaymentTerminal]  # by payment method
    faults: Mapping[str, str]  # the cabinet's named faults: a faulty terminal is not offered
    unsettled_methods: Callable[[], Collection[str]]  # held back until an interrupted payment is settled
    is_online: Callable[[], bool] = lambda: True
    language: Callable[[], str] = lambda: "en"  # the shopper's: the products' and ads' texts are in it
    link_key: bytes = b""  # the cabinet's key: the QR hand-off codes are derived from it (link_code)

    def products(self) -> tuple[ProductView, ...]:
        """The cabinet's products as the screens show them (stock included)."""
        return tuple(self._view(sku) for sku in self.catalog.products)

    def product(self, sku: str) -> ProductView | None:
        return self._view(sku) if sku in self.catalog.products else None

    def store_url(self, sku: str) -> str:
        """The product's QR on the product screen: the cloud's hand-off link when the configuration names the
        consumer pages (the cloud counts the scan and sends the phone on to the product's store page), else
        the product's page in the online store, carrying the cabinet."""
        cloud = self.in_force.cloud
        if cloud and cloud.link_base and self.link_key:
            return f"{cloud.link_base}/q/{link_code(self.link_key, self.cabinet.id, 'product', sku)}"
        store = self.in_force.store_base_url() or self.cabinet.store_base_url
        return f"{store.rstrip('/')}/p/{sku}?cabinet={self.cabinet.id}"

    def link_base(self) -> str | None:
        """The cloud's consumer pages the configuration names (a phone's form is served there), or None."""
        cloud = self.in_force.cloud
        return cloud.link_base if cloud and cloud.link_base else None

    def receipt_qr(self, receipt_token: str | None, reference: str) -> str:
        """What the QR the shopper keeps after a sale carries: the receipt's address in the cloud when the
        configuration names the consumer pages (link_base) and the sale has a token, else its reference."""
        cloud = self.in_force.cloud
        return (cloud.receipt_address(receipt_token) if cloud and receipt_token else None) or reference

    def ads_due(self) -> tuple[AdView, ...]:
        return self.in_force.ads_due(self.language())

    def ad_product(self, ad_id: str) -> tuple[str, str] | None:
        """The product (and variant) an ad advertises, when this cabinet carries it."""
        advertised = self.in_force.ad_product(ad_id)
        return advertised if advertised and advertised[0] in self.catalog.products else None

    def payment_methods(self) -> tuple[str, ...]:
        """The ways to pay right now: a faulted device is not offered, nor one whose authorization a
        restart interrupted until that is settled; scan-to-pay only when the configuration turns it on
        and the cabinet is online."""
        methods = []
        unsettled = self.unsettled_methods()
        for method, terminal in self.terminals.items():
            if terminal.name in self.faults or method in unsettled:
                continue
            if method == "qr" and not (self.in_force.scan_to_pay() and self.is_online()):
                continue
            methods.append(method)
        return tuple(methods)

    def payment_qr(self) -> str | None:
        """The QR of the scan-to-pay payment under way, if any."""
        terminal = self.terminals.get("qr")
        return terminal.qr_text if isinstance(terminal, ScanToPayTerminal) else None

    def _view(self, sku: str) -> ProductView:
        p = self.catalog.products[sku].in_language(self.language())
        return ProductView(
            sku=p.sku,
            name=p.name,
            price_cents=p.price_cents,
            currency=self.cabinet.currency,
            stock=self.catalog.product_stock(p),
            summary=p.summary,
            specs=p.specs,
            colour=p.colour,
            materials=p.materials,
            design_notes=p.design_notes,
            variants=tuple(
                VariantView(v.sku, v.name, v.colour or p.colour, self.catalog.stock(v.sku)) for v in p.variants
            ),
            images=p.images,
            online_only=p.online_only,
        )
