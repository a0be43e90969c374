"""hardware/systemd/kiosk.service: what the cabinet relies on, and systemd's own verdict."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from firmware.cli import build_parser
from firmware.technician.doctor import SERVICE_GROUPS

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "hardware" / "systemd" / "kiosk.service"
UPDATER = REPO / "hardware" / "systemd" / "kiosk-updater.service"
UPDATER_PATH = REPO / "hardware" / "systemd" / "kiosk-updater.path"
INSTALL = REPO / "hardware" / "rpi" / "install.sh"


def directives(text: str) -> dict[str, list[str]]:
    """``Section.Key`` -> every value given (systemd allows repeated keys)."""
    found: dict[str, list[str]] = {}
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.setdefault(f"{section}.{key}", []).append(value)
    return found


def install_variable(name: str) -> str:
    match = re.search(rf"^{name}=(.*)$", INSTALL.read_text(), re.MULTILINE)
    assert match, f"{name} not set in install.sh"
    return match[1]


def test_notify_watchdog_restart_and_the_service_user() -> None:
    unit = directives(UNIT.read_text())
    assert unit["Service.Type"] == ["notify"]
    assert unit["Service.WatchdogSec"] == ["30s"]
    assert unit["Service.Restart"] == ["always"]
    assert unit["Unit.StartLimitIntervalSec"] == ["0"]  # keeps restarting, however often
    assert unit["Service.User"] == [install_variable("SERVICE_USER")]
    groups = install_variable("SERVICE_GROUPS").split("#")[0].strip().strip("()").split()
    assert unit["Service.SupplementaryGroups"][0].split() == groups == list(SERVICE_GROUPS)
    env = dict(v.split("=", 1) for v in unit["Service.Environment"])
    assert env["SDL_VIDEODRIVER"] == "kmsdrm" and env["SDL_TOUCH_MOUSE_EVENTS"] == "1"


def test_exec_start_is_a_valid_kiosk_command_on_the_installed_paths() -> None:
    (command,) = directives(UNIT.read_text())["Service.ExecStart"]
    argv = shlex.split(command)
    slots = install_variable("SLOTS").split("#")[0].strip()
    assert argv[0] == install_variable("CURRENT").split("#")[0].strip().replace("$SLOTS", slots) + "/bin/kiosk"
    # before it, the boot check of the A/B slots (firmware/updater/slots.py, installed by install.sh)
    (boot_check,) = directives(UNIT.read_text())["Service.ExecStartPre"]
    assert shlex.split(boot_check)[-2:] == [f"{slots}/boot-check.py", slots]
    assert boot_check.startswith("+")  # as root: it may switch the link, which the service user cannot
    args = build_parser().parse_args(argv[1:])
    assert args.command == "run" and not args.sim
    assert str(args.config) == install_variable("CONF").replace("$CONF_DIR", install_variable("CONF_DIR"))
    assert str(args.data_dir) == install_variable("DATA_DIR")


def test_hardening_confines_writes_and_devices() -> None:
    unit = directives(UNIT.read_text())
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectControlGroups": "yes",
        "DevicePolicy": "closed",
        # the data only: the program cannot change the slots it runs from (kiosk-updater.service installs)
        "ReadWritePaths": install_variable("DATA_DIR"),
        "ReadOnlyPaths": install_variable("SLOTS").split("#")[0].strip(),
    }.items():
        assert unit[f"Service.{key}"] == [value], key
    families = unit["Service.RestrictAddressFamilies"][0].split()
    assert {"AF_UNIX", "AF_INET", "AF_INET6"} <= set(families) and "AF_PACKET" not in families
    allowed = {v.split()[0] for v in unit["Service.DeviceAllow"]}
    for device in (
        "char-gpiochip",
        "char-ttyUSB",
        "char-ttyACM",
        "char-ttyAMA",
        "char-drm",
        "char-input",
        "char-video4linux",
        "char-media",
        "char-dma_heap",
    ):
        assert device in allowed, device


def test_the_installer_runs_as_root_when_the_program_asks_and_only_it_writes_the_slots() -> None:
    slots = install_variable("SLOTS").split("#")[0].strip()
    data = install_variable("DATA_DIR")
    path = directives(UPDATER_PATH.read_text())
    # the request the program writes (firmware/updater/installer.py: Handoff, into DATA_DIR/update)
    assert path["Path.PathChanged"] == [f"{data}/update/request.json"]
    assert path["Path.Unit"] == [UPDATER.name]
    unit = directives(UPDATER.read_text())
    assert "Service.User" not in unit and unit["Service.Type"] == ["oneshot"]  # root, once per request
    assert unit["Service.ReadWritePaths"] == [f"{slots} -{data}/update"]  # "-": no staging yet is no error
    assert unit["Service.ProtectSystem"] == ["strict"] and unit["Service.NoNewPrivileges"] == ["yes"]
    (command,) = unit["Service.ExecStart"]
    argv = shlex.split(command)
    current = install_variable("CURRENT").split("#")[0].strip().replace("$SLOTS", slots)
    assert argv[:4] == [f"{current}/bin/python", "-I", "-m", "firmware.updater.installer"]
    from firmware.updater.installer import parser

    args = parser().parse_args(argv[4:])
    assert str(args.config) == install_variable("CONF").replace("$CONF_DIR", install_variable("CONF_DIR"))
    assert str(args.data_dir) == data
    assert str(args.state_dir) == f"/var/lib/{unit['Service.StateDirectory'][0]}"
    # the program's unit: the same data directory, the slots read-only
    kiosk = directives(UNIT.read_text())
    assert kiosk["Service.ReadWritePaths"] == [data] and kiosk["Service.ReadOnlyPaths"] == [slots]


def fake_root(tmp: Path, unit_text: str) -> Path:
    """What `systemd-analyze verify --root` needs: the distribution's units, ours, and its ExecStart."""
    root = tmp / "root"
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    (root / "etc/systemd/system/kiosk.service").write_text(unit_text)
    for unit in (UPDATER, UPDATER_PATH):
        (root / "etc/systemd/system" / unit.name).write_text(unit.read_text())
    kiosk = root / "opt/kiosk/slot-a/bin/kiosk"
    kiosk.parent.mkdir(parents=True)
    kiosk.write_text("#!/bin/sh\n")
    kiosk.chmod(0o755)
    (root / "opt/kiosk/current").symlink_to("slot-a")
    (root / "opt/kiosk/slot-a/bin/python").write_text("#!/bin/sh\n")  # the installer's interpreter
    (root / "opt/kiosk/slot-a/bin/python").chmod(0o755)
    (root / "opt/kiosk/boot-check.py").write_text("")
    python = root / "usr/bin/python3"  # the boot check's interpreter (ExecStartPre)
    python.parent.mkdir(parents=True, exist_ok=True)
    python.write_text("#!/bin/sh\n")
    python.chmod(0o755)
    return root


