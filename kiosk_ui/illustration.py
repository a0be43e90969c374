"""Stylised e-scooter and e-bike drawings, standing in for product photos.

Drawn with pygame.draw at 3x and smooth-scaled down (pygame.draw has no
anti-aliasing for thick shapes), in the product's colour, and cached: a
drawing is made once per (kind, colour, size), never per frame.
"""

from __future__ import annotations

import logging
import math
from functools import lru_cache

import pygame

from kiosk_ui.theme import PALETTE, Colour, parse_colour
from kiosk_ui.view import ProductView

log = logging.getLogger(__name__)

SUPERSAMPLE = 3
TYRE = (66, 72, 84)
METAL = (150, 158, 170)
DARK = (44, 49, 58)
LIGHT = (255, 246, 214)
_BIKE_WORDS = ("bike", "bicycle", "自行车", "单车")


def vehicle_kind(product: ProductView) -> str:
    """ "bike" when the product calls itself a bike, else "scooter" (the catalog has no kind field)."""
    text = f"{product.sku} {product.name}".lower()
    return "bike" if any(word in text for word in _BIKE_WORDS) else "scooter"


def product_colour(product: ProductView) -> Colour:
    colour = parse_colour(product.colour)
    if colour is None:
        log.warning("product %s has an invalid colour %r; using the accent colour", product.sku, product.colour)
        return PALETTE.accent
    return colour


def illustration(product: ProductView, size: tuple[int, int]) -> pygame.Surface:
    """The cached drawing of a product fitted into size (transparent background)."""
    return vehicle_drawing(vehicle_kind(product), product_colour(product), size)


def vehicle_drawing(kind: str, colour: Colour, size: tuple[int, int]) -> pygame.Surface:
    """The cached drawing of a "scooter" or "bike" in colour, fitted into size."""
    if kind not in ("scooter", "bike"):
        raise ValueError(f"unknown vehicle kind {kind!r}; expected 'scooter' or 'bike'")
    return _draw(kind, tuple(colour), max(1, size[0]), max(1, size[1]))


def _shade(colour: Colour, factor: float) -> Colour:
    r, g, b = (max(0, min(255, round(c * factor))) for c in colour)
    return r, g, b


class _Pen:
    """Draws in design units (a 150 x 100 box) onto a supersampled surface."""

    def __init__(self, surface: pygame.Surface, scale: float, origin: tuple[float, float]) -> None:
        self.surface, self.k, self.origin = surface, scale, origin

    def p(self, x: float, y: float) -> tuple[float, float]:
        return self.origin[0] + x * self.k, self.origin[1] + y * self.k

    def line(self, colour: Colour, a: tuple[float, float], b: tuple[float, float], width: float) -> None:
        """A thick line with round caps."""
        (ax, ay), (bx, by) = self.p(*a), self.p(*b)
        half = width * self.k / 2
        length = math.hypot(bx - ax, by - ay) or 1.0
        nx, ny = -(by - ay) / length * half, (bx - ax) / length * half
        pygame.draw.polygon(
            self.surface, colour, [(ax + nx, ay + ny), (bx + nx, by + ny), (bx - nx, by - ny), (ax - nx, ay - ny)]
        )
        pygame.draw.circle(self.surface, colour, (ax, ay), half)
        pygame.draw.circle(self.surface, colour, (bx, by), half)

    def circle(self, colour: Colour, centre: tuple[float, float], radius: float, width: float = 0) -> None:
        pygame.draw.circle(
            self.surface, colour, self.p(*centre), radius * self.k, max(1, round(width * self.k)) if width else 0
        )

    def rect(self, colour: Colour, x: float, y: float, w: float, h: float, radius: float) -> None:
        (px, py), k = self.p(x, y), self.k
        pygame.draw.rect(
            self.surface,
            colour,
            pygame.Rect(round(px), round(py), round(w * k), round(h * k)),
            border_radius=round(radius * k),
        )

    def arc(
        self,
        colour: Colour,
        centre: tuple[float, float],
        radius: float,
        start_deg: float,
        stop_deg: float,
        width: float,
    ) -> None:
        cx, cy = self.p(*centre)
        r = radius * self.k
        pygame.draw.arc(
            self.surface,
            colour,
            pygame.Rect(cx - r, cy - r, 2 * r, 2 * r),
            math.radians(start_deg),
            math.radians(stop_deg),
            max(1, round(width * self.k)),
        )


