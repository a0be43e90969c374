"""A product's narration on screen: the listen control and the subtitle band (product page), and the
muted subtitles over the attract loop. The firmware plays the sound and says which sentence is due."""

from __future__ import annotations

import pygame

from kiosk_ui.intents import Listen
from kiosk_ui.kit import Kit
from kiosk_ui.view import NarrationView
from kiosk_ui.widgets import Button, Label, Widget


def subtitle_band(kit: Kit, area: pygame.Rect, text: str, widget_id: str = "subtitles") -> list[Widget]:
    """The sentence being spoken, in two lines at most, on a dark band along the bottom of area."""
    if not text:
        return []
    theme, palette = kit.theme, kit.theme.palette
    band_h = theme.px(76)
    rect = pygame.Rect(area.x + theme.px(8), area.bottom - band_h - theme.px(8), area.w - theme.px(16), band_h)
    return [
        Label(
            kit,
            widget_id,
            rect,
            text,
            "body",
            palette.text,
            align="center",
            max_lines=2,
            background=palette.background,
            padding=(theme.px(12), theme.px(6)),
        )
    ]


def product_narration(kit: Kit, area: pygame.Rect, narration: NarrationView | None) -> tuple[list[Widget], pygame.Rect]:
    """Listen (or stop) in the top-right corner of area, the subtitles along its bottom; returns them and
    the part of area left above the subtitles (for the 360° view)."""
    if narration is None:
        return [], area
    theme, palette = kit.theme, kit.theme.palette
    button_w, button_h = theme.touch(150), theme.touch(56)
    widgets: list[Widget] = [
        Button(
            kit,
            "listen",
            (area.right - button_w - theme.px(8), area.y + theme.px(8), button_w, button_h),
            kit.t("narration.stop" if narration.playing else "narration.listen"),
            Listen(),
            style="secondary",
        )
    ]
    if narration.playing and not narration.sound:
        widgets.append(
            Label(
                kit,
                "narration_silent",
                (area.x + theme.px(8), area.y + theme.px(8), area.w - button_w - theme.px(24), button_h),
                kit.t("narration.silent"),
                "label",
                palette.text_muted,
            )
        )
    band = subtitle_band(kit, area, narration.subtitle)
    if not band:
        return widgets, area
    return widgets + band, pygame.Rect(area.x, area.y, area.w, band[0].rect.y - theme.px(4) - area.y)
