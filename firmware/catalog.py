"""Products and their stock, kept in the cabinet's local store.

The products come from the configuration the cloud sends down (the last good one
is cached, so a cabinet that boots offline still sells), or from the TOML file
before the first one arrives. Stock is the cabinet's own fact: every change is
written with a ``stock.changed`` event in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from firmware.config import ProductSection
from sync_client.cabinet_config import ConfigProduct, Text
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
    colour_names: tuple[str, ...]  # in the order of Product.colours


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

    def in_language(self, language: str) -> Product:
        """This product with its texts in that language (the fallback's where none is given)."""
        text = next((t for lang, t in self.translations if lang == language), None)
        if text is None:
            return self
        colours = tuple((name, hex_value) for name, (_, hex_value) in zip(text.colour_names, self.colours, strict=True))
        return replace(
            self,
            name=text.name,
            summary=text.summary,
            materials=text.materials,
            design_notes=text.design_notes,
            colours=colours,
        )


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


def _colour_option(text: str) -> tuple[str, str]:
    name, _, hex_value = text.partition(":")
    return name, hex_value if hex_value.startswith("#") else COLOUR_NAMES.get(name.lower(), "#8b95a5")


def _product_text(p: ConfigProduct, language: str) -> ProductText:
    return ProductText(
        name=p.name.in_(language),
        summary=p.summary.in_(language),
        materials=_materials(p.materials, language),
        design_notes=p.design_notes.in_(language),
        # a translation names the colour; its shade is the fallback text's ("Mint:#2ee59d")
        colour_names=tuple(c.in_(language).partition(":")[0] for c in p.colours),
    )


def _materials(materials: tuple[Text, ...], language: str) -> str:
    return ("、" if language == "zh" else ", ").join(m.in_(language) for m in materials)


def product_from_cloud(p: ConfigProduct, media_dir: str, languages: tuple[str, ...] = ("en",)) -> Product:
    """The configuration's product; its texts in languages[0] (the fallback), the others as translations."""
    colours = tuple(_colour_option(c.fallback) for c in p.colours)
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
                self._stock.seed(tx, p.sku, 0)
        self.products = {p.sku: p for p in products}

    def stock(self, sku: str) -> int:
        count = self._stock.count(sku)
        return 0 if count is None else count

    def set_count(self, tx: Transaction, sku: str, count: int, reason: str) -> None:
        self._stock.put(tx, sku, count)
        tx.append("stock.changed", {"sku": sku, "count": count, "reason": reason})

    def adjust(self, tx: Transaction, sku: str, delta: int, reason: str) -> None:
        count = self._stock.count(sku)  # the connection is the transaction's: its count as it stands
        if count is None:
            raise KeyError(f"stock: no count for {sku!r} to adjust")
        self.set_count(tx, sku, max(0, count + delta), reason)
