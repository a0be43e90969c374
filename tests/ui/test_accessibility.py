"""Accessibility mode on every screen, both languages, both sizes, two mountings: every control within
wheelchair reach, no text below the mode's minimum size or outside its widget, text contrast >= 7:1."""

from __future__ import annotations

import numpy
import pygame
import pytest

from kiosk_ui.app import KioskUi
from kiosk_ui.i18n import LANGUAGES
from kiosk_ui.reach import MIN_REACH_FRACTION, REACH_HIGH_MM, REACH_LOW_MM, Mounting
from kiosk_ui.samples import accessible_views, sample_views
from kiosk_ui.theme import ACCESSIBLE_PALETTE, MIN_TOUCH, Colour, Theme, contrast_ratio
from tests.ui.test_layout import INTERACTIVE, SIZES, inside

AAA = 7.0  # WCAG 2.x 1.4.6 Contrast (Enhanced), level AAA
# The tightest mounting the configuration accepts: exactly MIN_REACH_FRACTION of the screen within reach.
TIGHTEST = Mounting(bottom_mm=REACH_HIGH_MM - 125.0 * MIN_REACH_FRACTION, height_mm=125.0)
MOUNTINGS = {"default": Mounting(), "tightest": TIGHTEST}
# Calibration is a technician's: its four targets must sit near the screen's corners, whatever the mode.
CORNERS = {"calibrate"}
STAFF_HOLD = "staff"  # the hidden staff entry (a press on the brand), not a shopper's control; staff cards work too
VIEW_NAMES = list(sample_views())


@pytest.fixture(
    scope="module", params=[(s, m) for s in SIZES for m in MOUNTINGS], ids=lambda p: f"{p[0][0]}x{p[0][1]}-{p[1]}"
)
def ui(request: pytest.FixtureRequest):
    size, mounting = request.param
    ui = KioskUi(size, on_intent=lambda intent: None, mounting=MOUNTINGS[mounting])
    ui.start()
    yield ui
    ui.close()


def test_the_reach_zone_follows_the_mounting() -> None:
    # The whole 125 mm screen within 380-1220 mm: every row reachable.
    assert Mounting(bottom_mm=1000, height_mm=125).reach_rows(600) == (0, 600)
    # Top edge 1250 mm: the top 30 mm (144 of 600 rows) are out of reach.
    assert Mounting(bottom_mm=1125, height_mm=125).reach_rows(600) == (144, 600)
    # A screen reaching below the low reach: its bottom rows are out of reach too.
    top, bottom = Mounting(bottom_mm=330, height_mm=1000).reach_rows(1000)
    assert (top, bottom) == (110, 950)  # 1330 mm at the top, 330 mm at the bottom
    assert TIGHTEST.problem() is None
    lower = Mounting(bottom_mm=TIGHTEST.bottom_mm + 10, height_mm=125)
    assert lower.problem() is not None and "mount the screen lower" in lower.problem()
    reach = Theme((1024, 600), accessible=True, mounting=TIGHTEST).reach
    assert reach.top == 150 and reach.bottom == 600
    assert REACH_LOW_MM == 380 and REACH_HIGH_MM == 1220  # ADA 2010 308.2.1 / 308.3.1


