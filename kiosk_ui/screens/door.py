"""Door: what to do with the unlocked door, told as the firmware's door cycle has it.

While the latch is released (latch_until) the countdown is the pulse: pull the door now. Once it holds
again the countdown is the rest of the time to open the door (deadline): to unlock again when the
journey allows it (can_unlock_again, the only thing that shows the button), else until the opening
lapses. The latch holding again is said as it is ("the door locked again"), never as an alarm beside a
running countdown. An alarm goes across the top: "door_open_too_long" asks to close the door.
A prepaid order (view.prepaid) shows no total.
"""

from __future__ import annotations

import pygame

from kiosk_ui.context import BuildContext
from kiosk_ui.intents import UnlockAgain
from kiosk_ui.kit import Kit
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.screens.parts import alarm_banner, product_summary_card, split
from kiosk_ui.view import DoorScreen, RestockScreen
from kiosk_ui.widgets import Button, Countdown, Label, Widget


def build(view: DoorScreen, kit: Kit, context: BuildContext) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    top, content = chrome(view.chrome, kit, help_button=True)  # no way back: the paid sale goes on
    body = content.inflate(0, -theme.gap)
    body.top = content.top
    widgets: list[Widget] = []
    if view.product is not None:
        left, column = split(kit, body)
        widgets += product_summary_card(kit, view.product, left, view.prepaid)
    else:
        column = body.inflate(-body.w // 5, 0)

    if view.alarm is not None:
        banner = alarm_banner(kit, view.alarm, column)
        widgets.append(banner)
        column = pygame.Rect(
            column.x, banner.rect.bottom + theme.gap, column.w, column.bottom - banner.rect.bottom - theme.gap
        )
    unlock_again = view.can_unlock_again
    button_h = theme.touch(72)
    bottom = column.bottom - (button_h + theme.gap if unlock_again else 0)
    title, countdown = door_countdown(view)
    show_countdown = countdown is not None
    number_h, caption_h = theme.px(96), theme.px(34)
    title_h = min(theme.px(150), bottom - column.y - (theme.gap + number_h + caption_h if show_countdown else 0))
    if theme.accessible and show_countdown and title_h < 2 * kit.line_h(0):  # short of room: the number gives way
        number_h = max(kit.line_h(0), number_h - (2 * kit.line_h(0) - title_h))
        title_h = min(theme.px(150), bottom - column.y - (theme.gap + number_h + caption_h))
    block_h = title_h + (theme.gap + number_h + caption_h if show_countdown else 0)
    y = column.y + max(0, (bottom - column.y - block_h) // 2)
    widgets.append(
        Label(
            kit,
            "title",
            (column.x, y, column.w, title_h),
            kit.t(title),
            "title",
            max_lines=3,
            valign="bottom",
        )
    )
    y += title_h + theme.gap
    if countdown is not None:
        until, caption = countdown
        widgets.append(
            Countdown(
                kit,
                "countdown",
                (column.x, y, column.w, number_h),
                until,
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
                until,
                lambda s: kit.t(caption, seconds=s),
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


def door_countdown(view: DoorScreen | RestockScreen) -> tuple[str, tuple[float, str] | None]:
    """The title's i18n key, and what the countdown counts to with its caption's key (None: no countdown)."""
    if view.door != "unlocked":
        return f"door.{view.door}", None
    if view.latch_until is not None:
        return "door.unlocked", (view.latch_until, "door.latch_countdown")
    if view.deadline is None:
        return "door.relocked", None
    return "door.relocked", (view.deadline, "door.again_countdown" if view.can_unlock_again else "door.relocked_wait")
