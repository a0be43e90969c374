"""What every screen has: header (brand or back, help, language), footer (cabinet id, offline)."""
from __future__ import annotations

import pygame

from kiosk_ui.kit import Kit
from kiosk_ui.view import Intent, ViewState
from kiosk_ui.widgets import Button, Label, Panel, Widget


def chrome(view: ViewState, kit: Kit, *, back: bool = False, help_button: bool = False,
           pickup: bool = False) -> tuple[list[Widget], pygame.Rect]:
    """The header and footer widgets, and the content area left between them.

    Header: back (or the brand) on the left; pick-up, help and the language switch on the right.
    Screens put these after their own widgets so they are drawn, and hit, on top.
    """
    theme, palette = kit.theme, kit.theme.palette
    button_h = theme.touch(64)
    top = (theme.header_h - button_h) // 2
    widgets: list[Widget] = []
    right = theme.width - theme.margin
    buttons = [("lang", "lang.toggle", Intent("lang"), 132)]
    if help_button:
        buttons.append(("help", "nav.help", Intent("help"), 120))
    if pickup:
        buttons.append(("pickup", "nav.pickup", Intent("pickup"), 230))
    for widget_id, key, intent, width in buttons:
        w = theme.touch(width)
        widgets.append(Button(kit, widget_id, (right - w, top, w, button_h), kit.t(key), intent, style="ghost",
                              role="body"))
        right -= w + theme.px(12)
    if back:
        widgets.append(Button(kit, "back", (theme.margin, top, theme.touch(150), button_h),
                              kit.t("nav.back"), Intent("back"), style="ghost", role="body"))
    else:
        mark = theme.px(14)
        widgets.append(Panel("brand_mark", (theme.margin, top + (button_h - mark) // 2, mark, mark), palette.accent,
                             mark // 3))
        x = theme.margin + mark + theme.px(12)
        widgets.append(Label(kit, "brand", (x, top, right - x - theme.gap, button_h), kit.t("brand"),
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