def _glow(surface: pygame.Surface, colour: Colour) -> None:
    """A soft spotlight of the product colour behind the vehicle."""
    w, h = surface.get_size()
    layer = pygame.Surface((w, h), pygame.SRCALPHA)
    steps = 12
    for i in range(steps):
        f = 1 - i / steps
        rect = pygame.Rect(0, 0, w * 0.95 * f, h * 0.8 * f)
        rect.center = (w // 2, round(h * 0.55))
        pygame.draw.ellipse(layer, (*colour, 7), rect)
    surface.blit(layer, (0, 0))


def _wheel(pen: _Pen, centre: tuple[float, float], r: float, hub: Colour, spokes: int) -> None:
    pen.circle(TYRE, centre, r)
    pen.circle(METAL, centre, r * 0.74, width=r * 0.07)
    for i in range(spokes):
        a = math.pi * 2 * i / spokes
        pen.line(
            METAL, centre, (centre[0] + math.cos(a) * r * 0.72, centre[1] + math.sin(a) * r * 0.72), max(0.6, r * 0.04)
        )
    pen.circle(hub, centre, r * 0.26)
    pen.circle(DARK, centre, r * 0.1)


def _scooter(pen: _Pen, colour: Colour) -> None:
    body, shade = colour, _shade(colour, 0.62)
    rear, front, r = (28, 78), (124, 78), 14
    pen.arc(shade, rear, r + 4, 15, 170, 3.2)  # rear fender
    _wheel(pen, rear, r, body, 5)
    _wheel(pen, front, r, body, 5)
    pen.line(METAL, front, (117, 50), 4)  # fork
    pen.line(body, (117, 52), (106, 12), 6)  # stem
    pen.line(body, (92, 70), (116, 54), 7)  # neck joining deck and stem
    pen.rect(shade, 24, 71, 90, 5, 2.5)  # deck underside
    pen.rect(body, 20, 65, 94, 8, 4)  # deck
    pen.rect(DARK, 28, 64, 74, 2.2, 1)  # grip tape
    pen.line(DARK, (93, 11), (120, 12), 3.4)  # handlebar
    pen.line(TYRE, (92, 11), (98, 11.2), 4.4)  # grips
    pen.line(TYRE, (115, 11.8), (121, 12), 4.4)
    pen.rect(DARK, 102, 15, 8, 5, 1.5)  # display
    pen.circle(LIGHT, (112.5, 31), 2.6)  # headlight


def _bike(pen: _Pen, colour: Colour) -> None:
    body, shade = colour, _shade(colour, 0.62)
    rear, front, r = (32, 70), (120, 70), 23
    bb, seat_top, head_top, head_bottom = (70, 72), (58, 30), (103, 28), (107, 42)
    _wheel(pen, rear, r, DARK, 10)
    _wheel(pen, front, r, DARK, 10)
    pen.circle(DARK, rear, 7)  # hub motor
    pen.circle(body, rear, 4.5)
    pen.line(shade, rear, bb, 3.4)  # chain stay
    pen.line(shade, rear, (57, 36), 3.2)  # seat stay
    pen.line(body, bb, seat_top, 5)  # seat tube
    pen.line(body, (58, 35), head_top, 5)  # top tube
    pen.line(body, head_bottom, bb, 7)  # down tube
    pen.line(DARK, (100, 47), (76, 65), 6)  # battery on the down tube
    pen.line(shade, (97, 49.5), (90, 55), 2)
    pen.line(body, head_top, head_bottom, 6)  # head tube
    pen.line(METAL, head_bottom, front, 3.6)  # fork
    pen.line(METAL, seat_top, (56, 22), 2.6)  # seat post
    pen.line(TYRE, (46, 21), (64, 21.5), 4.4)  # saddle
    pen.line(METAL, head_top, (101, 17), 3)  # stem
    pen.line(DARK, (94, 17), (110, 15), 3.2)  # handlebar
    pen.circle(METAL, bb, 6, width=1.6)  # chainring
    pen.line(DARK, bb, (76, 82), 2.6)  # crank and pedal
    pen.line(TYRE, (72, 82), (81, 82), 2.6)
    pen.circle(LIGHT, (110, 33), 2.4)  # headlight


@lru_cache(maxsize=64)
def _draw(kind: str, colour: Colour, width: int, height: int) -> pygame.Surface:
    drawing = draw_vehicle(kind, colour, (width, height))
    # Run-length encoded when first drawn (SDL then frees the plain pixels): a product's drawings at the sizes
    # of the attract, catalog, product and checkout screens held 4.6 MB for two products, 2.9 MB so (issue 13),
    # and blit faster. Drawn onto opaque surfaces only (the screen, cards): the same to 2 levels of rounding.
    drawing.set_alpha(255, pygame.RLEACCEL)
    return drawing


def draw_vehicle(kind: str, colour: Colour, size: tuple[int, int]) -> pygame.Surface:
    """A new, uncached drawing: for threads other than the frame loop's (a surface being blitted
    on one thread must not be read on another)."""
    width, height = max(1, size[0]), max(1, size[1])
    big = pygame.Surface((width * SUPERSAMPLE, height * SUPERSAMPLE), pygame.SRCALPHA)
    _glow(big, colour)
    bw, bh = big.get_size()
    k = min(bw / 150, bh / 100) * 0.92
    pen = _Pen(big, k, ((bw - 150 * k) / 2, (bh - 100 * k) / 2))
    shadow = pygame.Surface((bw, bh), pygame.SRCALPHA)
    sx, sy = pen.p(10, 88)
    pygame.draw.ellipse(shadow, (0, 0, 0, 160), pygame.Rect(sx, sy, 130 * k, 9 * k))
    big.blit(shadow, (0, 0))
    (_bike if kind == "bike" else _scooter)(pen, colour)
    return _downsample(big, (width, height))


def _downsample(big: pygame.Surface, size: tuple[int, int]) -> pygame.Surface:
    small = pygame.transform.smoothscale(big, size)
    return small.convert_alpha() if pygame.display.get_surface() else small


@lru_cache(maxsize=8)
def tick_badge(diameter: int, colour: Colour, mark: Colour) -> pygame.Surface:
    """A filled circle with a check mark (the thank-you screen), cached per size."""
    diameter = max(1, diameter)
    big = pygame.Surface((diameter * SUPERSAMPLE, diameter * SUPERSAMPLE), pygame.SRCALPHA)
    pen = _Pen(big, diameter * SUPERSAMPLE / 100, (0, 0))
    pen.circle(_shade(colour, 0.35), (50, 50), 50)
    pen.circle(colour, (50, 50), 40)
    pen.line(mark, (31, 52), (44, 65), 8)
    pen.line(mark, (44, 65), (70, 37), 8)
    return _downsample(big, (diameter, diameter))


@lru_cache(maxsize=8)
def terminal_icon(height: int, accent: Colour) -> pygame.Surface:
    """A card payment terminal with a card held over it (the checkout's payment status)."""
    height = max(1, height)
    width = height * 9 // 10
    big = pygame.Surface((width * SUPERSAMPLE, height * SUPERSAMPLE), pygame.SRCALPHA)
    pen = _Pen(big, height * SUPERSAMPLE / 100, (0, 0))
    pen.rect(METAL, 22, 30, 46, 68, 8)  # terminal body
    pen.rect(DARK, 27, 36, 36, 22, 4)  # screen
    pen.rect(_shade(accent, 0.8), 30, 39, 30, 16, 3)
    for row in range(3):  # keypad
        for col in range(3):
            pen.rect(DARK, 29 + col * 11, 63 + row * 10, 8, 6, 2)
    pen.rect(accent, 44, 4, 44, 28, 4)  # card over the reader
    pen.rect(_shade(accent, 0.55), 44, 10, 44, 5, 0)
    pen.rect(LIGHT, 50, 20, 9, 7, 2)  # chip
    for r in (6, 11):  # contactless waves
        pen.arc(LIGHT, (76, 22), r, -40, 40, 1.8)
    return _downsample(big, (width, height))


@lru_cache(maxsize=8)
def scan_icon(height: int, accent: Colour) -> pygame.Surface:
    """A phone showing a QR code held up to a camera (the pickup screen's other way in)."""
    height = max(1, height)
    width = height * 13 // 10
    big = pygame.Surface((width * SUPERSAMPLE, height * SUPERSAMPLE), pygame.SRCALPHA)
    pen = _Pen(big, height * SUPERSAMPLE / 100, (0, 0))
    pen.rect(METAL, 4, 30, 44, 40, 8)  # camera body
    pen.circle(DARK, (26, 50), 13)  # lens
    pen.circle(_shade(accent, 0.8), (26, 50), 8)
    pen.circle(LIGHT, (23, 47), 2.5)
    for r in (10, 17):  # the camera looking at the phone
        pen.arc(accent, (52, 50), r, -35, 35, 2)
    pen.rect(DARK, 74, 8, 50, 84, 9)  # phone
    pen.rect(LIGHT, 79, 18, 40, 62, 3)  # its screen
    for x, y in ((83, 22), (105, 22), (83, 56)):  # finder patterns of a QR code
        pen.rect(DARK, x, y, 11, 11, 1)
        pen.rect(LIGHT, x + 2.5, y + 2.5, 6, 6, 0.5)
        pen.rect(DARK, x + 4, y + 4, 3, 3, 0)
    for x, y in ((98, 36), (104, 42), (110, 50), (98, 60), (106, 64), (112, 70), (96, 48), (88, 40)):
        pen.rect(DARK, x, y, 4, 4, 0)  # modules
    return _downsample(big, (width, height))
