"""`make setup` installs the project with setuptools: its own packaging must build without warnings and
carry every data file (fonts, ads, the console's templates and static files)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("firmware", "hal", "kiosk_ui", "sync_client", "cloud_stub")
DATA_DIRS = ("kiosk_ui/assets", "cloud_stub/console/templates", "cloud_stub/console/static")


def _copy_sources(dest: Path) -> None:
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(REPO / name, dest / name)
    for package in PACKAGES:
        shutil.copytree(REPO / package, dest / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def test_the_build_warns_about_nothing_and_installs_every_data_file(tmp_path: Path) -> None:
    _copy_sources(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # its notice is no warning
    result = subprocess.run(
        [sys.executable, "-c", "import setuptools; setuptools.setup()", "-q", "egg_info", "--egg-base", str(tmp_path)]
        + ["build_py", "--build-lib", str(tmp_path / "lib")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    said = [line for line in (result.stdout + result.stderr).splitlines() if "warn" in line.lower()]
    assert not said, "\n".join(said)
    for data_dir in DATA_DIRS:
        shipped = {p.relative_to(REPO) for p in (REPO / data_dir).rglob("*") if p.is_file()}
        shipped = {p for p in shipped if "__pycache__" not in p.parts}
        built = {p.relative_to(tmp_path / "lib") for p in (tmp_path / "lib" / data_dir).rglob("*") if p.is_file()}
        assert shipped and shipped == built, f"{data_dir}: missing {sorted(map(str, shipped - built))}"
