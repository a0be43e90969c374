"""A deterministic corpus of 640x480 camera frames for comparing QR decoders.

Each frame is a cluttered scene (shapes, text, a checkerboard now and then,
which looks like finder patterns to a careless detector) with one QR code
placed under one kind of difficulty, or with no code at all to count false
positives. The same seed gives the same frames, byte for byte.

    python benchmarks/qr_corpus.py --out /tmp/corpus   # write the frames as PNG to look at
"""

from __future__ import annotations

import argparse
import math
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from hal.sim.scene import add_sensor_noise, code_quad, paint_code, qr_modules

SIZE = (640, 480)
CATEGORIES = ("clean", "rotated", "blur", "noise", "low_contrast", "small", "perspective", "empty")


@dataclass(frozen=True)
class Sample:
    category: str
    index: int
    frame: np.ndarray  # (480, 640, 3) uint8 RGB
    text: str | None  # what the code says; None for a frame with no code


def _payload(r: np.random.Generator) -> str:
    """Texts the cabinet really reads: store links, pickup codes, frame numbers."""
    token = "".join(r.choice(list(string.ascii_uppercase + string.digits), int(r.integers(6, 13))))
    kind = int(r.integers(0, 3))
    if kind == 0:
        return f"https://shop.example/p/{token}?cab=C-{int(r.integers(1, 9999)):04d}"
    if kind == 1:
        return f"PICKUP:{token[:4]}-{token[4:]}"
    return f"VIN:{token}{int(r.integers(10**5, 10**6))}"


def _clutter(r: np.random.Generator) -> np.ndarray:
    w, h = SIZE
    top, bottom = r.integers(60, 200, 3), r.integers(60, 200, 3)
    ramp = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    scene = (top * (1 - ramp) + bottom * ramp).repeat(w, axis=1).astype(np.uint8)
    for _ in range(int(r.integers(8, 20))):
        colour = tuple(int(c) for c in r.integers(0, 256, 3))
        x, y = int(r.integers(0, w)), int(r.integers(0, h))
        shape = int(r.integers(0, 4))
        if shape == 0:
            cv2.rectangle(scene, (x, y), (x + int(r.integers(10, 160)), y + int(r.integers(10, 120))), colour, -1)
        elif shape == 1:
            cv2.circle(scene, (x, y), int(r.integers(5, 70)), colour, int(r.choice([-1, 2, 4])), cv2.LINE_AA)
        elif shape == 2:
            cv2.line(scene, (x, y), (int(r.integers(0, w)), int(r.integers(0, h))), colour, int(r.integers(1, 6)))
        else:
            cv2.putText(
                scene,
                "".join(r.choice(list(string.ascii_letters), 8)),
                (x, y),
                cv2.FONT_HERSHEY_SIMPLEX,
                float(r.uniform(0.5, 1.5)),
                colour,
                2,
                cv2.LINE_AA,
            )
    if r.random() < 0.4:
        cell, n = int(r.integers(6, 16)), int(r.integers(4, 9))
        board = (np.indices((n * cell, n * cell)) // cell).sum(axis=0) % 2 * 255
        x, y = int(r.integers(0, w - n * cell)), int(r.integers(0, h - n * cell))
        scene[y : y + n * cell, x : x + n * cell] = board[..., None].astype(np.uint8)
    return scene


def _with_code(r: np.random.Generator, category: str, scene: np.ndarray, text: str) -> np.ndarray:
    w, h = SIZE
    modules = qr_modules(text)
    n = modules.shape[0]
    module_px = {"small": r.uniform(1.7, 2.3)}.get(category, r.uniform(3.0, 5.0))
    side = min(n * module_px, 0.85 * h)
    margin = side * 0.75
    center = (r.uniform(margin, w - margin), r.uniform(margin, h - margin))
    angle = r.uniform(20, 340) if category == "rotated" else r.uniform(-6, 6)
    tilt = (
        (r.uniform(0.18, 0.3) * r.choice([-1, 1]), r.uniform(0.1, 0.25) * r.choice([-1, 1]))
        if category == "perspective"
        else (r.uniform(-0.03, 0.03), r.uniform(-0.03, 0.03))
    )
    dark, light = (int(r.integers(90, 115)), int(r.integers(140, 165))) if category == "low_contrast" else (20, 235)
    frame = paint_code(scene, modules, code_quad(center, side, angle, tilt), dark, light)
    if category == "blur":
        sigma = r.uniform(1.3, 2.2)
        frame = cv2.GaussianBlur(frame, (0, 0), sigma)
    elif category == "noise":
        frame = add_sensor_noise(frame, r.uniform(18, 30), r)
    return frame


def generate(frames: int = 240, seed: int = 7) -> Iterator[Sample]:
    """``frames`` samples spread evenly over CATEGORIES, in a fixed order."""
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    per = math.ceil(frames / len(CATEGORIES))
    made = 0
    for index in range(per):
        for category in CATEGORIES:
            if made == frames:
                return
            # One generator per sample: a sample does not change when another does.
            r = np.random.default_rng([seed, CATEGORIES.index(category), index])
            scene = _clutter(r)
            text = None if category == "empty" else _payload(r)
            frame = scene if text is None else _with_code(r, category, scene, text)
            # Every camera has some read noise.
            frame = add_sensor_noise(frame, 2.0, r)
            yield Sample(category, index, frame, text)
            made += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=240)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True, help="folder to write the frames to as PNG")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for s in generate(args.frames, args.seed):
        cv2.imwrite(str(args.out / f"{s.category}-{s.index:03d}.png"), cv2.cvtColor(s.frame, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.frames} frames to {args.out}")


if __name__ == "__main__":
    main()
