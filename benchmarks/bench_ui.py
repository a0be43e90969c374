"""Touchscreen frame times, headless (SDL dummy driver), at 1024x600 and 1920x1080.

    python benchmarks/bench_ui.py [--frames 1000] [--json PATH] [--sizes 1024x600,1920x1080]

Three scenes, each measured over ``--frames`` drawn frames with the loop paced
at 60 Hz like the cabinet's (a frame = one KioskUi.step() that drew something:
events handled, widgets drawn, display updated):

- attract_video: the demo video ad playing (decoded on its own thread);
- carousel_swipe: a finger swiping the catalog left and right, then the cards coasting;
- spin_360: a finger turning the 360° view back and forth, then coasting.

Proof that no frame touches the disk: during the measured frames, asset loads
on the frame loop's thread (kiosk_ui.assets.note_load: images, videos, fonts)
and Python file opens on that thread (an audit hook on "open") are counted;
both must be 0. The video decoder's own reads are on its thread, as designed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "dummy"
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pygame  # noqa: E402

from kiosk_ui import assets  # noqa: E402
from kiosk_ui.app import KioskUi  # noqa: E402
from kiosk_ui.samples import ADS, PRODUCTS, sample_views  # noqa: E402
from kiosk_ui.view import AttractScreen, CatalogScreen, Chrome  # noqa: E402

PERIOD = 1 / 60
GOAL_MEDIAN_MS, GOAL_P99_MS = 4.0, 12.0

_opens = {"counting": False, "count": 0}
_main = threading.get_ident()


def _audit(event: str, args: tuple) -> None:
    if event == "open" and _opens["counting"] and threading.get_ident() == _main:
        _opens["count"] += 1


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Finger:
    """Posts the mouse events of a finger, the way SDL reports a touchscreen."""

    def __init__(self) -> None:
        self.down_at: tuple[int, int] | None = None

    def down(self, pos: tuple[int, int]) -> None:
        self.down_at = pos
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1, touch=True, t=time.monotonic()))

    def move(self, pos: tuple[int, int]) -> None:
        pygame.event.post(
            pygame.event.Event(
                pygame.MOUSEMOTION, pos=pos, rel=(0, 0), buttons=(1, 0, 0), touch=True, t=time.monotonic()
            )
        )

    def up(self, pos: tuple[int, int]) -> None:
        self.down_at = None
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pos, button=1, touch=True, t=time.monotonic()))


def swiping(rect: tuple[int, int, int, int], drag_frames: int, coast_frames: int) -> Callable[[int], None]:
    """A script: drag across rect (alternating directions, a quick flick) then let it coast."""
    finger = Finger()
    x, y, w, h = rect
    cy = y + h // 2
    cycle = drag_frames + coast_frames

    def act(i: int) -> None:
        k, phase = divmod(i, cycle)
        left_to_right = k % 2 == 1
        a, b = (x + w // 6, x + w * 5 // 6) if left_to_right else (x + w * 5 // 6, x + w // 6)
        if phase == 0:
            finger.down((a, cy))
        elif phase < drag_frames:
            f = phase / drag_frames
            finger.move((round(a + (b - a) * f), cy + round(6 * math.sin(f * math.pi))))
        elif phase == drag_frames:
            finger.up((b, cy))

    return act


def measure(ui: KioskUi, frames: int, act: Callable[[int], None] | None) -> dict:
    times: list[float] = []
    loads_before = assets.loads_on_thread()
    _opens["count"], _opens["counting"] = 0, True
    i = 0
    next_tick = time.monotonic()
    try:
        while len(times) < frames and i < frames * 20:
            if act is not None:
                act(i)
            began = time.perf_counter()
            drew = ui.step()
            elapsed = time.perf_counter() - began
            if drew:
                times.append(elapsed * 1000)
            i += 1
            next_tick += PERIOD
            time.sleep(max(0.0, next_tick - time.monotonic()))
    finally:
        _opens["counting"] = False
    return {
        "frames": len(times),
        "loop_steps": i,
        "median_ms": round(statistics.median(times), 3),
        "p99_ms": round(percentile(times, 0.99), 3),
        "max_ms": round(max(times), 3),
        "asset_loads": assets.loads_on_thread() - loads_before,
        "file_opens": _opens["count"],
    }


def scene(ui: KioskUi, name: str) -> Callable[[int], None] | None:
    en = sample_views("en")
    if name == "attract_video":
        long_ad = ADS[0].__class__(ADS[0].id, "video", ADS[0].path, 3600.0)  # keeps playing (looping)
        ui.set_state(AttractScreen(chrome=Chrome(cabinet_id="CAB-0042"), products=PRODUCTS, ads=(long_ad,)))
        ui.settle()
        return None
    if name == "carousel_swipe":
        ui.set_state(CatalogScreen(chrome=Chrome(cabinet_id="CAB-0042"), products=PRODUCTS * 4))
        ui.settle()
        rect = next(w.rect for w in ui.widgets() if w.id == "carousel")
        return swiping(rect, drag_frames=10, coast_frames=40)
    if name == "spin_360":
        ui.set_state(en["product"])
        ui.settle()
        rect = next(w.rect for w in ui.widgets() if w.id == "spinner")
        return swiping(rect, drag_frames=30, coast_frames=30)
    raise ValueError(f"unknown scene {name!r}")


SCENES = ("attract_video", "carousel_swipe", "spin_360")


def run(sizes: list[tuple[int, int]], frames: int) -> list[dict]:
    sys.addaudithook(_audit)
    rows = []
    for size in sizes:
        ui = KioskUi(size, on_intent=lambda intent: None, fps=60)
        ui.start()
        try:
            for name in SCENES:
                act = scene(ui, name)
                measure(ui, 60, act)  # warm-up: caches, first decoded frames
                result = measure(ui, frames, act)
                rows.append({"size": f"{size[0]}x{size[1]}", "scene": name, **result})
                print(f"  {rows[-1]}", file=sys.stderr, flush=True)
        finally:
            ui.close()
    return rows


def parse_sizes(text: str) -> list[tuple[int, int]]:
    try:
        return [tuple(int(v) for v in part.lower().split("x")) for part in text.split(",")]  # type: ignore[misc]
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes look like 1024x600,1920x1080; got {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--sizes", type=parse_sizes, default=[(1024, 600), (1920, 1080)])
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    rows = run(args.sizes, args.frames)
    print("| size | scene | frames | median ms | p99 ms | max ms | asset loads | file opens |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['size']} | {r['scene']} | {r['frames']} | {r['median_ms']} | {r['p99_ms']} | {r['max_ms']} "
            f"| {r['asset_loads']} | {r['file_opens']} |"
        )
    ok = all(
        r["median_ms"] < GOAL_MEDIAN_MS
        and r["p99_ms"] < GOAL_P99_MS
        and r["asset_loads"] == 0
        and r["file_opens"] == 0
        and r["frames"] == args.frames
        for r in rows
    )
    result = {
        "goal": {"median_ms": GOAL_MEDIAN_MS, "p99_ms": GOAL_P99_MS, "asset_loads": 0, "file_opens": 0},
        "met": ok,
        "results": rows,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
