"""The cabinet's footprint against a Raspberry Pi's budget, measured on real processes.

    python benchmarks/bench_footprint.py [--sales 50,200] [--starts 7] [--idle-s 60] [--no-camera] [--json PATH]

The cabinet alone: `kiosk run --sim --headless --cloud URL` syncing to a separate `kiosk-cloud serve`
that holds the demo configuration (catalog and its poster ads: images, no video), so none of the cloud's
memory or writes count; the simulation's camera takes the door snapshots (--no-camera: none).
- resident memory (VmRSS) after 0 sales and after each count in --sales (card sales driven through
  the control API as in bench_cabinet.py, the outbox drained before each reading), and how much of it is
  mapped files (shared libraries' pages: /proc/PID/smaps_rollup, resident minus anonymous);
- bytes it writes (/proc/PID/io write_bytes: what reaches the block layer; here that includes its log,
  which on a Pi goes to journald instead) per minute idle on the attract screen with ads playing, and
  per sale;
- cold start on one core (`taskset -c 0`): process spawn to the cabinet's `ready` log line, written
  once the first attract frame is drawn; median of --starts starts on a provisioned data dir.
Goals (issue 13): at most 80 MB resident after 200 sales; cold start under 1.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.sim_rig import SKUS, SimCabinet, first_attract_frame, sell, start_with_cloud  # noqa: E402
from firmware.control_client import ControlClient, _bin  # noqa: E402

GOALS = {"rss_mb_after_200_sales": 80.0, "cold_start_s": 1.5}
CABINET_ID = "footprint-1"


def proc_field(pid: int, name: str, field: str) -> int:
    """One number from /proc/PID/<name> ("status": kB values, "io": bytes)."""
    match = re.search(rf"^{field}:\s+(\d+)", Path(f"/proc/{pid}/{name}").read_text(), re.M)
    if match is None:
        raise RuntimeError(f"/proc/{pid}/{name} has no {field}")
    return int(match.group(1))


def rss_mb(pid: int) -> float:
    return proc_field(pid, "status", "VmRSS") / 1024


def file_backed_mb(pid: int) -> float:
    return (proc_field(pid, "smaps_rollup", "Rss") - proc_field(pid, "smaps_rollup", "Anonymous")) / 1024


def written(pid: int) -> int:
    return proc_field(pid, "io", "write_bytes")


def settle(client: ControlClient) -> None:
    client.wait_for(lambda s: s["outbox"]["pending"] == 0, timeout=60, what="outbox drained")


def narrations_made(client: ControlClient) -> None:
    """The products' narrations are spoken once when the configuration arrives (espeak-ng, cached on disk,
    about 0.9 MB of WAV for the demo): the idle minute is measured after that, not with it. The library is
    filled at once when all are made."""
    try:
        client.wait_for(lambda s: bool(s["narration"]["ready"]), timeout=60, what="narrations")
    except TimeoutError:
        print("bench_footprint: narrations not all made (no espeak-ng?); measuring anyway", file=sys.stderr)


def run_sales(rig: SimCabinet, marks: list[int], idle_s: float) -> dict[str, Any]:
    client, pid = rig.client, rig.pid
    narrations_made(client)
    settle(client)
    rss, files = {0: rss_mb(pid)}, {0: file_backed_mb(pid)}
    before = written(pid)
    time.sleep(idle_s)  # the attract screen with the demo ads, as a cabinet spends most of its day
    idle_bytes = written(pid) - before
    done, sale_bytes, sale_count = 0, 0, 0
    for mark in marks:
        before = written(pid)
        while done < mark:
            sell(client, SKUS[done % 2])
            done += 1
        settle(client)
        sale_bytes += written(pid) - before
        sale_count = done
        rss[mark], files[mark] = rss_mb(pid), file_backed_mb(pid)
    return {
        "rss_mb": rss,
        "rss_file_backed_mb": files,
        "peak_rss_mb": proc_field(pid, "status", "VmHWM") / 1024,
        "idle_bytes_per_minute": idle_bytes * 60 / idle_s,
        "bytes_per_sale": sale_bytes / sale_count if sale_count else None,
    }


def cold_starts(rig: SimCabinet, runs: int) -> tuple[list[float], list[float]]:
    """Seconds from spawning `kiosk run` on CPU 0 alone to its `ready` line (first attract frame drawn), and
    the CPU seconds it used by then (on a machine shared with other work the wall time varies with the load;
    the CPU time much less). The data dir is the one the sales run provisioned: a cabinet restarting, its
    store and ads in place (the cabinet of the sales run stopped first)."""
    workdir = rig.workdir
    argv = ["taskset", "-c", "0", *_bin("kiosk"), "run", "--sim", "--headless", "--config", str(workdir / "kiosk.toml")]
    assert rig.cloud_url is not None
    argv += ["--data-dir", str(workdir / "data"), "--cloud", rig.cloud_url, "--control-port", "0"]
    times, cpu = [], []
    for _ in range(runs):
        wall, used = first_attract_frame(argv)
        times.append(wall)
        cpu.append(used)
    return times, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sales", default="50,200", help="RSS after these many sales (ascending, comma-separated)")
    parser.add_argument("--starts", type=int, default=7)
    parser.add_argument("--idle-s", type=float, default=60.0, help="seconds idle on the attract screen")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    parser.add_argument(
        "--no-camera", action="store_true", help="a cabinet without a camera (no door snapshots: no numpy)"
    )
    args = parser.parse_args()
    marks = sorted(int(n) for n in args.sales.split(","))
    options = [f"--sales {args.sales}", f"--starts {args.starts}", f"--idle-s {args.idle_s:g}"]
    options += ["--no-camera"] if args.no_camera else []

    extra = "[screen]\nthanks_s = 60.0\n" + ("" if not args.no_camera else '[camera]\nbackend = "none"\n')
    with tempfile.TemporaryDirectory() as tmp:
        rig = start_with_cloud(Path(tmp), CABINET_ID, extra, stock=999)
        try:
            run = run_sales(rig, marks, args.idle_s)
            rig.cabinet.stop()
            starts, cpu = cold_starts(rig, args.starts)
        finally:
            rig.stop()
    cold = {
        "median": statistics.median(starts),
        "min": min(starts),
        "max": max(starts),
        "runs": len(starts),
        "cpu_s_median": statistics.median(cpu),
        "load_average_1min": os.getloadavg()[0],
    }
    results = {**run, "cold_start_one_core_s": cold}
    rows = [
        (f"RSS after {n} sales (MB; of it mapped files)", f"{mb:.1f} ({run['rss_file_backed_mb'][n]:.1f})", "")
        for n, mb in run["rss_mb"].items()
    ]
    rows.append(("peak RSS (MB)", f"{run['peak_rss_mb']:.1f}", ""))
    rows[-2] = (*rows[-2][:2], f"<= {GOALS['rss_mb_after_200_sales']:.0f} at 200")
    rows.append(("written idle, attract with ads (KB/min)", f"{run['idle_bytes_per_minute'] / 1024:.1f}", ""))
    if run["bytes_per_sale"] is not None:
        rows.append(("written per sale (KB)", f"{run['bytes_per_sale'] / 1024:.1f}", ""))
    rows.append(
        (
            f"cold start, taskset -c 0, median of {len(starts)} (s)",
            f"{cold['median']:.3f} (min {cold['min']:.3f}, max {cold['max']:.3f})",
            f"< {GOALS['cold_start_s']}",
        )
    )
    rows.append(("  CPU time by then, median (s)", f"{cold['cpu_s_median']:.3f}", ""))
    rows.append(("  load average of the machine (1 min)", f"{cold['load_average_1min']:.1f}", ""))
    header = ("measure", "value", "goal")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    document = {
        "benchmark": "footprint",
        "machine": platform.machine(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "command": " ".join(["python", "benchmarks/bench_footprint.py", *options]),
        "camera": not args.no_camera,
        "results": results,
        "goals": GOALS,
    }
    print(json.dumps(document, indent=2))
    if args.json:
        args.json.write_text(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
