"""What the cabinet benchmarks share: a simulated cabinet (and its own `kiosk-cloud serve`) started as real
processes, waited on and stopped; a card sale and taps through the control API; a cold start to the first
attract frame. Used by bench_cabinet.py, bench_footprint.py and bench_writes.py."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cloud_stub.store import SqliteCloudStore
from firmware.cloud_config import sim_document
from firmware.config import parse_config
from firmware.control_client import ControlClient, Process, add_cabinet, start_cloud, start_sim_cabinet

SKUS = ("SCOOT-S1", "BIKE-C7")


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def products_toml(stock: int) -> str:
    """The two demo products, each with ``stock`` units."""
    return "".join(
        f'[[products]]\nsku = "{sku}"\nname = "{sku}"\nprice_cents = 49900\nstock = {stock}\n' for sku in SKUS
    )


@dataclass
class SimCabinet:
    """`kiosk run --sim --headless`, syncing to its own `kiosk-cloud serve` when there is one."""

    workdir: Path
    cabinet: Process
    client: ControlClient
    cloud: Process | None = None
    cloud_url: str | None = None
    wrapped: bool = False  # started under a wrapper (strace): the cabinet is the wrapper's child

    @property
    def pid(self) -> int:
        """The cabinet's own process (under a wrapper: the wrapper's child)."""
        assert self.cabinet.proc is not None
        pid = self.cabinet.proc.pid
        if self.wrapped:
            pid = int(Path(f"/proc/{pid}/task/{pid}/children").read_text().split()[0])
        return pid

    @property
    def cloud_pid(self) -> int:
        assert self.cloud is not None and self.cloud.proc is not None
        return self.cloud.proc.pid

    def stop(self) -> None:
        if self.wrapped:
            self._stop_wrapped()
        self.cabinet.stop()
        if self.cloud is not None:
            self.cloud.stop()

    def _stop_wrapped(self) -> None:
        """The cabinet under strace is strace's child: stopped itself first (a SIGTERM to strace detaches it and
        leaves it running, its ads and commits loading the machine for the next measurement)."""
        try:
            pid = self.pid
        except (OSError, IndexError, ValueError):  # already gone
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while _alive(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                break
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def cabinet_config(workdir: Path, cabinet_id: str, extra: str, stock: int) -> str:
    """The cabinet registered with the cloud in ``workdir`` (its key in a file), the demo ads and catalog put on
    it as the in-process cloud of `--sim` would give them; returns the cabinet's TOML."""
    key_file = workdir / "cabinet.key"
    key_file.write_text(add_cabinet(workdir, cabinet_id) + "\n")
    key_file.chmod(0o600)
    config = f'[cabinet]\nid = "{cabinet_id}"\nkey_file = "{key_file}"\n{extra}\n' + products_toml(stock)
    store = SqliteCloudStore(workdir / "cloud.db")
    try:
        store.put_config(cabinet_id, sim_document(parse_config(tomllib.loads(config))))
    finally:
        store.close()
    return config


def start_with_cloud(
    workdir: Path, cabinet_id: str, extra: str, stock: int, wrapper: tuple[str, ...] = ()
) -> SimCabinet:
    """The cloud, then the cabinet (under ``wrapper``), waited on until the cabinet has the configuration."""
    cloud, url = start_cloud(workdir)
    try:
        config = cabinet_config(workdir, cabinet_id, extra, stock)
        cabinet, client = start_sim_cabinet(workdir, config_text=config, cloud_url=url, wrapper=wrapper)
    except BaseException:
        cloud.stop()
        raise
    rig = SimCabinet(workdir, cabinet, client, cloud, url, wrapped=bool(wrapper))
    try:
        client.wait_for(lambda s: s["config_version"] is not None, timeout=30, what="configuration from the cloud")
    except BaseException:
        rig.stop()
        raise
    return rig


def start_alone(workdir: Path, config: str) -> SimCabinet:
    """The cabinet with its in-process cloud (`kiosk run --sim` as `make run` starts it)."""
    cabinet, client = start_sim_cabinet(workdir, config_text=config)
    return SimCabinet(workdir, cabinet, client)


def open_catalog(client: ControlClient) -> None:
    """From the attract screen: a tap over an ad that names a product opens that product, then back."""
    client.tap("start")
    state = client.wait_for(lambda s: s["screen"] in ("catalog", "product"), what="the catalog or an ad's product")
    if state["screen"] == "product":
        client.tap("back")
        client.wait_screen("catalog")


def sell(client: ControlClient, sku: str) -> None:
    """One card sale, from the attract screen (or the catalog) back to the attract screen, as the shopper and
    the bench do it."""
    if client.state()["screen"] != "catalog":
        open_catalog(client)
    client.tap(f"product:{sku}")
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


def tap_latencies(client: ControlClient, rounds: int, pause_s: float = 0.0) -> list[float]:
    """Catalog <-> help: POST /tap answers once the frame after the tap is drawn, so the round trip is tap to
    first frame. Leaves the catalog on screen."""
    open_catalog(client)
    times = []
    for _ in range(rounds):
        for widget, screen in (("help", "help"), ("back", "catalog")):
            t0 = time.perf_counter()
            answer = client.tap(widget)
            times.append((time.perf_counter() - t0) * 1000)
            if answer["screen"] != screen:
                raise RuntimeError(f"tap on {widget} showed {answer['screen']}, not {screen}")
            if pause_s:
                time.sleep(pause_s)
    return times


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (/proc/PID/stat, clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def first_attract_frame(argv: list[str]) -> tuple[float, float]:
    """Seconds from spawning `kiosk run` (``argv``) to its `ready` log line, written once the first attract
    frame is drawn, and the CPU seconds it used by then; the process is stopped."""
    t0 = time.monotonic()
    proc = subprocess.Popen(
        argv,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "SDL_VIDEODRIVER": "dummy"},
        text=True,
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if " msg=ready " in line:
                if "screen=attract" not in line:
                    raise RuntimeError(f"ready on another screen: {line}")
                return time.monotonic() - t0, cpu_seconds(proc.pid)
        raise RuntimeError("kiosk exited before it was ready")
    finally:
        proc.terminate()
        proc.wait(10)
