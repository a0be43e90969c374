"""Product: the 360° view and colours on the left; price, specs, materials, design, buy and the store QR."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import pygame

from kiosk_ui.context import BuildContext
from kiosk_ui.i18n import format_price, spec_label
from kiosk_ui.illustration import illustration
from kiosk_ui.intents import Buy, ChooseVariant, Intent
from kiosk_ui.kit import Kit
from kiosk_ui.moving import Spinner
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.screens.parts import message_banner, split
from kiosk_ui.spin import drawn_frames, photo_frames
from kiosk_ui.view import ProductScreen, ProductView, VariantView
from kiosk_ui.widgets import Button, ColourChip, Label, QrCode, Widget, stock_colour, stock_text

SPEC_ORDER = ("range", "top_speed", "battery", "weight")  # the four the shopper compares first
QR_MODULES = 41  # a store URL with the cabinet id is a version-4 code: 33 modules + quiet zone
QR_MODULE_PX = 3  # the smallest module a phone (and the test's decoder) reads from the screen


def chosen_variant(view: ProductScreen, memory_variant: str | None) -> VariantView | None:
    """The variant shown: the one just tapped, else the journey's choice, else the first in stock."""
    variants = view.product.variants
    for sku in (memory_variant, view.selected_variant):
        found = next((v for v in variants if v.sku == sku and v.in_stock), None)
        if found is not None:
            return found
    return next((v for v in variants if v.in_stock), variants[0] if variants else None)


def _spinner(kit: Kit, rect: pygame.Rect, product: ProductView, colour_hex: str, context: BuildContext) -> Spinner:
    background = kit.theme.palette.surface
    if product.images:

        def frames_for(size: tuple[int, int]) -> list[pygame.Surface] | None:
            return context.loader.get(
                ("photos", product.images, size), lambda: photo_frames(product.images, size, background)
            )
    else:

        def frames_for(size: tuple[int, int]) -> list[pygame.Surface] | None:
            return context.loader.get(
                ("drawn", product.sku, product.name, colour_hex, size),
                lambda: drawn_frames(product, colour_hex, size, background),
            )

    def placeholder_for(size: tuple[int, int]) -> pygame.Surface:
        return illustration(replace(product, colour=colour_hex), size)

    return Spinner(kit, rect, context.memory, frames_for, placeholder_for)


def _variant_chips(
    kit: Kit, row: pygame.Rect, view: ProductScreen, chosen: VariantView, context: BuildContext
) -> list[Widget]:
    options = view.product.variants[:4]
    gap = kit.theme.px(10)
    chip_w = (row.w - gap * (len(options) - 1)) // len(options)

    def choose(sku: str) -> Intent:
        context.memory.colour = sku
        context.rebuild()  # the 360° view turns in the new colour
        return ChooseVariant(sku)

    return [
        ColourChip(
            kit,
            (row.x + i * (chip_w + gap), row.y, chip_w, row.h),
            option,
            option == chosen,
            partial(choose, option.sku),
        )
        for i, option in enumerate(options)
    ]


def _specs(kit: Kit, product: ProductView, box: pygame.Rect) -> list[Widget]:
    """Up to four key figures in a row: range, top speed, battery, weight first."""
    theme, palette = kit.theme, kit.theme.palette
    specs = sorted(product.specs, key=lambda kv: SPEC_ORDER.index(kv[0]) if kv[0] in SPEC_ORDER else 99)[:4]
    if not specs:
        return []
    gap = theme.px(10)
    cell_w = (box.w - gap * (len(specs) - 1)) // len(specs)
    widgets: list[Widget] = []
    for i, (key, value) in enumerate(specs):
        x = box.x + i * (cell_w + gap)
        widgets.append(
            Label(
                kit,
                f"spec:{key}:label",
                (x, box.y, cell_w, theme.px(22)),
                spec_label(key, kit.language),
                "label",
                palette.text_muted,
            )
        )
        widgets.append(Label(kit, f"spec:{key}", (x, box.y + theme.px(22), cell_w, theme.px(32)), value, "heading"))
    return widgets