def analyze(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["systemd-analyze", f"--root={root}", *args], capture_output=True, text=True, check=False, timeout=60
    )


@pytest.mark.skipif(
    not shutil.which("systemd-analyze") or not Path("/usr/lib/systemd/system").is_dir(),
    reason="systemd-analyze is not installed here (apt-get install systemd to run this check)",
)
def test_systemd_analyze_verify_and_security(tmp_path: Path) -> None:
    root = fake_root(tmp_path / "good", UNIT.read_text())
    verify = analyze(root, "verify", "kiosk.service")
    complaints = [line for line in (verify.stdout + verify.stderr).splitlines() if "kiosk.service" in line]
    assert verify.returncode == 0 and complaints == [], verify.stdout + verify.stderr

    security = analyze(root, "--offline=true", "security", "kiosk.service")
    exposure = re.search(r"Overall exposure level for kiosk\.service: ([\d.]+)", security.stdout + security.stderr)
    assert exposure, security.stdout + security.stderr
    assert float(exposure[1]) < 3.0  # systemd calls below 3 "OK"; an unhardened unit scores 9.6

    for unit in (UPDATER.name, UPDATER_PATH.name):
        verify = analyze(root, "verify", unit)
        complaints = [line for line in (verify.stdout + verify.stderr).splitlines() if "kiosk-updater" in line]
        assert verify.returncode == 0 and complaints == [], verify.stdout + verify.stderr

    # the same check does notice a mistake
    broken = fake_root(tmp_path / "bad", UNIT.read_text().replace("Type=notify", "Type=notfiy"))
    verify = analyze(broken, "verify", "kiosk.service")
    assert "kiosk.service" in verify.stdout + verify.stderr and "notfiy" in verify.stdout + verify.stderr
