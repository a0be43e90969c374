"""Compare QR decoders on the generated corpus of 640x480 camera frames.

    python benchmarks/bench_qr.py [--frames N] [--seed S] [--json PATH]

Per decoder: share of code frames read correctly (a wrong text counts as a
miss), false positives on frames with no code, and the time per frame
(RGB frame in, texts out: the grey conversion is part of every decoder's
time). Libraries that are not installed are skipped with a note.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.qr_corpus import CATEGORIES, Sample, generate  # noqa: E402
from hal.qr_decode import LIBRARY_NAMES, QrDecoder, available_decoders, default_decoder  # noqa: E402


@dataclass
class Result:
    decoder: str
    code_frames: int
    decoded: int
    false_positives: int
    empty_frames: int
    median_ms: float
    p95_ms: float
    mean_ms: float
    empty_median_ms: float
    by_category: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.decoded / self.code_frames if self.code_frames else 0.0


def measure(decoder: QrDecoder, samples: list[Sample], repeats: int) -> Result:
    times, empty_times = [], []
    decoded, false_pos = 0, 0
    by_category = {c: 0 for c in CATEGORIES if c != "empty"}
    decoder.decode(samples[0].frame)  # warm-up: first calls allocate
    for s in samples:
        best = float("inf")
        for _ in range(repeats):  # the fastest of a few runs: less noise from a shared machine
            t0 = time.perf_counter()
            texts = decoder.decode(s.frame)
            best = min(best, (time.perf_counter() - t0) * 1000)
        times.append(best)
        if s.text is None:
            empty_times.append(best)
            false_pos += bool(texts)
        elif texts == [s.text]:
            decoded += 1
            by_category[s.category] += 1
    code_frames = sum(s.text is not None for s in samples)
    return Result(
        decoder.name,
        code_frames,
        decoded,
        false_pos,
        len(samples) - code_frames,
        statistics.median(times),
        float(np.percentile(times, 95)),
        statistics.fmean(times),
        statistics.median(empty_times) if empty_times else 0.0,
        by_category,
    )


def table(results: list[Result]) -> str:
    head = (
        f"{'decoder':<13} {'decoded':>12} {'rate':>6} {'false+':>7} {'median ms':>10} {'p95 ms':>7} "
        f"{'mean ms':>8} {'empty med':>10}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r.decoder:<13} {r.decoded:>5}/{r.code_frames:<6} {r.rate:>6.1%} "
            f"{r.false_positives:>3}/{r.empty_frames:<3} {r.median_ms:>10.2f} {r.p95_ms:>7.2f} "
            f"{r.mean_ms:>8.2f} {r.empty_median_ms:>10.2f}"
        )
    cats = [c for c in CATEGORIES if c != "empty"]
    lines += ["", "decoded per category:", f"{'decoder':<13} " + " ".join(f"{c:>12}" for c in cats)]
    for r in results:
        lines.append(f"{r.decoder:<13} " + " ".join(f"{r.by_category[c]:>12}" for c in cats))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Compare QR decoders on generated 640x480 frames.")
    parser.add_argument("--frames", type=int, default=400, help="corpus size, spread over the categories")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per frame; the fastest counts")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args()

    samples = list(generate(args.frames, args.seed))
    decoders = available_decoders(LIBRARY_NAMES) + [default_decoder()]
    results = [measure(d, samples, args.repeats) for d in decoders]
    print(f"{len(samples)} frames 640x480, seed {args.seed}, {platform.machine()}, {platform.python_version()}")
    print(table(results))

    singles = [r for r in results if r.decoder != "default"]
    default = results[-1]
    best = max(singles, key=lambda r: r.decoded)
    zxing = next((r for r in singles if r.decoder == "zxing-cpp"), None)
    verdict = {
        "best_single": best.decoder,
        "default_decodes_more_than_best_single": default.decoded > best.decoded,
        "default_median_over_zxing_median": default.median_ms / zxing.median_ms if zxing else None,
    }
    print(
        f"\ndefault {default.decoded} vs best single ({best.decoder}) {best.decoded}; "
        + (
            f"median time {verdict['default_median_over_zxing_median']:.2f}x zxing-cpp's"
            if zxing
            else "zxing-cpp not installed"
        )
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "frames": len(samples),
                    "seed": args.seed,
                    "machine": platform.machine(),
                    "results": [asdict(r) | {"rate": r.rate} for r in results],
                    "verdict": verdict,
                },
                indent=2,
            )
        )
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
