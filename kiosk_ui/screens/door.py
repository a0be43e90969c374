"""Door: what to do with the now unlocked door, and how long it stays unlocked.

An alarm goes across the top: "door_open_too_long" asks to close the door; "door_stuck" (it did not
open) offers unlock_again whether or not can_unlock_again is set.
"""

from __future__ import annotations

import pygame

from kiosk_ui.context import BuildContext
from kiosk_ui.intents import UnlockAgain
from kiosk_ui.kit import Kit
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.screens.parts import alarm_banner, product_summary_card, split
from kiosk_ui.view import DoorScreen
from kiosk_ui.widgets import Button, Countdown, Label, Widget


def build(view: DoorScreen, kit: Kit, context: BuildContext) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    top, content = chrome(view.chrome, kit)
    body = content.inflate(0, -theme.gap)
    body.top = content.top
    widgets: list[Widget] = []
    if view.product is not None:
        left, column = split(kit, body)
        widgets += product_summary_card(kit, view.product, left)
    else:
        column = body.inflate(-body.w // 5, 0)

    if view.alarm is not None:
        banner = alarm_banner(kit, view.alarm, column)
        widgets.append(banner)
        column = pygame.Rect(
            column.x, banner.rect.bottom + theme.gap, column.w, column.bottom - banner.rect.bottom - theme.gap
        )
    unlock_again = view.can_unlock_again or view.alarm == "door_stuck"
    button_h = theme.touch(72)
    bottom = column.bottom - (button_h + theme.gap if unlock_again else 0)
    show_countdown = view.door == "unlocked" and view.deadline is not None
    number_h, caption_h = theme.px(96), theme.px(34)
    title_h = min(theme.px(150), bottom - column.y - (theme.gap + number_h + caption_h if show_countdown else 0))
    block_h = title_h + (theme.gap + number_h + caption_h if show_countdown else 0)
    y = column.y + max(0, (bottom - column.y - block_h) // 2)
    widgets.append(
        Label(
            kit,
            "title",
            (column.x, y, column.w, title_h),
            kit.t(f"door.{view.door}"),
            "title",
            max_lines=3,
            valign="bottom",
        )
    )
    y += title_h + theme.gap
    if show_countdown:
        assert view.deadline is not None
        widgets.append(
            Countdown(
                kit,
                "countdown",
                (column.x, y, column.w, number_h),
                view.deadline,
                str,
                "countdown",
                palette.accent,
                align="left",
            )
        )
        widgets.append(
            Countdown(
                kit,
                "countdown_text",
                (column.x, y + number_h, column.w, caption_h),
                view.deadline,
                lambda s: kit.t("door.countdown", seconds=s),
                "body",
                palette.text_muted,
                align="left",
            )
        )
    if unlock_again:
        widgets.append(
            Button(
                kit,
                "unlock_again",
                (column.x, column.bottom - button_h, column.w, button_h),
                kit.t("door.unlock_again"),
                UnlockAgain(),
                style="secondary",
            )
        )
    return [*widgets, *top]
