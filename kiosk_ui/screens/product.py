"""Product: the picture, price, stock, summary and specs of one product, and the buy button."""
from __future__ import annotations

import math

import pygame

from kiosk_ui.i18n import format_price, spec_label
from kiosk_ui.kit import Kit
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.screens.parts import product_picture, split
from kiosk_ui.view import Intent, ViewState
from kiosk_ui.widgets import Button, Label, Widget

# Failures are red; a stop the shopper chose or a timeout is amber.
_ALARMING = ("declined", "fault")


def build(view: ViewState, kit: Kit) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    product = view.product
    assert product is not None  # checked by validate_view
    top, content = chrome(view, kit, back=True)
    widgets: list[Widget] = []
    if view.message:
        banner_h = theme.px(60)
        alarming = view.message in _ALARMING
        widgets.append(Label(kit, "message", (content.x, content.y, content.w, banner_h),
                             kit.t(f"message.{view.message}"), "heading",
                             palette.text if alarming else palette.on_warning,
                             background=palette.danger if alarming else palette.warning,
                             padding=(theme.px(20), theme.px(6)), max_lines=2))
        content = pygame.Rect(content.x, content.y + banner_h + theme.gap, content.w,
                              content.h - banner_h - theme.gap)
    body = content.inflate(0, -theme.gap)
    body.top = content.top
    left, right = split(kit, body)
    widgets.append(product_picture(kit, product, left))

    y = right.y
    widgets.append(Label(kit, "name", (right.x, y, right.w, theme.px(50)), product.name, "title"))
    y += theme.px(50)
    widgets.append(Label(kit, "price", (right.x, y, right.w * 3 // 5, theme.px(52)),
                         format_price(product.price_cents, product.currency), "price", palette.accent))
    widgets.append(Label(kit, "stock", (right.x + right.w * 3 // 5, y, right.w * 2 // 5, theme.px(52)),
                         kit.t("stock.in" if product.in_stock else "stock.sold_out"), "heading",
                         palette.text_muted if product.in_stock else palette.danger, align="right"))
    y += theme.px(52) + theme.px(8)

    buy = Button(kit, "buy", (right.x, right.bottom - theme.touch(76), right.w, theme.touch(76)),
                 kit.t("product.buy"), Intent("buy"), enabled=product.in_stock)
    room = buy.rect.top - theme.gap - y
    summary_h = min(theme.px(92), room) if product.summary else 0
    if summary_h > 0:
        widgets.append(Label(kit, "summary", (right.x, y, right.w, summary_h), product.summary, "body",
                             palette.text_muted, max_lines=3, valign="top"))
        y += summary_h + theme.gap

    row_h = theme.px(58)
    rows = min(math.ceil(len(product.specs) / 2), max(0, (buy.rect.top - theme.gap - y) // row_h))
    cell_w = (right.w - theme.gap) // 2
    for i, (key, value) in enumerate(product.specs[:rows * 2]):
        row, col = divmod(i, 2)
        cx, cy = right.x + col * (cell_w + theme.gap), y + row * row_h
        widgets.append(Label(kit, f"spec:{key}:label", (cx, cy, cell_w, theme.px(22)), spec_label(key, kit.language),
                             "label", palette.text_muted))
        widgets.append(Label(kit, f"spec:{key}", (cx, cy + theme.px(22), cell_w, theme.px(32)), value, "heading"))
    widgets.append(buy)
    return [*widgets, *top]
