"""PIN pad: the staff PIN on a large keypad, shown as dots, never as digits.

The UI keeps the digits (ScreenMemory.code) and sends them only with SubmitPin: the keys
themselves tell the firmware nothing, so no digit reaches a log. The firmware answers a wrong PIN with
message "pin_wrong" (attempts_left when it knows them) and, after too many, "pin_locked" counting down
to deadline; it clears the message when the lock has run out. While it checks a PIN it says "checking"
and the keys are off.
"""

from __future__ import annotations

import pygame

from kiosk_ui.context import BuildContext
from kiosk_ui.entry import PinDots
from kiosk_ui.intents import Cancel, SubmitPin
from kiosk_ui.kit import Kit
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.screens.parts import countdown_banner, message_banner, split
from kiosk_ui.screens.pickup import digit_keypad, locked
from kiosk_ui.view import PIN_MAX, PIN_MIN, PinPadScreen
from kiosk_ui.widgets import Button, Label, Panel, Widget


def wrong_pin_text(kit: Kit, attempts_left: int | None) -> str:
    if attempts_left == 1:
        return kit.t("message.pin_wrong.last")
    if attempts_left:
        return kit.t("message.pin_wrong.left", attempts=attempts_left)
    return kit.t("message.pin_wrong")


def build(view: PinPadScreen, kit: Kit, context: BuildContext) -> list[Widget]:
    theme, palette, memory = kit.theme, kit.theme.palette, context.memory
    top, content = chrome(view.chrome, kit, title=kit.t("pin.header"))
    body = content.inflate(0, -theme.gap)
    body.top = content.top
    left, right = split(kit, body, 50)

    widgets: list[Widget] = digit_keypad(
        kit,
        right,
        context,
        PIN_MAX,
        enabled=not locked(view),
        announce=False,
        submit=("pin:submit", kit.t("pin.submit"), PIN_MIN, SubmitPin),
    )
    y = left.y
    widgets.append(Label(kit, "title", (left.x, y, left.w, theme.px(56)), kit.t("pin.title"), "display"))
    y += theme.px(56)
    widgets.append(
        Label(
            kit,
            "instructions",
            (left.x, y, left.w, theme.px(34)),
            kit.t("pin.hint", least=PIN_MIN, most=PIN_MAX),
            "body",
            palette.text_muted,
        )
    )
    y += theme.px(34) + theme.px(10)
    dots = pygame.Rect(left.x, y, left.w, theme.px(72))
    widgets.append(Panel("dots_panel", dots, palette.surface, theme.radius))
    widgets.append(PinDots(kit, dots, len(memory.code), PIN_MIN, PIN_MAX))
    y = dots.bottom + theme.gap
    banner = pygame.Rect(left.x, y, left.w, theme.px(60))
    if view.message == "checking":
        widgets.append(message_banner(kit, view.message, banner))
    elif locked(view):
        assert view.deadline is not None
        widgets += countdown_banner(kit, banner, view.deadline, lambda s: kit.t("message.pin_locked", seconds=s))
    elif view.message == "pin_wrong":
        widgets.append(message_banner(kit, view.message, banner, wrong_pin_text(kit, view.attempts_left)))
    cancel_h = theme.touch(72)
    widgets.append(
        Button(
            kit,
            "cancel",
            (left.x, left.bottom - cancel_h, left.w, cancel_h),
            kit.t("nav.cancel"),
            Cancel(),
            style="secondary",
        )
    )
    return [*widgets, *top]
