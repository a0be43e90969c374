"""Catalog: the cabinet's products, then those sold online, in a carousel to swipe and tap."""

from __future__ import annotations

from functools import partial

import pygame

from kiosk_ui.context import BuildContext
from kiosk_ui.kit import Kit
from kiosk_ui.moving import Carousel
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.view import CatalogScreen
from kiosk_ui.widgets import Button, Label, Widget

VISIBLE = 3  # cards in view at once: large enough to read from a step back


def build(view: CatalogScreen, kit: Kit, context: BuildContext) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    top, content = chrome(view.chrome, kit, back=True, help_button=True)
    title_h = theme.touch(64)
    area = pygame.Rect(content.x, content.y + title_h + theme.px(8), content.w, content.h - title_h - theme.px(8))
    if not view.products:
        return [
            Label(kit, "title", (content.x, content.y, content.w, title_h), kit.t("catalog.title"), "title"),
            Label(
                kit, "empty", area, kit.t("catalog.empty"), "heading", palette.text_muted, align="center", max_lines=2
            ),
            *top,
        ]
    carousel = Carousel(kit, area, view.products, context.memory.carousel, VISIBLE)
    widgets: list[Widget] = [carousel]
    title_w = content.w
    if carousel.pages > 1:
        arrow = theme.touch(64)
        x = content.right - arrow
        for widget_id, label, cards in (("carousel:next", "›", 1), ("carousel:prev", "‹", -1)):
            widgets.append(
                Button(
                    kit,
                    widget_id,
                    (x, content.y, arrow, arrow),
                    label,
                    None,
                    style="secondary",
                    role="title",
                    on_tap=partial(carousel.scroll_by, cards),
                )
            )
            x -= arrow + theme.px(12)
        hint_w = content.w * 30 // 100
        widgets.append(
            Label(
                kit,
                "swipe_hint",
                (x + arrow - hint_w, content.y, hint_w, arrow),
                kit.t("catalog.swipe_hint"),
                "label",
                palette.text_muted,
                align="right",
            )
        )
        title_w = x + arrow - hint_w - theme.gap - content.x
    widgets.insert(0, Label(kit, "title", (content.x, content.y, title_w, title_h), kit.t("catalog.title"), "title"))
    return [*widgets, *top]
