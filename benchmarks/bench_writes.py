"""What the cabinet writes to its SD card, and what a slow card does to the money path: real processes.

    python benchmarks/bench_writes.py [--sales N] [--idle-s S] [--relay-sales N] [--delays 0,2,10,20]
        [--parts sales,idle,relay] [--variants disk,tmpfs] [--json PATH]   (about 12 minutes)

The cabinet (`kiosk run --sim --headless --cloud URL`) and its cloud (`kiosk-cloud serve`) run as separate
processes, so each one's ``/proc/PID/io`` ``write_bytes`` (what it sent to the storage layer, counted in
the page cache's 4 KiB pages) is its own. The cabinet's log goes to tmpfs (on the Pi, journald in RAM), so
log lines are counted apart from the store.

(a) bytes written per sale, excluding the door snapshots (and the simulator's own terminal journal, which a
    real cabinet does not write), against the bytes of the events the sale produced (their JSON as the cloud
    exports it); the snapshots' bytes stated apart. A syscall trace gives the bytes per file, and the 4 KiB
    pages each store file's writes dirtied: a page of the WAL counts again when written after an fsync cleaned
    it (three durable commits a sale: three pages at least), and what is left is the memory-mapped WAL index
    (``-shm``), dirtied by every commit and cleaned by the kernel's writeback every 30 s.
(b) idle writes on the attract screen with the demo ads playing: a measured window (``--idle-s``) with the
    periodic commits sped up (SPEED_UP), extrapolated to a day; the cloud's writes over the same window.
(c) approval -> relay with every fsync/fdatasync of the cabinet delayed by 0, 2, 10 and 20 ms: the cabinet
    started under ``strace -f --seccomp-bpf -e inject=fsync:delay_exit=US -e inject=fdatasync:delay_exit=US``,
    a card's slow flush for real. Goal: p99 at most the delay plus 5 ms (one fsync, no checkpoint).
    Two variants: the cabinet's data on this machine's disk (its own fsync, about 1-5 ms here, plus the delay),
    and on tmpfs (/dev/shm: fsync returns at once), where the injected delay alone stands for the card and
    the disk's own jitter is out of the figure.
(d) tap -> next frame (the control API answers a tap once the next frame is drawn) while ad plays and
    heartbeats commit every second, with the same delayed fsync, and which thread made each fsync: a commit
    that fsyncs on the event loop would show as a late frame.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.sim_rig import SKUS, SimCabinet, percentile, sell, start_with_cloud, tap_latencies  # noqa: E402
from firmware.control_client import export_events  # noqa: E402

CABINET_ID = "bench-writes-1"
DELAYS_MS = (0, 2, 10, 20)
GOALS = {"sale_write_ratio": 10.0, "idle_mb_per_day": 5.0, "relay_p99_over_delay_ms": 5.0}
ISSUE_RATIO_BEFORE = 90  # issue 13, measured on main before this work: ~90x the event bytes, snapshots aside


def write_bytes(pid: int) -> int:
    text = Path(f"/proc/{pid}/io").read_text()
    match = re.search(r"^write_bytes: (\d+)", text, re.M)
    assert match is not None
    return int(match[1])


class RamLog:
    """The cabinet's stderr in a file on tmpfs (on the Pi, journald keeps it in RAM), reached through
    ``path`` (a symlink): tmpfs pages are not counted in /proc/PID/io, so log lines stay apart from the store,
    and the file can be read from any offset (start_sim_cabinet finds the control API's URL in it)."""

    def __init__(self, path: Path) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="bench-writes-log-", dir="/dev/shm")
        self.file = Path(self._dir.name) / path.name
        self.file.touch()
        path.symlink_to(self.file)

    @property
    def bytes(self) -> int:
        return self.file.stat().st_size

    def grep(self, pattern: str) -> list[str]:
        lines = self.file.read_text(errors="replace").splitlines()
        return [m[1] for line in lines if (m := re.search(pattern, line))]

    def remove(self) -> None:
        self._dir.cleanup()


