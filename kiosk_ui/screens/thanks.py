"""Thanks: the sale is done."""

from __future__ import annotations

import pygame

from kiosk_ui.context import BuildContext
from kiosk_ui.illustration import tick_badge
from kiosk_ui.intents import Done
from kiosk_ui.kit import Kit
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.screens.parts import centred_heading
from kiosk_ui.view import ThanksScreen
from kiosk_ui.widgets import Button, Picture, Widget


def build(view: ThanksScreen, kit: Kit, context: BuildContext) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    top, content = chrome(view.chrome, kit, home=True, nav_intent=Done(), help_button=True)
    badge = theme.px(120)
    title_h, subtitle_h, button_h = theme.px(70), theme.px(40), theme.touch(76)
    block_h = badge + theme.gap + title_h + subtitle_h + theme.px(36) + button_h
    y = content.y + (content.h - block_h) // 2
    widgets: list[Widget] = [
        Picture(
            "tick",
            (content.centerx - badge // 2, y, badge, badge),
            tick_badge(badge, palette.accent, palette.on_accent),
        )
    ]
    y += badge + theme.gap
    widgets += centred_heading(kit, content, y, kit.t("thanks.title"), kit.t("thanks.subtitle"), subtitle_h)
    y += title_h + subtitle_h + theme.px(36)
    done_w = theme.touch(280)
    widgets.append(
        Button(
            kit,
            "done",
            pygame.Rect(content.centerx - done_w // 2, y, done_w, button_h),
            kit.t("thanks.done"),
            Done(),
        )
    )
    return [*widgets, *top]
