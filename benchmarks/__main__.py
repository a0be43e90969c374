"""`make bench`: every benchmark in one run, each printing its table and JSON,
with the JSON also written to benchmarks/results/<name>.json."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = {
    "cabinet": ["bench_cabinet.py"],
    "footprint": ["bench_footprint.py"],
    "zvt": ["bench_zvt.py", "--fuzz-seconds", "10"],
    "qr": ["bench_qr.py", "--frames", "400"],
    "fuzz_serial": ["fuzz_parsers_serial.py", "--seconds", "10"],
    "ui": ["bench_ui.py"],
    "sync": ["bench_sync.py"],
    "fleet_ingest_sqlite": ["bench_fleet_ingest.py", "--cabinets", "500,2000,5000", "--seconds", "30"],
    "fleet_ingest_pg_1node": ["bench_fleet_ingest.py", "--pg", "--cabinets", "500,2000,5000", "--seconds", "30"],
    "fleet_ingest_pg_2nodes_proxy": ["bench_fleet_ingest.py", "--pg", "--nodes", "2", "--cabinets", "500,2000,5000"]
    + ["--seconds", "30"],
    "fleet_ingest_pg_2nodes_client": ["bench_fleet_ingest.py", "--pg", "--nodes", "2", "--balance", "client"]
    + ["--cabinets", "500,2000,5000", "--seconds", "30"],
    "writes": ["bench_writes.py"],
    "console": ["bench_console.py"],
    # about 15 minutes each for 10 million on a quiet machine (bulk fill, then ingest and the sales queries)
    "store_scale_sqlite": ["bench_store_scale.py", "--events", "1000000,10000000"],
    "store_scale_pg": ["bench_store_scale.py", "--pg", "--events", "1000000,10000000"],
    "funnel": ["bench_funnel.py", "--events", "1000000,3000000"],  # 10 million: run it by hand (about an hour)
    "footfall": ["bench_footfall.py"],
}


def main(names: list[str]) -> int:
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    failed = []
    for name, (script, *args) in BENCHMARKS.items():
        if names and name not in names:
            continue
        print(f"\n=== {name} ===", flush=True)
        code = subprocess.call([sys.executable, str(HERE / script), *args, "--json", str(results / f"{name}.json")])
        if code:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
