"""Pickup: type the order's pickup code on a large keypad, or show the order QR to the camera.

The UI keeps the digits typed (ScreenMemory.code) and reports each key (Intent "key") and the
finished code (Intent "pickup_submit"); the firmware answers with a message on a wrong code and a
locked keypad, with a countdown to ``deadline``, after too many.
"""
from __future__ import annotations

import time

import pygame

from kiosk_ui.context import BuildContext
from kiosk_ui.illustration import scan_icon
from kiosk_ui.kit import Kit
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.screens.parts import message_banner, split
from kiosk_ui.view import Intent, ViewState
from kiosk_ui.widgets import Button, Countdown, Label, Panel, Picture, Widget

KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "back", "0", "submit")


def locked(view: ViewState) -> bool:
    return view.message == "pickup_locked" and view.deadline is not None and view.deadline > time.monotonic()


def _keypad(view: ViewState, kit: Kit, area: pygame.Rect, context: BuildContext) -> list[Widget]:
    theme, memory = kit.theme, context.memory
    length = view.pickup_code_length
    gap = theme.px(12)
    key_w, key_h = (area.w - 2 * gap) // 3, (area.h - 3 * gap) // 4
    usable = not locked(view)

    def press(key: str) -> Intent:
        memory.code = memory.code[:-1] if key == "back" else (memory.code + key)[:length]
        context.rebuild()
        return Intent("key", key)

    def submit() -> Intent:
        code, memory.code = memory.code, ""      # the firmware's answer decides what comes next
        context.rebuild()
        return Intent("pickup_submit", code)

    widgets: list[Widget] = []
    for i, key in enumerate(KEYS):
        row, col = divmod(i, 3)
        rect = (area.x + col * (key_w + gap), area.y + row * (key_h + gap), key_w, key_h)
        if key == "submit":
            widgets.append(Button(kit, "pickup:submit", rect, kit.t("pickup.submit"), None,
                                  enabled=usable and len(memory.code) == length, on_tap=submit))
        elif key == "back":
            widgets.append(Button(kit, "key:back", rect, kit.t("pickup.delete"), None, style="ghost", role="body",
                                  enabled=usable and bool(memory.code), on_tap=lambda: press("back")))
        else:
            widgets.append(Button(kit, f"key:{key}", rect, key, None, style="secondary", role="title",
                                  enabled=usable, on_tap=lambda key=key: press(key)))
    return widgets


def _code_boxes(view: ViewState, kit: Kit, row: pygame.Rect, code: str) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    length = view.pickup_code_length
    gap = theme.px(10)
    box_w = min(theme.px(62), (row.w - gap * (length - 1)) // length)
    widgets: list[Widget] = []
    for i in range(length):
        rect = pygame.Rect(row.x + i * (box_w + gap), row.y, box_w, row.h)
        widgets.append(Panel(f"code_box:{i}", rect, palette.surface_high, theme.px(10),
                             border=palette.accent if i == len(code) else None))
        if i < len(code):
            widgets.append(Label(kit, f"code:{i}", rect, code[i], "title", align="center"))
    return widgets


def build(view: ViewState, kit: Kit, context: BuildContext) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    top, content = chrome(view, kit, back=True, help_button=True)
    body = content.inflate(0, -theme.gap)
    body.top = content.top
    left, right = split(kit, body, 50)
    widgets: list[Widget] = []
    y = left.y
    widgets.append(Label(kit, "title", (left.x, y, left.w, theme.px(48)), kit.t("pickup.title"), "title"))
    y += theme.px(48)
    widgets.append(Label(kit, "instructions", (left.x, y, left.w, theme.px(56)),
                         kit.t("pickup.enter", length=view.pickup_code_length), "body", palette.text_muted,
                         max_lines=2, valign="top"))
    y += theme.px(56) + theme.px(8)
    widgets += _code_boxes(view, kit, pygame.Rect(left.x, y, left.w, theme.px(72)), context.memory.code)
    y += theme.px(72) + theme.gap
    if view.message == "pickup_locked" and view.deadline is not None:
        banner = pygame.Rect(left.x, y, left.w, theme.px(60))
        widgets.append(Panel("message", banner, palette.warning, theme.radius))
        widgets.append(Countdown(kit, "message_text", banner.inflate(-2 * theme.px(20), -2 * theme.px(6)),
                                 view.deadline, lambda s: kit.t("message.pickup_locked", seconds=s), "heading",
                                 palette.on_warning, align="left"))
    elif view.message:
        widgets.append(message_banner(kit, view, pygame.Rect(left.x, y, left.w, theme.px(60))))
    y += theme.px(60) + theme.gap

    scan = pygame.Rect(left.x, y, left.w, left.bottom - y)
    if scan.h >= theme.px(80):
        widgets.append(Panel("scan_panel", scan, palette.surface, theme.radius))
        icon_h = min(scan.h - 2 * theme.px(14), theme.px(96))
        icon = scan_icon(icon_h, palette.accent)
        widgets.append(Picture("scan_icon", (scan.x + theme.px(16), scan.centery - icon_h // 2, icon.get_width(),
                                             icon_h), icon))
        text_x = scan.x + theme.px(32) + icon.get_width()
        widgets.append(Label(kit, "scan_hint", (text_x, scan.y + theme.px(10), scan.right - text_x - theme.px(16),
                                                scan.h - 2 * theme.px(10)),
                             kit.t("pickup.or_scan"), "heading", max_lines=3))
    widgets += _keypad(view, kit, right, context)
    return [*widgets, *top]
