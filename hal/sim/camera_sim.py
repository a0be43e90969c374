"""Emulated camera.

``SimCamera`` shows a timestamped test card (or cycles through image files)
and, on ``show_code(text)``, a QR code held up in front of it: rotated, a bit
tilted and wobbling from frame to frame like a phone in a hand, with sensor
noise, so the decoder works on a realistic frame rather than a clean render
(drawn by ``hal.sim.scene``, in numpy). Its door snapshots of the test card are
drawn with pygame (``hal.sim.test_card``): a cabinet whose camera only takes
snapshots never loads numpy. On ``show_people(scene)`` it shows a generated
street scene instead (``hal/sim/footfall_scene.py``: people walking past, some
stopping), timed by its clock from that moment, for the footfall counter.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from hal.camera_backends.frame_camera import FrameCamera
from hal.errors import DeviceFault
from hal.sim import test_card

if TYPE_CHECKING:
    import numpy as np

    from hal.sim.footfall_scene import Scene, SceneRenderer


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
    numpy is loaded with the first raw frame or shown code, not before.
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
        self._seed = seed
        self._np_rng: np.random.Generator | None = None
        self._snapshot_rng = random.Random(seed)
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

    def _rng(self) -> np.random.Generator:
        """The seeded generator of poses, shakes and frame noise (under the lock)."""
        if self._np_rng is None:
            import numpy as np

            self._np_rng = np.random.default_rng(self._seed)
        return self._np_rng

    def show_code(self, text: str) -> None:
        """Hold a QR code with ``text`` up to the camera, at a random pose."""
        from hal.sim.scene import qr_modules

        modules = qr_modules(text)
        w, h = self.size
        with self._lock:
            r = self._rng()
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
        """Image files are read now (a missing one is a fault at open); the test card is drawn when first used."""
        backdrops = []
        if self._paths:
            import cv2  # lazily: only image files need OpenCV to be read

        for path in self._paths:
            img = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if img is None:
                raise DeviceFault(self.name, f"cannot read image file {str(path)!r}")
            backdrops.append(cv2.resize(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), self.size, interpolation=cv2.INTER_AREA))
        self._backdrops = backdrops
        self._next_due = time.monotonic()

    def _close_device(self) -> None:
        self._backdrops = []

    def _pace(self) -> int:
        """Block until the next frame is due, as a real sensor does; the frame's number."""
        delay = self._next_due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._next_due = max(self._next_due + 1 / self.fps, time.monotonic())
        self._frame_no += 1
        return self._frame_no

    def _stamp_text(self, frame_no: int) -> str:
        return f"{datetime.fromtimestamp(self._clock()):%Y-%m-%d %H:%M:%S.%f}"[:-3] + f"  #{frame_no}"

    def _grab(self) -> np.ndarray:
        from hal.sim import scene

        if not self._backdrops:
            self._backdrops = [scene.colour_bars(self.size)]
        frame_no = self._pace()
        with self._lock:
            people = self._people
        if people is not None:
            renderer, shown_at = people
            return renderer.frame(self._clock() - shown_at)  # the scene has its own light and noise
        frame = self._backdrops[(frame_no - 1) % len(self._backdrops)].copy()
        if not self._paths:
            scene.stamp(frame, self._stamp_text(frame_no))
        with self._lock:
            code = self._code
            r = self._rng()
            if code is not None:
                # A hand shakes a little: a pixel or two, a degree or so.
                cx, cy = code.center
                quad = scene.code_quad(
                    (cx + r.normal(0, 1.5), cy + r.normal(0, 1.5)), code.side, code.angle + r.normal(0, 1.0), code.tilt
                )
                frame = scene.paint_code(frame, code.modules, quad)
            if self.noise > 0:
                frame = scene.add_sensor_noise(frame, self.noise, r)
        return frame

    def _snapshot_of_card(self) -> bytes:
        """The stamped, noisy test card as JPEG, drawn and encoded with pygame (no numpy). Drawn anew each time
        (about 1 ms), so no picture (1.2 MB at 640x480) stays in memory between the door's photos."""
        frame_no = self._pace()
        picture = test_card.card(self.size)
        test_card.stamp(picture, self._stamp_text(frame_no))
        test_card.add_noise(picture, self.noise, self._snapshot_rng)
        return test_card.encode_jpeg(picture)

    async def snapshot(self) -> bytes:
        """The door's photo. Of the test card with no code held up (what a cabinet's simulation shows at its
        door): drawn with pygame; of image files or a held code: the frame, as a real camera's."""
        if self._paths or self.shown_code is not None:
            return await super().snapshot()
        return await self._on_grabber(self._snapshot_of_card)
