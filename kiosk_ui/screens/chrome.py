"""What every screen has: header (brand or back, a title, help, language, accessibility), footer (cabinet id,
offline).

The brand doubles as the hidden staff entry: pressed for Chrome.staff_hold_s it emits OpenStaff();
a tap on it does nothing, so shoppers never stumble into it.

In accessibility mode (Chrome.accessible, the kit's theme is the accessible one) the header keeps only the
brand and the title, large, and reaches down to the reach zone; every button of the header moves to a bar
at the bottom of the zone, and the screen's own content area (returned) lies between the two.
"""

from __future__ import annotations

import pygame

from kiosk_ui.intents import (
    Back,
    Intent,
    OpenHelp,
    OpenPickup,
    OpenRepair,
    OpenStaff,
    ToggleAccessibility,
    ToggleLanguage,
)
from kiosk_ui.kit import Kit
from kiosk_ui.theme import MIN_TOUCH
from kiosk_ui.view import Chrome
from kiosk_ui.widgets import Button, HoldArea, Label, Panel, SymbolButton, Widget, accessibility_symbol

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

    Header: back (or the brand) on the left, then the title; pick-up, repair, help, the accessibility button
    and the language switch on the right. Screens put these after their own widgets so they are drawn, and
    hit, on top.
    """
    if kit.theme.accessible:
        bar = _accessible_bar(kit, back=back, help_button=help_button, pickup=pickup, repair=repair)
        return _accessible_header(view, kit, title) + bar + _footer(view, kit), kit.theme.content
    theme, palette = kit.theme, kit.theme.palette
    button_h = theme.touch(64)
    top = (theme.header_h - button_h) // 2
    widgets: list[Widget] = []
    right = theme.width - theme.margin
    wanted = {"help": help_button, "pickup": pickup, "repair": repair}
    buttons: list[tuple[str, str, Intent, int]] = [("lang", "lang.toggle", ToggleLanguage(), 132)]
    buttons += [("accessibility", "nav.accessible", ToggleAccessibility(), 176)]
    buttons += [button for button in _RIGHT_BUTTONS if wanted[button[0]]]
    for widget_id, key, intent, width in buttons:
        if widget_id == "accessibility":
            w = theme.touch(width)
            widgets.append(_accessibility_button(kit, (right - w, top, w, button_h), on=False))
            right -= w + theme.px(12)
            continue
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
    return widgets + _footer(view, kit), theme.content


def _accessibility_button(kit: Kit, rect: tuple[int, int, int, int], *, on: bool) -> Widget:
    label = kit.t("nav.accessible_on" if on else "nav.accessible")
    return SymbolButton(
        kit, "accessibility", rect, label, ToggleAccessibility(), accessibility_symbol, selected=on, role="label"
    )


def _accessible_bar(kit: Kit, *, back: bool, help_button: bool, pickup: bool, repair: bool) -> list[Widget]:
    """Every button of the header, in one row at the bottom of the reach zone (accessibility mode)."""
    theme = kit.theme
    bar = theme.bar.inflate(0, -theme.px(10))
    bar.bottom = theme.bar.bottom
    wanted = {"help": help_button, "pickup": pickup, "repair": repair}
    buttons: list[tuple[str, str, Intent]] = [("back", "nav.back", Back())] if back else []
    buttons += [(widget_id, key, intent) for widget_id, key, intent, _ in reversed(_RIGHT_BUTTONS) if wanted[widget_id]]
    buttons += [("lang", "lang.toggle", ToggleLanguage())]
    gap = theme.px(10)
    slots = len(buttons) + 2  # the accessibility button takes two slots: symbol and label
    unit = (bar.w - gap * len(buttons)) / slots
    widgets: list[Widget] = []
    x = float(bar.x)
    for widget_id, key, intent in buttons:
        rect = (round(x), bar.y, round(unit), bar.h)
        widgets.append(Button(kit, widget_id, rect, kit.t(key), intent, style="ghost", role="label"))
        x += unit + gap
    widgets.append(_accessibility_button(kit, (round(x), bar.y, bar.right - round(x), bar.h), on=True))
    return widgets


def _accessible_header(view: Chrome, kit: Kit, title: str) -> list[Widget]:
    """Brand and title, large, above the reach zone; the brand keeps the staff hold."""
    theme, palette = kit.theme, kit.theme.palette
    line_h = min(theme.header_h - theme.px(8), theme.px(64))
    top = theme.header_h - line_h - theme.px(4)  # the text sits just above the zone, near the content
    width = theme.width - 2 * theme.margin
    brand_w = width * (40 if title else 100) // 100
    brand = Label(kit, "brand", (theme.margin, top, brand_w, line_h), kit.t("brand"), "heading", palette.text, hug=True)
    hold = pygame.Rect(brand.rect.x, 0, max(MIN_TOUCH, brand.rect.w), max(MIN_TOUCH, theme.header_h))
    widgets: list[Widget] = [brand, HoldArea("staff", hold, view.staff_hold_s, OpenStaff())]
    if title:
        x = brand.rect.right + theme.gap
        widgets.append(
            Label(
                kit,
                "header_title",
                (x, top, theme.width - theme.margin - x, line_h),
                title,
                "heading",
                palette.text_muted,
                align="right",
            )
        )
    return widgets


def _footer(view: Chrome, kit: Kit) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    widgets: list[Widget] = []
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
    return widgets
