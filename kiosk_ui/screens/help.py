"""Help: how to reach the retailer, and the cabinet's number to tell them; a tip for the screen it was opened
from (view.context), where back returns."""

from __future__ import annotations

import pygame

from kiosk_ui.context import BuildContext
from kiosk_ui.i18n import STRINGS
from kiosk_ui.kit import Kit
from kiosk_ui.moving import Paragraph, scrolled_column
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.screens.parts import split
from kiosk_ui.view import HelpScreen
from kiosk_ui.widgets import Label, Panel, QrCode, Widget


def _tip(view: HelpScreen, kit: Kit) -> str:
    tip = f"help.tip.{view.context}"
    return kit.t(tip if tip in STRINGS else "help.promise")


def _scrolled(view: HelpScreen, kit: Kit, left: pygame.Rect, context: BuildContext) -> Widget:
    """Accessibility mode in a short content area: the tip and the left column's texts, without their cards,
    scrolled."""
    palette = kit.theme.palette
    phone = Paragraph(view.support_phone, "display", palette.accent) if view.support_phone else None
    paragraphs = [  # the tip for the screen help came from first: what the shopper most likely asks
        Paragraph(_tip(view, kit), "body", palette.text),
        Paragraph(kit.t("help.call"), "body", palette.text_muted, space=16),
        phone or Paragraph(kit.t("help.no_phone"), "heading", palette.text),
        Paragraph(kit.t("help.cabinet"), "body", palette.text_muted, space=16),
        Paragraph(view.chrome.cabinet_id or "—", "display", palette.text),
        Paragraph(kit.t("help.quote"), "label", palette.text_muted),
    ]
    return scrolled_column(kit, "help_text", left, paragraphs, context.memory.scroll)


def build(view: HelpScreen, kit: Kit, context: BuildContext) -> list[Widget]:
    theme = kit.theme
    # The cards and three lines of the tip; accessibility mode in a shorter area: the title goes up to the
    # header and the texts scroll.
    needed = theme.px(56 + 128 + 150) + 3 * theme.gap + 3 * kit.line_h(0)
    short = theme.accessible and theme.content.h - theme.gap < needed
    top, content = chrome(view.chrome, kit, back=True, title=kit.t("help.title") if short else "")
    body = content.inflate(0, -theme.gap)
    body.top = content.top
    left, right = split(kit, body, 56)
    pad = theme.px(24)
    widgets: list[Widget] = []
    if short:
        widgets.append(_scrolled(view, kit, left, context))
    else:
        widgets += _cards(view, kit, left)
    if view.support_url:
        widgets += _web(view, kit, right, pad)
    return [*widgets, *top]


def _cards(view: HelpScreen, kit: Kit, left: pygame.Rect) -> list[Widget]:
    """The title, the call and cabinet cards, the tip under them."""
    theme, palette = kit.theme, kit.theme.palette
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
    widgets.append(
        Label(
            kit,
            "promise",
            (left.x, y, left.w, left.bottom - y),
            _tip(view, kit),
            "body",
            palette.text,
            max_lines=3,
            valign="top",
        )
    )
    return widgets


def _web(view: HelpScreen, kit: Kit, right: pygame.Rect, pad: int) -> list[Widget]:
    """The help pages' address as a QR code and in words."""
    theme, palette = kit.theme, kit.theme.palette
    widgets: list[Widget] = []
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
    return widgets
