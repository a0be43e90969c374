"""The walking cabinet's own figures, measured on real processes.

    python benchmarks/bench_cabinet.py [--starts N] [--sales N] [--json PATH]

- cold start: process start to the attract screen rendered, headless (median of N fresh starts);
- approval to relay energized, including the durable (synchronous=FULL) commit, over N sales
  driven through the control API exactly as a shopper and the bench would;
- resident memory of `kiosk run --sim --headless` after those sales;
- tap to the next screen's first frame through the control API (catalog <-> help), median and p99.
Goals from the issues: cold start under 1.5 s, p99 approval->relay under 20 ms, RSS under 150 MB,
tap to next screen median under one frame time (1/fps) plus 5 ms.
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

from benchmarks.sim_rig import SKUS, first_attract_frame, percentile, products_toml, sell, start_alone, tap_latencies  # noqa: E402
from firmware.control_client import _bin  # noqa: E402

GOALS = {"cold_start_s": 1.5, "approval_to_relay_p99_ms": 20.0, "rss_mb": 150.0}


def cold_start(runs: int) -> list[float]:
    """Seconds from spawning the process to its 'ready' line (first frame of attract drawn), each on a fresh
    data dir."""
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            argv = [*_bin("kiosk"), "run", "--sim", "--headless", "--data-dir", tmp, "--control-port", "0"]
            times.append(first_attract_frame(argv)[0])
    return times


def sales(count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        rig = start_alone(workdir, "[screen]\nthanks_s = 60.0\n" + products_toml(count))
        try:
            t0 = time.monotonic()
            for i in range(count):
                sell(rig.client, SKUS[(i + 1) % 2])
            elapsed = time.monotonic() - t0
            taps = tap_latencies(rig.client, 100)
            rig.client.wait_for(lambda s: s["outbox"]["pending"] == 0, timeout=60, what="outbox drained")
            status = Path(f"/proc/{rig.pid}/status").read_text()
        finally:
            rig.stop()
        log = (workdir / "kiosk.log").read_text()
    rss_kb = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    hwm_kb = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    relay_ms = [float(m) for m in re.findall(r'msg="approval to relay" sale_id=\S+ ms=([\d.]+)', log)]
    if len(relay_ms) != count:
        raise RuntimeError(f"expected {count} approval-to-relay figures in the log, found {len(relay_ms)}")
    return {
        "sales": count,
        "seconds": round(elapsed, 2),
        "relay_ms": relay_ms,
        "tap_ms": taps,
        "rss_mb": rss_kb / 1024,
        "peak_rss_mb": hwm_kb / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--sales", type=int, default=200)
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args()

    starts = cold_start(args.starts)
    run = sales(args.sales)
    relay = run["relay_ms"]
    results = {
        "cold_start_s": {
            "median": statistics.median(starts),
            "min": min(starts),
            "max": max(starts),
            "runs": len(starts),
        },
        "approval_to_relay_ms": {
            "median": statistics.median(relay),
            "p99": percentile(relay, 99),
            "max": max(relay),
            "sales": len(relay),
        },
        "rss_mb_after_sales": {"rss": run["rss_mb"], "peak": run["peak_rss_mb"], "sales": run["sales"]},
        "sales_per_second_through_control_api": run["sales"] / run["seconds"],
        "tap_to_next_screen_ms": {
            "median": statistics.median(run["tap_ms"]),
            "p99": percentile(run["tap_ms"], 99),
            "taps": len(run["tap_ms"]),
            "frame_ms": 1000 / 30,
        },
    }
    rows = [
        (
            "cold start to attract (s)",
            f"{results['cold_start_s']['median']:.3f}",
            f"min {min(starts):.3f} / max {max(starts):.3f}",
            f"< {GOALS['cold_start_s']}",
        ),
        ("approval -> relay, median (ms)", f"{statistics.median(relay):.2f}", f"{len(relay)} sales", ""),
        (
            "approval -> relay, p99 (ms)",
            f"{percentile(relay, 99):.2f}",
            f"max {max(relay):.2f}",
            f"< {GOALS['approval_to_relay_p99_ms']}",
        ),
        (
            f"RSS after {run['sales']} sales (MB)",
            f"{run['rss_mb']:.1f}",
            f"peak {run['peak_rss_mb']:.1f}",
            f"< {GOALS['rss_mb']}",
        ),
        (
            "tap to next screen, median (ms)",
            f"{statistics.median(run['tap_ms']):.1f}",
            f"p99 {percentile(run['tap_ms'], 99):.1f}, {len(run['tap_ms'])} taps",
            f"< {1000 / 30 + 5:.1f}",
        ),
    ]
    widths = [max(len(r[i]) for r in rows + [("measure", "value", "detail", "goal")]) for i in range(4)]
    for row in [("measure", "value", "detail", "goal")] + rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    document = {
        "benchmark": "cabinet",
        "machine": platform.machine(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "results": results,
        "goals": GOALS,
    }
    print(json.dumps(document, indent=2))
    if args.json:
        args.json.write_text(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
