"""The simulated camera's door snapshot drawn with pygame: no numpy.

A cabinet whose camera only takes door snapshots needs no raw frames, and numpy costs a process about
12 MB resident; pygame is loaded by the touchscreen anyway. The picture is the one ``hal.sim.scene``
draws in numpy for the frames (the same colour bars, grey ramp, ring and time stamp, Gaussian sensor
noise of the same sigma), encoded by SDL_image's libjpeg at quality 85 with 4:2:0 chroma subsampling
(the camera's usual JPEG: the brightness at full resolution, the colour at half).
"""

from __future__ import annotations

import math
import os
import random
import tempfile
from functools import cache
from statistics import NormalDist

# pygame greets on stdout when imported; `kiosk selftest` prints its table there.
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

BARS = (
    (255, 255, 255),
    (255, 255, 0),
    (0, 255, 255),
    (0, 255, 0),
    (255, 0, 255),
    (255, 0, 0),
    (0, 0, 255),
    (40, 40, 40),
)
RING_GREY = (128, 128, 128)
# pygame's JPEG encoder has no quality setting: SDL_image encodes at this one.
SNAPSHOT_JPEG_QUALITY = 85

# A 3x5 pixel font for the time stamp: digits and the few marks a date needs.
GLYPHS = {
    "0": "111101101101111",
    "1": "010110010010111",
    "2": "111001111100111",
    "3": "111001111001111",
    "4": "101101111001001",
    "5": "111100111001111",
    "6": "111100111101111",
    "7": "111001001001001",
    "8": "111101111101111",
    "9": "111101111001111",
    "-": "000000111000000",
    ":": "000010000010000",
    ".": "000000000000010",
    "#": "101111101111101",
    " ": "000000000000000",
}


def card(size: tuple[int, int]) -> pygame.Surface:
    """The static test card: colour bars over two thirds, a grey ramp below, a grey ring."""
    w, h = size
    surface = pygame.Surface(size)
    bar_w = math.ceil(w / len(BARS))
    for i, colour in enumerate(BARS):
        surface.fill(colour, pygame.Rect(i * bar_w, 0, bar_w, h * 2 // 3))
    row = bytes(int(x * 255 / max(1, w - 1)) for x in range(w) for _ in range(3))  # the grey ramp, one line
    surface.blit(
        pygame.transform.scale(pygame.image.frombuffer(row, (w, 1), "RGB"), (w, h - h * 2 // 3)), (0, h * 2 // 3)
    )
    outer = min(w, h) // 5
    pygame.draw.circle(surface, RING_GREY, (w // 2, h // 3), outer, width=4)
    return surface


def stamp(surface: pygame.Surface, text: str, scale: int = 3) -> None:
    """Write ``text`` (digits, - : . # and spaces) white in a black box at the bottom-left, in place."""
    w, h = surface.get_size()
    glyph_w, glyph_h, pad = 4 * scale, 5 * scale, 6
    top, left = h - glyph_h - 2 * pad, pad
    surface.fill(
        (0, 0, 0), pygame.Rect(left // 2, top, left + glyph_w * len(text) + pad - left // 2, h - pad // 2 - top)
    )
    for i, char in enumerate(text):
        x = left + i * glyph_w
        if x + 3 * scale > w:
            break  # a small frame shows what fits
        bits = GLYPHS.get(char, GLYPHS[" "])
        for n, bit in enumerate(bits):
            if bit == "1":
                row, col = divmod(n, 3)
                surface.fill((255, 255, 255), pygame.Rect(x + col * scale, top + pad + row * scale, scale, scale))


@cache
def _noise_tables(sigma: float) -> tuple[bytes, bytes]:
    """A random byte mapped to Gaussian noise of ``sigma`` grey levels (its 256 quantiles, rounded), split into
    what is added and what is taken away (a surface's channels are unsigned)."""
    quantiles = [round(NormalDist(0.0, sigma).inv_cdf((u + 0.5) / 256)) for u in range(256)]
    return bytes(min(255, max(0, q)) for q in quantiles), bytes(min(255, max(0, -q)) for q in quantiles)


def add_noise(surface: pygame.Surface, sigma: float, rng: random.Random) -> None:
    """Gaussian read noise of ``sigma`` grey levels on every channel, clipped to 0..255, in place."""
    if sigma <= 0:
        return
    up, down = _noise_tables(sigma)
    size = surface.get_size()
    raw = rng.randbytes(size[0] * size[1] * 3)
    surface.blit(pygame.image.frombuffer(raw.translate(up), size, "RGB"), (0, 0), special_flags=pygame.BLEND_RGB_ADD)
    surface.blit(pygame.image.frombuffer(raw.translate(down), size, "RGB"), (0, 0), special_flags=pygame.BLEND_RGB_SUB)


def encode_jpeg(surface: pygame.Surface) -> bytes:
    """The surface as JPEG bytes (quality SNAPSHOT_JPEG_QUALITY, 4:2:0)."""
    return save_jpeg(surface)


# In RAM where the system has it (Linux: /dev/shm), so a picture passing through costs the SD card nothing.
RAM_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else None


def save_jpeg(surface: pygame.Surface) -> bytes:
    """pygame's JPEG of a surface, through a file in RAM: pygame-ce (2.5.8) keeps every file object it saved to
    (and its bytes) for good, about 500 bytes even once closed; a path leaves nothing behind."""
    fd, path = tempfile.mkstemp(suffix=".jpg", dir=RAM_DIR)
    try:
        os.close(fd)
        pygame.image.save(surface, path)
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(path)
