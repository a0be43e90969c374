"""Checkout: the total and the payment choices, then the terminal's live status."""
from __future__ import annotations

import pygame

from kiosk_ui.illustration import terminal_icon
from kiosk_ui.kit import Kit
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.screens.parts import product_summary_card, split
from kiosk_ui.view import Intent, ViewState
from kiosk_ui.widgets import Button, Label, Picture, Widget

PAYMENT_STATUSES = ("present_card", "enter_pin", "processing")
PAYMENT_METHODS = ("terminal", "qr")


def build(view: ViewState, kit: Kit) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    assert view.product is not None  # checked by validate_view
    choosing = view.payment_status is None
    top, content = chrome(view, kit, back=choosing)
    body = content.inflate(0, -theme.gap)
    body.top = content.top
    left, right = split(kit, body)
    widgets: list[Widget] = product_summary_card(kit, view.product, left)

    if choosing:
        title_h = theme.px(64)
        widgets.append(Label(kit, "title", (right.x, right.y, right.w, title_h), kit.t("checkout.title"), "title",
                             max_lines=2))
        methods = [m for m in PAYMENT_METHODS if m in view.payment_methods]
        button_h = theme.touch(112)
        y = right.y + title_h + theme.gap
        for method in methods:
            widgets.append(Button(kit, f"pay:{method}", (right.x, y, right.w, button_h), kit.t(f"pay.{method}"),
                                  Intent("pay", method), style="secondary", sublabel=kit.t(f"pay.{method}.hint"),
                                  sub_role="body"))
            y += button_h + theme.gap
    else:
        cancel_h = theme.touch(72)
        status_area = pygame.Rect(right.x, right.y, right.w, right.h - cancel_h - theme.gap)
        icon_h = status_area.h * 40 // 100
        widgets.append(Picture("status_icon", (right.x, status_area.y, icon_h, icon_h),
                               terminal_icon(icon_h * 9 // 10, palette.accent)))
        title_h = status_area.h * 30 // 100
        widgets.append(Label(kit, "status", (right.x, status_area.y + icon_h, right.w, title_h),
                             kit.t(f"status.{view.payment_status}"), "title", max_lines=3, valign="bottom"))
        hint_y = status_area.y + icon_h + title_h + theme.px(4)
        widgets.append(Label(kit, "status_hint", (right.x, hint_y, right.w, status_area.bottom - hint_y),
                             kit.t(f"status.{view.payment_status}.hint"), "body", palette.text_muted,
                             max_lines=2, valign="top"))
        widgets.append(Button(kit, "cancel", (right.x, right.bottom - cancel_h, right.w, cancel_h),
                              kit.t("nav.cancel"), Intent("cancel"), style="secondary"))
    return [*widgets, *top]
