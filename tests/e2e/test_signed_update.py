"""A signed update in simulation, end to end with real processes: `kiosk-cloud release` publishes a version,
`kiosk-cloud serve --updates` serves it, the simulated cabinet (`kiosk run --sim`, idle on its attract screen)
finds it, verifies it through TUF into its staging directory and asks for it; the installer (`python -m
firmware.updater.installer`, as kiosk-updater.path starts it) verifies the staged files again against its own TUF
metadata, installs them into the other slot as a real virtual environment (pip, offline), switches `current` and
restarts the cabinet; started again as systemd would (the boot check, then the program in `current`), the new
version runs on trial."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

from firmware.control_client import add_cabinet, start_cloud, start_sim_cabinet
from firmware.updater.slots import Slots
from tests.polling import eventually
from tests.updater.rig import Releases, install_running

REPO = Path(__file__).resolve().parents[2]
CABINET_ID = "e2e-cabinet-1"


def running_version() -> str:
    try:
        return importlib.metadata.version("smart-cabinet")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def test_the_simulated_cabinet_updates_itself_into_the_other_slot_and_starts_again_in_it(tmp_path: Path) -> None:
    old = running_version()
    assert old != "unknown", "the project is installed in the venv (make setup)"
    releases = Releases(tmp_path / "publisher")
    releases.release(old)
    releases.release("99.0.0")
    slots = Slots(tmp_path / "opt")
    install_running(slots, next((releases.root / "dist").glob(f"*-{old}-*.whl")), old)

    cloud, url = start_cloud(tmp_path, args=("--updates", str(releases.served)))
    try:
        key_file = tmp_path / "cabinet.key"
        key_file.write_text(add_cabinet(tmp_path, CABINET_ID) + "\n")
        key_file.chmod(0o600)
        config = f"""
[cabinet]
id = "{CABINET_ID}"
key_file = "{key_file}"
[updates]
root = "{releases.served / "metadata" / "1.root.json"}"
slots = "{slots.root}"
url = "{url}/updates"
auto = true
"""
        cabinet, _client = start_sim_cabinet(tmp_path, config_text=config, cloud_url=url)
        assert cabinet.proc is not None
        request = tmp_path / "data" / "update" / "request.json"
        eventually(request.exists, bool, 120, "the cabinet's request to the installer")
        assert slots.current() == "slot-a"  # the cabinet's process asks; it installs nothing itself
        installer = subprocess.run(
            [sys.executable, "-m", "firmware.updater.installer", "--config", str(tmp_path / "kiosk.toml"),
             "--data-dir", str(tmp_path / "data"), "--state-dir", str(tmp_path / "installer"),
             "--restart", f"kill -TERM {cabinet.proc.pid}"],
            capture_output=True, text=True, timeout=300, cwd=REPO,
        )  # fmt: skip
        code = cabinet.proc.wait(60)  # "restarted": stopped by the installer, systemd would start it again
        log = cabinet.log_tail()
    finally:
        cloud.stop()
    assert installer.returncode == 0, installer.stderr
    assert installer.stdout.strip() == "99.0.0 installed in slot-b; restarting", installer.stdout
    assert "verified and handed to the installer" in log
    assert code == 0, log
    assert not request.exists()
    assert slots.current() == "slot-b" and slots.version("slot-b") == "99.0.0"
    trial = slots.trial()
    assert trial is not None and (trial.version, trial.previous_version) == ("99.0.0", old)

    # systemd starts it again: the boot check counts the trial's first start, then `current` runs
    boot = subprocess.run(
        [sys.executable, "-I", str(REPO / "firmware/updater/slots.py"), str(slots.root)],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert "99.0.0 on trial in slot-b: start 1 of 3" in boot.stdout
    program = subprocess.run(
        [str(slots.root / "current" / "bin" / "python"), "-c", "import kiosk_probe; print(kiosk_probe.VERSION)"],
        capture_output=True, text=True, timeout=30, check=True, cwd=tmp_path, env={},
    )  # fmt: skip
    assert program.stdout.strip() == "99.0.0"
