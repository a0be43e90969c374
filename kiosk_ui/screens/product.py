"""Product: the 360° view and colours on the left; price, specs, materials, design, buy and the store QR.

A message (a payment that ended, sold out) takes its own room at the top of the picture column: the text
column keeps its size whatever is said. With no way to pay right now, buy is off and says why."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import pygame

from kiosk_ui.context import BuildContext
from kiosk_ui.i18n import format_price, spec_label
from kiosk_ui.illustration import illustration
from kiosk_ui.intents import Buy, ChooseVariant, Intent, OpenCallback
from kiosk_ui.kit import Kit
from kiosk_ui.moving import ScrollText, Spinner
from kiosk_ui.narration_video import narration_video
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.screens.narration import product_narration
from kiosk_ui.screens.parts import message_banner, split
from kiosk_ui.spin import drawn_frames, photo_frames
from kiosk_ui.view import ProductScreen, ProductView, VariantView
from kiosk_ui.widgets import Button, ColourChip, Label, PlacedText, QrCode, Widget, stock_colour, stock_text

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
    gap, label_h = theme.px(10), kit.line_h(22)
    cell_w = (box.w - gap * (len(specs) - 1)) // len(specs)
    widgets: list[Widget] = []
    for i, (key, value) in enumerate(specs):
        x = box.x + i * (cell_w + gap)
        widgets.append(
            Label(
                kit,
                f"spec:{key}:label",
                (x, box.y, cell_w, label_h),
                spec_label(key, kit.language),
                "label",
                palette.text_muted,
            )
        )
        widgets.append(Label(kit, f"spec:{key}", (x, box.y + label_h, cell_w, kit.line_h(32)), value, "heading"))
    return widgets


def _details(kit: Kit, product: ProductView, box: pygame.Rect, context: BuildContext) -> list[Widget]:
    """Summary, materials and design notes, wrapped at their readable size and scrolled when they need
    more room than there is (a long description in German or Chinese)."""
    theme, palette = kit.theme, kit.theme.palette
    blocks = [
        (title, text)
        for title, text in (
            (None, product.summary),
            (kit.t("product.materials"), product.materials),
            (kit.t("product.design"), product.design_notes),
        )
        if text
    ]
    if not blocks or box.h <= 0:
        return []
    gap, label_w, bar = theme.px(8), theme.px(96), theme.px(12)  # bar: room for the scroll bar
    tall = 100 * box.h  # as tall as any text needs: it wraps, never shrinks below its size or is cut
    parts: list[PlacedText] = []
    y = box.y
    for title, text in blocks:
        x, w = box.x, box.w - bar
        if title is not None:
            surface = kit.text(title, "label", palette.accent, label_w - theme.px(8), tall, 2)
            parts.append(PlacedText(surface, surface.get_rect(topleft=(x, y))))
            x, w = x + label_w, w - label_w
        role, colour = ("body", palette.text_muted) if title is None else ("label", palette.text)
        surface = kit.text(text, role, colour, w, tall, 200)
        parts.append(PlacedText(surface, surface.get_rect(topleft=(x, y))))
        y = max(p.rect.bottom for p in parts) + gap
    label = "\n".join(text if title is None else f"{title}: {text}" for title, text in blocks)
    return [ScrollText(kit, "details", box, parts, label, context.memory.details)]


def build(view: ProductScreen, kit: Kit, context: BuildContext) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    product = view.product
    assert product is not None  # checked by validate_view
    top, content = chrome(view.chrome, kit, back=True, help_button=True)
    widgets: list[Widget] = []
    body = content.inflate(0, -theme.gap)
    body.top = content.top
    left, right = split(kit, body)
    if view.message:
        banner = message_banner(kit, view.message, left)
        widgets.append(banner)
        left = pygame.Rect(left.x, banner.rect.bottom + theme.gap, left.w, left.bottom - banner.rect.bottom - theme.gap)

    chosen = chosen_variant(view, context.memory.colour)
    chip_h = theme.touch(64)
    spin_box = pygame.Rect(left.x, left.y, left.w, left.h - (chip_h + theme.gap if chosen else 0))
    narration, turning = product_narration(kit, spin_box, view.narration)  # listen and the subtitles
    clip = view.narration.video if view.narration else None  # a narration video takes the 360° view's place
    widgets += narration_video(spin_box, clip, context.memory, palette.surface) or [
        _spinner(kit, turning, product, chosen.hex if chosen else product.colour, context)
    ]
    widgets += narration
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
    specs_h = max(theme.px(54), kit.line_h(22) + kit.line_h(32))
    specs = _specs(kit, product, pygame.Rect(right.x, y, right.w, specs_h))
    widgets += specs
    if specs:
        y += specs_h + theme.px(14)

    # Bottom row: buy (or "available online") with the store QR beside it.
    qr_px = max(theme.px(128), QR_MODULES * QR_MODULE_PX)
    row = pygame.Rect(right.x, right.bottom - qr_px, right.w, qr_px)
    action_w = row.w - (qr_px + theme.gap if view.store_url else 0)
    if view.store_url:
        widgets.append(QrCode("store_qr", (row.right - qr_px, row.y, qr_px, qr_px), view.store_url, theme.px(10)))
    button_h = theme.touch(76)
    caption_box = (row.x, row.y, action_w, row.h - button_h - theme.px(8))
    # "Call me back": above the buy row while the details keep two lines, else beside buy (large type).
    callback_h = theme.touch(64)
    callback_above = view.callback and (
        product.online_only or row.y - 2 * theme.gap - callback_h - y >= 2 * kit.line_h(30)
    )
    buy_w = action_w * 3 // 5 if view.callback and not callback_above else action_w
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
        if view.no_payment_method and product.in_stock:
            widgets.append(
                Label(
                    kit,
                    "buy_reason",
                    caption_box,
                    kit.t("product.no_method"),
                    "label",
                    palette.warning,
                    max_lines=2,
                    valign="bottom",
                )
            )
        elif view.store_url:
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
                (row.x, row.bottom - button_h, buy_w, button_h),
                kit.t("product.buy"),
                Buy(),
                enabled=shown.in_stock and not view.no_payment_method,
            )
        )
    details_bottom = row.y - theme.gap
    if view.callback:
        if callback_above:  # the details give way
            details_bottom -= callback_h + theme.gap
            place = (right.x, details_bottom + theme.gap, right.w, callback_h)
        else:
            place = (row.x + buy_w + theme.gap, row.bottom - button_h, action_w - buy_w - theme.gap, button_h)
        widgets.append(
            Button(kit, "callback", place, kit.t("product.callback"), OpenCallback(), style="secondary", role="body")
        )
    widgets += _details(kit, product, pygame.Rect(right.x, y, right.w, details_bottom - y), context)
    return [*widgets, *top]
