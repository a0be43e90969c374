"""Typing on the touchscreen: key layouts laid out as grids of large keys, text fields, PIN dots.

The screen that types owns the text (in its ScreenMemory) and hands the keyboard a getter and a
setter: keys read the text when they are tapped, not when they were built, so two taps handled in
one frame both count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import pygame

from kiosk_ui.kit import Kit
from kiosk_ui.text import tail, wrap
from kiosk_ui.theme import MIN_TOUCH
from kiosk_ui.widgets import Button, Taps, Widget, place

BACK, SPACE, SHIFT = "back", "space", "shift"
LETTERS, ACCENTS, SYMBOLS = "letters", "accents", "symbols"  # the layers of a text keyboard
Layout = tuple[tuple[tuple[str, int], ...], ...]  # rows of (key, width in key units)


def layout(*rows: str | tuple[str | tuple[str, int], ...]) -> Layout:
    """Rows written as strings of one-character keys, or tuples mixing keys and (key, units)."""

    def keys(row: str | tuple[str | tuple[str, int], ...]) -> tuple[tuple[str, int], ...]:
        return tuple(item if isinstance(item, tuple) else (item, 1) for item in row)

    return tuple(keys(row) for row in rows)


DIGIT_ROWS = ("123", "456", "789")
VEHICLE = layout("1234567890", "QWERTYUIOP", "ASDFGHJKL", (*"ZXCVBNM", (BACK, 2)))
PHONE = layout(*DIGIT_ROWS, ("+", "0", BACK))
# Names, addresses and free text: lower case with a one-shot shift, a layer of accented letters and one of
# digits and the punctuation of names and addresses; a key naming a layer switches to it.
_LAYER_ROW = ((SPACE, 4), ".", ",")
TEXT_LAYERS: dict[str, Layout] = {
    LETTERS: layout(
        "qwertyuiop",
        (*"asdfghjkl", "'"),
        ((SHIFT, 1), *"zxcvbnm", "-", (BACK, 1)),
        ((SYMBOLS, 2), (ACCENTS, 2), *_LAYER_ROW),
    ),
    ACCENTS: layout(
        "äöüéèàçñ",
        "ßâêîôûëï",
        ((SHIFT, 1), *"øåæáíóú", (BACK, 2)),
        ((SYMBOLS, 2), (LETTERS, 2), *_LAYER_ROW),
    ),
    SYMBOLS: layout(
        "1234567890",
        "-'./&()#",
        (*"!?:;@", (BACK, 2)),
        ((LETTERS, 2), (ACCENTS, 2), *_LAYER_ROW),
    ),
}
LAYER_LABELS = {LETTERS: "abc", ACCENTS: "àé", SYMBOLS: "123"}


@dataclass
class KeyboardState:
    """Which layer a text keyboard shows, and whether the next letter is upper case."""

    layer: str = LETTERS
    shift: bool = False


def shifted(key: str, shift: bool) -> str:
    """The character a letter key types ("ß" has no single upper-case letter: it stays)."""
    upper = key.upper()
    return upper if shift and len(upper) == 1 else key


# Every character the text keyboard types: the bundled font must hold them.
TEXT_KEY_CHARACTERS = "".join(
    sorted(
        {
            c
            for rows in TEXT_LAYERS.values()
            for row in rows
            for key, _ in row
            if len(key) == 1
            for c in (key, shifted(key, True))
        }
    )
)


def text_keyboard(
    kit: Kit,
    area: pygame.Rect,
    state: KeyboardState,
    get: Callable[[], str],
    put: Callable[[str], None],
    max_len: int,
    rebuild: Callable[[], None],
) -> list[Widget]:
    """The layered text keyboard: the current layer's keys (shifted when shift is on), then shift and the
    layer keys. A letter typed with shift on turns it off again."""

    def after_typing(text: str) -> None:
        if state.shift and text:
            state.shift = False
        put(text)

    rows = tuple(tuple((shifted(key, state.shift), span) for key, span in row) for row in TEXT_LAYERS[state.layer])
    widgets = keyboard(kit, area, rows, get, after_typing, max_len, special=(SHIFT, *LAYER_LABELS))
    for key, rect in key_rects(area, rows, kit.theme.px(8), kit.theme.touch(76)):
        if key == SHIFT:
            widgets.append(
                Button(
                    kit,
                    "kbd:shift",
                    rect,
                    "⇧",
                    None,
                    style="primary" if state.shift else "secondary",
                    role="heading",
                    on_tap=partial(_toggle_shift, state, rebuild),
                )
            )
        elif key in LAYER_LABELS:
            widgets.append(
                Button(
                    kit,
                    f"kbd:{key}",
                    rect,
                    LAYER_LABELS[key],
                    None,
                    style="secondary",
                    role="body",
                    on_tap=partial(_switch_layer, state, key, rebuild),
                )
            )
    return widgets


def _toggle_shift(state: KeyboardState, rebuild: Callable[[], None]) -> Taps:
    state.shift = not state.shift
    rebuild()
    return None


def _switch_layer(state: KeyboardState, layer: str, rebuild: Callable[[], None]) -> Taps:
    state.layer, state.shift = layer, False
    rebuild()
    return None


def key_rects(area: pygame.Rect, rows: Layout, gap: int, max_key_h: int) -> list[tuple[str, pygame.Rect]]:
    """Each key's rect: rows of keys as tall as fits (up to max_key_h), shorter rows centred."""
    units = max(sum(span for _, span in row) for row in rows)
    unit_w = (area.w + gap) / units
    key_h = min(max_key_h, (area.h - gap * (len(rows) - 1)) // len(rows))
    placed = []
    for r, row in enumerate(rows):
        x = area.x + (units - sum(span for _, span in row)) * unit_w / 2
        y = area.y + r * (key_h + gap)
        for key, span in row:
            placed.append((key, pygame.Rect(round(x), y, round(x + span * unit_w - gap) - round(x), key_h)))
            x += span * unit_w
    return placed


def keyboard(
    kit: Kit,
    area: pygame.Rect,
    rows: Layout,
    get: Callable[[], str],
    put: Callable[[str], None],
    max_len: int,
    *,
    prefix: str = "kbd",
    special: tuple[str, ...] = (),
) -> list[Widget]:
    """Keys that type into a text: characters (f"{prefix}:{char}"), back and space. They tell the firmware
    nothing; the screen sends the text when the person moves on. "+" is typed only first (phone numbers).
    Keys named in special are left out: the caller places them."""
    theme = kit.theme
    value = get()

    def typed(char: str) -> Taps:
        text = get()
        if char == BACK:
            put(text[:-1])
        elif len(text) < max_len and not (char == "+" and text) and not (char == " " and text.endswith(" ")):
            put(text + char)
        return None

    widgets: list[Widget] = []
    for key, rect in key_rects(area, rows, theme.px(8), theme.touch(76)):
        if key in special:
            continue
        if key == BACK:
            widgets.append(
                Button(
                    kit,
                    f"{prefix}:back",
                    rect,
                    "←",
                    None,
                    style="ghost",
                    role="heading",
                    enabled=bool(value),
                    on_tap=lambda: typed(BACK),
                )
            )
        elif key == SPACE:
            widgets.append(
                Button(
                    kit,
                    f"{prefix}:space",
                    rect,
                    kit.t("key.space"),
                    None,
                    style="secondary",
                    role="body",
                    enabled=bool(value) and len(value) < max_len,
                    on_tap=lambda: typed(" "),
                )
            )
        else:
            usable = len(value) < max_len and not (key == "+" and value)
            widgets.append(
                Button(
                    kit,
                    f"{prefix}:{key}",
                    rect,
                    key,
                    None,
                    style="secondary",
                    role="heading",
                    enabled=usable,
                    on_tap=partial(typed, key),
                )
            )
    return widgets


class TextField(Widget):
    """A box showing a caption and the text typed into it (its end, when it is long), a caret while it has
    the keyboard, a red edge when the firmware found it wrong. Tappable (to take the keyboard) with on_tap."""

    kind = "field"

    def __init__(
        self,
        kit: Kit,
        widget_id: str,
        rect: pygame.Rect | tuple[int, int, int, int],
        caption: str,
        value: str,
        *,
        focused: bool = False,
        error: bool = False,
        note: str = "",
        max_lines: int = 1,
        on_tap: Callable[[], Taps] | None = None,
    ) -> None:
        super().__init__(widget_id, rect)
        theme, palette = kit.theme, kit.theme.palette
        self.interactive, self._on_tap = on_tap is not None, on_tap
        if self.interactive and (self.rect.w < MIN_TOUCH or self.rect.h < MIN_TOUCH):
            raise ValueError(
                f"field {widget_id!r} is {self.rect.w}x{self.rect.h}; "
                f"touch targets need at least {MIN_TOUCH}x{MIN_TOUCH} px"
            )
        self.label, self.value, self.focused = value, value, focused
        self.radius = theme.radius
        self.background = palette.surface_high if focused else palette.surface
        self.edge = palette.danger if error else palette.accent if focused else palette.line
        self.caret_colour, self.outline = palette.accent, theme.outline if focused else 2  # the mode's thicker edge
        pad_x, pad_y = theme.px(16), theme.px(6)
        inner = self.rect.inflate(-2 * pad_x, -2 * pad_y)
        caption_h = kit.line_h(22)
        caption_box = pygame.Rect(inner.x, inner.y, inner.w, caption_h)
        self.texts = []
        if note:
            note_surface = kit.text(note, "caption", palette.text_muted, inner.w // 2, caption_h, 1, "right")
            self.texts.append(place(note_surface, caption_box, "right"))
            caption_box.w -= note_surface.get_width() + theme.px(12)
        self.texts.append(
            place(kit.text(caption, "label", palette.text_muted, caption_box.w, caption_h), caption_box, "left")
        )
        role = "heading" if max_lines == 1 else "body"
        box = pygame.Rect(inner.x, inner.y + caption_h, inner.w - theme.px(8), inner.h - caption_h)
        font = kit.text_renderer.font(role)
        lines = max(1, min(max_lines, box.h // font.get_linesize()))
        self.caret = pygame.Rect(
            box.x, box.y if lines > 1 else box.centery - font.get_height() // 2, max(2, theme.px(3)), font.get_height()
        )
        if value:
            shown = tail(value, font, box.w, lines)  # at the role's own size: the caret follows the text
            text = place(
                kit.text(shown, role, palette.text, box.w, box.h, lines), box, "left", "top" if lines > 1 else "center"
            )
            self.texts.append(text)
            rows = wrap(shown, font, box.w) if lines > 1 else [shown]
            self.caret.topleft = (
                min(box.right, text.rect.x + font.size(rows[-1])[0] + theme.px(2)),
                text.rect.y + (len(rows) - 1) * font.get_linesize(),
            )

    def tap(self) -> Taps:
        return self._on_tap() if self._on_tap is not None else None

    def info_extra(self) -> dict[str, Any]:
        return {"value": self.value, "focused": self.focused}

    def draw(self, surface: pygame.Surface, pressed_id: str | None = None) -> None:
        pygame.draw.rect(surface, self.background, self.rect, border_radius=self.radius)
        pygame.draw.rect(surface, self.edge, self.rect, width=self.outline, border_radius=self.radius)
        super().draw(surface)
        if self.focused:
            pygame.draw.rect(surface, self.caret_colour, self.caret)


class PinDots(Widget):
    """One dot per digit typed, never the digits: a PIN. Rings show the digits still to come up to the
    shortest PIN; extra["filled"] is the count."""

    kind = "dots"

    def __init__(
        self, kit: Kit, rect: pygame.Rect | tuple[int, int, int, int], filled: int, least: int, most: int
    ) -> None:
        super().__init__("pin_dots", rect)
        palette = kit.theme.palette
        self.filled, self.colour, self.ring = filled, palette.text, palette.line
        slots = min(most, max(least, filled + 1))
        gap = kit.theme.px(14)
        d = min(kit.theme.px(26), self.rect.h - 2 * kit.theme.px(8), (self.rect.w - gap * (most - 1)) // most)
        x = self.rect.x + kit.theme.px(20)
        self.dots = [pygame.Rect(x + i * (d + gap), self.rect.centery - d // 2, d, d) for i in range(slots)]

    def info_extra(self) -> dict[str, Any]:
        return {"filled": self.filled}

    def draw(self, surface: pygame.Surface, pressed_id: str | None = None) -> None:
        for i, dot in enumerate(self.dots):
            if i < self.filled:
                pygame.draw.ellipse(surface, self.colour, dot)
            else:
                pygame.draw.ellipse(surface, self.ring, dot, width=max(2, dot.w // 10))
