"""Call me back: the purpose and the consent on the left, the phone number typed on the digits keys on the right.

The send button is the consent: its label says "I agree" and it carries the consent text exactly as shown, its
version and the language (RequestCallback). The firmware checks the number; a refused one stays typed with the
reason under it. Once recorded, the screen thanks the shopper and says when it reaches customer service.
"""

from __future__ import annotations

import pygame

from kiosk_ui.context import BuildContext
from kiosk_ui.entry import PHONE, TextField, keyboard
from kiosk_ui.i18n import CALLBACK_CONSENT_VERSION
from kiosk_ui.intents import Done, RequestCallback
from kiosk_ui.kit import Kit
from kiosk_ui.moving import Paragraph, scrolled_column
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.screens.parts import split
from kiosk_ui.view import CallbackScreen
from kiosk_ui.widgets import Button, Label, Panel, Taps, Widget

FIELD = "callback_phone"  # ScreenMemory.fields: the number typed
MAX_PHONE = 16  # "+" and 15 digits


def consent_text(view: CallbackScreen, kit: Kit) -> str:
    return kit.t("callback.consent", days=view.retention_days)


def _explained(view: CallbackScreen, kit: Kit, context: BuildContext, left: pygame.Rect, send: Button) -> list[Widget]:
    """The purpose and the consent in a panel with the consent's version (dragged when the mode's larger type
    needs more room: nothing of what is agreed to is ever cut), and under it the button that agrees to it."""
    theme, palette = kit.theme, kit.theme.palette
    title_h = kit.line_h(48)
    widgets: list[Widget] = [
        Label(kit, "title", (left.x, left.y, left.w, title_h), kit.t("callback.title"), "title", max_lines=1)
    ]
    y = left.y + title_h + theme.px(8)
    panel = pygame.Rect(left.x, y, left.w, send.rect.y - theme.gap - y)
    widgets.append(Panel("consent_panel", panel, palette.surface, theme.radius))
    inner = panel.inflate(-2 * theme.px(16), -2 * theme.px(10))
    version_h = kit.line_h(26)
    paragraphs = [
        Paragraph(kit.t("callback.purpose", product=view.product.name), "body", palette.text_muted),
        Paragraph(consent_text(view, kit), "body", palette.text, space=10),
    ]
    text_box = pygame.Rect(inner.x, inner.y, inner.w, inner.h - version_h)
    widgets.append(scrolled_column(kit, "consent", text_box, paragraphs, context.memory.scroll))
    widgets.append(
        Label(
            kit,
            "consent_version",
            (inner.x, inner.bottom - version_h, inner.w, version_h),
            kit.t("callback.version", version=CALLBACK_CONSENT_VERSION),
            "label",
            palette.text_muted,
        )
    )
    return [*widgets, send]


def _send(view: CallbackScreen, kit: Kit, context: BuildContext, left: pygame.Rect) -> Button:
    """The consent's own button: it carries the number typed and the consent exactly as shown."""
    typed = context.memory.fields.get(FIELD, "")

    def send() -> Taps:
        return RequestCallback(typed, consent_text(view, kit), CALLBACK_CONSENT_VERSION, view.chrome.language)

    button_h = kit.theme.touch(76)
    rect = (left.x, left.bottom - button_h, left.w, button_h)
    return Button(kit, "callback:send", rect, kit.t("callback.send"), None, enabled=bool(typed), on_tap=send)


def _entry(view: CallbackScreen, kit: Kit, context: BuildContext, right: pygame.Rect) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    memory = context.memory
    typed = memory.fields.get(FIELD, "")

    def put(text: str) -> None:
        memory.fields[FIELD] = text[:MAX_PHONE]
        context.rebuild()

    row_h = theme.touch(72)
    error_h = kit.line_h(26) if view.message is not None else 0  # the keys keep the rest of the column
    widgets: list[Widget] = [
        TextField(
            kit,
            "field:phone",
            (right.x, right.y, right.w, row_h),
            kit.t("callback.phone"),
            typed,
            focused=True,
            error=view.message is not None,
        )
    ]
    y = right.y + row_h
    if view.message is not None:
        widgets.append(
            Label(
                kit,
                "error:phone",
                (right.x, y, right.w, error_h),
                kit.t(f"callback.{view.message}"),
                "label",
                palette.danger,
            )
        )
    y += error_h + theme.px(8)
    keys = pygame.Rect(right.x, y, right.w, right.bottom - y)
    return widgets + keyboard(kit, keys, PHONE, lambda: memory.fields.get(FIELD, ""), put, MAX_PHONE)


def _sent(kit: Kit, content: pygame.Rect) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    button_h = theme.touch(76)
    title_h = kit.line_h(52)
    y = content.y + content.h // 4
    return [
        Label(kit, "sent", (content.x, y, content.w, title_h), kit.t("callback.sent"), "title", align="center"),
        Label(
            kit,
            "sent_hint",
            (content.x, y + title_h + theme.gap, content.w, kit.line_h(30) * 2),
            kit.t("callback.sent_hint"),
            "body",
            palette.text_muted,
            max_lines=2,
            align="center",
            valign="top",
        ),
        Button(
            kit,
            "done",
            (content.centerx - theme.px(180), content.bottom - button_h, theme.px(360), button_h),
            kit.t("thanks.done"),
            Done(),
        ),
    ]


def build(view: CallbackScreen, kit: Kit, context: BuildContext) -> list[Widget]:
    theme = kit.theme
    top, content = chrome(view.chrome, kit, back=not view.sent, help_button=True)
    if view.sent:
        return [*_sent(kit, content), *top]
    body = content.inflate(0, -theme.gap)
    body.top = content.top
    left, right = split(kit, body, 50)
    send = _send(view, kit, context, left)
    return [*_explained(view, kit, context, left, send), *_entry(view, kit, context, right), *top]
