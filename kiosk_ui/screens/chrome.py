"""What every screen has: header (brand or back, a title, help, language), footer (cabinet id, offline).

The brand doubles as the hidden staff entry: pressed for Chrome.staff_hold_s it emits OpenStaff();
a tap on it does nothing, so shoppers never stumble into it.
"""

from __future__ import annotations

import pygame

from kiosk_ui.intents import Back, Intent, OpenHelp, OpenPickup, OpenRepair, OpenStaff, ToggleLanguage
from kiosk_ui.kit import Kit
from kiosk_ui.view import Chrome
from kiosk_ui.widgets import Button, HoldArea, Label, Panel, Widget

# Header buttons on the right, from the right edge: id, text key, intent, design width.
_RIGHT_BUTTONS: tuple[tuple[str, str, Intent, int], ...] = (
    ("help", "nav.help", OpenHelp(), 120),
    ("pickup", "nav.pickup", OpenPickup(), 230),
    ("repair", "nav.repair", OpenRepair(), 200),
)


def chrome(
    view: Chrome,
    kit: Kit,
    *,
    back: bool = False,
    help_button: bool = False,
    pickup: bool = False,
    repair: bool = False,
    title: str = "",
) -> tuple[list[Widget], pygame.Rect]:
    """The header and footer widgets, and the content area left between them.

    Header: back (or the brand) on the left, then the title; pick-up, repair, help and the language
    switch on the right. Screens put these after their own widgets so they are drawn, and hit, on top.
    """
    theme, palette = kit.theme, kit.theme.palette
    button_h = theme.touch(64)
    top = (theme.header_h - button_h) // 2
    widgets: list[Widget] = []
    right = theme.width - theme.margin
    wanted = {"help": help_button, "pickup": pickup, "repair": repair}
    buttons: list[tuple[str, str, Intent, int]] = [("lang", "lang.toggle", ToggleLanguage(), 132)]
    buttons += [button for button in _RIGHT_BUTTONS if wanted[button[0]]]
    for widget_id, key, intent, width in buttons:
        w = theme.touch(width)
        widgets.append(
            Button(kit, widget_id, (right - w, top, w, button_h), kit.t(key), intent, style="ghost", role="body")
        )
        right -= w + theme.px(12)
    if back:
        back_w = theme.touch(150)
        widgets.append(
            Button(
                kit,
                "back",
                (theme.margin, top, back_w, button_h),
                kit.t("nav.back"),
                Back(),
                style="ghost",
                role="body",
            )
        )
        left = theme.margin + back_w + theme.gap
    else:
        mark = theme.px(14)
        mark_rect = pygame.Rect(theme.margin, top + (button_h - mark) // 2, mark, mark)
        x = mark_rect.right + theme.px(12)
        brand_w = (right - x - theme.gap) * (45 if title else 100) // 100
        brand = Label(kit, "brand", (x, top, brand_w, button_h), kit.t("brand"), "heading", palette.text, hug=True)
        hold = pygame.Rect(theme.margin, top, max(button_h, brand.rect.right - theme.margin), button_h)
        widgets += [
            Panel("brand_mark", mark_rect, palette.accent, mark // 3),
            brand,
            HoldArea("staff", hold, view.staff_hold_s, OpenStaff()),
        ]
        left = hold.right + theme.gap
    if title:
        widgets.append(
            Label(
                kit,
                "header_title",
                (left, top, right - left - theme.gap, button_h),
                title,
                "heading",
                palette.text_muted,
                align="center",
            )
        )

    footer = pygame.Rect(theme.margin, theme.height - theme.footer_h, theme.width - 2 * theme.margin, theme.footer_h)
    if view.cabinet_id:
        widgets.append(
            Label(
                kit,
                "cabinet_id",
                (footer.x, footer.y, footer.w // 2, footer.h),
                kit.t("footer.cabinet", id=view.cabinet_id),
                "caption",
                palette.text_muted,
            )
        )
    if not view.online:
        pill = footer.inflate(0, -theme.px(10))
        widgets.append(
            Label(
                kit,
                "offline",
                (footer.centerx, pill.y, footer.w // 2, pill.h),
                kit.t("offline"),
                "caption",
                palette.on_warning,
                align="right",
                background=palette.warning,
                padding=(theme.px(12), theme.px(2)),
                hug=True,
            )
        )
    return widgets, theme.content
