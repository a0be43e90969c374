"""The board firmware type-checks against MicroPython's rp2 (Pico) stubs, not CPython's stdlib.

The stubs come from the pip packages micropython-rp2-rpi-pico-stubs and
micropython-stdlib-stubs (installed into the venv). They install as loose
top-level .pyi files, which mypy does not take from site-packages, so the test
links them into a folder and points mypy at it: the stdlib stubs as typeshed,
the board modules (machine, time, rp2) on MYPYPATH.
"""

import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
STUB_PACKAGES = ("micropython-rp2-rpi-pico-stubs", "micropython-stdlib-stubs")
# Errors inside the stubs themselves are the stub authors' to fix, not ours.
CONFIG = """\
[mypy]
strict = True
[mypy-machine,vfs,_mpy_shed.*,rp2.*]
ignore_errors = True
"""


@pytest.fixture(scope="module")
def stubs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("mpy-stubs")
    for package in STUB_PACKAGES:
        try:
            dist = importlib.metadata.distribution(package)
        except importlib.metadata.PackageNotFoundError:
            pytest.fail(
                f"pip package {package} is not installed: install it (and mypy) into the venv "
                f"to type-check firmware/lockboard against MicroPython's Pico stubs"
            )
        tops = {
            Path(str(f)).parts[0] for f in dist.files or () if ".dist-info" not in str(f) and str(f).endswith(".pyi")
        }
        for top in tops:
            if not (folder / top).exists():
                os.symlink(dist.locate_file(top), folder / top)
    assert (folder / "machine.pyi").exists() and (folder / "stdlib" / "VERSIONS").exists()
    (folder / "mypy.ini").write_text(CONFIG)
    return folder


def run_mypy(stubs: Path, firmware_dir: Path) -> subprocess.CompletedProcess:
    if shutil.which("mypy", path=str(Path(sys.executable).parent)) is None:
        pytest.fail("mypy is not installed in the venv (pip install mypy)")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(stubs / "mypy.ini"),
            "--custom-typeshed-dir",
            str(stubs),
            "--no-site-packages",
            "--cache-dir",
            str(stubs / ".mypy_cache"),
            "-p",
            "lockboard",
        ],
        cwd=firmware_dir,
        env={**os.environ, "MYPYPATH": str(stubs)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_firmware_type_checks_against_the_pico_stubs(stubs):
    result = run_mypy(stubs, FIRMWARE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout


def test_the_check_catches_cpython_only_code_and_tick_arithmetic(stubs, tmp_path):
    """A control: with the stubs, code that would only work on CPython fails the check."""
    shutil.copytree(FIRMWARE / "lockboard", tmp_path / "lockboard")
    controller = tmp_path / "lockboard" / "controller.py"
    controller.write_text(
        controller.read_text()
        + (
            "\n\ndef broken(clock):\n"
            "    # type: (Clock) -> int\n"
            "    import dataclasses\n"  # not in MicroPython
            "    return clock.ticks_ms() - 1\n"
        )
    )  # ticks wrap: ticks_diff is required
    result = run_mypy(stubs, tmp_path)
    assert result.returncode == 1
    assert 'Cannot find implementation or library stub for module named "dataclasses"' in result.stdout
    assert 'Unsupported operand types for - ("_TicksMs" and "int")' in result.stdout
