"""Colours, spacing and type, all proportional to the screen height.

Layouts are designed on a 600 px high screen; ``Theme.px`` scales a design
value to the real screen, so 1024x600 and 1920x1080 keep their proportions.
Fonts are loaded once per (weight, size) and kept. The bundled font is a subset holding the screen's own
texts; a retailer's text with characters beyond it (Chinese product names the subset never saw) is drawn
with the system's full Noto Sans CJK (Debian fonts-noto-cjk), opened only when such a text comes.

Accessibility mode is a second theme of the same screen (``Theme(size, accessible=True, mounting=...)``):
larger type that never shrinks below ``min_text_px``, a palette whose text has a contrast of at least
7:1 against what it is drawn on (WCAG 2.x success criterion 1.4.6, level AAA), thicker outlines, and a
reach zone: the rows of the screen a person in a wheelchair can reach (ADA 2010 Standards 308.2.1
and 308.3.1, forward and side reach 15-48 in / 380-1220 mm above the floor; EN 301 549 V3.2.1 clauses
8.3.2.1-8.3.3.2 use the same figures) for the screen as it is mounted in the cabinet. In that mode the
header holds no controls and reaches down to the zone: every screen lays its content and controls
out in ``content``, which lies inside the zone, and the chrome's buttons sit in a bar at its bottom.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import pygame
import pygame.freetype

from kiosk_ui.assets import note_load
from kiosk_ui.reach import DEFAULT_MOUNTING, Mounting

DESIGN_HEIGHT = 600
MIN_TOUCH = 64  # smallest touch target edge in real pixels, whatever the screen
FONT_DIR = Path(__file__).parent / "assets" / "fonts"
FONT_FILES = {"regular": FONT_DIR / "NotoSansSC-subset.otf", "bold": FONT_DIR / "NotoSansSC-Bold-subset.otf"}
SYSTEM_CJK_DIR = Path("/usr/share/fonts/opentype/noto")  # Debian's fonts-noto-cjk
SYSTEM_FONT_FILES = {"regular": "NotoSansCJK-Regular.ttc", "bold": "NotoSansCJK-Bold.ttc"}

Colour = tuple[int, int, int]


@dataclass(frozen=True)
class Palette:
    background: Colour = (13, 16, 22)
    surface: Colour = (24, 29, 38)  # cards and panels
    surface_high: Colour = (36, 43, 55)  # pressed cards, secondary buttons
    line: Colour = (52, 61, 76)
    text: Colour = (245, 247, 250)
    text_muted: Colour = (154, 164, 178)
    accent: Colour = (46, 222, 160)  # primary actions, prices
    accent_pressed: Colour = (30, 170, 120)
    on_accent: Colour = (8, 22, 16)
    info: Colour = (110, 176, 255)  # online-only products
    danger: Colour = (240, 82, 82)
    on_danger: Colour = (245, 247, 250)  # text on a danger background (banners, badges)
    warning: Colour = (255, 184, 64)
    warning_pressed: Colour = (214, 150, 40)
    on_warning: Colour = (38, 24, 0)
    disabled: Colour = (58, 64, 74)
    on_disabled: Colour = (128, 136, 148)


PALETTE = Palette()
# Accessibility mode: every text colour has >= 7:1 against the backgrounds it is drawn on (tests check
# every pair a widget uses, and the rendered screens); disabled controls stay readable too.
ACCESSIBLE_PALETTE = Palette(
    background=(0, 0, 0),
    surface=(18, 20, 24),
    surface_high=(40, 44, 52),
    line=(235, 235, 235),  # outlines of controls: white on black, drawn thick
    text=(255, 255, 255),
    text_muted=(215, 220, 228),
    accent=(60, 235, 175),
    accent_pressed=(150, 250, 210),
    on_accent=(0, 0, 0),
    info=(150, 200, 255),
    danger=(255, 150, 150),
    on_danger=(0, 0, 0),
    warning=(255, 200, 90),
    warning_pressed=(255, 225, 160),
    on_warning=(0, 0, 0),
    disabled=(30, 32, 36),
    on_disabled=(185, 185, 185),
)


def luminance(colour: Colour) -> float:
    """WCAG 2.x relative luminance of an sRGB colour."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = colour
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(a: Colour, b: Colour) -> float:
    """WCAG 2.x contrast ratio, 1..21."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def parse_colour(text: str) -> Colour | None:
    """ "#2ede9f" (or any colour name pygame knows) as RGB; None when it is not a colour."""
    try:
        colour = pygame.Color(text)
    except (ValueError, TypeError):
        return None
    return colour.r, colour.g, colour.b


@dataclass(frozen=True)
class TextStyle:
    size: int  # design px at 600 px screen height
    weight: str  # "regular" or "bold"


# Text roles used by the screens.
TEXT_STYLES = {
    "display": TextStyle(46, "bold"),
    "title": TextStyle(32, "bold"),
    "heading": TextStyle(24, "bold"),
    "price": TextStyle(34, "bold"),
    "button": TextStyle(24, "bold"),
    "body": TextStyle(20, "regular"),
    "label": TextStyle(16, "regular"),
    "caption": TextStyle(13, "regular"),
    "countdown": TextStyle(72, "bold"),
}
# The readable minimum: no text is drawn smaller than this many design px (18 px at 1024x600, 32 px at
# 1920x1080); a text that does not fit at it wraps, and only then is cut with "…".
MIN_TEXT_DESIGN_PX = 18
ACCESSIBLE_TYPE_SCALE = 1.2  # accessibility mode: every text role this much larger
ACCESSIBLE_MIN_TEXT = 22  # design px: no text of accessibility mode is smaller (see README: EN 301 549 5.1.4)


@lru_cache(maxsize=4096)
def _has_glyphs(path: Path, text: str) -> bool:
    """Whether the font file maps every character of text to a glyph of its own (not the empty box)."""
    return all(m is not None for m in _coverage_font(path).get_metrics(text))


@cache
def _coverage_font(path: Path) -> pygame.freetype.Font:
    if not pygame.freetype.get_init():
        pygame.freetype.init()
    return pygame.freetype.Font(path, 16)


def system_font(weight: str, cjk_dir: Path = SYSTEM_CJK_DIR) -> Path | None:
    path = cjk_dir / SYSTEM_FONT_FILES[weight]
    return path if path.is_file() else None


def undrawable(text: str, cjk_dir: Path = SYSTEM_CJK_DIR) -> str:
    """The characters of text that neither the bundled font nor the system's CJK font can draw."""
    chars = "".join(dict.fromkeys(c for c in text if c.isprintable() and not c.isspace()))
    if not chars or _has_glyphs(FONT_FILES["regular"], chars):
        return ""
    full = system_font("regular", cjk_dir)
    return "".join(
        c for c in chars if not _has_glyphs(FONT_FILES["regular"], c) and not (full and _has_glyphs(full, c))
    )


