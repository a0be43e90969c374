"""What every screen has: header (brand or back, language), footer (cabinet id, offline)."""
from __future__ import annotations

import pygame

from kiosk_ui.kit import Kit
from kiosk_ui.view import Intent, ViewState
from kiosk_ui.widgets import Button, Label, Widget


def chrome(view: ViewState, kit: Kit, *, back: bool = False) -> tuple[list[Widget], pygame.Rect]:
    """The header and footer widgets, and the content area left between them.

    Screens put these after their own widgets so they are drawn, and hit, on top.
    """
    theme, palette = kit.theme, kit.theme.palette
    button_h = theme.touch(64)
    top = (theme.header_h - button_h) // 2
    widgets: list[Widget] = []
    lang_w = theme.touch(132)
    widgets.append(Button(kit, "lang", (theme.width - theme.margin - lang_w, top, lang_w, button_h),
                          kit.t("lang.toggle"), Intent("lang"), style="ghost", role="body"))
    if back:
        widgets.append(Button(kit, "back", (theme.margin, top, theme.touch(150), button_h),
                              kit.t("nav.back"), Intent("back"), style="ghost", role="body"))
    else:
        widgets.append(Label(kit, "brand", (theme.margin, top, theme.width // 2, button_h), kit.t("brand"),
                             "heading", palette.text))

    footer = pygame.Rect(theme.margin, theme.height - theme.footer_h, theme.width - 2 * theme.margin,
                         theme.footer_h)
    if view.cabinet_id:
        widgets.append(Label(kit, "cabinet_id", (footer.x, footer.y, footer.w // 2, footer.h),
                             kit.t("footer.cabinet", id=view.cabinet_id), "caption", palette.text_muted))
    if not view.online:
        pill = footer.inflate(0, -theme.px(10))
        widgets.append(Label(kit, "offline", (footer.centerx, pill.y, footer.w // 2, pill.h), kit.t("offline"),
                             "caption", palette.on_warning, align="right", background=palette.warning,
                             padding=(theme.px(12), theme.px(2)), hug=True))
    return widgets, theme.content
