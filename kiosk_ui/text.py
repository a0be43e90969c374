"""Text fitted to a box: shrink the font down to the readable minimum, wrap, then cut with "…".

Rendered surfaces are cached by everything that decides their pixels, so a
screen built again for the same state renders no text at all.
"""

from __future__ import annotations

import re
from collections import OrderedDict, deque

import pygame

from kiosk_ui.theme import Colour, Fonts, Theme

ELLIPSIS = "…"
_CJK = "\u2e80-\u9fff\uf900-\ufaff"
_CJK_PUNCT = "\u3000-\u303f\uff00-\uffef"
# Break opportunities: after each CJK character (keeping its trailing punctuation
# with it, so no line starts with "，"), and after each space-separated word.
_TOKENS = re.compile(rf"[{_CJK}][{_CJK_PUNCT}]*|[^\s{_CJK}]+\s*|\s+")


def wrap(text: str, font: pygame.font.Font, max_w: int) -> list[str]:
    """Greedy line breaking; a single word wider than max_w gets a line of its own."""
    lines: list[str] = []
    line = ""
    for token in _TOKENS.findall(text):
        candidate = line + token
        if line and font.size(candidate.rstrip())[0] > max_w:
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line = candidate
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines


def ellipsize(text: str, font: pygame.font.Font, max_w: int) -> str:
    """The longest prefix of text that fits max_w with "…" appended."""
    if font.size(text)[0] <= max_w:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # binary search on the prefix length
        mid = (lo + hi + 1) // 2
        if font.size(text[:mid].rstrip() + ELLIPSIS)[0] <= max_w:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + ELLIPSIS


def tail(text: str, font: pygame.font.Font, max_w: int, max_lines: int = 1) -> str:
    """The longest end of text that fits max_lines lines of max_w, led by "…" when cut: what a person
    typing sees (the end they are writing), however long the text grows."""

    def fits(candidate: str) -> bool:
        lines = wrap(candidate, font, max_w) if max_lines > 1 else [candidate]
        return len(lines) <= max_lines and all(font.size(line)[0] <= max_w for line in lines)

    if fits(text):
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # binary search on the number of characters kept from the end
        mid = (lo + hi + 1) // 2
        if fits(ELLIPSIS + text[len(text) - mid :].lstrip()):
            lo = mid
        else:
            hi = mid - 1
    return ELLIPSIS + text[len(text) - lo :].lstrip()


def _size(surface: pygame.Surface) -> int:
    return surface.get_pitch() * surface.get_height()


class TextRenderer:
    """Renders text fitted to a box, caching each result."""

    # Bounded by pixels' bytes, not entries: texts that change with every sale (stock counts, amounts) keep
    # coming, and a count bound let up to 1024 surfaces (tens of MB) pile up. The budget is a number of whole
    # screens' pixels, as texts grow with the screen: a sale's screens (attract to thanks) hold about 1.1
    # screens of text in English, 1.9 with a switch to Chinese on the way (measured at 1024x600 and 1920x1080).
    CACHE_SCREENS = 2

    def __init__(self, theme: Theme, fonts: Fonts) -> None:
        self.theme = theme
        self.fonts = fonts
        self._cache: OrderedDict[tuple[str, str, Colour, int, int, int, str], tuple[pygame.Surface, int, bool]] = (
            OrderedDict()
        )
        self.cached_bytes = 0
        self.cache_budget = self.CACHE_SCREENS * theme.width * theme.height * 4  # 32-bit pixels
        # (text, pixel size) of the latest texts asked for: what the layout tests hold to the readable minimum
        self.drawn: deque[tuple[str, int]] = deque(maxlen=4096)
        # (text, box height) of the latest texts whose box was shorter than their lines: glyphs cut off at the bottom
        self.cut: deque[tuple[str, int]] = deque(maxlen=4096)

    def render(
        self, text: str, role: str, colour: Colour, max_w: int, max_h: int, max_lines: int = 1, align: str = "left"
    ) -> pygame.Surface:
        """A surface no larger than max_w x max_h holding text in the role's style."""
        if align not in ("left", "center", "right"):
            raise ValueError(f"unknown text alignment {align!r}")
        r, g, b = colour  # a plain tuple in the key, whatever sequence was passed
        key = (text, role, (r, g, b), max_w, max_h, max_lines, align)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
        else:
            cached = self._cache[key] = self._render(
                text, role, (r, g, b), max(1, max_w), max(1, max_h), max(1, max_lines), align
            )
            self.cached_bytes += _size(cached[0])
            while self.cached_bytes > self.cache_budget and len(self._cache) > 1:
                self.cached_bytes -= _size(self._cache.popitem(last=False)[1][0])
        surface, size, cut = cached
        self.drawn.append((text, size))
        if cut:
            self.cut.append((text, max_h))
        return surface

    def font(self, role: str) -> pygame.font.Font:
        """The role's font at its preferred size on this screen."""
        size, _, weight = self.theme.text_px(role)
        return self.fonts.get(weight, size)

    def _fit(
        self, text: str, role: str, max_w: int, max_h: int, max_lines: int
    ) -> tuple[pygame.font.Font, list[str], int]:
        """The font (and its pixel size) and lines of text: the role's size, smaller down to the readable
        minimum while it does not fit, then the lines that fit, the last one cut."""
        size, min_size, weight = self.theme.text_px(role)
        while True:
            font = self.fonts.get(weight, size, text)
            lines = wrap(text, font, max_w) if max_lines > 1 else [text]
            fits = (
                len(lines) <= max_lines
                and all(font.size(line)[0] <= max_w for line in lines)
                and len(lines) * font.get_linesize() <= max_h
            )
            if fits:
                return font, lines, size
            if size <= min_size:
                break
            size = max(min_size, size - max(1, size // 12))
        # Still too big at the smallest size: keep the lines that fit and cut the last one.
        room = max(1, min(max_lines, max_h // font.get_linesize()))
        if len(lines) > room:
            lines = lines[: room - 1] + [" ".join(lines[room - 1 :])]
        lines = [ellipsize(line, font, max_w) for line in lines]
        return font, lines, size

    def _render(
        self, text: str, role: str, colour: Colour, max_w: int, max_h: int, max_lines: int, align: str
    ) -> tuple[pygame.Surface, int, bool]:
        """The text's surface, its font's pixel size, and whether the box cut the lines off at the bottom."""
        font, lines, size = self._fit(text, role, max_w, max_h, max_lines)
        rendered = [font.render(line, True, colour) for line in lines]
        step = font.get_linesize()
        width = min(max_w, max(r.get_width() for r in rendered))
        needed = step * (len(rendered) - 1) + rendered[-1].get_height()
        height = min(max_h, needed)
        surface = pygame.Surface((max(1, width), max(1, height)), pygame.SRCALPHA)
        for i, line in enumerate(rendered):
            x = {"left": 0, "center": (width - line.get_width()) // 2, "right": width - line.get_width()}[align]
            surface.blit(line, (x, i * step))
        if pygame.display.get_surface():
            surface = surface.convert_alpha()
            # Run-length encoded when first drawn (SDL then frees the plain pixels): most of a text's pixels are
            # transparent, so the cached texts take about half the memory (issue 13); drawn onto opaque
            # surfaces only (the screen, cards), where the result is the same to a level of rounding.
            surface.set_alpha(255, pygame.RLEACCEL)
        return surface, size, needed > max_h
