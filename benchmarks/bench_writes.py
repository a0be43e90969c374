"""What the cabinet writes to its SD card, and what a slow card does to the money path: real processes.

    python benchmarks/bench_writes.py [--sales N] [--idle-s S] [--relay-sales N] [--json PATH]

The cabinet (`kiosk run --sim --headless --cloud URL`) and its cloud (`kiosk-cloud serve`) run as separate
processes, so each one's ``/proc/PID/io`` ``write_bytes`` (what it sent to the storage layer, counted in
the page cache's 4 KiB pages) is its own. The cabinet's log goes to a pipe (on the Pi, to journald), so
log lines are counted apart from the store.

(a) bytes written per sale, excluding the door snapshots, against the bytes of the events the sale
    produced (their JSON as the cloud exports it); the snapshots' bytes are stated apart.
(b) idle writes on the attract screen with the demo ads playing: a measured window (``--idle-s``),
    extrapolated to a day; the cloud's writes for that idle cabinet over the same window.
(c) approval -> relay with every fsync/fdatasync of the cabinet delayed by 0, 2, 10 and 20 ms
    (``strace -f -e inject=fsync:delay_exit=US -e inject=fdatasync:delay_exit=US`` attached to the
    cabinet): a card's slow flush, for real. Goal: p99 at most the delay plus 5 ms (one fsync, no checkpoint).
(d) frame times (the UI's own frame-time log) while those sales and the ad plays are written, delayed
    fsync included: no frame is late because of a commit.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cloud_stub.store import SqliteCloudStore  # noqa: E402
from firmware.cloud_config import sim_document  # noqa: E402
from firmware.config import parse_config  # noqa: E402
from firmware.control_client import (  # noqa: E402
    ControlClient,
    Process,
    add_cabinet,
    export_events,
    start_cloud,
    start_sim_cabinet,
)

CABINET_ID = "bench-writes-1"
DELAYS_MS = (0, 2, 10, 20)
GOALS = {"sale_write_ratio": 10.0, "idle_mb_per_day": 5.0, "relay_p99_over_delay_ms": 5.0}
SKUS = ("SCOOT-S1", "BIKE-C7")
ISSUE_RATIO_BEFORE = 90  # issue 13, measured on main before this work: ~90x the event bytes, snapshots aside


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def write_bytes(pid: int) -> int:
    text = Path(f"/proc/{pid}/io").read_text()
    match = re.search(r"^write_bytes: (\d+)", text, re.M)
    assert match is not None
    return int(match[1])


class LogPipe:
    """The cabinet's stderr through a FIFO: read here (kept in memory, counted) instead of written to disk."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path = path
        self.lines: list[str] = []
        self.bytes = 0
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with open(self.path, "rb") as fh:
            for raw in fh:
                self.bytes += len(raw)
                self.lines.append(raw.decode(errors="replace"))

    def grep(self, pattern: str) -> list[str]:
        return [m[1] for line in list(self.lines) if (m := re.search(pattern, line))]


@dataclass
class Rig:
    workdir: Path
    cloud: Process
    cabinet: Process
    client: ControlClient
    log: LogPipe
    strace: subprocess.Popen[bytes] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        assert self.cabinet.proc is not None
        return self.cabinet.proc.pid

    @property
    def cloud_pid(self) -> int:
        assert self.cloud.proc is not None
        return self.cloud.proc.pid

    def stop(self) -> None:
        if self.strace is not None:
            self.strace.terminate()
            self.strace.wait(10)
        self.cabinet.stop()
        self.cloud.stop()


def start_rig(workdir: Path, sales: int, *, thanks_s: float = 60.0) -> Rig:
    cloud, url = start_cloud(workdir)
    key = add_cabinet(workdir, CABINET_ID)
    key_file = workdir / "cabinet.key"
    key_file.write_text(key + "\n")
    key_file.chmod(0o600)
    products = "".join(
        f'[[products]]\nsku = "{sku}"\nname = "{sku}"\nprice_cents = 49900\nstock = {sales + 5}\n' for sku in SKUS
    )
    config = f'[cabinet]\nid = "{CABINET_ID}"\nkey_file = "{key_file}"\n[screen]\nthanks_s = {thanks_s}\n' + products
    # The demo ads and catalog, as the in-process cloud of `--sim` would give them.
    store = SqliteCloudStore(workdir / "cloud.db")
    store.put_config(CABINET_ID, sim_document(parse_config(_toml(config))))
    store.close()
    log = LogPipe(workdir / "kiosk.log")
    cabinet, client = start_sim_cabinet(workdir, config_text=config, cloud_url=url)
    client.wait_for(lambda s: s["config_version"] is not None, timeout=30, what="configuration from the cloud")
    return Rig(workdir, cloud, cabinet, client, log)