@dataclass
class Rig:
    """The cabinet and its cloud (benchmarks/sim_rig.py), the cabinet's log read through a pipe, and strace
    when one is attached."""

    sim: SimCabinet
    log: RamLog
    strace: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        detach(self)
        self.sim.stop()
        self.log.remove()


def start_rig(workdir: Path, sales: int, extra_config: str = "", wrapper: tuple[str, ...] = ()) -> Rig:
    log = RamLog(workdir / "kiosk.log")
    try:
        return Rig(start_with_cloud(workdir, CABINET_ID, extra_config, sales + 5, wrapper), log)
    except BaseException:
        log.remove()
        raise


def attach_strace(rig: Rig, out: Path, delay_ms: float | None, calls: str) -> subprocess.Popen[bytes]:
    """strace on the running cabinet (every thread): ``calls`` traced with the thread and the time each
    took; with ``delay_ms``, every fsync and fdatasync returns that much later (an SD card's flush)."""
    argv = ["strace", "-f", "-qq", "-T", "-y", "-e", f"trace={calls}", "-o", str(out), "-p", str(rig.sim.pid)]
    if delay_ms is not None:
        us = int(delay_ms * 1000)
        argv[1:1] = ["-e", f"inject=fsync:delay_exit={us}", "-e", f"inject=fdatasync:delay_exit={us}"]
    proc = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not out.exists() or not _attached(rig.sim.pid):  # strace is tracing once the threads have a tracer
        if time.monotonic() > deadline:
            raise RuntimeError("strace did not attach")
        time.sleep(0.05)
    rig.strace = proc
    return proc


def _attached(pid: int) -> bool:
    return all(
        int(re.search(r"TracerPid:\s+(\d+)", (task / "status").read_text())[1]) != 0  # type: ignore[index]
        for task in Path(f"/proc/{pid}/task").iterdir()
    )


def detach(rig: Rig) -> None:
    if rig.strace is not None:
        rig.strace.terminate()
        rig.strace.wait(10)
        rig.strace = None


def settle(rig: Rig) -> None:
    """Everything sent and acknowledged, and the snapshots uploaded."""
    rig.sim.client.wait_for(lambda s: s["outbox"]["pending"] == 0, timeout=60, what="outbox drained")
    time.sleep(3.0)  # the snapshot uploader waits for a file to settle (2 s) before sending it


def file_writes(trace: Path) -> dict[str, dict[str, int]]:
    """Bytes and calls of write/pwrite64 per file (the data directory's files by name) from a trace."""
    out: dict[str, dict[str, int]] = {}
    for line in trace.read_text().splitlines():
        m = re.search(r"(?:pwrite64|write)\(\d+<([^>]*)>.*= (\d+) <", line)
        if m and "/data/" in m[1]:
            name = m[1].split("/data/", 1)[1]
            name = "snapshots/*.jpg" if name.endswith(".jpg.part") else name
            entry = out.setdefault(name, {"bytes": 0, "calls": 0})
            entry["bytes"] += int(m[2])
            entry["calls"] += 1
    return out


