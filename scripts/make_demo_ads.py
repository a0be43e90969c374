#!/usr/bin/env python3
"""Regenerate the demo ads in kiosk_ui/assets/ads/: posters (PNG) and a short video (MP4).

They stand in for a retailer's ads in simulation, screenshots and the UI
benchmark. The simulation's posters (volt-s1, cruiser-c7) advertise its default
products and name no price: the price on the screen is the catalog's. Drawn with
the UI's own vehicle illustrations and bundled font, kept small (well under 300 KB together):

    .venv/bin/python scripts/make_demo_ads.py
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pygame  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk_ui.illustration import vehicle_drawing  # noqa: E402
from kiosk_ui.theme import FONT_FILES  # noqa: E402

OUT_DIR = ROOT / "kiosk_ui" / "assets" / "ads"
SIZE = (960, 480)  # 2:1, the shape of the attract screen's ad area
VIDEO_SIZE = (480, 240)
VIDEO_FPS = 25
VIDEO_SECONDS = 4


def gradient(size: tuple[int, int], top: tuple[int, int, int], bottom: tuple[int, int, int]) -> pygame.Surface:
    w, h = size
    t = np.linspace(0, 1, h)[None, :, None]
    pixels = (np.array(top) * (1 - t) + np.array(bottom) * t).astype(np.uint8)
    return pygame.surfarray.make_surface(np.repeat(pixels, w, axis=0))


def text(
    surface: pygame.Surface,
    words: str,
    size: int,
    colour: tuple[int, int, int],
    pos: tuple[int, int],
    bold: bool = True,
) -> None:
    font = pygame.font.Font(FONT_FILES["bold" if bold else "regular"], size)
    surface.blit(font.render(words, True, colour), pos)


def poster(kind: str, colour: tuple[int, int, int], headline: str, line: str, pill_text: str) -> pygame.Surface:
    w, h = SIZE
    surface = gradient(SIZE, (16, 22, 34), (6, 8, 12))
    pygame.draw.circle(surface, tuple(c // 4 for c in colour), (int(w * 0.72), int(h * 0.52)), int(h * 0.46))
    art = vehicle_drawing(kind, colour, (int(w * 0.55), int(h * 0.8)))
    surface.blit(art, art.get_rect(center=(int(w * 0.72), int(h * 0.52))))
    text(surface, headline, 54, (245, 247, 250), (48, 110))
    text(surface, line, 26, (170, 180, 194), (50, 186), bold=False)
    width = pygame.font.Font(FONT_FILES["bold"], 30).size(pill_text)[0]
    pill = pygame.Rect(48, 260, width + 56, 64)
    pygame.draw.rect(surface, colour, pill, border_radius=32)
    text(surface, pill_text, 30, (8, 22, 16), (pill.x + 28, pill.y + 10))
    return surface


def video(path: Path) -> None:
    w, h = VIDEO_SIZE
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), VIDEO_FPS, VIDEO_SIZE)
    if not writer.isOpened():
        raise SystemExit("OpenCV cannot write MP4 (mp4v) here")
    background = gradient(VIDEO_SIZE, (10, 30, 26), (4, 8, 10))
    scooter = vehicle_drawing("scooter", (46, 222, 160), (int(w * 0.5), int(h * 0.62)))
    frames = VIDEO_FPS * VIDEO_SECONDS
    for i in range(frames):
        t = i / frames
        frame = background.copy()
        x = int(-scooter.get_width() + (w + scooter.get_width()) * (0.15 + 0.7 * t))
        for k in range(6):  # speed lines behind the scooter
            y = int(h * (0.45 + 0.06 * k))
            pygame.draw.line(frame, (30, 90, 72), (x - 40 - 30 * k, y), (x + 20, y), 3)
        frame.blit(scooter, (x, int(h * 0.3)))
        glow = int(127 + 127 * math.sin(2 * math.pi * t * 2))
        text(frame, "Ride electric", 34, (245, 247, 250), (20, 16))
        text(frame, "Touch the screen to start", 16, (glow, 230, 190), (22, 62), bold=False)
        rgb = pygame.surfarray.array3d(frame).transpose(1, 0, 2)
        writer.write(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
    writer.release()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    pygame.display.init()
    pygame.font.init()
    args.out.mkdir(parents=True, exist_ok=True)
    posters = {
        "city-cruiser.png": poster(
            "bike", (240, 160, 48), "City Cruiser 7", "90 km on one charge. Seven gears.", "€2,499"
        ),
        "urban-glide.png": poster("scooter", (46, 222, 160), "Urban Glide S2", "Folds in 3 s. Rides 45 km.", "€1,299"),
        "volt-s1.png": poster(
            "scooter", (31, 138, 112), "Volt S1 e-scooter", "Folds in seconds. Rides 35 km.", "Touch to see it"
        ),
        "cruiser-c7.png": poster(
            "bike", (211, 84, 0), "Cruiser C7 e-bike", "80 km on one charge. 7 gears.", "Touch to see it"
        ),
    }
    for name, surface in posters.items():
        path = args.out / name
        pygame.image.save(surface, str(path))
        print(f"{path}: {path.stat().st_size} bytes")
    path = args.out / "ride-electric.mp4"
    video(path)
    print(f"{path}: {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
