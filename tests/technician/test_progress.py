"""Long operations tell how far they are: one Progress record (sync_client/progress.py) per step or chunk,
drawn as a bar on a terminal by the CLI; what an update's download will report in bytes."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from firmware.technician.logs_export import EXPORT_STEPS, export_logs
from firmware.technician.term import ProgressBar
from sync_client.progress import Progress
from tests.technician.conftest import Cabinet


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_record_says_steps_and_bytes_and_refuses_nonsense() -> None:
    assert Progress("journal", 0, 5).text == "0/5 journal"
    download = Progress("download", 1_500_000, 4_000_000, "bytes")
    assert download.text == "1.5/4.0 MB download" and download.fraction == 0.375
    with pytest.raises(ValueError, match="expected 0 <= done <= total"):
        Progress("download", 5, 4, "bytes")
    with pytest.raises(ValueError, match="expected 0 <= done <= total"):
        Progress("nothing", 0, 0)


def test_the_bar_draws_a_download_in_place_on_a_terminal_only() -> None:
    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        bar = ProgressBar(1, stream, width=8)
        for received in (0, 2_000_000, 4_000_000):
            bar.show(Progress("download", received, 4_000_000, "bytes"))
        bar.close()
    assert pipe.getvalue() == ""
    frames = tty.getvalue().split("\r\033[K")
    assert frames[1:4] == [
        "[--------] 0.0/4.0 MB download",
        "[####----] 2.0/4.0 MB download",
        "[########] 4.0/4.0 MB download",
    ]


def test_a_log_export_reports_each_step_then_the_end(cabinet: Cabinet, tmp_path: Path) -> None:
    seen: list[Progress] = []
    export_logs(tmp_path / "out.tar.gz", cabinet.config, cabinet.data_dir, progress=seen.append)
    total = len(EXPORT_STEPS)
    assert seen == [Progress(step, n, total) for n, step in enumerate(EXPORT_STEPS)] + [Progress("done", total, total)]


def test_kiosk_logs_export_draws_its_bar_on_a_terminal(cabinet: Cabinet, tmp_path: Path) -> None:
    """The command as a technician runs it, its stderr a terminal (a pseudo-terminal here)."""
    controller, terminal = os.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "firmware.cli", "logs", "export", str(tmp_path / "out.tar.gz")]
            + ["--config", str(cabinet.config), "--data-dir", str(cabinet.data_dir)],
            stderr=terminal,
            stdout=subprocess.PIPE,
            text=True,
            timeout=60,
        )
        os.close(terminal)
        drawn = b""
        while chunk := _read(controller):
            drawn += chunk
    finally:
        os.close(controller)
    assert result.returncode == 0
    text = drawn.decode()
    for n, step in enumerate(EXPORT_STEPS):
        assert f"] {n}/{len(EXPORT_STEPS)} {step}" in text
    assert f"] {len(EXPORT_STEPS)}/{len(EXPORT_STEPS)} done" in text


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: the other end is closed and everything was read
        return b""
