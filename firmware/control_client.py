"""A client for the control API, and launchers for a simulated cabinet and a
cloud stub as real processes: what tests, benchmarks and HIL benches use to
drive a cabinet the way a person would.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ControlError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


_CONTROL_URL = re.compile(rb'msg="control API listening" .*url=(http://127\.0\.0\.1:\d+)')


def _control_url(log_path: Path, start: int) -> str | None:
    """The control API's URL from the line the cabinet logs once it listens (None: not yet)."""
    try:
        with open(log_path, "rb") as log:
            log.seek(start)
            found = _CONTROL_URL.search(log.read())
    except FileNotFoundError:
        return None
    return found.group(1).decode() if found else None


def _bin(name: str) -> list[str]:
    """The installed console script next to this Python, or the module as a fallback."""
    candidate = Path(sys.executable).with_name(name)
    if candidate.exists():
        return [str(candidate)]
    found = shutil.which(name)
    if found:
        return [found]
    module = {"kiosk": "firmware.cli", "kiosk-cloud": "cloud_stub.cli"}[name]
    return [sys.executable, "-m", module]


@dataclass
class ControlClient:
    base_url: str
    timeout: float = 10.0

    def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers={"Content-Type": "application/json"} if data else {}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                status, answer = response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise ControlError(exc.code, json.loads(exc.read() or b"null")) from None
        if not isinstance(answer, dict):  # every endpoint of the control API answers an object
            raise ControlError(status, f"{method} {path}: expected a JSON object, got {answer!r:.200}")
        return answer

    def state(self) -> dict[str, Any]:
        return self._request("GET", "/state")

    def tap(
        self, widget: str | None = None, *, x: int | None = None, y: int | None = None, hold_s: float | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"widget": widget} if widget is not None else {"x": x, "y": y}
        if hold_s is not None:
            body["hold_s"] = hold_s
        return self._request("POST", "/tap", body, timeout=self.timeout + hold_s if hold_s else None)

    def swipe(self, x1: int, y1: int, x2: int, y2: int, duration_s: float = 0.25) -> dict[str, Any]:
        return self._request("POST", "/swipe", {"x1": x1, "y1": y1, "x2": x2, "y2": y2, "duration_s": duration_s})

    def sim(self, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._request("POST", f"/sim/{action}", body or {})

    def pins(self) -> dict[str, Any]:
        return self._request("GET", "/sim/pins")

    def modules(self) -> list[str]:
        """The top-level packages the cabinet process has imported."""
        return list(self._request("GET", "/modules")["modules"])

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 15.0, what: str = ""
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                state = self.state()
                if predicate(state):
                    return state
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.02)
        raise TimeoutError(f"timed out waiting for {what or predicate}; last state: {json.dumps(state)[:800]}")

    def wait_screen(self, screen: str, timeout: float = 15.0) -> dict[str, Any]:
        return self.wait_for(lambda s: s["screen"] == screen, timeout, f"screen {screen!r}")


@dataclass
class Process:
    argv: list[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    killed: bool = False

    def start(self) -> Process:
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=self._log, env={**os.environ, **self.env}, start_new_session=True
        )
        return self

    def read_line(self, timeout: float = 20.0) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        os.set_blocking(self.proc.stdout.fileno(), False)
        buffer = b""
        while time.monotonic() < deadline:
            chunk = self.proc.stdout.readline()
            if chunk:
                buffer += chunk
                if buffer.endswith(b"\n"):
                    return buffer.decode().strip()
            elif self.proc.poll() is not None:
                raise RuntimeError(f"{self.argv[0]} exited with {self.proc.returncode}; log: {self.log_tail()}")
            else:
                time.sleep(0.01)
        raise TimeoutError(f"no output from {self.argv}; log: {self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        """SIGKILL: a power cut, as far as the process can tell."""
        self.killed = True
        self.stop(signal.SIGKILL)


def start_cloud(
    workdir: Path, port: int = 0, *, simulate_payments: bool = True, args: tuple[str, ...] = ()
) -> tuple[Process, str]:
    """`kiosk-cloud serve` as a real process (with more ``args``); returns it and its base URL."""
    db = workdir / "cloud.db"
    argv = [*_bin("kiosk-cloud"), "serve", "--host", "127.0.0.1", "--port", str(port), "--db", str(db), *args]
    proc = Process(argv + (["--simulate-payments"] if simulate_payments else []), workdir / "cloud.log").start()
    line = proc.read_line()
    return proc, line.rsplit(" ", 1)[-1]


def add_cabinet(workdir: Path, cabinet_id: str, retailer: str | None = None, *, db: str | None = None) -> str:
    """Registers a cabinet in ``db`` (default: the workdir's cloud.db); returns its key (hex)."""
    argv = [*_bin("kiosk-cloud"), "cabinet", "add", cabinet_id, "--db", db or str(workdir / "cloud.db")]
    result = subprocess.run(
        argv + (["--retailer", retailer] if retailer else []), capture_output=True, text=True, check=True, timeout=30
    )
    return result.stdout.strip()


def add_retailer(workdir: Path, name: str, *, db: str | None = None) -> str:
    """Registers a retailer in ``db`` (default: the workdir's cloud.db); returns its API token."""
    result = subprocess.run(
        [*_bin("kiosk-cloud"), "retailer", "add", name, "--db", db or str(workdir / "cloud.db")],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return result.stdout.strip()


def export_events(workdir: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [*_bin("kiosk-cloud"), "export", "--db", str(workdir / "cloud.db")],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def start_sim_cabinet(
    workdir: Path,
    *,
    config_text: str = "",
    cloud_url: str | None = None,
    extra_args: tuple[str, ...] = (),
    ready_timeout: float = 30.0,
    wrapper: tuple[str, ...] = (),
) -> tuple[Process, ControlClient]:
    """`kiosk run --sim --headless` as a real process, waited on until its control API answers. ``wrapper``:
    a command it runs under (e.g. strace). The control API binds a port the kernel picks, read from the
    cabinet's log: a port picked here and released could be taken by another process before the cabinet
    binds it."""
    argv = [
        *wrapper,
        *_bin("kiosk"),
        "run",
        "--sim",
        "--headless",
        "--data-dir",
        str(workdir / "data"),
        "--control-port",
        "0",
        *extra_args,
    ]
    if config_text:
        config_path = workdir / "kiosk.toml"
        config_path.write_text(config_text)
        argv += ["--config", str(config_path)]
    if cloud_url:
        argv += ["--cloud", cloud_url]
    log_path = workdir / "kiosk.log"
    start = log_path.stat().st_size if log_path.exists() else 0  # a restart appends to the same log
    proc = Process(argv, log_path, env={"SDL_VIDEODRIVER": "dummy"}).start()
    client: ControlClient | None = None
    deadline = time.monotonic() + ready_timeout
    while True:
        if proc.proc is not None and proc.proc.poll() is not None:
            raise RuntimeError(f"kiosk exited with {proc.proc.returncode}; log:\n{proc.log_tail()}")
        if client is None:
            url = _control_url(log_path, start)
            client = ControlClient(url) if url else None
        try:
            if client is not None and client.state()["frame"] > 0:
                return proc, client
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError(f"kiosk did not become ready; log:\n{proc.log_tail()}")
        time.sleep(0.02)
