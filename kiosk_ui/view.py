"""The contract between the firmware and the touchscreen.

The firmware builds a ``ViewState`` from its journeys and hands it to the UI;
the UI renders it and reports what the person did as ``Intent``s. Screen ids
and widget ids are stable: tests, benches and the control API rely on them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Stable screen ids.
SCREENS = ("attract", "catalog", "product", "checkout", "door", "thanks")


@dataclass(frozen=True)
class ProductView:
    sku: str
    name: str
    price_cents: int
    currency: str
    stock: int
    summary: str = ""
    specs: tuple[tuple[str, str], ...] = ()   # (label key, value), e.g. ("range", "45 km")
    colour: str = "#3a7bd5"                   # accent used for the product illustration

    @property
    def in_stock(self) -> bool:
        return self.stock > 0


@dataclass(frozen=True)
class ViewState:
    screen: str                               # one of SCREENS
    language: str = "en"                      # "en" or "zh"
    cabinet_id: str = ""
    online: bool = True
    products: tuple[ProductView, ...] = ()
    product: ProductView | None = None        # the product on the product/checkout/door/thanks screens
    payment_methods: tuple[str, ...] = ("terminal",)   # "terminal", "qr"
    # Checkout: None while choosing; then "present_card", "enter_pin", "processing";
    # after a failure the journey is back on "product" with message set.
    payment_status: str | None = None
    message: str | None = None                # i18n key: "declined", "timed_out", "cancelled", "fault", "sold_out"
    door: str = "closed"                      # "unlocked", "opened", "closed" (door screen)
    deadline: float | None = None             # time.monotonic() deadline for the door countdown
    can_unlock_again: bool = False            # door screen offers "unlock again"


@dataclass(frozen=True)
class Intent:
    """Something the person did. ``name`` is one of:

    start, select_product(arg=sku), buy, pay(arg="terminal"|"qr"), cancel, back,
    lang, unlock_again, done, activity (any touch; resets the idle timer),
    bench(arg="pos/approve"|"pos/decline"|"door/open"|"door/close"|"nfc/present"|"qr/show").
    """
    name: str
    arg: str | None = None


@dataclass(frozen=True)
class WidgetInfo:
    id: str
    rect: tuple[int, int, int, int]           # x, y, w, h in touchscreen pixels
    label: str
    enabled: bool = True
    extra: dict = field(default_factory=dict, compare=False)
