"""Browse: the attract loop and the catalog, where every visit starts (the sale journey idle or browsing)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from firmware.journeys.sale import S, SaleJourney
from firmware.presenters import Passive, Shop
from kiosk_ui.intents import Back, Intent, OpenAd, SelectProduct, Start
from kiosk_ui.view import AdView, AttractScreen, CatalogScreen, Chrome, View


@dataclass
class BrowsePresenter(Passive):
    sale: SaleJourney
    shop: Shop
    ads: Callable[[], tuple[AdView, ...]]  # the ads due now
    ad_product: Callable[[str], tuple[str, str] | None] = lambda ad_id: None  # (product, variant) it advertises
    on_select: Callable[[], None] = lambda: None  # a product chosen: a new visit of its screen
    name: str = "browse"

    def active(self) -> bool:
        return self.sale.state in (S.IDLE, S.BROWSE)

    def handles(self, intent: Intent) -> bool:
        match intent:
            case Start() | OpenAd():
                return self.sale.state is S.IDLE
            case SelectProduct() | Back():
                return self.sale.state is S.BROWSE
        return False

    def handle(self, intent: Intent) -> None:
        match intent:
            case Start():
                self.sale.start()
            case OpenAd(ad_id=ad_id):
                self._open_ad(ad_id)
            case SelectProduct(sku=sku):
                self.on_select()
                self.sale.select(sku)
            case Back():
                self.sale.back()

    def _open_ad(self, ad_id: str) -> None:
        """The ad's product page (on its variant, if it names one in stock); an ad naming none, the catalog."""
        self.sale.start()
        advertised = self.ad_product(ad_id)
        if advertised is None:
            return
        sku, variant = advertised
        self.on_select()
        self.sale.select(sku)
        if variant and self.sale.catalog.stock(variant) > 0:
            self.sale.choose_variant(variant)

    def view(self, chrome: Chrome) -> View:
        if self.sale.state is S.IDLE:
            return AttractScreen(chrome=chrome, products=self.shop.products(), ads=self.ads())
        return CatalogScreen(chrome=chrome, products=self.shop.products())
