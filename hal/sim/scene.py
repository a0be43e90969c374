"""The simulated camera's frames in numpy: a test card, a QR code held up in front of it, sensor noise.

Shared with the QR benchmark corpus. Imported only where raw frames are needed (a code reader, the
QR tests and benchmarks): a cabinet whose camera only takes door snapshots draws them without numpy
(``hal.sim.test_card``).
"""

from __future__ import annotations

import math

import numpy as np
import segno

from hal.sim.test_card import BARS, GLYPHS

QUIET_ZONE = 4  # modules of white around a code, as the QR standard asks


def qr_modules(text: str) -> np.ndarray:
    """The code's module grid with its quiet zone: True where a module is dark."""
    if not text:
        raise ValueError("QR text must not be empty")
    matrix = np.array(segno.make_qr(text).matrix, dtype=bool)
    return np.pad(matrix, QUIET_ZONE, constant_values=False)


def code_quad(
    center: tuple[float, float], side: float, angle_deg: float, tilt: tuple[float, float] = (0.0, 0.0)
) -> np.ndarray:
    """Corners (4, 2) of a code of ``side`` pixels turned by ``angle_deg``.

    ``tilt`` = (x, y) in -0.5..0.5 foreshortens the code as if turned about its
    vertical / horizontal axis: the left edge is (1 - x) times as tall as the
    code, the right (1 + x); the top (1 - y) times as wide, the bottom (1 + y).
    """
    tx, ty = tilt
    h = side / 2
    # Keystone: the left/right edges' heights differ by tx, top/bottom widths by ty.
    # Order: top-left, top-right, bottom-right, bottom-left, before rotation.
    corners = np.array(
        [
            [-h * (1 - ty), -h * (1 - tx)],
            [h * (1 - ty), -h * (1 + tx)],
            [h * (1 + ty), h * (1 + tx)],
            [-h * (1 + ty), h * (1 - tx)],
        ]
    )
    a = math.radians(angle_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    # astype is Any in numpy's stubs on an array of unknown dtype
    quad: np.ndarray = (corners @ rot.T + np.asarray(center, dtype=float)).astype(np.float32)
    return quad


def paint_code(scene: np.ndarray, modules: np.ndarray, quad: np.ndarray, dark: int = 0, light: int = 255) -> np.ndarray:
    """Draw the module grid onto ``scene`` (RGB or grey) over the corners ``quad``.

    Modules are drawn ``dark`` on ``light`` (lower the gap for low contrast);
    edges are anti-aliased by the warp, as a lens would blur them.
    """
    n = modules.shape[0]
    scale = 8  # render modules at 8 px so the warp resamples from a sharp source
    src_img = np.where(np.kron(modules, np.ones((scale, scale), dtype=bool)), dark, light).astype(np.uint8)
    src = np.array([[0, 0], [n * scale, 0], [n * scale, n * scale], [0, n * scale]], dtype=np.float32)
    import cv2  # lazily: only a shown code needs the warp; the cabinet's sim stays without OpenCV

    m = cv2.getPerspectiveTransform(src, quad.astype(np.float32))
    h, w = scene.shape[:2]
    code = cv2.warpPerspective(src_img, m, (w, h), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.full(src_img.shape, 255, np.uint8), m, (w, h), flags=cv2.INTER_AREA)
    alpha = mask.astype(np.float32) / 255.0
    if scene.ndim == 3:
        code, alpha = code[..., None], alpha[..., None]
    out = scene.astype(np.float32) * (1 - alpha) + code.astype(np.float32) * alpha
    return out.round().astype(np.uint8)


def add_sensor_noise(frame: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian read noise of ``sigma`` grey levels."""
    noisy = frame.astype(np.float32) + rng.normal(0.0, sigma, frame.shape).astype(np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def colour_bars(size: tuple[int, int]) -> np.ndarray:
    """A static RGB test card: colour bars, a grey ramp and a centre circle."""
    w, h = size
    card = np.zeros((h, w, 3), np.uint8)
    bar_w = math.ceil(w / len(BARS))
    for i, colour in enumerate(BARS):
        card[: h * 2 // 3, i * bar_w : (i + 1) * bar_w] = colour
    card[h * 2 // 3 :, :] = np.linspace(0, 255, w, dtype=np.uint8)[None, :, None]
    yy, xx = np.ogrid[:h, :w]
    radius = np.hypot(xx - w // 2, yy - h // 3)
    outer = min(w, h) // 5
    card[(radius <= outer) & (radius >= outer - 3)] = (128, 128, 128)
    return card


def stamp(frame: np.ndarray, text: str, scale: int = 3) -> None:
    """Write ``text`` (digits, - : . # and spaces) white in a black box at the bottom-left, in place."""
    h = frame.shape[0]
    glyph_w, glyph_h, pad = 4 * scale, 5 * scale, 6
    top, left = h - glyph_h - 2 * pad, pad
    frame[top : h - pad // 2, left // 2 : left + glyph_w * len(text) + pad] = 0
    for i, char in enumerate(text):
        bits = np.array([int(b) for b in GLYPHS.get(char, GLYPHS[" "])], bool).reshape(5, 3)
        pixels = np.kron(bits, np.ones((scale, scale), bool))
        x = left + i * glyph_w
        if x + 3 * scale > frame.shape[1]:
            break  # a small frame shows what fits
        frame[top + pad : top + pad + glyph_h, x : x + 3 * scale][pixels] = 255
