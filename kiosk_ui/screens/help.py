"""Help: how to reach the retailer, and the cabinet's number to tell them; a tip for the screen it was opened
from (view.context), where back returns."""

from __future__ import annotations

import pygame

from kiosk_ui.context import BuildContext
from kiosk_ui.i18n import STRINGS
from kiosk_ui.kit import Kit
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.screens.parts import split
from kiosk_ui.view import HelpScreen
from kiosk_ui.widgets import Label, Panel, QrCode, Widget


def build(view: HelpScreen, kit: Kit, context: BuildContext) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    top, content = chrome(view.chrome, kit, back=True)
    body = content.inflate(0, -theme.gap)
    body.top = content.top
    left, right = split(kit, body, 56)
    pad = theme.px(24)
    widgets: list[Widget] = [
        Label(kit, "title", (left.x, left.y, left.w, theme.px(56)), kit.t("help.title"), "display")
    ]
    y = left.y + theme.px(56) + theme.gap

    call = pygame.Rect(left.x, y, left.w, theme.px(128))
    widgets.append(Panel("call_panel", call, palette.surface, theme.radius))
    inner = call.inflate(-2 * pad, -2 * theme.px(14))
    widgets.append(
        Label(
            kit, "call_label", (inner.x, inner.y, inner.w, theme.px(28)), kit.t("help.call"), "body", palette.text_muted
        )
    )
    if view.support_phone:
        widgets.append(
            Label(
                kit,
                "support_phone",
                (inner.x, inner.y + theme.px(30), inner.w, inner.h - theme.px(30)),
                view.support_phone,
                "display",
                palette.accent,
            )
        )
    else:
        widgets.append(
            Label(
                kit,
                "support_phone",
                (inner.x, inner.y + theme.px(30), inner.w, inner.h - theme.px(30)),
                kit.t("help.no_phone"),
                "heading",
                max_lines=2,
            )
        )
    y = call.bottom + theme.gap

    cabinet = pygame.Rect(left.x, y, left.w, theme.px(150))
    widgets.append(Panel("cabinet_panel", cabinet, palette.surface, theme.radius))
    inner = cabinet.inflate(-2 * pad, -2 * theme.px(14))
    widgets.append(
        Label(
            kit,
            "cabinet_label",
            (inner.x, inner.y, inner.w, theme.px(28)),
            kit.t("help.cabinet"),
            "body",
            palette.text_muted,
        )
    )
    widgets.append(
        Label(
            kit,
            "cabinet",
            (inner.x, inner.y + theme.px(28), inner.w, theme.px(56)),
            view.chrome.cabinet_id or "—",
            "display",
        )
    )
    widgets.append(
        Label(
            kit,
            "cabinet_hint",
            (inner.x, inner.y + theme.px(86), inner.w, inner.bottom - inner.y - theme.px(86)),
            kit.t("help.quote"),
            "label",
            palette.text_muted,
            max_lines=2,
            valign="top",
        )
    )
    y = cabinet.bottom + theme.gap
    tip = f"help.tip.{view.context}"
    widgets.append(
        Label(
            kit,
            "promise",
            (left.x, y, left.w, left.bottom - y),
            kit.t(tip if tip in STRINGS else "help.promise"),
            "body",
            palette.text,
            max_lines=3,
            valign="top",
        )
    )

    if view.support_url:
        qr_px = min(right.w - 2 * pad, right.h - theme.px(120))
        widgets.append(Panel("web_panel", right, palette.surface, theme.radius))
        widgets.append(
            Label(
                kit,
                "web_label",
                (right.x + pad, right.y + theme.px(16), right.w - 2 * pad, theme.px(32)),
                kit.t("help.web"),
                "heading",
                align="center",
            )
        )
        qr_y = right.y + theme.px(56)
        widgets.append(
            QrCode("support_qr", (right.centerx - qr_px // 2, qr_y, qr_px, qr_px), view.support_url, theme.px(10))
        )
        widgets.append(
            Label(
                kit,
                "support_url",
                (
                    right.x + pad,
                    qr_y + qr_px + theme.px(8),
                    right.w - 2 * pad,
                    right.bottom - qr_y - qr_px - theme.px(16),
                ),
                view.support_url,
                "label",
                palette.text_muted,
                align="center",
                max_lines=2,
                valign="top",
            )
        )
    return [*widgets, *top]
