"""Thanks: how the journey ended, money first.

Only money "collected" (paid, or prepaid, and the goods taken) thanks the shopper with a tick. A paid sale
whose door never opened says its payment is being reversed, was reversed, or is flagged for a refund, and
where money is still owed, whom to call. Every ending shows its reference (and the terminal's receipt
number) and, beside it, a QR the shopper can keep (the receipt's address, or the reference itself).
"""

from __future__ import annotations

import pygame

from kiosk_ui.context import BuildContext
from kiosk_ui.illustration import tick_badge
from kiosk_ui.intents import Done
from kiosk_ui.kit import Kit
from kiosk_ui.moving import Paragraph, flow, scrolled_column
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.screens.parts import banner, centred_heading
from kiosk_ui.view import ThanksScreen
from kiosk_ui.widgets import Button, Label, Picture, QrCode, Widget


def _facts(view: ThanksScreen, kit: Kit) -> list[tuple[str, str]]:
    """(widget id, text) of the lines under the heading: reference, receipt, whom to call."""
    lines: list[tuple[str, str]] = []
    if view.reference:
        key = "thanks.order" if view.prepaid else "thanks.reference"
        lines.append(("reference", f"{kit.t(key)}: {view.reference}"))
    if view.receipt_no:
        lines.append(("receipt", kit.t("thanks.receipt", receipt=view.receipt_no)))
    if view.money in ("reversing", "refund_flagged"):
        lines.append(("support_phone", kit.t("thanks.call", phone=view.support_phone or kit.t("help.no_phone"))))
    return lines


def _block_h(view: ThanksScreen, kit: Kit) -> int:
    """How tall the centred block is: badge or notice, title, subtitle, the facts, done."""
    theme = kit.theme
    top = theme.px(96) if view.money == "collected" else theme.px(88)
    block_h = top + theme.gap + theme.px(70) + theme.px(64) + theme.px(12) + theme.px(36) * len(_facts(view, kit))
    return block_h + theme.px(24) + theme.touch(76)


def _title(view: ThanksScreen, kit: Kit) -> tuple[str, str]:
    happy = view.money == "collected"
    heading = "thanks.prepaid" if happy and view.prepaid else f"thanks.{view.money}"
    title = kit.t("thanks.title") if happy else kit.t(f"{heading}.title")
    subtitle = kit.t("thanks.subtitle") if happy else kit.t(f"{heading}.subtitle")
    return title, subtitle