def test_accessible_text_colours_reach_aaa_contrast() -> None:
    p = ACCESSIBLE_PALETTE
    pairs = {
        "text": (p.text, (p.background, p.surface, p.surface_high)),
        "text_muted": (p.text_muted, (p.background, p.surface, p.surface_high)),
        "accent": (p.accent, (p.background, p.surface)),
        "info": (p.info, (p.background, p.surface)),
        "danger": (p.danger, (p.background, p.surface)),
        "warning": (p.warning, (p.background, p.surface)),
        "on_accent": (p.on_accent, (p.accent, p.accent_pressed)),
        "on_warning": (p.on_warning, (p.warning, p.warning_pressed)),
        "on_danger": (p.on_danger, (p.danger,)),
        "on_disabled": (p.on_disabled, (p.disabled,)),
    }
    for role, (fg, backgrounds) in pairs.items():
        for bg in backgrounds:
            assert contrast_ratio(fg, bg) >= AAA, (role, bg, round(contrast_ratio(fg, bg), 2))
    assert contrast_ratio((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)


def _shown(ui: KioskUi, name: str, language: str):
    view = accessible_views(language)[name]
    ui.accessible_text_renderer.cut.clear()
    ui.set_state(view, fresh=True)
    return view, ui.widgets()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", VIEW_NAMES)
def test_every_control_within_reach_and_text_readable(ui: KioskUi, name: str, language: str) -> None:
    view, infos = _shown(ui, name, language)
    assert ui.screen_id == view.screen, f"{name}: the error page stands in for a screen that could not be built"
    theme = ui.accessible_theme
    assert theme.reach.h >= ui.size[1] * MIN_REACH_FRACTION - 1
    screen = (0, 0, *ui.size)
    placed = []
    for info in infos:
        kind = info.extra["kind"]
        assert inside(info.rect, screen), f"{info.id} {info.rect} leaves the screen"
        if kind in INTERACTIVE | {"chip"} and info.id != STAFF_HOLD and view.screen not in CORNERS:
            assert inside(info.rect, theme.reach), f"{info.id} {info.rect} is out of reach ({theme.reach})"
        if kind in INTERACTIVE:
            assert info.rect[2] >= MIN_TOUCH and info.rect[3] >= MIN_TOUCH, f"{info.id} is too small to touch"
        for text_rect in info.extra["text_rects"]:
            assert inside(text_rect, info.rect), f"{info.id}: text {text_rect} overflows {info.rect}"
            # A line's box is as tall as its font's size or taller (clipped any shorter: unreadable).
            assert text_rect[3] >= theme.min_text_px, f"{info.id}: text {text_rect} is below {theme.min_text_px} px"
            placed.append((info.id, pygame.Rect(text_rect)))
    # A box shorter than a line of its text's font cuts the letters' feet off, whatever its height in px.
    cut = list(ui.accessible_text_renderer.cut)
    assert not cut, f"texts in a box shorter than a line of their font (text, box height): {cut}"
    for i, (id_a, a) in enumerate(placed):
        for id_b, b in placed[i + 1 :]:
            assert id_a == id_b or not a.colliderect(b), f"texts of {id_a} and {id_b} overlap"
    if view.screen not in CORNERS:
        button = next(w for w in infos if w.id == "accessibility")
        assert button.extra["selected"] is True and inside(button.rect, theme.reach)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", VIEW_NAMES)
def test_rendered_text_contrast_is_aaa(ui: KioskUi, name: str, language: str, tmp_path) -> None:
    """Measured on the rendered screen: in each text's box, the commonest colour is the background and the
    strongest glyph pixel the text; their contrast is at least 7:1."""
    _, infos = _shown(ui, name, language)
    path = tmp_path / "shot.bmp"  # lossless like PNG, without the compression's time
    ui.screenshot(path)
    image = pygame.image.load(path)
    for info in infos:
        if info.extra["kind"] in {"picture", "stage", "qr", "spinner"}:
            continue
        for rect in info.extra["text_rects"]:
            colours, background = box_colours(image, rect)
            best = max(contrast_ratio(colour, background) for colour in colours)
            assert best >= AAA, f"{info.id} {info.label!r}: {best:.2f}:1 on {background}"


def box_colours(image: pygame.Surface, rect: tuple[int, int, int, int]) -> tuple[list[Colour], Colour]:
    """In rect: the darkest and the lightest colour (the one with the strongest contrast to any background is
    one of them) and the commonest colour (on a tie, the first met column by column)."""
    rgb = pygame.surfarray.array3d(image.subsurface(rect)).reshape(-1, 3)  # column by column
    packed = rgb[:, 0].astype(numpy.uint32) << 16 | rgb[:, 1].astype(numpy.uint32) << 8 | rgb[:, 2]
    _, first, counts = numpy.unique(packed, return_index=True, return_counts=True)
    linear = rgb[first] / 255  # each distinct colour once; WCAG relative luminance as kiosk_ui.theme.luminance
    linear = numpy.where(linear <= 0.04045, linear / 12.92, ((linear + 0.055) / 1.055) ** 2.4)
    lum = linear @ numpy.array([0.2126, 0.7152, 0.0722])

    def colour(index: int) -> Colour:
        r, g, b = (int(c) for c in rgb[index])
        return r, g, b

    common = first[counts == counts.max()].min()
    return [colour(first[lum.argmin()]), colour(first[lum.argmax()])], colour(common)


def test_normal_mode_keeps_its_look_and_offers_the_button(static_ui: KioskUi) -> None:
    for name, view in sample_views("zh").items():
        static_ui.set_state(view)
        if view.screen in CORNERS:
            continue
        button = next(w for w in static_ui.widgets() if w.id == "accessibility")
        assert button.label == "无障碍" and button.extra["selected"] is False, name


@pytest.mark.parametrize("name", ["help", "help_from_checkout", "repair_consent", "service"])
def test_what_does_not_fit_the_tightest_mounting_scrolls_whole_lines(name: str) -> None:
    """On the tightest mounting these screens' texts need more room than the content area has: they scroll in
    a column within reach, and at rest the column ends between two lines (no line shown in part)."""
    ui = KioskUi((1024, 600), on_intent=lambda intent: None, mounting=TIGHTEST)
    ui.start()
    try:
        _, infos = _shown(ui, name, "en")
        theme = ui.accessible_theme
        columns = [w for w in infos if w.extra["kind"] == "scroll"]
        assert columns and all(theme.content.contains(pygame.Rect(w.rect)) for w in columns), [w.rect for w in columns]
        line = ui.accessible_text_renderer.fonts.get("regular", theme.min_text_px).get_height()
        for column in columns:
            for *_, h in column.extra["text_rects"]:
                assert h >= line, f"{column.id}: a line shown {h} of at least {line} px tall"
        assert any(w.extra["room"] > 0 for w in columns), "nothing scrolls: the screen did not need its column"
    finally:
        ui.close()