def _details(kit: Kit, product: ProductView, box: pygame.Rect) -> list[Widget]:
    """Summary, materials and design notes sharing the room left, each cut to what fits."""
    theme, palette = kit.theme, kit.theme.palette
    blocks = [
        (key, title, text)
        for key, title, text in (
            ("summary", None, product.summary),
            ("materials", kit.t("product.materials"), product.materials),
            ("design", kit.t("product.design"), product.design_notes),
        )
        if text
    ]
    if not blocks or box.h <= 0:
        return []
    gap = theme.px(8)
    each = (box.h - gap * (len(blocks) - 1)) // len(blocks)
    label_w = theme.px(96)
    widgets: list[Widget] = []
    y = box.y
    for key, title, text in blocks:
        x, w = box.x, box.w
        if title is not None:
            widgets.append(
                Label(
                    kit,
                    f"{key}_label",
                    (x, y, label_w - theme.px(8), min(each, theme.px(24))),
                    title,
                    "label",
                    palette.accent,
                    valign="top",
                )
            )
            x, w = x + label_w, w - label_w
        widgets.append(
            Label(
                kit,
                key,
                (x, y, w, each),
                text,
                "body" if title is None else "label",
                palette.text_muted if title is None else palette.text,
                max_lines=3,
                valign="top",
            )
        )
        y += each + gap
    return widgets


def build(view: ProductScreen, kit: Kit, context: BuildContext) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    product = view.product
    assert product is not None  # checked by validate_view
    top, content = chrome(view.chrome, kit, back=True, help_button=True)
    widgets: list[Widget] = []
    if view.message:
        banner = message_banner(kit, view.message, content)
        widgets.append(banner)
        content = pygame.Rect(
            content.x, banner.rect.bottom + theme.gap, content.w, content.bottom - banner.rect.bottom - theme.gap
        )
    body = content.inflate(0, -theme.gap)
    body.top = content.top
    left, right = split(kit, body)

    chosen = chosen_variant(view, context.memory.colour)
    chip_h = theme.touch(64)
    spin_box = pygame.Rect(left.x, left.y, left.w, left.h - (chip_h + theme.gap if chosen else 0))
    widgets.append(_spinner(kit, spin_box, product, chosen.hex if chosen else product.colour, context))
    if chosen is not None:
        widgets += _variant_chips(
            kit, pygame.Rect(left.x, spin_box.bottom + theme.gap, left.w, chip_h), view, chosen, context
        )

    shown = replace(product, stock=chosen.stock) if chosen else product  # the stock of what would be bought
    y = right.y
    widgets.append(Label(kit, "name", (right.x, y, right.w, theme.px(46)), product.name, "title"))
    y += theme.px(46)
    widgets.append(
        Label(
            kit,
            "price",
            (right.x, y, right.w * 11 // 20, theme.px(50)),
            format_price(product.price_cents, product.currency),
            "price",
            palette.accent,
        )
    )
    widgets.append(
        Label(
            kit,
            "stock",
            (right.x + right.w * 11 // 20, y, right.w * 9 // 20, theme.px(50)),
            stock_text(kit, shown),
            "heading",
            stock_colour(kit, shown),
            align="right",
        )
    )
    y += theme.px(50) + theme.px(8)
    specs = _specs(kit, product, pygame.Rect(right.x, y, right.w, theme.px(54)))
    widgets += specs
    if specs:
        y += theme.px(54) + theme.px(14)

    # Bottom row: buy (or "available online") with the store QR beside it.
    qr_px = max(theme.px(128), QR_MODULES * QR_MODULE_PX)
    row = pygame.Rect(right.x, right.bottom - qr_px, right.w, qr_px)
    action_w = row.w - (qr_px + theme.gap if view.store_url else 0)
    if view.store_url:
        widgets.append(QrCode("store_qr", (row.right - qr_px, row.y, qr_px, qr_px), view.store_url, theme.px(10)))
    button_h = theme.touch(76)
    caption_box = (row.x, row.y, action_w, row.h - button_h - theme.px(8))
    if product.online_only:
        widgets.append(
            Label(
                kit,
                "online_only",
                (row.x, row.y, action_w, row.h // 2),
                kit.t("product.online_only"),
                "heading",
                palette.info,
                max_lines=2,
                valign="bottom",
            )
        )
        widgets.append(
            Label(
                kit,
                "online_hint",
                (row.x, row.y + row.h // 2 + theme.px(6), action_w, row.h // 2 - theme.px(6)),
                kit.t("product.online_hint"),
                "label",
                palette.text_muted,
                max_lines=3,
                valign="top",
            )
        )
    else:
        if view.store_url:
            widgets.append(
                Label(
                    kit,
                    "qr_hint",
                    caption_box,
                    kit.t("product.qr"),
                    "label",
                    palette.text_muted,
                    max_lines=2,
                    valign="bottom",
                    align="right",
                )
            )
        widgets.append(
            Button(
                kit,
                "buy",
                (row.x, row.bottom - button_h, action_w, button_h),
                kit.t("product.buy"),
                Buy(),
                enabled=shown.in_stock,
            )
        )
    widgets += _details(kit, product, pygame.Rect(right.x, y, right.w, row.y - theme.gap - y))
    return [*widgets, *top]
