"""Technician needed: the cabinet is not provisioned or not configured, so it does not start selling.

It says what is missing (no key, not enrolled with the cloud, the configuration's problem), each with the
detail as the technician's tools say it (in Chinese from the checker's codes, the file and key as they are), and
shows the cabinet's hardware id, also as a QR code, which the technician provisions it with. No help and no
home: nothing here is for a shopper, and there is no other screen to go to; the language button stays, for a
technician who reads Chinese.
"""

from __future__ import annotations

import pygame

from kiosk_ui.context import BuildContext
from kiosk_ui.i18n import setup_detail
from kiosk_ui.kit import Kit
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.view import TechnicianScreen
from kiosk_ui.widgets import Label, Panel, QrCode, Widget


def build(view: TechnicianScreen, kit: Kit, context: BuildContext) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    top, content = chrome(view.chrome, kit, title=kit.t("tech.title"))
    qr_w = min(content.h, content.w * 36 // 100)
    right = pygame.Rect(content.right - qr_w, content.y, qr_w, content.h)
    left = pygame.Rect(content.x, content.y, right.x - theme.margin - content.x, content.h)
    widgets: list[Widget] = []
    line = kit.line_h(30)
    subtitle_h, fix_h = theme.px(48), 2 * line
    y = left.y
    widgets.append(
        Label(kit, "subtitle", (left.x, y, left.w, subtitle_h), kit.t("tech.subtitle"), "body", palette.text_muted)
    )
    y += subtitle_h + theme.gap
    # Each need, then its detail in two lines where they fit (a tight mounting: one, cut with "…").
    per_need = (left.bottom - fix_h - y) // max(1, len(view.needs))
    detail_lines = max(1, min(2, (per_need - line) // line))
    for need, detail in view.needs:
        widgets.append(Label(kit, f"need:{need}", (left.x, y, left.w, line), kit.t(f"tech.{need}"), "heading"))
        y += line
        widgets.append(
            Label(
                kit,
                f"detail:{need}",
                (left.x, y, left.w, detail_lines * line),
                setup_detail(detail, kit.language),
                "body",
                palette.text_muted,
                max_lines=detail_lines,
            )
        )
        y += detail_lines * line
    widgets.append(
        Label(kit, "fix", (left.x, max(y, left.bottom - fix_h), left.w, fix_h), kit.t("tech.fix"), "body", max_lines=2)
    )

    pad = theme.px(12)
    label_h = kit.line_h(26) * 2
    widgets.append(Panel("qr_panel", right, palette.surface, theme.radius))
    qr_px = min(right.w - 2 * pad, right.h - label_h - 2 * pad)
    qr = (right.centerx - qr_px // 2, right.y + pad, qr_px, qr_px)
    widgets.append(QrCode("hardware_qr", qr, view.hardware_id, theme.px(10)))
    widgets.append(
        Label(
            kit,
            "hardware_id",
            (right.x + pad, right.y + pad + qr_px + pad // 2, right.w - 2 * pad, label_h),
            f"{kit.t('tech.hardware_id')}: {view.hardware_id}",
            "body",
            align="center",
            max_lines=2,
        )
    )
    return [*widgets, *top]
