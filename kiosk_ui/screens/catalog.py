"""Catalog: a grid of product tiles."""
from __future__ import annotations

import math

import pygame

from kiosk_ui.kit import Kit
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.view import ViewState
from kiosk_ui.widgets import Label, ProductTile, Widget

MAX_TILES = 8   # two rows of four: more would make tiles too small to read


def grid_shape(count: int) -> tuple[int, int]:
    """(columns, rows) for count tiles: one row up to three, then two rows."""
    cols = count if count <= 3 else math.ceil(count / 2)
    return cols, math.ceil(count / cols)


def build(view: ViewState, kit: Kit) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    top, content = chrome(view, kit)
    title_h = theme.px(56)
    widgets: list[Widget] = [Label(kit, "title", (content.x, content.y, content.w, title_h), kit.t("catalog.title"),
                                   "title")]
    area = pygame.Rect(content.x, content.y + title_h + theme.px(8), content.w,
                       content.h - title_h - theme.px(8) - theme.gap)
    products = view.products[:MAX_TILES]
    if not products:
        widgets.append(Label(kit, "empty", area, kit.t("catalog.empty"), "heading", palette.text_muted,
                             align="center", max_lines=2))
        return [*widgets, *top]
    cols, rows = grid_shape(len(products))
    gap = theme.gap
    tile_w = (area.w - gap * (cols - 1)) // cols
    tile_h = (area.h - gap * (rows - 1)) // rows
    for i, product in enumerate(products):
        row, col = divmod(i, cols)
        widgets.append(ProductTile(kit, (area.x + col * (tile_w + gap), area.y + row * (tile_h + gap),
                                         tile_w, tile_h), product))
    return [*widgets, *top]
