"""Pickup: type the order's pickup code on a large keypad, or show the order QR to the camera.

The UI keeps the digits typed (ScreenMemory.code) and reports each key (PressKey) and the
finished code (SubmitPickupCode); the firmware says "checking" (keys off) while it checks the
code, then answers with a message on a wrong or already collected code and a locked keypad, with a
countdown to ``deadline``, after too many. The code stays typed after a refusal, so the shopper can
see it and correct a digit (a PIN, being secret, is cleared instead).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

import pygame

from kiosk_ui.context import BuildContext
from kiosk_ui.entry import DIGIT_ROWS, key_rects, layout
from kiosk_ui.illustration import scan_icon
from kiosk_ui.intents import Intent, PressKey, SubmitPickupCode
from kiosk_ui.kit import Kit
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.screens.parts import countdown_banner, message_banner, split
from kiosk_ui.view import PickupScreen, PinPadScreen
from kiosk_ui.widgets import Button, Label, Panel, Picture, Taps, Widget


def locked(view: PickupScreen | PinPadScreen) -> bool:
    """The keypad waits out a lock (too many wrong pickup codes or PINs) until deadline, or the firmware
    is checking the code or PIN just sent (message "checking"): no presses meanwhile."""
    return view.message == "checking" or (
        view.message in ("pickup_locked", "pin_locked")
        and view.deadline is not None
        and view.deadline > time.monotonic()
    )


def digit_keypad(
    kit: Kit,
    area: pygame.Rect,
    context: BuildContext,
    max_len: int,
    *,
    enabled: bool,
    announce: bool,
    submit: tuple[str, str, int, Callable[[str], Intent]],
    keep: bool = False,
) -> list[Widget]:
    """1-9, delete, 0 and submit on a 3x4 grid, typing into ScreenMemory.code (at most max_len digits).

    announce: each key is also told to the firmware as PressKey(key) (a pickup code, not a PIN).
    submit: (widget id, label, digits needed to enable it, the intent that carries the code away).
    keep: the digits stay typed after submit (the firmware's answer may ask to correct them).
    """
    memory = context.memory
    submit_id, submit_label, least, carry = submit

    def press(key: str) -> Taps:
        memory.code = memory.code[:-1] if key == "back" else (memory.code + key)[:max_len]
        context.rebuild()
        return PressKey(key) if announce else None

    def on_submit() -> Taps:
        code = memory.code
        if not keep:  # the firmware's answer decides what comes next
            memory.code = ""
            context.rebuild()
        return carry(code)

    widgets: list[Widget] = []
    rows = layout(*DIGIT_ROWS, ("back", "0", "submit"))
    for key, rect in key_rects(area, rows, kit.theme.px(12), area.h):
        if key == "submit":
            widgets.append(
                Button(
                    kit,
                    submit_id,
                    rect,
                    submit_label,
                    None,
                    enabled=enabled and len(memory.code) >= least,
                    on_tap=on_submit,
                )
            )
        elif key == "back":
            widgets.append(
                Button(
                    kit,
                    "key:back",
                    rect,
                    kit.t("pickup.delete"),
                    None,
                    style="ghost",
                    role="body",
                    enabled=enabled and bool(memory.code),
                    on_tap=lambda: press("back"),
                )
            )
        else:
            widgets.append(
                Button(
                    kit,
                    f"key:{key}",
                    rect,
                    key,
                    None,
                    style="secondary",
                    role="title",
                    enabled=enabled,
                    on_tap=partial(press, key),
                )
            )
    return widgets


def _code_boxes(view: PickupScreen, kit: Kit, row: pygame.Rect, code: str) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    length = view.code_length
    gap = theme.px(10)
    box_w = min(theme.px(62), (row.w - gap * (length - 1)) // length)
    widgets: list[Widget] = []
    for i in range(length):
        rect = pygame.Rect(row.x + i * (box_w + gap), row.y, box_w, row.h)
        widgets.append(
            Panel(
                f"code_box:{i}",
                rect,
                palette.surface_high,
                theme.px(10),
                border=palette.accent if i == len(code) else None,
            )
        )
        if i < len(code):
            widgets.append(Label(kit, f"code:{i}", rect, code[i], "title", align="center"))
    return widgets


def build(view: PickupScreen, kit: Kit, context: BuildContext) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    top, content = chrome(view.chrome, kit, back=True, help_button=True)
    body = content.inflate(0, -theme.gap)
    body.top = content.top
    left, right = split(kit, body, 50)
    widgets: list[Widget] = []
    y = left.y
    widgets.append(Label(kit, "title", (left.x, y, left.w, theme.px(48)), kit.t("pickup.title"), "title"))
    y += theme.px(48)
    widgets.append(
        Label(
            kit,
            "instructions",
            (left.x, y, left.w, theme.px(56)),
            kit.t("pickup.enter", length=view.code_length),
            "body",
            palette.text_muted,
            max_lines=2,
            valign="top",
        )
    )
    y += theme.px(56) + theme.px(8)
    widgets += _code_boxes(view, kit, pygame.Rect(left.x, y, left.w, theme.px(72)), context.memory.code)
    y += theme.px(72) + theme.gap
    if view.message == "pickup_locked" and view.deadline is not None:
        widgets += countdown_banner(
            kit,
            pygame.Rect(left.x, y, left.w, theme.px(60)),
            view.deadline,
            lambda s: kit.t("message.pickup_locked", seconds=s),
        )
    elif view.message:
        widgets.append(message_banner(kit, view.message, pygame.Rect(left.x, y, left.w, theme.px(60))))
    y += theme.px(60) + theme.gap

    scan = pygame.Rect(left.x, y, left.w, left.bottom - y)
    if scan.h >= theme.px(80):
        widgets.append(Panel("scan_panel", scan, palette.surface, theme.radius))
        icon_h = min(scan.h - 2 * theme.px(14), theme.px(96))
        icon = scan_icon(icon_h, palette.accent)
        widgets.append(
            Picture("scan_icon", (scan.x + theme.px(16), scan.centery - icon_h // 2, icon.get_width(), icon_h), icon)
        )
        text_x = scan.x + theme.px(32) + icon.get_width()
        widgets.append(
            Label(
                kit,
                "scan_hint",
                (text_x, scan.y + theme.px(10), scan.right - text_x - theme.px(16), scan.h - 2 * theme.px(10)),
                kit.t("pickup.or_scan"),
                "heading",
                max_lines=3,
            )
        )
    length = view.code_length
    widgets += digit_keypad(
        kit,
        right,
        context,
        length,
        enabled=not locked(view),
        announce=True,
        submit=("pickup:submit", kit.t("pickup.submit"), length, SubmitPickupCode),
        keep=True,
    )
    return [*widgets, *top]
