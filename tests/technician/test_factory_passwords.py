"""A ZVT terminal password left at its factory value is a warning (not an error) for a real cabinet: at every
`kiosk run` start as a structured log line, in `kiosk config check` and in `kiosk doctor`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from firmware.technician.doctor import DoctorContext, check_config
from tests.technician.conftest import ZVT_PASSWORD, Cabinet

WARNING = "payment.password: still a factory default of ZVT terminals"


def with_password(cabinet: Cabinet, password: str) -> Path:
    text = cabinet.config.read_text()
    cabinet.config.write_text(text.replace(f'password = "{ZVT_PASSWORD}"', f'password = "{password}"'))
    return cabinet.config


def kiosk(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "firmware.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=60
    )


@pytest.mark.parametrize("password", ["000000", "123456"])
def test_config_check_and_doctor_warn_about_a_factory_zvt_password(cabinet: Cabinet, password: str) -> None:
    config = with_password(cabinet, password)
    result = kiosk("config", "check", str(config), cwd=config.parent)
    assert result.returncode == 0, result.stderr  # a warning, not an error
    assert f"{config}: ok, 1 warning" in result.stdout
    assert f"warning: {config}: {WARNING}" in result.stderr
    assert password not in result.stdout + result.stderr

    (finding,) = check_config(DoctorContext(config, cabinet.data_dir))
    assert finding.level == "warn" and WARNING in finding.detail and finding.fix == f"edit {config}"


def test_a_password_of_its_own_or_simulation_gets_no_warning(cabinet: Cabinet) -> None:
    result = kiosk("config", "check", str(cabinet.config), cwd=cabinet.config.parent)
    assert result.returncode == 0 and "warning" not in result.stdout + result.stderr
    assert check_config(DoctorContext(cabinet.config, cabinet.data_dir))[0].level == "ok"
    config = with_password(cabinet, "000000")
    result = kiosk("config", "check", str(config), "--sim", cwd=config.parent)
    assert result.returncode == 0 and "warning" not in result.stderr


def test_kiosk_run_logs_the_warning_at_start(cabinet: Cabinet, tmp_path: Path) -> None:
    config = with_password(cabinet, "000000")
    log = tmp_path / "kiosk.log"
    with open(log, "wb") as stderr:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "firmware.cli",
                "run",
                "--config",
                str(config),
                "--headless",
                "--data-dir",
                str(cabinet.data_dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            cwd=tmp_path,
            env={**os.environ, "SDL_VIDEODRIVER": "dummy"},
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while "configuration warning" not in log.read_text() and proc.poll() is None:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)  # polling the process's log, bounded by the deadline
    finally:
        if proc.poll() is None:  # the devices of this test cabinet are not there: stop it either way
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    line = next(line for line in log.read_text().splitlines() if "configuration warning" in line)
    assert line.startswith("ts=") and "level=warning" in line and WARNING in line
    assert "000000" not in line  # the value itself is never logged