def dirtied_pages(trace: Path) -> dict[str, int]:
    """The 4 KiB page-cache pages each file's positioned writes (pwrite64: SQLite's) made dirty, as
    /proc/PID/io counts them: a page counts again when written after an fsync of its file cleaned it (the
    kernel's own writeback, every 30 s, is not seen here). What a sale writes beyond these and the files
    written whole is in pages of memory-mapped files: SQLite's WAL index (``-shm``), dirtied by every commit
    and cleaned by writeback."""
    dirty: dict[str, set[int]] = {}
    counted: dict[str, int] = {}
    for line in trace.read_text().splitlines():
        if m := re.search(r"pwrite64\(\d+<([^>]*)>, .*, (\d+), (\d+)\) = \d+", line):
            if "/data/" not in m[1]:
                continue
            name, size, offset = m[1].split("/data/", 1)[1], int(m[2]), int(m[3])
            pages = dirty.setdefault(name, set())
            new = set(range(offset // 4096, (offset + size - 1) // 4096 + 1)) - pages
            pages |= new
            counted[name] = counted.get(name, 0) + len(new)
        elif (m := re.search(r"f(?:data)?sync\(\d+<([^>]*)>", line)) and "/data/" in m[1]:
            dirty.pop(m[1].split("/data/", 1)[1], None)
    return counted


def measure_sales(count: int) -> dict[str, Any]:
    """Bytes written per sale, the sales one at a time (each sent and acknowledged before the next: it pays
    for its own marks), with a trace of the writes per file to tell the store from the snapshots and the
    simulator's terminal journal (which a real cabinet does not write)."""
    with tempfile.TemporaryDirectory(prefix="bench-writes-") as tmp:
        rig = start_rig(Path(tmp), count, "[screen]\nthanks_s = 60.0")
        try:
            sell(rig.sim.client, SKUS[0])  # the first sale's one-off costs (tables' first pages) aside
            settle(rig)
            events_before = len(export_events(rig.sim.workdir))
            trace = rig.sim.workdir / "writes.trace"
            attach_strace(rig, trace, None, "write,pwrite64,fsync,fdatasync")
            before = write_bytes(rig.sim.pid)
            for i in range(count):
                sell(rig.sim.client, SKUS[(i + 1) % 2])
                settle(rig)
            written = write_bytes(rig.sim.pid) - before
            detach(rig)
            events = export_events(rig.sim.workdir)[events_before:]
            files = file_writes(trace)
            dirtied = dirtied_pages(trace)
            syncs = _syncs(trace.read_text(), rig.sim.pid)
        finally:
            rig.stop()
    event_bytes = sum(len(json.dumps(e, separators=(",", ":"))) for e in events)
    shots = files.get("snapshots/*.jpg", {"bytes": 0, "calls": 0})
    journal = files.get("zvt-emulator.json.part", {"bytes": 0, "calls": 0})
    # As /proc/PID/io counts them: whole 4 KiB pages of each file written once.
    snapshot_pages = sum(_pages(b) for b in _sizes(shots)) if shots["calls"] else 0
    journal_pages = journal["calls"] * _pages(journal["bytes"] // max(1, journal["calls"]))
    store_bytes = written - snapshot_pages - journal_pages
    return {
        "sales": count,
        "written_bytes_per_sale": written / count,
        "snapshots_per_sale": shots["calls"] / count,
        "snapshot_bytes_each": shots["bytes"] / max(1, shots["calls"]),
        "snapshot_pages_per_sale": snapshot_pages / count,
        "sim_terminal_journal_per_sale": journal_pages / count,
        "written_without_snapshots_per_sale": store_bytes / count,
        "event_bytes_per_sale": event_bytes / count,
        "events_per_sale": len(events) / count,
        "ratio": store_bytes / event_bytes,
        "fsyncs_per_sale": syncs["total"] / count,
        "fsyncs_on_event_loop_per_sale": syncs["loop"] / count,
        "syscall_bytes_per_file_per_sale": {k: v["bytes"] / count for k, v in sorted(files.items())},
        "pages_dirtied_per_file_per_sale": {k: v / count for k, v in sorted(dirtied.items())},
        # the store's bytes not in those pages: the WAL index (-shm, memory-mapped) and the kernel's writeback
        "other_pages_per_sale": (store_bytes - 4096 * sum(dirtied.values())) / count / 4096,
        "commits_per_sale_wal_writes": files.get("cabinet.db-wal", {}).get("calls", 0) / count,
    }


def _sizes(entry: dict[str, int]) -> list[int]:
    """Each snapshot is one write of its whole file: the mean size for each (close enough for page rounding)."""
    return [entry["bytes"] // entry["calls"]] * entry["calls"]


def _pages(size: int) -> int:
    return -(-size // 4096) * 4096


def _syncs(trace: str, pid: int) -> dict[str, int]:
    """fsync/fdatasync calls, and those made on the main thread (the event loop that draws the screen)."""
    calls = re.findall(r"^(\d+)\s+f(?:data)?sync\(", trace, re.M)
    return {"total": len(calls), "loop": sum(1 for tid in calls if int(tid) == pid)}


SPEED_UP = 10  # idle: every periodic commit 10x as often as configured by default (still >= 30 s apart)
IDLE_CONFIG = f"""
[screen]
ad_plays_commit_s = {600 / SPEED_UP}
[sync]
heartbeat_s = {300 / SPEED_UP}
[storage]
probe_s = {1800 / SPEED_UP}
checkpoint_max_age_s = {3600 / SPEED_UP}
"""


def measure_idle(window_s: float) -> dict[str, Any]:
    """The attract screen with the demo ads (two images, 6 s each) playing in real time, and every periodic
    commit (heartbeat, ad plays, store probe, checkpoint by age) SPEED_UP times as often as by default: the
    window stands for SPEED_UP times as long, and is extrapolated to a day. Commits stay at least 30 s apart
    (the kernel's writeback age), so each still costs its own pages as it would at the real pace. The
    cloud's polls keep their real pace while the uploads come SPEED_UP times as often: its figure is an
    upper bound."""
    with tempfile.TemporaryDirectory(prefix="bench-idle-") as tmp:
        rig = start_rig(Path(tmp), 1, IDLE_CONFIG)
        try:
            rig.sim.client.wait_screen("attract")
            time.sleep(10.0)  # start-up writes (configuration, first heartbeat, first checkpoint) aside
            trace = rig.sim.workdir / "idle.trace"
            attach_strace(rig, trace, None, "fsync,fdatasync")
            before, cloud_before, log_before = write_bytes(rig.sim.pid), write_bytes(rig.sim.cloud_pid), rig.log.bytes
            time.sleep(window_s)
            written, cloud_written = write_bytes(rig.sim.pid) - before, write_bytes(rig.sim.cloud_pid) - cloud_before
            log_written = rig.log.bytes - log_before
            detach(rig)
            syncs = _syncs(trace.read_text(), rig.sim.pid)
            rig.sim.cabinet.stop()  # SIGTERM: the plays counted since the last commit are committed (not uploaded)
            plays = stored_plays(rig.sim.workdir / "data" / "cabinet.db")
        finally:
            rig.stop()
    per_day = 24 * 3600 / (window_s * SPEED_UP)
    return {
        "window_s": window_s,
        "speed_up": SPEED_UP,
        "written_bytes": written,
        "mb_per_day": written * per_day / 1e6,
        "cloud_written_bytes": cloud_written,
        "cloud_mb_per_day_upper_bound": cloud_written * per_day / 1e6,
        "log_bytes_per_day_to_journald": log_written * 24 * 3600 / window_s,
        "fsyncs_on_event_loop": syncs["loop"],
        "fsyncs_total": syncs["total"],
        "ad_plays_events": len(plays),
        "plays_counted": sum(p["count"] for e in plays for p in e["plays"]),
    }


def delayed_fsync(delay_ms: int, trace: Path) -> tuple[str, ...]:
    """The cabinet started under strace: every fsync and fdatasync of every thread returns ``delay_ms`` later
    (an SD card's flush), each logged with its thread. --seccomp-bpf stops the process only at those two calls,
    so strace costs nothing elsewhere."""
    us = delay_ms * 1000
    return (
        "strace", "-f", "-qq", "--seccomp-bpf", "-T", "-y", "-o", str(trace), "-e", "trace=fsync,fdatasync",
        "-e", f"inject=fsync:delay_exit={us}", "-e", f"inject=fdatasync:delay_exit={us}",
    )  # fmt: skip


def stored_plays(db: Path) -> list[dict[str, Any]]:
    """The ad.plays payloads in the cabinet's store (read after it stopped)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [json.loads(row[0]) for row in conn.execute("SELECT payload FROM events WHERE type = 'ad.plays'")]
    finally:
        conn.close()


# Where the cabinet's data directory is (None: the temporary directory's disk), and the results' key.
VARIANTS = {"disk": (None, "relay"), "tmpfs": ("/dev/shm", "relay_tmpfs")}


def measure_relay(delays_ms: tuple[int, ...], sales: int, under: str | None = None) -> dict[str, Any]:
    """Approval -> relay (the cabinet's own figure, logged at every sale) with the card's flush delayed, and
    tap -> next frame (the control API answers a tap once the next frame is drawn) while ad plays and
    heartbeats commit every second, with the same delay. One cabinet per delay, started under strace, its
    data in a new directory ``under`` (tmpfs: the injected delay alone is the flush)."""
    out: dict[str, Any] = {}
    busy = "[screen]\nthanks_s = 60.0\nad_plays_commit_s = 1.0\n[sync]\nheartbeat_s = 1.0"
    for delay in delays_ms:
        with tempfile.TemporaryDirectory(prefix="bench-relay-", dir=under) as tmp:
            trace = Path(tmp) / "fsyncs.trace"
            rig = start_rig(Path(tmp), sales + 1, busy, wrapper=delayed_fsync(delay, trace))
            try:
                sell(rig.sim.client, SKUS[0])  # the first sale's one-off costs aside
                seen = len(rig.log.grep(r"approval to relay.* ms=([\d.]+)"))
                traced_before = len(trace.read_text().splitlines())  # start-up's fsyncs aside
                for i in range(sales):
                    sell(rig.sim.client, SKUS[(i + 1) % 2])
                taps = tap_latencies(
                    rig.sim.client, 30, pause_s=0.05
                )  # the once-a-second commits fall between and during taps
                relay = [float(v) for v in rig.log.grep(r"approval to relay.* ms=([\d.]+)")[seen:]]
                commit = [float(v) for v in rig.log.grep(r"approval to relay.* commit_ms=([\d.]+)")[seen:]]
                pid = rig.sim.pid
            finally:
                rig.stop()
            window = "\n".join(trace.read_text().splitlines()[traced_before:])
            syncs = re.findall(r"^(\d+)\s+f(?:data)?sync\(\d+<([^>]*)>", window, re.M)
        loop_files = sorted({Path(path).name for tid, path in syncs if int(tid) == pid})
        out[str(delay)] = {
            "relay_ms": {
                "p50": percentile(relay, 50),
                "p95": percentile(relay, 95),
                "p99": percentile(relay, 99),
                "max": max(relay),
            },
            # the approval's commit alone, the rest of approval -> relay is the relay's own call
            "commit_ms": {"p50": percentile(commit, 50), "p99": percentile(commit, 99), "max": max(commit)},
            "rest_ms_max": max(r - c for r, c in zip(relay, commit, strict=True)),
            "sales": len(relay),
            "tap_to_frame_ms": {"p50": percentile(taps, 50), "p99": percentile(taps, 99), "max": max(taps)},
            "taps": len(taps),
            "fsyncs_on_event_loop": sum(1 for tid, _ in syncs if int(tid) == pid),
            "fsyncs_on_event_loop_files": loop_files,
            "fsyncs_elsewhere": sum(1 for tid, _ in syncs if int(tid) != pid),
            "goal_p99_ms": delay + GOALS["relay_p99_over_delay_ms"],
        }
    return out


def _four(ms: dict[str, float]) -> str:
    return f"{ms['p50']:.2f} / {ms['p95']:.2f} / {ms['p99']:.2f} / {ms['max']:.2f}"


def _three(ms: dict[str, float]) -> str:
    return f"{ms['p50']:.1f} / {ms['p99']:.1f} / {ms['max']:.1f}"


def sale_rows(sales: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (
            "bytes written per sale, snapshots aside",
            f"{sales['written_without_snapshots_per_sale'] / 1024:.1f} KiB = {sales['ratio']:.1f}x the events "
            f"({sales['event_bytes_per_sale']:.0f} B)",
            f"<= {GOALS['sale_write_ratio']:.0f}x (issue 13 on main: ~{ISSUE_RATIO_BEFORE}x)",
        ),
        (
            "  of which 4 KiB pages: " + ", ".join(sales["pages_dirtied_per_file_per_sale"]) + ", other",
            " / ".join(f"{v:.1f}" for v in sales["pages_dirtied_per_file_per_sale"].values())
            + f" / {sales['other_pages_per_sale']:.1f}",
            "a WAL page counts again after each fsync",
        ),
        (
            "door snapshots per sale",
            f"{sales['snapshots_per_sale']:.0f} x {sales['snapshot_bytes_each'] / 1024:.1f} KiB",
            "evidence at the door",
        ),
        (
            "fsyncs per sale (on the event loop)",
            f"{sales['fsyncs_per_sale']:.1f} ({sales['fsyncs_on_event_loop_per_sale']:.1f})",
            "money and door only",
        ),
    ]


def idle_rows(idle: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (
            "idle writes, ads playing (extrapolated)",
            f"{idle['mb_per_day']:.2f} MB/day ({idle['written_bytes'] / 1024:.0f} KiB in {idle['window_s']:.0f} s "
            f"standing for {idle['window_s'] * idle['speed_up'] / 60:.0f} min)",
            f"<= {GOALS['idle_mb_per_day']:.0f} MB/day",
        ),
        ("cloud writes for that idle cabinet", f"{idle['cloud_mb_per_day_upper_bound']:.1f} MB/day", "upper bound"),
        ("idle fsyncs on the event loop", str(idle["fsyncs_on_event_loop"]), "0"),
    ]


def table(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    if "sales" in results:
        rows += sale_rows(results["sales"])
    if "idle" in results:
        rows += idle_rows(results["idle"])
    variants = {name: results[key] for name, (_, key) in VARIANTS.items() if key in results}
    delays = list(next(iter(variants.values()), {}))
    for delay in delays:
        runs = {name: relay[delay] for name, relay in variants.items() if delay in relay}
        goal = next(iter(runs.values()))["goal_p99_ms"]
        rows.append(
            (
                f"approval -> relay, fsync +{delay} ms: p50 / p95 / p99 / max",
                "; ".join(f"{name} {_four(r['relay_ms'])}" for name, r in runs.items()) + " ms",
                f"p99 <= {goal:.0f} ms",
            )
        )
        rows.append(
            (
                "  of which the approval's commit: p50 / p99 (rest, max)",
                "; ".join(
                    f"{name} {r['commit_ms']['p50']:.2f} / {r['commit_ms']['p99']:.2f} ({r['rest_ms_max']:.2f})"
                    for name, r in runs.items()
                )
                + " ms",
                "one fsync",
            )
        )
        rows.append(
            (
                f"tap -> frame, commits every 1 s, fsync +{delay} ms: p50 / p99 / max",
                "; ".join(f"{name} {_three(r['tap_to_frame_ms'])}" for name, r in runs.items()) + " ms",
                "; ".join(
                    f"{name}: loop fsyncs {r['fsyncs_on_event_loop']}, other threads {r['fsyncs_elsewhere']}"
                    for name, r in runs.items()
                ),
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sales", type=int, default=12)
    parser.add_argument("--idle-s", type=float, default=90.0)
    parser.add_argument("--relay-sales", type=int, default=50, help="sales at each fsync delay")
    parser.add_argument("--delays", default=",".join(map(str, DELAYS_MS)), help="fsync delays in ms, comma-separated")
    parser.add_argument("--parts", default="sales,idle,relay", help="which measurements (sales, idle, relay)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="where the relay runs keep the data")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args()
    if shutil.which("strace") is None:
        sys.exit("bench_writes needs strace (hardware/system-packages.txt)")
    parts, delays = args.parts.split(","), tuple(int(d) for d in args.delays.split(","))
    results: dict[str, Any] = {}
    if "sales" in parts:
        results["sales"] = measure_sales(args.sales)
    if "idle" in parts:
        results["idle"] = measure_idle(args.idle_s)
    if "relay" in parts:
        for name in args.variants.split(","):
            under, key = VARIANTS[name]
            results[key] = measure_relay(delays, args.relay_sales, under)
    rows = table(results)
    head = ("measure", "value", "goal")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(3)]
    for row in [head, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    document = {
        "benchmark": "writes",
        "machine": platform.machine(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "command": " ".join(["python", "benchmarks/bench_writes.py", *sys.argv[1:]]),
        "load_average_1min": os.getloadavg()[0],
        "results": results,
        "goals": GOALS,
    }
    print(json.dumps(document, indent=2))
    if args.json:
        args.json.write_text(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
