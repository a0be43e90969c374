"""Generated street scenes with a known number of people, for the footfall counter's tests and benchmark and
the simulated camera.

How a scene is made (no recorded footage: every pixel is drawn here, from a seed):
- the background is a textured wall and floor: smooth random blotches at a few scales, tiles and a shelf edge,
  tinted, so background subtraction has texture to learn rather than a flat grey;
- the light drifts: a slow gain of +-8 % and an offset over a minute or so, as daylight and shop lights do;
- people are upright figures (head, torso, two swinging legs) of a random clothing colour and skin tone,
  45-85 % of the frame tall (nearer ones lower in the frame and bigger), walking across the whole view at
  0.15-0.5 frame widths per second, from either side; some stop in front of the cabinet for a given time
  (swaying a little), some walk past each other or together, so their outlines overlap;
- the sensor adds Gaussian read noise (sigma 3 grey levels by default).

The truth of a scene is its list of ``Walker``s: each one is one passer-by, a stopper when it stands at least
the counter's dwell.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

WARM_UP_S = 10.0


@dataclass(frozen=True)
class Walker:
    """One person crossing the view: enters at ``enter_s`` on the ``from_left`` side, walks at ``speed`` frame
    widths per second, stops ``stop_s`` seconds at ``stop_at`` (a fraction of the width; 0: never stops)."""

    enter_s: float
    from_left: bool
    speed: float
    height: float  # fraction of the frame's height
    colour: tuple[int, int, int]
    skin: tuple[int, int, int]
    stop_at: float = 0.5
    stop_s: float = 0.0

    def x_at(self, t: float, width: float) -> float | None:
        """Where the person's centre is at ``t`` (pixels), or None when out of view."""
        margin = 0.3 * self.height * width  # enters and leaves wholly beyond the edges
        span = width + 2 * margin
        walked = t - self.enter_s
        if walked < 0:
            return None
        to_stop = (self.stop_at * width + margin) / (self.speed * width)
        if self.stop_s > 0 and walked > to_stop:
            walked = max(to_stop, walked - self.stop_s)
        d = walked * self.speed * width
        if d > span:
            return None
        return -margin + d if self.from_left else width + margin - d

    def standing(self, t: float, width: float) -> bool:
        """Whether the person stands still at ``t``."""
        to_stop = (self.stop_at * width + 0.3 * self.height * width) / (self.speed * width)
        return self.stop_s > 0 and to_stop < t - self.enter_s < to_stop + self.stop_s

    def leaves_s(self) -> float:
        """When the person is out of view again (the same at any frame width)."""
        return self.enter_s + self.stop_s + (1 + 0.6 * self.height) / self.speed


@dataclass(frozen=True)
class Scene:
    walkers: tuple[Walker, ...]
    duration_s: float
    seed: int = 0
    noise: float = 3.0
    drift: float = 0.08  # the light's gain swings this much either way

    def passers(self) -> int:
        return len(self.walkers)

    def stoppers(self, dwell_s: float) -> int:
        return sum(1 for w in self.walkers if w.stop_s >= dwell_s)

    def frames(self, size: tuple[int, int], fps: float) -> Iterator[tuple[float, np.ndarray]]:
        """(time in seconds, RGB frame) at ``fps`` for the scene's whole duration."""
        render = SceneRenderer(self, size)
        for i in range(int(self.duration_s * fps)):
            t = i / fps
            yield t, render.frame(t)


class SceneRenderer:
    """Draws a scene's frame at any time: the background is made once, the people and the light per frame."""

    def __init__(self, scene: Scene, size: tuple[int, int]) -> None:
        self.scene = scene
        self.size = size
        self._rng = np.random.default_rng(scene.seed)
        self._background = textured_background(size, self._rng)

    def frame(self, t: float) -> np.ndarray:
        w, h = self.size
        scene = self.scene
        gain = 1.0 + scene.drift * math.sin(2 * math.pi * t / 70.0)
        offset = 6.0 * math.sin(2 * math.pi * t / 45.0 + 1.0)
        canvas = self._background.copy()
        # Farther people first, so nearer ones cover them.
        for walker in sorted(scene.walkers, key=lambda wk: wk.height):
            x = walker.x_at(t, w)
            if x is not None:
                draw_person(canvas, walker, x, t, h)
        lit = canvas.astype(np.float32) * gain + offset
        if scene.noise > 0:
            lit += self._rng.normal(0.0, scene.noise, lit.shape).astype(np.float32)
        frame: np.ndarray = np.clip(lit, 0, 255).astype(np.uint8)
        return frame


