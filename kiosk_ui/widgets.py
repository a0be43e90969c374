"""Widgets: positioned, pre-rendered pieces of a screen.

A widget renders its text when it is built (from cached surfaces), so drawing
a frame is only fills and blits. Interactive widgets answer a tap with the
Intent to emit (``tap()``); the app does the hit testing (DOWN and UP inside
the same widget, no drag in between). A widget with ``hold_s`` answers a press
that long with ``hold()`` instead (the hidden staff entry). Draggable widgets (carousel, 360° view)
also get press/drag/release; compound ones expose their parts as children.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pygame

from kiosk_ui.assets import qr_surface
from kiosk_ui.i18n import format_price
from kiosk_ui.illustration import illustration
from kiosk_ui.intents import Intent, SelectProduct
from kiosk_ui.kit import Kit
from kiosk_ui.theme import MIN_TOUCH, Colour, parse_colour
from kiosk_ui.view import ProductView, VariantView, WidgetInfo


@dataclass
class PlacedText:
    surface: pygame.Surface
    rect: pygame.Rect


def place(surface: pygame.Surface, box: pygame.Rect, align: str = "center", valign: str = "center") -> PlacedText:
    """Position a rendered text inside box."""
    rect = surface.get_rect()
    rect.x = {"left": box.x, "center": box.centerx - rect.w // 2, "right": box.right - rect.w}[align]
    rect.y = {"top": box.y, "center": box.centery - rect.h // 2, "bottom": box.bottom - rect.h}[valign]
    return PlacedText(surface, rect)


# What a tap tells the firmware: nothing, one Intent, or several in order (repair fields, then "next").
Taps = Intent | tuple[Intent, ...] | None


class Widget:
    """Something drawn at a rect. Not interactive unless a subclass says so."""

    kind = "widget"
    interactive = False
    draggable = False
    hold_s: float | None = None  # set: a press this long is a hold (see hold()), a shorter one a tap

    def __init__(self, widget_id: str, rect: pygame.Rect | tuple[int, int, int, int]) -> None:
        self.id = widget_id
        self.rect = pygame.Rect(rect)
        self.enabled = True
        self.label = ""
        self.texts: list[PlacedText] = []

    @property
    def intent(self) -> Intent | None:
        return None

    def tap(self) -> Taps:
        """A finished tap on this widget: the Intent(s) to emit (None: nothing to tell the firmware)."""
        return self.intent

    def tap_at(self, pos: tuple[int, int]) -> Taps:
        """A finished tap at pos (touchscreen px); widgets that care where they were touched override it."""
        return self.tap()

    def hold(self) -> Taps:
        """The finger stayed down hold_s on this widget."""
        return None

    def children(self) -> list[Widget]:
        """Parts that are hit and listed on their own (drawn by this widget), topmost last."""
        return []

    def translate(self, dx: int, dy: int) -> None:
        self.rect.move_ip(dx, dy)
        for text in self.texts:
            text.rect.move_ip(dx, dy)

    # Draggable widgets: the finger went down (True: it stopped a motion, so it is no tap),
    # moved beyond the tap slop, and went up.
    def press(self, pos: tuple[int, int], now: float) -> bool:
        return False

    def drag(self, pos: tuple[int, int], now: float) -> None:
        pass

    def release(self, pos: tuple[int, int], now: float) -> None:
        pass

    def dragged(self) -> Taps:
        """A drag of this widget let go: the Intent(s) to tell the firmware (None: nothing)."""
        return None

    def current_texts(self) -> list[PlacedText]:
        """The texts shown now (a countdown's change with the clock)."""
        return self.texts

    def current_label(self) -> str:
        return self.label

    def draw(self, surface: pygame.Surface, pressed_id: str | None = None) -> None:
        """Draw on surface; pressed_id is the widget under a finger that is down (or None)."""
        for text in self.current_texts():
            surface.blit(text.surface, text.rect)

    def next_redraw(self, now: float) -> float | None:
        """The monotonic time this widget's look changes by itself (None: never)."""
        return None

    def redraw_rect(self) -> pygame.Rect:
        """What changes when the widget's look changes by itself (see next_redraw)."""
        return self.rect

    def loading(self) -> bool:
        """True while media this widget shows is still being loaded or decoded."""
        return False

    def text_rects(self) -> list[pygame.Rect]:
        """Where the rendered texts are, measured from their surfaces."""
        return [t.rect.copy() for t in self.current_texts()]

    def info(self) -> WidgetInfo:
        return WidgetInfo(
            self.id,
            (self.rect.x, self.rect.y, self.rect.width, self.rect.height),
            self.current_label(),
            self.enabled,
            extra={"kind": self.kind, "text_rects": [tuple(r) for r in self.text_rects()], **self.info_extra()},
        )

    def info_extra(self) -> dict[str, Any]:
        return {}


class Label(Widget):
    """Text fitted into its rect, optionally on a rounded background (banners, badges)."""

    kind = "label"

    def __init__(
        self,
        kit: Kit,
        widget_id: str,
        rect: pygame.Rect | tuple[int, int, int, int],
        text: str,
        role: str = "body",
        colour: Colour | None = None,
        *,
        align: str = "left",
        valign: str = "center",
        max_lines: int = 1,
        background: Colour | None = None,
        padding: int | tuple[int, int] = 0,
        hug: bool = False,
    ) -> None:
        super().__init__(widget_id, rect)
        self.label = text
        self.background = background
        self.radius = kit.theme.radius
        pad_x, pad_y = (padding, padding) if isinstance(padding, int) else padding
        inner = self.rect.inflate(-2 * pad_x, -2 * pad_y)
        colour = colour or kit.theme.palette.text
        surface = kit.text(text, role, colour, inner.w, inner.h, max_lines, align)
        if hug:  # a pill around the text, keeping the aligned edge where it was
            edge = {"left": "left", "center": "centerx", "right": "right"}[align]
            hugged = pygame.Rect(0, 0, surface.get_width() + 2 * pad_x, self.rect.h)
            hugged.top = self.rect.top
            setattr(hugged, edge, getattr(self.rect, edge))
            self.rect = hugged
            self.radius = hugged.h // 2
            inner = self.rect.inflate(-2 * pad_x, -2 * pad_y)
        self.texts = [place(surface, inner, align, valign)]

    def draw(self, surface: pygame.Surface, pressed_id: str | None = None) -> None:
        if self.background is not None:
            pygame.draw.rect(surface, self.background, self.rect, border_radius=self.radius)
        super().draw(surface)


# (background, text, border) per button style; pressed backgrounds beside them.
_BUTTON_STYLES = {
    "primary": ("accent", "on_accent", None),
    "secondary": ("surface_high", "text", "line"),
    "ghost": (None, "text", "line"),
    "warning": ("warning", "on_warning", None),  # a second tap does something that cannot be undone
}
_PRESSED = {"primary": "accent_pressed", "secondary": "line", "ghost": "surface_high", "warning": "warning_pressed"}


class Button(Widget):
    """A touch target of at least MIN_TOUCH x MIN_TOUCH with a label and an optional second line."""

    kind = "button"
    interactive = True

    def __init__(
        self,
        kit: Kit,
        widget_id: str,
        rect: pygame.Rect | tuple[int, int, int, int],
        label: str,
        intent: Intent | None,
        *,
        enabled: bool = True,
        style: str = "primary",
        sublabel: str = "",
        role: str = "button",
        sub_role: str = "label",
        on_tap: Callable[[], Taps] | None = None,
    ) -> None:
        super().__init__(widget_id, rect)
        if self.rect.w < MIN_TOUCH or self.rect.h < MIN_TOUCH:
            raise ValueError(
                f"button {widget_id!r} is {self.rect.w}x{self.rect.h}; "
                f"touch targets need at least {MIN_TOUCH}x{MIN_TOUCH} px"
            )
        if style not in _BUTTON_STYLES:
            raise ValueError(f"unknown button style {style!r}; expected one of {sorted(_BUTTON_STYLES)}")
        self.label, self.enabled, self.style = label, enabled, style
        self._intent, self._on_tap = intent, on_tap
        palette = kit.theme.palette
        self.radius = kit.theme.radius
        bg, fg, border = _BUTTON_STYLES[style]
        self.background = getattr(palette, bg) if bg else None
        self.pressed_background = getattr(palette, _PRESSED[style])
        self.border = getattr(palette, border) if border else None
        fg_colour = getattr(palette, fg)
        if not enabled:
            self.background, self.border, fg_colour = palette.disabled, None, palette.on_disabled
        self.foreground, self.outline = fg_colour, kit.theme.outline
        inner = self.rect.inflate(-2 * kit.theme.px(18), -2 * kit.theme.px(8))
        if sublabel:
            sub_colour = fg_colour if style == "primary" or not enabled else palette.text_muted
            sub_h = max(inner.h * 45 // 100, kit.line_h(0))  # accessibility mode: a whole line at least
            title = kit.text(label, role, fg_colour, inner.w, min(inner.h * 55 // 100, inner.h - sub_h), 1, "center")
            sub = kit.text(sublabel, sub_role, sub_colour, inner.w, sub_h, 2, "center")
            gap = kit.theme.px(4)
            block = pygame.Rect(0, 0, inner.w, title.get_height() + gap + sub.get_height())
            block.center = inner.center
            self.texts = [place(title, block, "center", "top"), place(sub, block, "center", "bottom")]
        else:
            self.texts = [place(kit.text(label, role, fg_colour, inner.w, inner.h, 2, "center"), inner)]

    @property
    def intent(self) -> Intent | None:
        return self._intent if self.enabled else None

    def tap(self) -> Taps:
        if self.enabled and self._on_tap is not None:
            return self._on_tap()
        return self.intent

    def draw(self, surface: pygame.Surface, pressed_id: str | None = None) -> None:
        background = self.pressed_background if pressed_id == self.id and self.enabled else self.background
        if background is not None:
            pygame.draw.rect(surface, background, self.rect, border_radius=self.radius)
        if self.border is not None:
            pygame.draw.rect(surface, self.border, self.rect, width=self.outline, border_radius=self.radius)
        super().draw(surface)


class SymbolButton(Button):
    """A button with a symbol left of its label (the accessibility button: the accessibility figure)."""

    def __init__(
        self,
        kit: Kit,
        widget_id: str,
        rect: pygame.Rect | tuple[int, int, int, int],
        label: str,
        intent: Intent | None,
        symbol: Callable[[pygame.Surface, pygame.Rect, Colour, Colour], None],
        *,
        style: str = "ghost",
        role: str = "body",
        selected: bool = False,
    ) -> None:
        super().__init__(kit, widget_id, rect, label, intent, style=style, role=role)
        theme = kit.theme
        inner = self.rect.inflate(-2 * theme.px(10), -2 * theme.px(6))
        d = min(inner.h, theme.px(40))
        self.symbol_rect = pygame.Rect(inner.x, inner.centery - d // 2, d, d)
        box = pygame.Rect(
            self.symbol_rect.right + theme.px(8), inner.y, inner.right - self.symbol_rect.right - theme.px(8), inner.h
        )
        self.texts = [place(kit.text(label, role, self.foreground, box.w, box.h, 2, "center"), box)]
        self._symbol, self.selected = symbol, selected
        self.backdrop = kit.theme.palette.background
        if selected:  # a toggle that is on shows it (EN 301 549 5.6.2): the accent outline
            self.border = kit.theme.palette.accent

    def info_extra(self) -> dict[str, Any]:
        return {"selected": self.selected}

    def draw(self, surface: pygame.Surface, pressed_id: str | None = None) -> None:
        super().draw(surface, pressed_id)
        background = self.pressed_background if pressed_id == self.id else (self.background or self.backdrop)
        self._symbol(surface, self.symbol_rect, self.foreground, background)


def accessibility_symbol(surface: pygame.Surface, box: pygame.Rect, colour: Colour, background: Colour) -> None:
    """The United Nations accessibility logo (2015): a figure with open arms in a circle."""
    r = box.w // 2
    cx, cy = box.center
    pygame.draw.circle(surface, colour, (cx, cy), r)
    pygame.draw.circle(surface, background, (cx, cy), max(1, r - max(2, r // 7)))
    unit = r / 10
    pygame.draw.circle(surface, colour, (cx, round(cy - 5.2 * unit)), max(1, round(1.5 * unit)))
    arm_w, body_w = max(2, round(1.3 * unit)), max(2, round(1.8 * unit))
    shoulder = round(cy - 2.6 * unit)
    pygame.draw.line(surface, colour, (round(cx - 5.8 * unit), shoulder), (round(cx + 5.8 * unit), shoulder), arm_w)
    hip = round(cy + 1.6 * unit)
    pygame.draw.line(surface, colour, (cx, shoulder), (cx, hip), body_w)
    for side in (-1, 1):
        foot = (round(cx + side * 3.4 * unit), round(cy + 6.6 * unit))
        pygame.draw.line(surface, colour, (cx, hip), foot, arm_w)


class TouchArea(Widget):
    """An invisible touch target (the attract screen's whole surface)."""

    kind = "area"
    interactive = True

    def __init__(
        self, widget_id: str, rect: pygame.Rect | tuple[int, int, int, int], label: str, intent: Intent
    ) -> None:
        super().__init__(widget_id, rect)
        self.label, self._intent = label, intent

    @property
    def intent(self) -> Intent | None:
        return self._intent


class HoldArea(Widget):
    """An invisible target that answers only a long press (the brand: the hidden staff entry)."""

    kind = "area"
    interactive = True

    def __init__(
        self, widget_id: str, rect: pygame.Rect | tuple[int, int, int, int], hold_s: float, intent: Intent
    ) -> None:
        super().__init__(widget_id, rect)
        self.hold_s, self._held = hold_s, intent

    def tap(self) -> Taps:
        return None  # a tap here does nothing: nobody should notice the staff entry

    def hold(self) -> Taps:
        return self._held


class ConfirmButton(Widget):
    """A button that asks again: the first tap arms it (its armed look) until ``armed_until`` passes,
    a second tap meanwhile emits the intent. The arming time lives in the caller's memory."""

    kind = "button"
    interactive = True

    def __init__(
        self,
        normal: Button,
        armed: Button,
        get_armed_until: Callable[[], float],
        arm: Callable[[float], None],
        intent: Intent,
        confirm_s: float,
    ) -> None:
        super().__init__(normal.id, normal.rect)
        self.normal, self.armed, self._confirmed, self.confirm_s = normal, armed, intent, confirm_s
        self._get, self._arm = get_armed_until, arm
        self.enabled = normal.enabled

    def _look(self) -> Button:
        return self.armed if time.monotonic() < self._get() else self.normal

    def tap(self) -> Taps:
        if not self.enabled:
            return None
        if time.monotonic() < self._get():
            self._arm(0.0)
            return self._confirmed
        self._arm(time.monotonic() + self.confirm_s)
        return None

    def current_texts(self) -> list[PlacedText]:
        return self._look().texts

    def current_label(self) -> str:
        return self._look().label

    def info_extra(self) -> dict[str, Any]:
        return {"armed": self._look() is self.armed}

    def next_redraw(self, now: float) -> float | None:
        until = self._get()
        return until if until > now else None

    def draw(self, surface: pygame.Surface, pressed_id: str | None = None) -> None:
        self._look().draw(surface, pressed_id)


class Panel(Widget):
    """A filled, rounded rect: cards behind groups of widgets, the brand mark."""

    kind = "panel"

    def __init__(
        self,
        widget_id: str,
        rect: pygame.Rect | tuple[int, int, int, int],
        colour: Colour,
        radius: int = 0,
        border: Colour | None = None,
    ) -> None:
        super().__init__(widget_id, rect)
        self.colour, self.radius, self.border = colour, radius, border

    def draw(self, surface: pygame.Surface, pressed_id: str | None = None) -> None:
        pygame.draw.rect(surface, self.colour, self.rect, border_radius=self.radius)
        if self.border is not None:
            pygame.draw.rect(surface, self.border, self.rect, width=max(1, self.radius // 8), border_radius=self.radius)


class Picture(Widget):
    kind = "picture"

    def __init__(
        self,
        widget_id: str,
        rect: pygame.Rect | tuple[int, int, int, int],
        image: pygame.Surface,
        background: Colour | None = None,
        radius: int = 0,
    ) -> None:
        super().__init__(widget_id, rect)
        self.image, self.background, self.radius = image, background, radius
        self.image_rect = image.get_rect(center=self.rect.center)

    def draw(self, surface: pygame.Surface, pressed_id: str | None = None) -> None:
        if self.background is not None:
            pygame.draw.rect(surface, self.background, self.rect, border_radius=self.radius)
        surface.blit(self.image, self.image_rect)


class ProductTile(Widget):
    """A catalog card: drawing, name, price and stock; tapping it selects the product.

    The card is rendered once into an opaque surface (and once pressed), so a
    carousel moving many cards per frame only blits.
    """

    kind = "tile"
    interactive = True

    def __init__(
        self,
        kit: Kit,
        rect: pygame.Rect | tuple[int, int, int, int],
        product: ProductView,
        backdrop: Colour | None = None,
    ) -> None:
        super().__init__(f"product:{product.sku}", rect)
        theme, palette = kit.theme, kit.theme.palette
        self.label, self.product = product.name, product
        pad = theme.px(16)
        inner = self.rect.inflate(-2 * pad, -2 * pad)
        text_h = max(min(inner.h // 2, theme.px(88)), 2 * kit.line_h(0))  # accessibility mode: two whole lines
        art_box = pygame.Rect(inner.x, inner.y, inner.w, inner.h - text_h)
        art = illustration(product, art_box.size)
        if not product.in_stock and not product.online_only:  # dimmed, on a copy: the drawing is shared
            art = art.copy()
            art.set_alpha(90)
        text_box = pygame.Rect(inner.x, art_box.bottom, inner.w, text_h)
        row = text_h // 2
        name = kit.text(product.name, "heading", palette.text, inner.w, row)
        price = kit.text(
            format_price(product.price_cents, product.currency), "heading", palette.accent, inner.w * 11 // 20, row
        )
        stock = kit.text(
            stock_text(kit, product),
            "label",
            stock_colour(kit, product),
            inner.w * 9 // 20 - theme.px(8),
            row,
            1,
            "right",
        )
        self.texts = [
            place(name, pygame.Rect(text_box.x, text_box.y, inner.w, row), "left"),
            place(price, pygame.Rect(text_box.x, text_box.y + row, inner.w, row), "left"),
            place(stock, pygame.Rect(text_box.x, text_box.y + row, inner.w, row), "right"),
        ]
        badge = None
        if product.online_only:
            badge = kit.text(kit.t("catalog.online_badge"), "caption", palette.on_accent, inner.w // 2, kit.line_h(22))
        self._cards = {
            pressed: self._render(kit, art, art.get_rect(center=art_box.center), badge, pressed, backdrop)
            for pressed in (False, True)
        }

    def _render(
        self,
        kit: Kit,
        art: pygame.Surface,
        art_rect: pygame.Rect,
        badge: pygame.Surface | None,
        pressed: bool,
        backdrop: Colour | None,
    ) -> pygame.Surface:
        palette, origin = kit.theme.palette, self.rect.topleft
        card = pygame.Surface(self.rect.size)
        card.fill(backdrop or palette.background)
        local = pygame.Rect((0, 0), self.rect.size)
        pygame.draw.rect(
            card, palette.surface_high if pressed else palette.surface, local, border_radius=kit.theme.radius
        )
        card.blit(art, art_rect.move(-origin[0], -origin[1]))
        if badge is not None:
            pad_x, pad_y = kit.theme.px(10), kit.theme.px(3)
            pill = pygame.Rect(
                kit.theme.px(14), kit.theme.px(14), badge.get_width() + 2 * pad_x, badge.get_height() + 2 * pad_y
            )
            pygame.draw.rect(card, palette.accent, pill, border_radius=pill.h // 2)
            card.blit(badge, (pill.x + pad_x, pill.y + pad_y))
        for text in self.texts:
            card.blit(text.surface, text.rect.move(-origin[0], -origin[1]))
        return card.convert() if pygame.display.get_surface() else card

    @property
    def intent(self) -> Intent | None:
        return SelectProduct(self.product.sku)

    def draw(self, surface: pygame.Surface, pressed_id: str | None = None) -> None:
        surface.blit(self._cards[pressed_id == self.id], self.rect)


def stock_text(kit: Kit, product: ProductView) -> str:
    if product.online_only:
        return kit.t("stock.online")
    if not product.in_stock:
        return kit.t("stock.sold_out")
    return kit.t("stock.last_one") if product.stock == 1 else kit.t("stock.count", count=product.stock)


def stock_colour(kit: Kit, product: ProductView) -> Colour:
    palette = kit.theme.palette
    if product.online_only:
        return palette.info
    return palette.text_muted if product.in_stock else palette.danger


class QrCode(Widget):
    """A QR code on a white card with its quiet zone; extra["text"] is what it encodes."""

    kind = "qr"

    def __init__(
        self, widget_id: str, rect: pygame.Rect | tuple[int, int, int, int], text: str, radius: int = 0
    ) -> None:
        super().__init__(widget_id, rect)
        self.text, self.radius = text, radius
        self.image = qr_surface(text, min(self.rect.w, self.rect.h))
        self.image_rect = self.image.get_rect(center=self.rect.center)

    def info_extra(self) -> dict[str, Any]:
        return {"text": self.text}

    def draw(self, surface: pygame.Surface, pressed_id: str | None = None) -> None:
        pygame.draw.rect(surface, (255, 255, 255), self.rect, border_radius=self.radius)
        surface.blit(self.image, self.image_rect)


class ColourChip(Widget):
    """A variant (colour or option): a swatch and its name; the chosen one is ringed. One out of stock
    says so, its swatch struck through, and a tap on it does nothing."""

    kind = "chip"
    interactive = True

    def __init__(
        self,
        kit: Kit,
        rect: pygame.Rect | tuple[int, int, int, int],
        option: VariantView,
        chosen: bool,
        on_tap: Callable[[], Taps],
    ) -> None:
        super().__init__(f"variant:{option.sku}", rect)
        if self.rect.w < MIN_TOUCH or self.rect.h < MIN_TOUCH:
            raise ValueError(
                f"colour chip {option.name!r} is {self.rect.w}x{self.rect.h}; "
                f"touch targets need at least {MIN_TOUCH}x{MIN_TOUCH} px"
            )
        theme, palette = kit.theme, kit.theme.palette
        self.label, self.chosen, self._on_tap = option.name, chosen, on_tap
        self.enabled = option.in_stock
        self.palette, self.radius, self.outline = palette, self.rect.h // 2, theme.outline
        self.swatch = parse_colour(option.hex) or palette.accent
        d = self.rect.h - 2 * theme.px(12)
        self.dot = pygame.Rect(self.rect.x + theme.px(12), self.rect.centery - d // 2, d, d)
        text_box = pygame.Rect(
            self.dot.right + theme.px(10), self.rect.y, self.rect.right - self.dot.right - theme.px(22), self.rect.h
        )
        words = option.name if option.in_stock else kit.t("product.variant_sold_out", name=option.name)
        self.label = words
        colour = palette.text if chosen else palette.text_muted if option.in_stock else palette.danger
        self.texts = [place(kit.text(words, "label", colour, text_box.w, text_box.h, 2), text_box, "left")]

    def tap(self) -> Taps:
        return self._on_tap() if self.enabled else None

    def info_extra(self) -> dict[str, Any]:
        return {"chosen": self.chosen, "in_stock": self.enabled}

    def draw(self, surface: pygame.Surface, pressed_id: str | None = None) -> None:
        background = self.palette.surface_high if pressed_id == self.id or self.chosen else self.palette.surface
        pygame.draw.rect(surface, background, self.rect, border_radius=self.radius)
        if self.chosen:
            pygame.draw.rect(surface, self.palette.accent, self.rect, width=self.outline, border_radius=self.radius)
        pygame.draw.ellipse(surface, self.swatch, self.dot)
        pygame.draw.ellipse(surface, self.palette.line, self.dot, width=1)
        if not self.enabled:  # out of stock: struck through
            pygame.draw.line(surface, self.palette.danger, self.dot.bottomleft, self.dot.topright, 3)
        super().draw(surface)


class Countdown(Widget):
    """Text showing the whole seconds left to a time.monotonic() deadline; redraws once a second."""

    kind = "countdown"

    def __init__(
        self,
        kit: Kit,
        widget_id: str,
        rect: pygame.Rect | tuple[int, int, int, int],
        deadline: float,
        text_for: Callable[[int], str],
        role: str,
        colour: Colour | None = None,
        align: str = "center",
    ) -> None:
        super().__init__(widget_id, rect)
        self.kit, self.deadline, self.text_for, self.role = kit, deadline, text_for, role
        self.colour, self.align = colour or kit.theme.palette.text, align

    def seconds_left(self, now: float) -> int:
        return max(0, math.ceil(self.deadline - now))

    def _placed(self, now: float) -> PlacedText:
        text = self.text_for(self.seconds_left(now))
        surface = self.kit.text(text, self.role, self.colour, self.rect.w, self.rect.h, 1, self.align)
        return place(surface, self.rect, self.align)

    def current_texts(self) -> list[PlacedText]:
        return [self._placed(time.monotonic())]

    def current_label(self) -> str:
        return self.text_for(self.seconds_left(time.monotonic()))

    def next_redraw(self, now: float) -> float | None:
        seconds = self.seconds_left(now)
        return self.deadline - (seconds - 1) if seconds > 0 else None


def hit(widgets: list[Widget], pos: tuple[int, int]) -> Widget | None:
    """The topmost (last drawn) interactive widget at pos, enabled or not."""
    for widget in reversed(widgets):
        if widget.interactive and widget.rect.collidepoint(pos):
            return widget
    return None
