"""The 360° view's frames: the catalog's image sequence, or one drawn from the illustration.

Frames are made once per (product, colour, size) on the asset worker and
composited onto the card's opaque background, so turning the product is a
single opaque blit per frame. Without photos the stylised drawing is turned
on a turntable: squashed horizontally by |cos(angle)|, mirrored for the back
half; frames that look alike (angle and -angle) share one surface.
"""

from __future__ import annotations

import math

import pygame

from kiosk_ui.assets import fit, load_image
from kiosk_ui.illustration import draw_vehicle, product_colour, vehicle_kind
from kiosk_ui.theme import Colour, parse_colour
from kiosk_ui.view import ProductView

DRAWN_FRAMES = 36
EDGE_ON = 0.14  # width left when the drawing is seen edge-on: a sliver, not nothing


def _opaque(picture: pygame.Surface, size: tuple[int, int], background: Colour) -> pygame.Surface:
    frame = pygame.Surface(size)
    frame.fill(background)
    frame.blit(picture, picture.get_rect(center=(size[0] // 2, size[1] // 2)))
    return frame.convert() if pygame.display.get_surface() else frame


def photo_frames(paths: tuple[str, ...], size: tuple[int, int], background: Colour) -> list[pygame.Surface]:
    """The product's own image sequence, each fitted into size."""
    return [_opaque(fit(load_image(path), size), size, background) for path in paths]


def drawn_frames(
    product: ProductView, colour_hex: str, size: tuple[int, int], background: Colour, count: int = DRAWN_FRAMES
) -> list[pygame.Surface]:
    """A turntable sequence of the illustration, count frames for a full turn."""
    # A drawing of its own: the frame loop may be blitting the cached one meanwhile.
    side = draw_vehicle(vehicle_kind(product), parse_colour(colour_hex) or product_colour(product), size)
    mirrored = pygame.transform.flip(side, True, False)
    made: dict[tuple[int, bool], pygame.Surface] = {}
    frames = []
    for i in range(count):
        c = math.cos(2 * math.pi * i / count)
        width = max(1, round(size[0] * max(EDGE_ON, abs(c))))
        key = (width, c < 0)
        if key not in made:
            source = mirrored if c < 0 else side
            squashed = pygame.transform.smoothscale(source, (width, size[1])) if width != size[0] else source
            made[key] = _opaque(squashed, size, background)
        frames.append(made[key])
    return frames


def frame_index(angle_deg: float, count: int) -> int:
    """The frame showing angle_deg (any real number) in a sequence of count frames for 360°."""
    return round(angle_deg % 360 / 360 * count) % count
