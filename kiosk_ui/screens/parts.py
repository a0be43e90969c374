"""Pieces several screens share: the product picture panel, the price block, the message and alarm
banners, the locked-keypad countdown."""

from __future__ import annotations

from collections.abc import Callable

import pygame

from kiosk_ui.i18n import format_price
from kiosk_ui.illustration import illustration
from kiosk_ui.intents import CancelPhone
from kiosk_ui.kit import Kit
from kiosk_ui.view import DoorAlarm, PhoneStatus, ProductView
from kiosk_ui.widgets import Button, Countdown, Label, Panel, Picture, QrCode, Widget


def split(kit: Kit, area: pygame.Rect, left_share: int = 44) -> tuple[pygame.Rect, pygame.Rect]:
    """The area cut into a picture column (left_share percent) and a text column."""
    left = pygame.Rect(area.x, area.y, area.w * left_share // 100, area.h)
    gutter = kit.theme.margin
    return left, pygame.Rect(left.right + gutter, area.y, area.right - left.right - gutter, area.h)


def product_picture(kit: Kit, product: ProductView, rect: pygame.Rect) -> Picture:
    pad = kit.theme.px(12)
    art = illustration(product, (rect.w - 2 * pad, rect.h - 2 * pad))
    return Picture("picture", rect, art, kit.theme.palette.surface, kit.theme.radius)


def product_summary_card(kit: Kit, product: ProductView, rect: pygame.Rect, prepaid: bool = False) -> list[Widget]:
    """Picture on top, name and total below: the checkout and door screens' reminder of the purchase
    (prepaid: an online order being collected says so, with no total to pay)."""
    theme, palette = kit.theme, kit.theme.palette
    text_h = theme.px(120)
    pad = theme.px(20)
    picture = product_picture(kit, product, pygame.Rect(rect.x, rect.y, rect.w, rect.h - text_h))
    x, w = rect.x + pad, rect.w - 2 * pad
    y = rect.bottom - text_h + theme.px(8)
    name = Label(kit, "name", (x, y, w, theme.px(40)), product.name, "heading")
    if prepaid:
        paid = Label(kit, "prepaid", (x, y + theme.px(44), w, theme.px(50)), kit.t("checkout.prepaid"), "body")
        return [picture, name, paid]
    return [
        picture,
        name,
        Label(
            kit,
            "total_label",
            (x, y + theme.px(44), w // 3, theme.px(50)),
            kit.t("checkout.total"),
            "body",
            palette.text_muted,
        ),
        Label(
            kit,
            "price",
            (x + w // 3, y + theme.px(44), w - w // 3, theme.px(50)),
            format_price(product.price_cents, product.currency),
            "price",
            palette.accent,
            align="right",
        ),
    ]


# Failures are red; a stop the shopper chose or a timeout is amber.
_ALARMING = ("declined", "fault", "qr_unavailable", "pickup_wrong_code", "pin_wrong", "door_stuck")


def banner(kit: Kit, widget_id: str, area: pygame.Rect, text: str, alarming: bool, height: int = 60) -> Label:
    """A red (alarming) or amber banner across the top of area."""
    theme, palette = kit.theme, kit.theme.palette
    return Label(
        kit,
        widget_id,
        (area.x, area.y, area.w, theme.px(height)),
        text,
        "heading",
        palette.on_danger if alarming else palette.on_warning,
        background=palette.danger if alarming else palette.warning,
        padding=(theme.px(20), theme.px(6)),
        max_lines=2,
    )


def message_banner(kit: Kit, message: str, area: pygame.Rect, text: str | None = None) -> Label:
    """A view's message (or text standing for it) as a banner across the top of area."""
    return banner(kit, "message", area, text or kit.t(f"message.{message}"), message in _ALARMING)


def alarm_banner(kit: Kit, alarm: DoorAlarm, area: pygame.Rect) -> Label:
    """A door alarm as a banner across the top of area: close the door, or the door did not open."""
    return banner(kit, "alarm", area, kit.t(f"alarm.{alarm}"), alarm in _ALARMING, 64)


def countdown_banner(kit: Kit, rect: pygame.Rect, deadline: float, text_for: Callable[[int], str]) -> list[Widget]:
    """An amber banner whose text counts down to deadline (a keypad locked after too many tries)."""
    theme, palette = kit.theme, kit.theme.palette
    return [
        Panel("message", rect, palette.warning, theme.radius),
        Countdown(
            kit,
            "message_text",
            rect.inflate(-2 * theme.px(20), -2 * theme.px(6)),
            deadline,
            text_for,
            "heading",
            palette.on_warning,
            align="left",
        ),
    ]


def centred_heading(
    kit: Kit, area: pygame.Rect, y: int, title: str, subtitle: str, subtitle_h: int, subtitle_lines: int = 1
) -> list[Label]:
    """A large centred title with a muted line (or two) under it, from ``y``: thanks and out of service."""
    title_h = kit.theme.px(70)
    return [
        Label(kit, "title", (area.x, y, area.w, title_h), title, "display", align="center"),
        Label(
            kit,
            "subtitle",
            (area.x, y + title_h, area.w, subtitle_h),
            subtitle,
            "body",
            kit.theme.palette.text_muted,
            align="center",
            max_lines=subtitle_lines,
        ),
    ]


def on_phone(kit: Kit, content: pygame.Rect, link: str, status: PhoneStatus | None, texts: str) -> list[Widget]:
    """A form continued on the shopper's phone: its QR, how far the phone got (``<texts>.phone_waiting`` /
    ``<texts>.phone_opened``), and the way back to typing here (``<texts>.phone_cancel``)."""
    theme, palette = kit.theme, kit.theme.palette
    left, right = split(kit, content, 55)
    said = kit.t(f"{texts}.phone_opened" if status == "opened" else f"{texts}.phone_waiting")
    button_h = theme.touch(76)
    text = (left.x, left.y, left.w, left.h - button_h - theme.gap)
    widgets: list[Widget] = [Label(kit, "phone_status", text, said, "heading", max_lines=5, valign="top")]
    button = (left.x, left.bottom - button_h, min(left.w, theme.touch(320)), button_h)
    widgets.append(Button(kit, "phone_cancel", button, kit.t(f"{texts}.phone_cancel"), CancelPhone()))
    widgets.append(Panel("qr_panel", right, palette.surface, theme.radius))
    qr_px = min(right.w, right.h) - 2 * theme.px(20)
    qr = (right.centerx - qr_px // 2, right.centery - qr_px // 2, qr_px, qr_px)
    widgets.append(QrCode("phone_qr", qr, link, theme.px(10)))
    return widgets
