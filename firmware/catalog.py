"""Products and their stock, kept in the cabinet's local store.

The products come from the configuration the cloud sends down (the last good one
is cached, so a cabinet that boots offline still sells), or from the TOML file
before the first one arrives. Stock is the cabinet's own fact: every change is
written with a ``stock.changed`` event in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from firmware.config import ProductSection
from sync_client.cabinet_config import ConfigProduct, ConfigVariant, Text
from sync_client.outbox import Outbox, Transaction
from sync_client.store.stock import StockRepo

# Names a retailer is likely to use; "Name:#rrggbb" in the configuration sets any other.
COLOUR_NAMES = {
    "black": "#1f2328",
    "white": "#f2f2f2",
    "grey": "#8b95a5",
    "graphite": "#4a4f57",
    "silver": "#c0c6cf",
    "red": "#d64545",
    "coral": "#ff6f61",
    "orange": "#d35400",
    "yellow": "#f2c94c",
    "green": "#1f8a70",
    "mint": "#2ee59d",
    "blue": "#3a7bd5",
    "navy": "#1b2a4a",
    "purple": "#8e44ad",
    "pink": "#ff8fb1",
}


@dataclass(frozen=True)
class ProductText:
    """A product's shopper-facing words in one language (the configuration's translation)."""

    name: str
    summary: str
    materials: str
    design_notes: str
    variant_names: tuple[str, ...]  # in the order of Product.variants


@dataclass(frozen=True)
class Variant:
    """One way a product comes (a colour, a frame size): what the shopper chooses, pays for and takes."""

    sku: str  # its own stock count is kept under this
    name: str  # as the product's name
    colour: str = ""  # the swatch, #rrggbb; "" for an option that is no colour


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price_cents: int
    summary: str = ""
    colour: str = "#3a7bd5"  # the accent of the product's illustration
    specs: tuple[tuple[str, str], ...] = ()
    materials: str = ""
    design_notes: str = ""
    colours: tuple[tuple[str, str], ...] = ()  # (name, #hex) options
    images: tuple[str, ...] = ()  # the 360° sequence, when the catalog has one
    online_only: bool = False
    # The texts above are in the configuration's fallback language; these are the other languages'.
    translations: tuple[tuple[str, ProductText], ...] = ()
    variants: tuple[Variant, ...] = ()  # none: the product is one thing, counted under its own SKU

    def in_language(self, language: str) -> Product:
        """This product with its texts in that language (the fallback's where none is given)."""
        text = next((t for lang, t in self.translations if lang == language), None)
        if text is None:
            return self
        variants = tuple(replace(v, name=name) for v, name in zip(self.variants, text.variant_names, strict=True))
        return replace(
            self,
            name=text.name,
            summary=text.summary,
            materials=text.materials,
            design_notes=text.design_notes,
            variants=variants,
            colours=tuple((v.name, v.colour) for v in variants if v.colour),
        )

    def stock_skus(self) -> tuple[str, ...]:
        """The SKUs its stock is counted under: each variant's, or its own."""
        return tuple(v.sku for v in self.variants) or (self.sku,)

    def variant(self, sku: str | None) -> Variant | None:
        return next((v for v in self.variants if v.sku == sku), None)


def toml_specs(p: ProductSection) -> tuple[tuple[str, str], ...]:
    """The specs a TOML product gives, as (label key, shown value), the unset ones left out."""
    return tuple(
        (label, value)
        for label, value in (
            ("range", f"{p.range_km} km" if p.range_km else ""),
            ("top_speed", f"{p.top_speed_kmh} km/h" if p.top_speed_kmh else ""),
            ("battery", f"{p.battery_wh} Wh" if p.battery_wh else ""),
            ("weight", f"{p.weight_kg:g} kg" if p.weight_kg else ""),
        )
        if value
    )


def product_from_toml(p: ProductSection) -> Product:
    return Product(p.sku, p.name, p.price_cents, p.summary, p.colour, toml_specs(p))


def swatch(colour: str) -> str:
    """A variant's colour as #rrggbb: as written, or the catalog's own name for it (grey if unknown)."""
    return colour if colour.startswith("#") else COLOUR_NAMES.get(colour.lower(), "#8b95a5")


def variant_from_cloud(v: ConfigVariant) -> Variant:
    return Variant(v.sku, v.name.fallback, swatch(v.colour) if v.colour else "")


def _product_text(p: ConfigProduct, language: str) -> ProductText:
    return ProductText(
        name=p.name.in_(language),
        summary=p.summary.in_(language),
        materials=_materials(p.materials, language),
        design_notes=p.design_notes.in_(language),
        variant_names=tuple(v.name.in_(language) for v in p.sold_variants()),
    )


def _materials(materials: tuple[Text, ...], language: str) -> str:
    return ("、" if language == "zh" else ", ").join(m.in_(language) for m in materials)


def product_from_cloud(p: ConfigProduct, media_dir: str, languages: tuple[str, ...] = ("en",)) -> Product:
    """The configuration's product; its texts in languages[0] (the fallback), the others as translations."""
    variants = tuple(variant_from_cloud(v) for v in p.sold_variants())
    colours = tuple((v.name, v.colour) for v in variants if v.colour)
    images = tuple(
        m.url if "://" in m.url or m.url.startswith("/") else f"{media_dir}/{m.url}"
        for m in p.media
        if m.kind == "image" and "://" not in m.url
    )
    return Product(
        sku=p.sku,
        name=p.name.fallback,
        price_cents=p.price_cents,
        summary=p.summary.fallback,
        colour=colours[0][1] if colours else "#3a7bd5",
        specs=p.specs,
        materials=_materials(p.materials, languages[0]),
        design_notes=p.design_notes.fallback,
        colours=colours,
        images=images,
        online_only=p.online_only,
        translations=tuple((lang, _product_text(p, lang)) for lang in languages[1:]),
        variants=variants,
    )


class Catalog:
    """The products on sale and the stock count of each, persisted beside the outbox."""

    def __init__(self, outbox: Outbox, products: list[ProductSection]) -> None:
        self._outbox = outbox
        self._stock = StockRepo(outbox)
        self.products: dict[str, Product] = {p.sku: product_from_toml(p) for p in products}
        with outbox.transaction() as tx:
            for p in products:  # first boot seeds stock from the file; later boots keep what was counted
                self._stock.seed(tx, p.sku, p.stock)

    def replace_products(self, products: list[Product]) -> None:
        """A new configuration: its products, in its order. New SKUs start with no stock until counted in."""
        with self._outbox.transaction() as tx:
            for p in products:
                self._carry_over(tx, p)
                for sku in p.stock_skus():
                    self._stock.seed(tx, sku, 0)
        self.products = {p.sku: p for p in products}

    def _carry_over(self, tx: Transaction, p: Product) -> None:
        """A product that was counted as a whole (a release before variants, or a configuration without
        them) and now comes in variants none of which is counted yet: its units go to the first variant
        (the one its page shows first) rather than vanish, until the next restock counts each variant."""
        whole = self._stock.count(p.sku)
        if not p.variants or not whole or any(self._stock.count(sku) is not None for sku in p.stock_skus()):
            return
        self._stock.seed(tx, p.variants[0].sku, 0)
        self.set_count(tx, p.variants[0].sku, whole, "variants")
        self.set_count(tx, p.sku, 0, "variants")

    def stock(self, sku: str) -> int:
        """The count under one stock SKU (a variant's, or a product's without variants)."""
        count = self._stock.count(sku)
        return 0 if count is None else count

    def product_stock(self, product: Product) -> int:
        """All of a product in the cabinet, every variant together."""
        return sum(self.stock(sku) for sku in product.stock_skus())

    def stock_sku(self, sku: str) -> str | None:
        """Where a unit of ``sku`` (a product or a variant) is counted; None for a product that comes in
        variants (which one left is not known: the next restock counts it) or one not carried."""
        for product in self.products.values():
            if sku in product.stock_skus() and not product.online_only:
                return sku
        return None

    def set_count(self, tx: Transaction, sku: str, count: int, reason: str) -> None:
        self._stock.put(tx, sku, count)
        tx.append("stock.changed", {"sku": sku, "count": count, "reason": reason})

    def adjust(self, tx: Transaction, sku: str, delta: int, reason: str) -> None:
        count = self._stock.count(sku)  # the connection is the transaction's: its count as it stands
        if count is None:
            raise KeyError(f"stock: no count for {sku!r} to adjust")
        self.set_count(tx, sku, max(0, count + delta), reason)
