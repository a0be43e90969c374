"""Products and their stock, kept in the cabinet's local store."""
from __future__ import annotations

from dataclasses import dataclass

from firmware.config import ProductSection
from sync_client.outbox import Outbox, Transaction

STOCK_DDL = "CREATE TABLE IF NOT EXISTS stock (sku TEXT PRIMARY KEY, count INTEGER NOT NULL CHECK (count >= 0))"


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price_cents: int
    summary: str
    colour: str
    specs: tuple[tuple[str, str], ...]


def product_from_config(p: ProductSection) -> Product:
    specs = tuple((label, value) for label, value in (
        ("range", f"{p.range_km} km" if p.range_km else ""),
        ("top_speed", f"{p.top_speed_kmh} km/h" if p.top_speed_kmh else ""),
        ("battery", f"{p.battery_wh} Wh" if p.battery_wh else ""),
        ("weight", f"{p.weight_kg:g} kg" if p.weight_kg else ""),
    ) if value)
    return Product(p.sku, p.name, p.price_cents, p.summary, p.colour, specs)


class Catalog:
    """The products on sale and the stock count of each, persisted beside the outbox."""

    def __init__(self, outbox: Outbox, products: list[ProductSection]) -> None:
        self._outbox = outbox
        self.products = {p.sku: product_from_config(p) for p in products}
        with outbox.transaction() as tx:
            tx.execute(STOCK_DDL)
            for p in products:   # first boot seeds stock; later boots keep what was counted
                tx.execute("INSERT OR IGNORE INTO stock (sku, count) VALUES (?, ?)", (p.sku, p.stock))

    def stock(self, sku: str) -> int:
        row = self._outbox.db.conn.execute("SELECT count FROM stock WHERE sku = ?", (sku,)).fetchone()
        return row[0] if row else 0

    def take_one(self, tx: Transaction, sku: str) -> None:
        tx.execute("UPDATE stock SET count = count - 1 WHERE sku = ? AND count > 0", (sku,))
