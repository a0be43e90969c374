"""Checkout: the total and the payment choices, then the terminal's live status or the payment QR with the
time left to pay. While a payment waits the header's back cancels it (the terminal says if it is too late)."""

from __future__ import annotations

from dataclasses import replace
from typing import get_args

import pygame

from kiosk_ui.context import BuildContext
from kiosk_ui.illustration import terminal_icon
from kiosk_ui.intents import Cancel, Pay
from kiosk_ui.kit import Kit
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.screens.parts import message_banner, product_summary_card, split
from kiosk_ui.view import CheckoutScreen, PaymentMethod, ProductView
from kiosk_ui.widgets import Button, Countdown, Label, Picture, QrCode, Widget

PAYMENT_METHODS: tuple[PaymentMethod, ...] = get_args(PaymentMethod)  # in the order offered


def _methods(view: CheckoutScreen) -> list[PaymentMethod]:
    return [m for m in PAYMENT_METHODS if m in view.payment_methods]


def _title_in_header(view: CheckoutScreen, kit: Kit, body_h: int) -> bool:
    """Accessibility mode: the choices' title goes up to the header when the banner, the title and the methods
    are taller than the content area."""
    theme = kit.theme
    if not theme.accessible or view.payment_status is not None:
        return False
    needed = theme.px(64) + len(_methods(view)) * (theme.touch(104) + theme.gap)
    return needed + (theme.px(60) + theme.gap if view.message else 0) > body_h


def _choices(view: CheckoutScreen, kit: Kit, right: pygame.Rect, titled: bool = True) -> list[Widget]:
    theme = kit.theme
    widgets: list[Widget] = []
    y = right.y
    if view.message:
        banner = message_banner(kit, view.message, right)
        widgets.append(banner)
        y = banner.rect.bottom + theme.gap
    if titled:
        title_h = theme.px(64)
        title = kit.t("checkout.title")
        widgets.append(Label(kit, "title", (right.x, y, right.w, title_h), title, "title", max_lines=2))
        y += title_h + theme.gap
    button_h = theme.touch(104)
    for method in _methods(view):
        usable = method != "qr" or view.chrome.online  # scan-to-pay needs the cloud
        hint = kit.t(f"pay.{method}.hint") if usable else kit.t("pay.qr.offline")
        widgets.append(
            Button(
                kit,
                f"pay:{method}",
                (right.x, y, right.w, button_h),
                kit.t(f"pay.{method}"),
                Pay(method),
                style="secondary",
                sublabel=hint,
                sub_role="body",
                enabled=usable,
            )
        )
        y += button_h + theme.gap
    if not view.payment_methods and not view.message:  # every way to pay is gone: say so, never a blank
        widgets.append(message_banner(kit, "fault", pygame.Rect(right.x, y, right.w, 0), kit.t("checkout.no_method")))
    return widgets


def _status(view: CheckoutScreen, kit: Kit, right: pygame.Rect) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    cancel_h = theme.touch(72)
    area = pygame.Rect(right.x, right.y, right.w, right.h - cancel_h - theme.gap)
    widgets: list[Widget] = []
    time_h = theme.px(40) if view.deadline is not None else 0
    # Accessibility mode: the QR code or the icon leave the hint two lines of the mode's type
    hint_room = area.h - theme.px(4) - time_h - 2 * kit.line_h(0) if theme.accessible else area.h
    if view.payment_status == "scan_to_pay":
        qr_px = min(area.h * 62 // 100, area.w, hint_room - theme.px(10 + 44))
        assert view.payment_qr  # checked by validate_view
        widgets.append(
            QrCode("payment_qr", (right.centerx - qr_px // 2, area.y, qr_px, qr_px), view.payment_qr, theme.px(12))
        )
        text_y = area.y + qr_px + theme.px(10)
        title_h = theme.px(44)
    else:
        icon_h = min(area.h * 40 // 100, hint_room - area.h * 30 // 100)
        widgets.append(
            Picture("status_icon", (right.x, area.y, icon_h, icon_h), terminal_icon(icon_h * 9 // 10, palette.accent))
        )
        text_y = area.y + icon_h
        title_h = area.h * 30 // 100
    widgets.append(
        Label(
            kit,
            "status",
            (right.x, text_y, right.w, title_h),
            kit.t(f"status.{view.payment_status}"),
            "title",
            max_lines=3,
            valign="bottom",
        )
    )
    hint_y = text_y + title_h + theme.px(4)
    hint_bottom = area.bottom
    if view.deadline is not None:
        hint_bottom -= time_h
        widgets.append(
            Countdown(
                kit,
                "payment_countdown",
                (right.x, hint_bottom, right.w, time_h),
                view.deadline,
                lambda s: kit.t("checkout.time_left", seconds=s),
                "heading",
                palette.accent,
                align="left",
            )
        )
    widgets.append(
        Label(
            kit,
            "status_hint",
            (right.x, hint_y, right.w, hint_bottom - hint_y),
            kit.t(f"status.{view.payment_status}.hint"),
            "body",
            palette.text_muted,
            max_lines=2,
            valign="top",
        )
    )
    widgets.append(
        Button(
            kit,
            "cancel",
            (right.x, right.bottom - cancel_h, right.w, cancel_h),
            kit.t("nav.cancel"),
            Cancel(),
            style="secondary",
        )
    )
    return widgets


def _as_chosen(view: CheckoutScreen) -> ProductView:
    """The product drawn in the chosen variant's colour."""
    return replace(view.product, colour=view.variant.hex) if view.variant else view.product


def build(view: CheckoutScreen, kit: Kit, context: BuildContext) -> list[Widget]:
    theme = kit.theme
    assert view.product is not None  # checked by validate_view
    choosing = view.payment_status is None
    in_header = _title_in_header(view, kit, theme.content.h - theme.gap)
    title = kit.t("checkout.title") if in_header else ""
    nav = None if choosing else Cancel()
    top, content = chrome(view.chrome, kit, back=True, nav_intent=nav, help_button=True, title=title)
    body = content.inflate(0, -theme.gap)
    body.top = content.top
    left, right = split(kit, body)
    widgets: list[Widget] = product_summary_card(kit, _as_chosen(view), left)
    if view.variant is not None:  # what is paid for: the colour or option chosen on the product page
        pad = theme.px(20)
        widgets.append(
            Label(
                kit,
                "variant",
                (left.x + pad, left.bottom - theme.px(120) - theme.px(30), left.w - 2 * pad, theme.px(34)),
                view.variant.name,
                "body",
                theme.palette.text_muted,
            )
        )
    widgets += _choices(view, kit, right, not in_header) if choosing else _status(view, kit, right)
    return [*widgets, *top]
