"""What screens and widgets draw with: theme, fitted text, translations, one language."""

from __future__ import annotations

from dataclasses import dataclass

import pygame

from kiosk_ui import i18n
from kiosk_ui.text import TextRenderer
from kiosk_ui.theme import Colour, Theme


@dataclass(frozen=True)
class Kit:
    theme: Theme
    text_renderer: TextRenderer
    language: str

    def t(self, key: str, **values: object) -> str:
        return i18n.t(key, self.language, **values)

    def text(
        self, text: str, role: str, colour: Colour, max_w: int, max_h: int, max_lines: int = 1, align: str = "left"
    ) -> pygame.Surface:
        return self.text_renderer.render(text, role, colour, max_w, max_h, max_lines, align)

    def line_h(self, design_px: float) -> int:
        """The height of a box for one line of text: design_px scaled; in accessibility mode never less than a
        line of the mode's smallest type (a shorter box would cut its glyphs)."""
        theme = self.theme
        if not theme.accessible:
            return theme.px(design_px)
        smallest = self.text_renderer.fonts.get("regular", theme.min_text_px).get_height()
        return max(theme.px(design_px), smallest)
