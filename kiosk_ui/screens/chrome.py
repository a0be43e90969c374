"""What every screen has: header (brand, back or home, a title, help, language, accessibility), footer (cabinet
id, offline), and the idle timeout's "still there?" prompt over everything while Chrome.still_there_until.

Every screen a shopper reaches has help and a way back or home: back (or cancel, while a payment waits)
or home on the left of the header, help on the right. The exceptions are the screens that are home
(attract) and the door, where a paid sale goes on by itself. The brand doubles as the hidden staff
entry: pressed for Chrome.staff_hold_s it emits OpenStaff(); a tap on it does nothing, so shoppers never
stumble into it.

In accessibility mode (Chrome.accessible, the kit's theme is the accessible one) the header keeps only the
brand and the title, large, and reaches down to the reach zone; every button of the header moves to a bar
at the bottom of the zone, and the screen's own content area (returned) lies between the two.
"""

from __future__ import annotations

import pygame

from kiosk_ui.intents import (
    Activity,
    Back,
    Home,
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
from kiosk_ui.widgets import (
    Button,
    Countdown,
    HoldArea,
    Label,
    Panel,
    SymbolButton,
    TouchArea,
    Widget,
    accessibility_symbol,
)

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
    nav_intent: Intent | None = None,
    home: bool = False,
    help_button: bool = False,
    pickup: bool = False,
    repair: bool = False,
    title: str = "",
) -> tuple[list[Widget], pygame.Rect]:
    """The header and footer widgets, and the content area left between them.

    Header: back or home (their intent nav_intent; Back() and Home() unless given) (or the brand) on the left,
    then the title; pick-up, repair, help, the accessibility button
    and the language switch on the right. Screens put these after their own widgets so they are drawn, and
    hit, on top.
    """
    if kit.theme.accessible:
        nav = _nav(back, home, nav_intent)
        bar = _accessible_bar(kit, nav=nav, help_button=help_button, pickup=pickup, repair=repair)
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
    if nav := _nav(back, home, nav_intent):
        back_w = theme.touch(150)
        widget_id, key, intent = nav
        widgets.append(
            Button(
                kit, widget_id, (theme.margin, top, back_w, button_h), kit.t(key), intent, style="ghost", role="body"
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


def _nav(back: bool, home: bool, nav_intent: Intent | None) -> tuple[str, str, Intent] | None:
    """The header's way out, if the screen has one: (widget id, text key, intent)."""
    if back:
        return "back", "nav.back", nav_intent or Back()
    if home:
        return "home", "nav.home", nav_intent or Home()
    return None


def _accessibility_button(kit: Kit, rect: tuple[int, int, int, int], *, on: bool) -> Widget:
    label = kit.t("nav.accessible_on" if on else "nav.accessible")
    return SymbolButton(
        kit, "accessibility", rect, label, ToggleAccessibility(), accessibility_symbol, selected=on, role="label"
    )


def _accessible_bar(
    kit: Kit, *, nav: tuple[str, str, Intent] | None, help_button: bool, pickup: bool, repair: bool
) -> list[Widget]:
    """Every button of the header, in one row at the bottom of the reach zone (accessibility mode)."""
    theme = kit.theme
    bar = theme.bar.inflate(0, -theme.px(10))
    bar.bottom = theme.bar.bottom
    wanted = {"help": help_button, "pickup": pickup, "repair": repair}
    buttons: list[tuple[str, str, Intent]] = [nav] if nav else []
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
        pill = footer.inflate(0, -min(theme.px(10), footer.h - kit.line_h(0) - 2 * theme.px(2)))  # a line of text
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
    if view.still_there_until is not None and not theme.accessible:  # accessible: see alone_with_question
        widgets += still_there(kit, view.still_there_until)
    return widgets


def alone_with_question(widgets: list[Widget], kit: Kit, until: float) -> list[Widget]:
    """Accessibility mode: the "still there?" question takes the content area, within reach, in place of what
    the screen showed there (dimmed under a scrim it would be below 7:1, and its controls out of play); the
    header, the button bar and the footer stay, and a touch on any of them answers it too."""
    content = kit.theme.content
    return [w for w in widgets if not content.colliderect(w.rect)] + still_there(kit, until)


class Scrim(TouchArea):
    """A dimmed layer over the whole screen that takes every touch (under a modal prompt)."""

    kind = "scrim"  # what is listed after it is a modal layer over what is listed before

    def __init__(self, widget_id: str, rect: pygame.Rect, label: str, intent: Intent) -> None:
        super().__init__(widget_id, rect, label, intent)
        self.shade = pygame.Surface(self.rect.size, pygame.SRCALPHA)
        self.shade.fill((0, 0, 0, 150))

    def draw(self, surface: pygame.Surface, pressed_id: str | None = None) -> None:
        surface.blit(self.shade, self.rect)


def still_there(kit: Kit, until: float) -> list[Widget]:
    """The idle timeout's question, over the whole screen: a touch anywhere (the backdrop takes it, so
    nothing under it is pressed by mistake) or the button says yes; at ``until`` the journey is left."""
    theme, palette = kit.theme, kit.theme.palette
    screen = pygame.Rect(0, 0, theme.width, theme.height)
    area = pygame.Rect(theme.content) if theme.accessible else screen  # accessible: the answer within reach
    box_w, box_h = min(theme.width - 2 * theme.margin, theme.px(640)), min(area.h, theme.px(330))
    box = pygame.Rect(0, 0, box_w, box_h)
    box.center = area.center
    pad = theme.px(28)
    inner = box.inflate(-2 * pad, -2 * pad)
    button_h = theme.touch(76)
    return [
        Scrim("still_there:backdrop", area, kit.t("still_there.continue"), Activity()),
        Panel("still_there", box, palette.surface_high, theme.radius, border=palette.accent),
        Label(kit, "still_there:title", (inner.x, inner.y, inner.w, theme.px(56)), kit.t("still_there.title"), "title"),
        Countdown(
            kit,
            "still_there:countdown",
            (inner.x, inner.y + theme.px(60), inner.w, theme.px(80)),
            until,
            lambda s: kit.t("still_there.countdown", seconds=s),
            "heading",
            palette.text_muted,
            align="left",
        ),
        Button(
            kit,
            "continue",
            (inner.x, inner.bottom - button_h, inner.w, button_h),
            kit.t("still_there.continue"),
            Activity(),
        ),
    ]
