"""Emulated camera, and the scene drawing shared with the QR benchmark corpus.

``SimCamera`` shows a timestamped test card (or cycles through image files)
and, on ``show_code(text)``, a QR code held up in front of it: rotated, a bit
tilted and wobbling from frame to frame like a phone in a hand, with sensor
noise, so the decoder works on a realistic frame rather than a clean render.
On ``show_people(scene)`` it shows a generated street scene instead
(``hal/sim/footfall_scene.py``: people walking past, some stopping), timed
by its clock from that moment, for the footfall counter.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import segno

from hal.camera_backends.frame_camera import FrameCamera
from hal.errors import DeviceFault

if TYPE_CHECKING:
    from hal.sim.footfall_scene import Scene, SceneRenderer

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
    bars = [
        (255, 255, 255),
        (255, 255, 0),
        (0, 255, 255),
        (0, 255, 0),
        (255, 0, 255),
        (255, 0, 0),
        (0, 0, 255),
        (40, 40, 40),
    ]
    bar_w = math.ceil(w / len(bars))
    for i, colour in enumerate(bars):
        card[: h * 2 // 3, i * bar_w : (i + 1) * bar_w] = colour
    card[h * 2 // 3 :, :] = np.linspace(0, 255, w, dtype=np.uint8)[None, :, None]
    yy, xx = np.ogrid[:h, :w]
    radius = np.hypot(xx - w // 2, yy - h // 3)
    outer = min(w, h) // 5
    card[(radius <= outer) & (radius >= outer - 3)] = (128, 128, 128)
    return card


# A 3x5 pixel font for the time stamp: digits and the few marks a date needs.
_GLYPHS = {
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


def stamp(frame: np.ndarray, text: str, scale: int = 3) -> None:
    """Write ``text`` (digits, - : . # and spaces) white in a black box at the bottom-left, in place."""
    h = frame.shape[0]
    glyph_w, glyph_h, pad = 4 * scale, 5 * scale, 6
    top, left = h - glyph_h - 2 * pad, pad
    frame[top : h - pad // 2, left // 2 : left + glyph_w * len(text) + pad] = 0
    for i, char in enumerate(text):
        bits = np.array([int(b) for b in _GLYPHS.get(char, _GLYPHS[" "])], bool).reshape(5, 3)
        pixels = np.kron(bits, np.ones((scale, scale), bool))
        x = left + i * glyph_w
        if x + 3 * scale > frame.shape[1]:
            break  # a small frame shows what fits
        frame[top + pad : top + pad + glyph_h, x : x + 3 * scale][pixels] = 255


@dataclass(frozen=True)
class HeldCode:
    """A code held up to the camera: its grid and where the hand holds it."""

    text: str
    modules: np.ndarray
    center: tuple[float, float]
    side: float
    angle: float
    tilt: tuple[float, float]


class SimCamera(FrameCamera):
    """Frames from image files or a generated test card, paced like a camera.

    ``show_code``/``clear_code`` may be called from any thread (the bench
    panel's, a test's); the grab thread reads the shown code once per frame.
    """

    name = "camera"

    def __init__(
        self,
        images: Sequence[str | Path] = (),
        *,
        size: tuple[int, int] = (640, 480),
        fps: float = 15.0,
        seed: int = 0,
        noise: float = 3.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.size = size
        self.fps = fps
        self.noise = noise
        self._paths = [Path(p) for p in images]
        self._clock = clock
        self._rng = np.random.default_rng(seed)
        self._backdrops: list[np.ndarray] = []
        self._frame_no = 0
        self._next_due = 0.0
        self._lock = threading.Lock()
        self._code: HeldCode | None = None
        self._people: tuple[SceneRenderer, float] | None = None  # the scene shown and when it started

    @property
    def where(self) -> str:
        return "sim"

    @property
    def shown_code(self) -> str | None:
        with self._lock:
            return self._code.text if self._code else None

    def show_code(self, text: str) -> None:
        """Hold a QR code with ``text`` up to the camera, at a random pose."""
        modules = qr_modules(text)
        w, h = self.size
        with self._lock:
            r = self._rng
            side = modules.shape[0] * r.uniform(3.2, 4.5)  # 3.2-4.5 px per module
            side = min(side, 0.9 * min(w, h))
            center = (w / 2 + r.uniform(-0.15, 0.15) * w, h / 2 + r.uniform(-0.1, 0.1) * h)
            self._code = HeldCode(
                text, modules, center, side, r.uniform(-25, 25), (r.uniform(-0.12, 0.12), r.uniform(-0.12, 0.12))
            )

    def clear_code(self) -> None:
        """Take the code away from the camera."""
        with self._lock:
            self._code = None

    def show_people(self, scene: Scene | None) -> None:
        """Show ``scene`` from now on the camera's clock (None: the test card again)."""
        from hal.sim.footfall_scene import SceneRenderer  # OpenCV: only when people are shown

        with self._lock:
            self._people = None if scene is None else (SceneRenderer(scene, self.size), self._clock())

    def _open_device(self) -> None:
        backdrops = []
        if self._paths:
            import cv2  # lazily, as in paint_code
        for path in self._paths:
            img = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if img is None:
                raise DeviceFault(self.name, f"cannot read image file {str(path)!r}")
            backdrops.append(cv2.resize(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), self.size, interpolation=cv2.INTER_AREA))
        self._backdrops = backdrops or [colour_bars(self.size)]
        self._next_due = time.monotonic()

    def _close_device(self) -> None:
        self._backdrops = []

    def _grab(self) -> np.ndarray:
        # Block until the next frame is due, as a real sensor does.
        delay = self._next_due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._next_due = max(self._next_due + 1 / self.fps, time.monotonic())
        with self._lock:
            people = self._people
        if people is not None:
            self._frame_no += 1
            renderer, shown_at = people
            return renderer.frame(self._clock() - shown_at)  # the scene has its own light and noise
        frame = self._backdrops[self._frame_no % len(self._backdrops)].copy()
        self._frame_no += 1
        if not self._paths:
            stamp(frame, f"{datetime.fromtimestamp(self._clock()):%Y-%m-%d %H:%M:%S.%f}"[:-3] + f"  #{self._frame_no}")
        with self._lock:
            code = self._code
            r = self._rng
            if code is not None:
                # A hand shakes a little: a pixel or two, a degree or so.
                cx, cy = code.center
                quad = code_quad(
                    (cx + r.normal(0, 1.5), cy + r.normal(0, 1.5)), code.side, code.angle + r.normal(0, 1.0), code.tilt
                )
                frame = paint_code(frame, code.modules, quad)
            if self.noise > 0:
                frame = add_sensor_noise(frame, self.noise, r)
        return frame
