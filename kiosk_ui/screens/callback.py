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
from kiosk_ui.intents import ContinueOnPhone, Done, RequestCallback
from kiosk_ui.kit import Kit
from kiosk_ui.moving import Paragraph, scrolled_column
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.screens.parts import on_phone, split
from kiosk_ui.view import CallbackScreen
from kiosk_ui.widgets import Button, Label, Panel, Taps, Widget

FIELD = "callback_phone"  # ScreenMemory.fields: the number typed
MAX_PHONE = 16  # "+" and 15 digits


def consent_text(view: CallbackScreen, kit: Kit) -> str:
    return kit.t("callback.consent", days=view.retention_days)


def _explained(view: CallbackScreen, kit: Kit, context: BuildContext, left: pygame.Rect, bottom: int) -> list[Widget]:
    """The purpose and the consent in a panel down to ``bottom`` with the consent's version (dragged when the
    mode's larger type needs more room: nothing of what is agreed to is ever cut)."""
    theme, palette = kit.theme, kit.theme.palette
    title_h = kit.line_h(48)
    widgets: list[Widget] = [
        Label(kit, "title", (left.x, left.y, left.w, title_h), kit.t("callback.title"), "title", max_lines=1)
    ]
    y = left.y + title_h + theme.px(8)
    panel = pygame.Rect(left.x, y, left.w, bottom - theme.gap - y)
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
    return widgets


def _send(view: CallbackScreen, kit: Kit, context: BuildContext, left: pygame.Rect) -> Button:
    """The consent's own button: it carries the number typed and the consent exactly as shown."""
    typed = context.memory.fields.get(FIELD, "")

    def send() -> Taps:
        return RequestCallback(typed, consent_text(view, kit), CALLBACK_CONSENT_VERSION, view.chrome.language)

    button_h = kit.theme.touch(76)
    rect = (left.x, left.bottom - button_h, left.w, button_h)
    return Button(kit, "callback:send", rect, kit.t("callback.send"), None, enabled=bool(typed), on_tap=send)


def _phone_h(kit: Kit) -> int:
    """The number's field and a line for the firmware's complaint under it."""
    return kit.theme.touch(72) + kit.line_h(26) + kit.theme.px(8)


def _phone(view: CallbackScreen, kit: Kit, context: BuildContext, left: pygame.Rect, bottom: int) -> list[Widget]:
    """The number typed, ending at ``bottom`` (above the send button or the keys), and the firmware's complaint
    under it."""
    theme, palette = kit.theme, kit.theme.palette
    row_h = theme.touch(72)
    error_h = kit.line_h(26) if view.message is not None else 0
    y = bottom - theme.px(8) - error_h - row_h
    field = TextField(
        kit,
        "field:phone",
        (left.x, y, left.w, row_h),
        kit.t("callback.phone"),
        context.memory.fields.get(FIELD, ""),
        focused=True,
        error=view.message is not None,
    )
    if view.message is None:
        return [field]
    complaint = kit.t(f"callback.{view.message}")
    return [field, Label(kit, "error:phone", (left.x, y + row_h, left.w, error_h), complaint, "label", palette.danger)]


def _keys_area(kit: Kit, right: pygame.Rect) -> pygame.Rect:
    """At the bottom of the column, no taller than four rows of the largest keys."""
    h = min(right.h, 4 * kit.theme.touch(76) + 3 * kit.theme.px(8))
    return pygame.Rect(right.x, right.bottom - h, right.w, h)


def _keys(kit: Kit, context: BuildContext, keys: pygame.Rect) -> list[Widget]:
    memory = context.memory

    def put(text: str) -> None:
        memory.fields[FIELD] = text[:MAX_PHONE]
        context.rebuild()

    return keyboard(kit, keys, PHONE, lambda: memory.fields.get(FIELD, ""), put, MAX_PHONE)


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
    nav = {"home": True, "nav_intent": Done()} if view.sent else {"back": True}  # sent: home finishes it
    top, content = chrome(view.chrome, kit, help_button=True, **nav)
    if view.sent:
        return [*_sent(kit, content), *top]
    if view.phone_link:
        return [*on_phone(kit, content, view.phone_link, view.phone, "callback"), *top]
    body = content.inflate(0, -theme.gap)
    body.top = content.top
    left, right = split(kit, body, 50)
    send = _send(view, kit, context, left)
    keys = _keys_area(kit, right)
    if keys.y - right.y >= _phone_h(kit) + theme.gap:  # the number above its keys; else above send (large type)
        phone = _phone(view, kit, context, right, keys.y - theme.gap + theme.px(8))
        above = send.rect.y
    else:
        phone = _phone(view, kit, context, left, send.rect.y)
        above = phone[0].rect.y
    offer = _offer(view, kit, left, above) if _room_for_offer(kit, left, above) else []
    explained = _explained(view, kit, context, left, offer[0].rect.y if offer else above)
    return [*explained, *phone, send, *offer, *_keys(kit, context, keys), *top]


def _room_for_offer(kit: Kit, left: pygame.Rect, bottom: int) -> bool:
    """Whether the phone's button fits under the consent with three of its lines still in view: in the largest
    type on the smallest screen it does not, and the shopper types here (the consent must stay readable)."""
    theme = kit.theme
    panel_top = left.y + kit.line_h(48) + theme.px(8)
    needed = 3 * kit.line_h(30) + kit.line_h(26) + 2 * theme.px(10) + theme.gap
    return bottom - theme.gap - theme.touch(64) - panel_top >= needed


def _offer(view: CallbackScreen, kit: Kit, left: pygame.Rect, bottom: int) -> list[Widget]:
    """The "Continue on your phone" button under the consent, ending at ``bottom`` (the cabinet is online, with
    consumer pages); the consent's panel scrolls in the room left above it."""
    if view.phone != "offer":
        return []
    h = kit.theme.touch(64)
    rect = (left.x, bottom - kit.theme.gap - h, left.w, h)
    return [Button(kit, "phone_offer", rect, kit.t("callback.phone_offer"), ContinueOnPhone())]
