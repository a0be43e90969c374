"""Footfall counter: accuracy on generated scenes with a known number of people, and its cost per frame.

    taskset -c 0 python benchmarks/bench_footfall.py [--scenes N] [--fps F] [--json PATH]

Scenes come from ``hal/sim/footfall_scene.py`` (drawn from a seed: textured background, drifting light, upright
figures of random size, colour and speed crossing the view, some standing 5-20 s, some entering together so that
their outlines overlap, sensor noise), rendered at 640x480 (the camera's frame) and fed at ``--fps``. Compared:
- ``mog2``: the cabinet's counter (background subtraction, blobs, tracks);
- ``diff``: the same tracker on frame differencing (cheaper; sees motion only);
OpenCV's HOG person detector (to confirm tracks) is not compared: OpenCV 5, the cabinet's, no longer has
``HOGDescriptor`` in its main modules, and at 64x128 pixels a window it could not see a person in a 160x120 frame.
Each at a 160x120 and a 320x240 working size. Accuracy: counted against true passers-by and stoppers over all
scenes (error % of the total, and the mean absolute error per scene). Cost: the time of ``feed`` alone (the 640x480
RGB frame in: grey, shrink, model, blobs, tracks) as CPU time of the thread (so that a busy shared machine's waits
do not count, though its cache misses do), mean and p99, on one core (the process pins itself to CPU 0,
as ``taskset -c 0`` does, and OpenCV to one thread); CPU % at the configured fps here, and on a Raspberry Pi 4
assumed ``PI_SLOWER`` times slower per core than this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import typing
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hal.footfall import FootfallCounter, FootfallSettings, Method  # noqa: E402
from hal.sim.footfall_scene import Scene, random_scene  # noqa: E402

PI_SLOWER = 3.5  # a Pi 4's Cortex-A72 core at 1.5 GHz against this machine's Xeon core: about 3-4x (assumed)
SOURCE = (640, 480)
DWELL_S = 3.0


@dataclass
class Result:
    method: str
    size: str
    true_passers: int
    counted_passers: int
    true_stoppers: int
    counted_stoppers: int
    passer_error_pct: float
    stopper_error_pct: float
    mean_abs_passer_error: float  # per scene
    mean_abs_stopper_error: float
    frames: int
    mean_ms: float
    p99_ms: float
    cpu_pct_here: float  # at the fps, one core of this machine
    cpu_pct_pi4: float  # the same, PI_SLOWER times slower


def counter_for(method: Method, size: tuple[int, int], fps: float) -> FootfallCounter:
    return FootfallCounter(FootfallSettings(size=size, stop_s=DWELL_S, method=method), fps=fps)


def measure(method: Method, size: tuple[int, int], scenes: list[Scene], fps: float) -> Result:
    times: list[float] = []
    per_scene: list[tuple[int, int, int, int]] = []
    for scene in scenes:
        counter = counter_for(method, size, fps)
        for t, frame in scene.frames(SOURCE, fps):
            t0 = time.thread_time()
            counter.feed(frame, t)
            times.append((time.thread_time() - t0) * 1000)
        per_scene.append((scene.passers(), counter.total.passers, scene.stoppers(DWELL_S), counter.total.stoppers))
    tp, cp, ts, cs = (sum(col) for col in zip(*per_scene, strict=True))
    mean = statistics.fmean(times)
    return Result(
        method=method,
        size=f"{size[0]}x{size[1]}",
        true_passers=tp,
        counted_passers=cp,
        true_stoppers=ts,
        counted_stoppers=cs,
        passer_error_pct=round(100 * (cp - tp) / tp, 1),
        stopper_error_pct=round(100 * (cs - ts) / ts, 1) if ts else 0.0,
        mean_abs_passer_error=round(statistics.fmean(abs(c - t) for t, c, _, _ in per_scene), 2),
        mean_abs_stopper_error=round(statistics.fmean(abs(c - t) for _, _, t, c in per_scene), 2),
        frames=len(times),
        mean_ms=round(mean, 3),
        p99_ms=round(float(np.percentile(times, 99)), 3),
        cpu_pct_here=round(mean * fps / 10, 2),
        cpu_pct_pi4=round(mean * fps / 10 * PI_SLOWER, 2),
    )


def table(results: list[Result], fps: float) -> str:
    lines = [
        f"| method | size | passers true / counted (error) | stoppers true / counted (error) "
        f"| mean abs error per scene (passers, stoppers) | ms/frame mean | p99 | CPU % at {fps:g} fps here | Pi 4 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.method} | {r.size} | {r.true_passers} / {r.counted_passers} ({r.passer_error_pct:+.1f} %) "
            f"| {r.true_stoppers} / {r.counted_stoppers} ({r.stopper_error_pct:+.1f} %) "
            f"| {r.mean_abs_passer_error}, {r.mean_abs_stopper_error} | {r.mean_ms:.2f} | {r.p99_ms:.2f} "
            f"| {r.cpu_pct_here:.1f} | {r.cpu_pct_pi4:.1f} |"
        )
    return "\n".join(lines)


def scenes_for(count: int) -> list[Scene]:
    """``count`` scenes of 10 people each, 3 of them stopping, 2 entering with another; every third scene with
    twice the sensor noise."""
    return [
        random_scene(seed, people=10, stoppers=3, overlaps=2, noise=6.0 if seed % 3 == 2 else 3.0)
        for seed in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="Footfall counter: accuracy and cost per frame.")
    parser.add_argument("--scenes", type=int, default=6)
    parser.add_argument("--fps", type=float, default=4.0)
    parser.add_argument("--methods", default="mog2,diff")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})  # one core, as taskset -c 0
    import cv2

    cv2.setNumThreads(1)
    scenes = scenes_for(args.scenes)
    results = [
        measure(method, size, scenes, args.fps)
        for method in typing.cast(list[Method], args.methods.split(","))
        for size in ((160, 120), (320, 240))
    ]
    print(table(results, args.fps))
    report = {
        "machine": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "opencv": cv2.__version__,
        "fps": args.fps,
        "dwell_s": DWELL_S,
        "source": f"{SOURCE[0]}x{SOURCE[1]}",
        "pi4_slower_assumed": PI_SLOWER,
        "scenes": len(scenes),
        "scene_seconds": round(sum(s.duration_s for s in scenes), 1),
        "results": [asdict(r) for r in results],
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