def _toml(text: str) -> dict[str, Any]:
    import tomllib

    return tomllib.loads(text)


def one_sale(client: ControlClient, i: int) -> None:
    client.tap("start")
    client.wait_screen("catalog")
    client.tap(f"product:{SKUS[i % 2]}")
    client.tap("buy")
    client.tap("pay:terminal")
    client.sim("pos/approve")
    client.wait_for(lambda s: s["lock"]["energized"], what="relay energized")
    client.sim("door/open")
    client.wait_for(lambda s: s["journey"] == "door_opened", what="door opened")
    client.sim("door/close")
    client.wait_screen("thanks")
    client.tap("done")
    client.wait_screen("attract")


def settle(rig: Rig) -> None:
    """Everything sent and acknowledged, and the snapshots uploaded."""
    rig.client.wait_for(lambda s: s["outbox"]["pending"] == 0, timeout=60, what="outbox drained")
    time.sleep(3.0)  # the snapshot uploader waits for a file to settle (2 s) before sending it


def snapshot_bytes(rig: Rig) -> tuple[int, int]:
    files = list((rig.workdir / "data" / "snapshots").glob("*.jpg"))
    return len(files), sum(f.stat().st_size for f in files)


def measure_sales(count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-writes-") as tmp:
        rig = start_rig(Path(tmp), count)
        try:
            one_sale(rig.client, 0)  # the first sale's one-off costs (tables' first pages) aside
            settle(rig)
            shots_before, shot_bytes_before = snapshot_bytes(rig)
            events_before = len(export_events(rig.workdir))
            before, log_before = write_bytes(rig.pid), rig.log.bytes
            for i in range(count):
                one_sale(rig.client, i + 1)
            settle(rig)
            written, log_written = write_bytes(rig.pid) - before, rig.log.bytes - log_before
            shots, shot_bytes = snapshot_bytes(rig)
            events = export_events(rig.workdir)[events_before:]
        finally:
            rig.stop()
    event_bytes = sum(len(json.dumps(e, separators=(",", ":"))) for e in events)
    snapshots = shot_bytes - shot_bytes_before
    store_bytes = written - _pages(snapshots, shots - shots_before)
    return {
        "sales": count,
        "written_bytes": written,
        "snapshots": shots - shots_before,
        "snapshot_bytes": snapshots,
        "written_without_snapshots_per_sale": store_bytes / count,
        "event_bytes_per_sale": event_bytes / count,
        "events_per_sale": len(events) / count,
        "event_types": sorted({e["type"] for e in events}),
        "ratio": store_bytes / event_bytes,
        "log_bytes_per_sale": log_written / count,
    }


def _pages(size: int, files: int) -> int:
    """The snapshots' bytes as /proc/PID/io counts them: whole 4 KiB pages of each file (about half a page
    of rounding per file)."""
    return size + files * 2048


def measure_idle(window_s: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-idle-") as tmp:
        rig = start_rig(Path(tmp), 1)
        try:
            rig.client.wait_screen("attract")
            time.sleep(10.0)  # start-up writes (configuration, first heartbeat) aside
            before, cloud_before, log_before = write_bytes(rig.pid), write_bytes(rig.cloud_pid), rig.log.bytes
            shown_before = len(rig.log.grep(r"msg=\"?ad shown"))
            time.sleep(window_s)
            written, cloud_written = write_bytes(rig.pid) - before, write_bytes(rig.cloud_pid) - cloud_before
            log_written = rig.log.bytes - log_before
            events = export_events(rig.workdir)
        finally:
            rig.stop()
    per_day = 24 * 3600 / window_s
    return {
        "window_s": window_s,
        "written_bytes": written,
        "mb_per_day": written * per_day / 1e6,
        "cloud_written_bytes": cloud_written,
        "cloud_mb_per_day": cloud_written * per_day / 1e6,
        "log_bytes_per_day": log_written * per_day,
        "event_types": sorted({e["type"] for e in events}),
        "ads_shown_logged": len(rig.log.grep(r"msg=\"?ad shown")) - shown_before,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sales", type=int, default=20)
    parser.add_argument("--idle-s", type=float, default=60.0)
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args()
    results = {"sales": measure_sales(args.sales), "idle": measure_idle(args.idle_s)}
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
