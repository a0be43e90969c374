"""Attract: the idle screen. Touching anywhere starts a visit."""
from __future__ import annotations

import pygame

from kiosk_ui.illustration import illustration, vehicle_drawing
from kiosk_ui.kit import Kit
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.view import Intent, ViewState
from kiosk_ui.widgets import Label, Picture, TouchArea, Widget


def build(view: ViewState, kit: Kit) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    top, content = chrome(view, kit)
    start = TouchArea("start", (0, 0, theme.width, theme.height), kit.t("attract.start"), Intent("start"))

    text_col = pygame.Rect(content.x, content.y, content.w * 46 // 100, content.h)
    title_h, subtitle_h = theme.px(150), theme.px(96)
    block_h = title_h + theme.gap + subtitle_h + theme.px(40) + theme.touch(64)
    y = text_col.y + (text_col.h - block_h) // 2
    title = Label(kit, "title", (text_col.x, y, text_col.w, title_h), kit.t("attract.title"), "display",
                  max_lines=2, valign="bottom")
    y += title_h + theme.gap
    subtitle = Label(kit, "subtitle", (text_col.x, y, text_col.w, subtitle_h), kit.t("attract.subtitle"), "body",
                     palette.text_muted, max_lines=3, valign="top")
    y += subtitle_h + theme.px(40)
    hint = Label(kit, "start_hint", (text_col.x, y, text_col.w, theme.touch(64)), kit.t("attract.start"),
                 "button", palette.on_accent, background=palette.accent, padding=(theme.px(32), theme.px(10)),
                 hug=True)

    art_box = pygame.Rect(text_col.right + theme.gap, content.y, content.right - text_col.right - theme.gap,
                          content.h)
    featured = next((p for p in view.products if p.in_stock), view.products[0] if view.products else None)
    art = (illustration(featured, art_box.size) if featured
           else vehicle_drawing("scooter", palette.accent, art_box.size))
    return [start, Picture("hero", art_box, art), title, subtitle, hint, *top]