def _short(view: ThanksScreen, kit: Kit, context: BuildContext) -> list[Widget]:
    """Accessibility mode in a content area shorter than the block: no tick, done under the QR code, the notice
    at the top and under it the title, the subtitle and the facts, centred; when they do not fit, the title goes
    up to the header and the rest scrolls."""
    theme, palette = kit.theme, kit.theme.palette
    title, subtitle = _title(view, kit)
    content = theme.content  # the chrome's, in accessibility mode
    widgets: list[Widget] = []
    button_h, done_w = theme.touch(76), theme.touch(280)
    column = pygame.Rect(content.x, content.y, content.w, content.h - button_h - theme.gap)
    done = pygame.Rect(column.centerx - done_w // 2, content.bottom - button_h, done_w, button_h)
    if view.receipt_qr:
        hint_h = kit.line_h(56)
        qr_px = min(theme.px(220), content.h - hint_h - button_h - theme.gap - theme.px(8))
        qr_col = pygame.Rect(content.right - max(qr_px, done_w), content.y, max(qr_px, done_w), content.h)
        qr = pygame.Rect(qr_col.centerx - qr_px // 2, qr_col.y, qr_px, qr_px)
        widgets.append(QrCode("receipt_qr", qr, view.receipt_qr, theme.px(10)))
        hint = (qr_col.x, qr.bottom + theme.px(8), qr_col.w, hint_h)
        hint_text = kit.t("thanks.qr_hint")
        widgets.append(Label(kit, "qr_hint", hint, hint_text, "body", palette.text_muted, align="center", max_lines=2))
        column = pygame.Rect(content.x, content.y, qr_col.x - theme.gap - content.x, content.h)
        done.centerx = qr_col.centerx
    widgets.append(Button(kit, "done", done, kit.t("thanks.done"), Done()))
    if view.money != "collected":
        text = kit.t(f"thanks.{view.money}.notice")
        notice = banner(kit, "money", column, text, alarming=view.money == "refund_flagged", height=88)
        widgets.append(notice)
        column = pygame.Rect(column.x, notice.rect.bottom + theme.gap, column.w, column.bottom - notice.rect.bottom)
        column.h -= theme.gap
    paragraphs = [Paragraph(subtitle, "body", palette.text_muted, "center")]
    for widget_id, text in _facts(view, kit):
        role = "heading" if widget_id in ("reference", "support_phone") else "body"
        paragraphs.append(Paragraph(text, role, palette.text, "center", space=12 if len(paragraphs) == 1 else 0))
    titled = [Paragraph(title, "display", palette.text, "center"), *paragraphs]
    needed = flow(kit, column, titled)[-1].rect.bottom - column.y
    if needed <= column.h:
        paragraphs = titled
        column = pygame.Rect(column.x, column.y + (column.h - needed) // 2, column.w, needed)
    widgets.append(scrolled_column(kit, "facts", column, paragraphs, context.memory.scroll))
    in_header = "" if paragraphs is titled else title
    top, _ = chrome(view.chrome, kit, home=True, nav_intent=Done(), help_button=True, title=in_header)
    return [*widgets, *top]


def build(view: ThanksScreen, kit: Kit, context: BuildContext) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    if theme.accessible and _block_h(view, kit) > theme.content.h:
        return _short(view, kit, context)
    top, content = chrome(view.chrome, kit, home=True, nav_intent=Done(), help_button=True)
    widgets: list[Widget] = []
    column = content
    if view.receipt_qr:
        qr_px = min(theme.px(220), content.h - theme.px(120))
        qr_col = pygame.Rect(content.right - qr_px - theme.margin, content.y, qr_px, content.h)
        qr_y = content.centery - (qr_px + theme.px(64)) // 2
        widgets.append(QrCode("receipt_qr", (qr_col.x, qr_y, qr_px, qr_px), view.receipt_qr, theme.px(10)))
        widgets.append(
            Label(
                kit,
                "qr_hint",
                (qr_col.x - theme.px(20), qr_y + qr_px + theme.px(8), qr_px + theme.px(40), theme.px(56)),
                kit.t("thanks.qr_hint"),
                "body",
                palette.text_muted,
                align="center",
                max_lines=2,
                valign="top",
            )
        )
        column = pygame.Rect(content.x, content.y, qr_col.x - theme.gap - content.x, content.h)

    happy = view.money == "collected"
    badge = theme.px(96) if happy else 0
    facts = _facts(view, kit)
    title_h, subtitle_h, line_h, button_h = theme.px(70), theme.px(64), theme.px(36), theme.touch(76)
    notice_h = 0 if happy else theme.px(88)
    y = content.y + max(0, (content.h - _block_h(view, kit)) // 2)
    if happy:
        widgets.append(
            Picture(
                "tick",
                (column.centerx - badge // 2, y, badge, badge),
                tick_badge(badge, palette.accent, palette.on_accent),
            )
        )
        y += badge + theme.gap
    else:  # what happened to the money, as a banner: amber while it is being given back or once it was, red when owed
        area = pygame.Rect(column.x, y, column.w, notice_h)
        text = kit.t(f"thanks.{view.money}.notice")
        widgets.append(banner(kit, "money", area, text, alarming=view.money == "refund_flagged", height=88))
        y += notice_h + theme.gap
    title, subtitle = _title(view, kit)
    widgets += centred_heading(kit, column, y, title, subtitle, subtitle_h, 2)
    y += title_h + subtitle_h + theme.px(12)
    for widget_id, text in facts:
        role = "heading" if widget_id in ("reference", "support_phone") else "body"
        widgets.append(Label(kit, widget_id, (column.x, y, column.w, line_h), text, role, align="center"))
        y += line_h
    y += theme.px(24)
    done_w = theme.touch(280)
    widgets.append(
        Button(
            kit,
            "done",
            pygame.Rect(column.centerx - done_w // 2, y, done_w, button_h),
            kit.t("thanks.done"),
            Done(),
        )
    )
    return [*widgets, *top]