class Fonts:
    """Font objects by (file, pixel size): the bundled subset, or the system's full CJK font for a text the
    subset cannot draw. The latest ``KEEP`` used stay open."""

    # Each open face holds about 260 KB (SDL_ttf's glyph cache and FreeType's copy of the font's tables), and
    # fitting texts tries sizes down to the readable minimum: a sale opened 13 faces, 14 with a switch to
    # Chinese, kept for good. Rendered texts are cached (text.py), so a face is needed again only for a text
    # not drawn before; one opened again costs about a millisecond (issue 13).
    KEEP = 8

    def __init__(self, cjk_dir: Path = SYSTEM_CJK_DIR) -> None:
        self._fonts: OrderedDict[tuple[Path, int], pygame.font.Font] = OrderedDict()
        self._cjk_dir = cjk_dir

    def get(self, weight: str, size: int, text: str = "") -> pygame.font.Font:
        try:
            path = FONT_FILES[weight]
        except KeyError:
            raise ValueError(f"unknown font weight {weight!r}; expected one of {sorted(FONT_FILES)}") from None
        if text and not text.isascii() and not _has_glyphs(path, text):
            path = system_font(weight, self._cjk_dir) or path  # none: the subset draws what it has
        key = (path, size)
        font = self._fonts.get(key)
        if font is None:
            note_load(path)
            font = self._fonts[key] = pygame.font.Font(path, size)
            while len(self._fonts) > self.KEEP:
                self._fonts.popitem(last=False)
        else:
            self._fonts.move_to_end(key)
        return font


class Theme:
    """Metrics for one screen size, in normal or accessibility mode."""

    def __init__(
        self, size: tuple[int, int], *, accessible: bool = False, mounting: Mounting = DEFAULT_MOUNTING
    ) -> None:
        width, height = size
        if width < 320 or height < 240:
            raise ValueError(f"screen size {size} is too small; need at least 320x240")
        self.width, self.height = width, height
        self.scale = height / DESIGN_HEIGHT
        self.accessible = accessible
        self.palette = ACCESSIBLE_PALETTE if accessible else PALETTE
        self.margin = self.px(28)
        self.gap = self.px(16)
        self.radius = self.px(16)
        self.outline = max(2, self.px(4)) if accessible else 2  # borders of controls, the focused field, the choice
        self.type_scale = ACCESSIBLE_TYPE_SCALE if accessible else 1.0
        # The readable minimum on this screen, in pixels (accessibility mode: larger)
        self.min_text_px = self.px(ACCESSIBLE_MIN_TEXT if accessible else MIN_TEXT_DESIGN_PX)
        self.header_h = max(MIN_TOUCH + 2 * self.px(8), self.px(84))
        self.footer_h = self.px(34)
        reach_top, reach_bottom = mounting.reach_rows(height)
        self.reach = pygame.Rect(0, reach_top, width, reach_bottom - reach_top)  # the rows within wheelchair reach
        self.bar_h = 0  # accessibility mode: the chrome's buttons, in a bar at the bottom of the reach zone
        if accessible:
            self.footer_h = self.px(40) if reach_bottom >= height else height - reach_bottom + self.px(4)
            self.bar_h = self.touch(72) + self.px(10)
            self.header_h = max(self.px(56), reach_top)

    def px(self, design_px: float) -> int:
        return round(design_px * self.scale)

    def touch(self, design_px: float) -> int:
        """A touch target edge: scaled, but never below MIN_TOUCH."""
        return max(MIN_TOUCH, self.px(design_px))

    def text_px(self, role: str) -> tuple[int, int, str]:
        """(preferred size, smallest size, weight) of a text role on this screen."""
        try:
            style = TEXT_STYLES[role]
        except KeyError:
            raise ValueError(f"unknown text role {role!r}; expected one of {sorted(TEXT_STYLES)}") from None
        size = max(self.min_text_px, self.px(style.size * self.type_scale))
        return size, self.min_text_px, style.weight

    @property
    def content(self) -> pygame.Rect:
        """The area between header and footer (accessibility mode: and the button bar), inside the side margins."""
        top = self.header_h
        bottom = self.height - self.footer_h - self.bar_h
        return pygame.Rect(self.margin, top, self.width - 2 * self.margin, bottom - top)

    @property
    def bar(self) -> pygame.Rect:
        """Accessibility mode: where the chrome's buttons are (empty otherwise)."""
        return pygame.Rect(
            self.margin, self.height - self.footer_h - self.bar_h, self.width - 2 * self.margin, self.bar_h
        )