def textured_background(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A wall over a tiled floor: blotches at three scales, tile lines and a shelf edge, tinted."""
    import cv2

    w, h = size
    grey = np.full((h, w), 128.0, np.float32)
    for cells, amplitude in ((4, 35.0), (12, 18.0), (40, 8.0)):
        small = rng.normal(0.0, amplitude, (max(2, cells * h // w), cells)).astype(np.float32)
        grey += cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    floor = int(h * 0.72)
    grey[floor:] *= 0.8
    step = max(4, w // 12)
    grey[floor:, ::step] -= 25  # tile joints
    grey[floor : floor + 2] -= 40  # the skirting
    shelf = int(h * 0.3)
    grey[shelf : shelf + max(2, h // 60), w // 10 : w // 2] += 50
    tint = rng.uniform(0.85, 1.15, 3).astype(np.float32)
    rgb: np.ndarray = np.clip(grey[..., None] * tint, 20, 235).astype(np.uint8)
    return rgb


def draw_person(canvas: np.ndarray, walker: Walker, x: float, t: float, frame_h: int) -> None:
    """An upright figure with its feet on the floor (nearer, taller people stand lower in the frame)."""
    import cv2 as cv

    h_px = walker.height * frame_h
    feet = frame_h * (0.62 + 0.4 * walker.height)
    feet = min(feet, frame_h - 1.0)
    top = feet - h_px
    head_r = max(2, int(h_px * 0.08))
    body_w = max(3, int(h_px * 0.22))
    sway = 0.0
    phase = 0.0
    if walker.standing(t, canvas.shape[1]):
        sway = math.sin(t * 1.3) * 0.01 * h_px
    else:
        phase = math.sin(t * 2 * math.pi * 1.6) * 0.25  # a stride and a half per second
    cx = int(round(x + sway))
    colour = tuple(int(c) for c in walker.colour)
    skin = tuple(int(c) for c in walker.skin)
    head_y = int(top + head_r)
    cv.circle(canvas, (cx, head_y), head_r, skin, -1, cv.LINE_AA)
    shoulders, hips = int(top + 2.2 * head_r), int(top + h_px * 0.55)
    cv.ellipse(
        canvas,
        (cx, (shoulders + hips) // 2),
        (body_w // 2, max(2, (hips - shoulders) // 2 + 1)),
        0,
        0,
        360,
        colour,
        -1,
        cv.LINE_AA,
    )
    leg_w = max(2, body_w // 3)
    legs = tuple(max(0, int(c * 0.5)) for c in colour)  # trousers darker than the top
    for side in (-1, 1):
        foot_x = int(cx + side * phase * h_px * 0.45 + side * body_w * 0.15)
        cv.line(canvas, (cx + side * body_w // 5, hips), (foot_x, int(feet)), legs, leg_w, cv.LINE_AA)


def random_scene(
    seed: int,
    *,
    people: int,
    stoppers: int,
    stop_s: tuple[float, float] = (5.0, 20.0),
    overlaps: int = 0,
    gap_s: float = 6.0,
    noise: float = 3.0,
) -> Scene:
    """``people`` walkers, ``stoppers`` of them (shuffled in time) standing ``stop_s`` (from, to) seconds,
    entering about every ``gap_s`` seconds; ``overlaps`` of them enter together with the one before (crossing
    it from the other side or walking beside it), so their outlines meet."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(people)
    walkers: list[Walker] = []
    t = WARM_UP_S  # the background model learns the empty scene first, as after the cabinet starts
    for i in range(people):
        stops = order[i] < stoppers
        together = 0 < i and i <= overlaps and not stops and not walkers[-1].stop_s
        if together:
            before = walkers[-1]
            enter = before.enter_s + rng.uniform(0.0, 0.8)
            from_left = bool(rng.integers(2)) if rng.random() < 0.5 else not before.from_left
        else:
            enter = t
            from_left = bool(rng.integers(2))
        walker = Walker(
            enter_s=enter,
            from_left=from_left,
            speed=float(rng.uniform(0.15, 0.5)),
            height=float(rng.uniform(0.45, 0.85)),
            colour=tuple(int(c) for c in rng.integers(0, 256, 3)),  # type: ignore[arg-type]
            skin=tuple(int(c) for c in rng.integers(90, 230) * np.array([1.0, 0.8, 0.65])),  # type: ignore[arg-type]
            stop_at=float(rng.uniform(0.35, 0.65)),
            stop_s=float(rng.uniform(*stop_s)) if stops else 0.0,
        )
        walkers.append(walker)
        t = max(t, walker.leaves_s() - rng.uniform(0.0, 2.0)) + rng.uniform(0.5, gap_s)
    duration = max(w.leaves_s() for w in walkers) + 2.0
    return Scene(tuple(walkers), duration, seed=seed, noise=noise)
