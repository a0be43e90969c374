"""hardware/rpi/install.sh into a fake root, with the system commands stubbed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from firmware.config import load_config
from firmware.updater.installer import layout_check
from firmware.updater.slots import Slots
from tests.hardware.stubs import Stubs, make_stubs, run_install, snapshot

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "hardware" / "rpi" / "install.sh"
CMDLINE = "console=serial0,115200 console=tty1 root=PARTUUID=3d2b5c1a-02 rootfstype=ext4 fsck.repair=yes rootwait"
CONFIG_TXT = "dtparam=audio=on\ncamera_auto_detect=1\n[all]\narm_64bit=1\n[cm4]\notg_mode=1\n"
FSTAB = (
    "proc            /proc           proc    defaults          0       0\n"
    "PARTUUID=3d2b5c1a-01  /boot/firmware  vfat    defaults          0       2\n"
    "# the root file system\n"
    "PARTUUID=3d2b5c1a-02  /               ext4    defaults,relatime,commit=60  0       1\n"
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A freshly flashed Raspberry Pi OS Lite, as far as install.sh looks at it."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\npi:x:1000:1000::/home/pi:/bin/bash\n")
    (root / "etc/group").write_text("root:x:0:\ndialout:x:20:pi\nvideo:x:44:pi\npi:x:1000:\n")
    (root / "etc/os-release").write_text('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_CODENAME=bookworm\n')
    (root / "boot/firmware").mkdir(parents=True)
    (root / "boot/firmware/cmdline.txt").write_text(CMDLINE + "\n")
    (root / "boot/firmware/config.txt").write_text(CONFIG_TXT)
    (root / "etc/fstab").write_text(FSTAB)
    (root / "var").mkdir()
    (root / "var/swap").write_bytes(b"\0" * 4096)  # Raspberry Pi OS's swap file on the card
    return root


@pytest.fixture
def stubs(tmp_path: Path) -> Stubs:
    stubs = make_stubs(tmp_path / "stubs")
    stubs.enable("dphys-swapfile.service")  # enabled on a fresh Raspberry Pi OS
    return stubs


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A project checkout of our own: the real tree is being edited by others while tests run."""
    source = tmp_path / "src"
    for package in ("firmware", "hal", "kiosk_ui", "sync_client", "cloud_stub"):
        (source / package).mkdir(parents=True)
        (source / package / "__init__.py").write_text(f'"""{package}"""\n')
    for name in ("setup.cfg", "pyproject.toml", "firmware/updater/slots.py"):  # slots.py: the boot check
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text((REPO / name).read_text())
    return source


def version_of_setup_cfg() -> str:
    return next(
        line.split("=")[1].strip()
        for line in (REPO / "setup.cfg").read_text().splitlines()
        if line.startswith("version")
    )


def mutating(calls: list[list[str]]) -> list[list[str]]:
    """Calls that change something (the queries install.sh makes are not)."""
    return [c for c in calls if c[0] != "dpkg-query" and not (c[0] == "systemctl" and "is-enabled" in c)]


def test_dry_run_lists_every_action_and_writes_nothing(root: Path, stubs: Stubs) -> None:
    before = snapshot(root)
    result = run_install(INSTALL, root, stubs, "--dry-run")
    assert result.returncode == 0, result.stderr
    actions = [line.removeprefix("[dry-run] ") for line in result.stdout.splitlines() if line.startswith("[dry-run] ")]
    text = "\n".join(actions)
    assert snapshot(root) == before
    assert mutating(stubs.calls()) == []
    # packages: the project's list plus what the Pi needs for the display, camera and GPIO
    install = next(a for a in actions if "apt-get install" in a)
    for package in ("libzbar0", "python3-venv", "libgbm1", "libegl1", "python3-picamera2", "python3-lgpio"):
        assert f" {package}" in install
    for group in ("gpio", "input", "render"):  # dialout and video exist already
        assert f"groupadd --system --root {root} {group}" in actions
    assert "groupadd --system --root {root} dialout" not in text
    assert any(
        a.startswith("useradd --system") and a.endswith(" kiosk") and "--groups gpio,dialout,video,input,render" in a
        for a in actions
    )
    assert f"python3 -m venv --system-site-packages {root}/opt/kiosk/slot-a" in actions
    assert f"{root}/opt/kiosk/slot-a/bin/pip install --quiet --upgrade {REPO}[pi]" in actions
    assert f"ln -s slot-a {root}/opt/kiosk/current" in actions  # the unit runs current/bin/kiosk
    boot_check = f"install -D -m 0644 {REPO}/firmware/updater/slots.py {root}/opt/kiosk/boot-check.py"
    assert boot_check in actions
    assert f"install -m 0640 {REPO}/hardware/rpi/kiosk.toml.template {root}/etc/kiosk/kiosk.toml" in actions
    assert f"mkdir -p {root}/var/lib/kiosk" in actions and f"chmod 0700 {root}/var/lib/kiosk" in actions
    assert f"edit {root}/boot/firmware/cmdline.txt: consoleblank=0, no serial console" in actions
    assert f"edit {root}/boot/firmware/config.txt: enable_uart=1 gpio=17=op,dh" in actions
    assert f"install -D -m 0644 {REPO}/hardware/udev/99-kiosk.rules {root}/etc/udev/rules.d/99-kiosk.rules" in actions
    assert "udevadm control --reload" in actions
    unit = f"{root}/etc/systemd/system/kiosk.service"
    assert f"install -D -m 0644 {REPO}/hardware/systemd/kiosk.service {unit}" in actions
    assert f"systemctl --root {root} enable kiosk.service" in actions
    for updater in ("kiosk-updater.service", "kiosk-updater.path"):  # the installer of signed updates (root)
        assert f"install -D -m 0644 {REPO}/hardware/systemd/{updater} {root}/etc/systemd/system/{updater}" in actions
    assert f"systemctl --root {root} enable kiosk-updater.path" in actions
    assert f"chown -R 0:0 {root}/opt/kiosk" in actions  # the slots are root's: the program cannot change itself
    # the SD card: the journal in RAM, noatime, no swap file
    journald = f"{root}/etc/systemd/journald.conf.d/90-kiosk.conf"
    assert f"install -D -m 0644 {REPO}/hardware/systemd/journald-kiosk.conf {journald}" in actions
    assert f"edit {root}/etc/fstab: noatime on /" in actions
    assert f"systemctl --root {root} disable dphys-swapfile.service" in actions
    assert f"rm -f {root}/var/swap" in actions
    assert f"dry run: {len(actions)} action(s) would be taken" in result.stdout


def test_install_then_again_changes_nothing_and_keeps_the_config(root: Path, stubs: Stubs, source: Path) -> None:
    first = run_install(INSTALL, root, stubs, "--source", str(source))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "reboot for the boot settings" in first.stdout

    # the service user, in every group it needs, with the uid the stub gave it
    passwd = (root / "etc/passwd").read_text()
    assert f"kiosk:x:{stubs.uid}:{stubs.uid}::/var/lib/kiosk:/usr/sbin/nologin" in passwd
    groups = {line.split(":")[0]: line.split(":")[3].split(",") for line in (root / "etc/group").read_text().split()}
    for group in ("gpio", "dialout", "video", "input", "render"):
        assert "kiosk" in groups[group]
    assert "pi" in groups["dialout"]

    # the data dir: kiosk's own, 0700; the config from the template, readable by kiosk's group only
    data = (root / "var/lib/kiosk").stat()
    assert (data.st_uid, stat.S_IMODE(data.st_mode)) == (stubs.uid, 0o700)
    conf = root / "etc/kiosk/kiosk.toml"
    assert conf.read_text() == (REPO / "hardware/rpi/kiosk.toml.template").read_text()
    assert (stat.S_IMODE(conf.stat().st_mode), conf.stat().st_gid) == (0o640, stubs.uid)
    assert stat.S_IMODE((root / "etc/kiosk").stat().st_mode) == 0o750

    # boot: blanking off, serial console gone (the PN532 HAT owns the UART), UART on for every model,
    # and the relay's pin driven high (relay off) from power-on, before Linux and the cabinet start
    cmdline = (root / "boot/firmware/cmdline.txt").read_text()
    assert cmdline == "console=tty1 root=PARTUUID=3d2b5c1a-02 rootfstype=ext4 fsck.repair=yes rootwait consoleblank=0\n"
    assert (root / "boot/firmware/cmdline.txt.kiosk-orig").read_text() == CMDLINE + "\n"
    assert (root / "boot/firmware/config.txt").read_text() == CONFIG_TXT + "[all]\nenable_uart=1\ngpio=17=op,dh\n"

    # the SD card: the journal in RAM (bounded), the root mounted noatime (only its line changed), no swap file
    fstab = (root / "etc/fstab").read_text().splitlines()
    assert fstab[3].split() == ["PARTUUID=3d2b5c1a-02", "/", "ext4", "defaults,commit=60,noatime", "0", "1"]
    assert fstab[:3] == FSTAB.splitlines()[:3]
    assert (root / "etc/fstab.kiosk-orig").read_text() == FSTAB
    journald = (root / "etc/systemd/journald.conf.d/90-kiosk.conf").read_text()
    assert "Storage=volatile" in journald.splitlines() and "RuntimeMaxUse=48M" in journald.splitlines()
    assert ["systemctl", "--root", str(root), "disable", "dphys-swapfile.service"] in stubs.calls()
    assert not (root / "var/swap").exists()

    # unit and rules installed byte for byte; venv made with the system site-packages (picamera2)
    for installed, shipped in (
        ("etc/systemd/system/kiosk.service", "hardware/systemd/kiosk.service"),
        ("etc/udev/rules.d/99-kiosk.rules", "hardware/udev/99-kiosk.rules"),
    ):
        assert (root / installed).read_bytes() == (REPO / shipped).read_bytes()
    assert (root / "opt/kiosk/slot-a/pyvenv.cfg").read_text() == "include-system-site-packages = true\n"
    assert os.access(root / "opt/kiosk/current/bin/kiosk", os.X_OK)
    # the slots as the updater reads them: slot-a holds this version whole, root alone may write them, as the
    # installer checks before it touches them
    assert Slots(root / "opt/kiosk").version("slot-a") == version_of_setup_cfg()
    assert Slots(root / "opt/kiosk").current() == "slot-a"
    layout_check(Slots(root / "opt/kiosk"), 0)
    assert all(p.lstat().st_uid == 0 and not p.lstat().st_mode & 0o022 for p in (root / "opt/kiosk").rglob("*")
               if not p.is_symlink())  # fmt: skip
    assert (root / "opt/kiosk/boot-check.py").read_bytes() == (REPO / "firmware/updater/slots.py").read_bytes()
    calls = stubs.calls()
    assert ["pip", "install", "--quiet", "--upgrade", f"{source}[pi]"] in calls
    assert ["systemctl", "--root", str(root), "enable", "kiosk.service"] in calls
    assert ["systemctl", "--root", str(root), "enable", "kiosk-updater.path"] in calls
    for updater in ("kiosk-updater.service", "kiosk-updater.path"):
        assert (root / "etc/systemd/system" / updater).read_bytes() == (
            REPO / "hardware/systemd" / updater
        ).read_bytes()
    assert ["udevadm", "control", "--reload"] in calls
    installed = next(c for c in calls if c[0] == "apt-get" and "install" in c)
    assert "libzbar0" in installed

    # the technician edits the configuration; a second run leaves everything as it is
    conf.write_text(conf.read_text().replace('id = "CHANGE-ME"', 'id = "mall-7"'))
    before = snapshot(root)
    stubs.clear()
    second = run_install(INSTALL, root, stubs, "--source", str(source))
    assert second.returncode == 0, second.stdout + second.stderr
    assert "nothing to do: everything is in place" in second.stdout
    assert "/etc/kiosk/kiosk.toml exists: kept as it is" in second.stdout
    assert mutating(stubs.calls()) == []
    assert snapshot(root) == before


def test_an_upgrade_reinstalls_what_changed_and_nothing_else(root: Path, stubs: Stubs, source: Path) -> None:
    assert run_install(INSTALL, root, stubs, "--source", str(source)).returncode == 0
    unit = root / "etc/systemd/system/kiosk.service"
    unit.write_text(unit.read_text().replace("WatchdogSec=30s", "WatchdogSec=5s"))  # an older version
    stubs.clear()
    result = run_install(INSTALL, root, stubs, "--source", str(source))
    assert result.returncode == 0, result.stderr
    assert unit.read_bytes() == (REPO / "hardware/systemd/kiosk.service").read_bytes()
    assert "done: 1 change(s)" in result.stdout
    assert mutating(stubs.calls()) == []  # already enabled; the fake root has no daemon to reload

    (source / "firmware" / "__init__.py").write_text('"""firmware, next version"""\n')
    result = run_install(INSTALL, root, stubs, "--source", str(source))
    assert result.returncode == 0, result.stderr
    assert mutating(stubs.calls()) == [["pip", "install", "--quiet", "--upgrade", f"{source}[pi]"]]
    assert "done: 1 change(s)" in result.stdout  # pip, as root: the slot stays root's, nothing to hand over
    assert "chown -R" not in result.stdout


def test_a_root_already_mounted_noatime_and_no_swap_is_left_alone(root: Path, stubs: Stubs, source: Path) -> None:
    rpi_os = FSTAB.replace("defaults,relatime,commit=60", "defaults,noatime")  # Raspberry Pi OS's own fstab
    (root / "etc/fstab").write_text(rpi_os)
    (root / "var/swap").unlink()
    (stubs.state / "enabled-dphys-swapfile.service").unlink()
    result = run_install(INSTALL, root, stubs, "--source", str(source))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (root / "etc/fstab").read_text() == rpi_os and not (root / "etc/fstab.kiosk-orig").exists()
    assert f"{root}/etc/fstab: / is mounted noatime" in result.stdout
    assert "no swap file on the card (dphys-swapfile.service is not enabled)" in result.stdout
    assert not any(call[:1] == ["systemctl"] and "disable" in call for call in stubs.calls())


def test_older_boot_layout_without_config_txt(root: Path, stubs: Stubs, source: Path) -> None:
    (root / "boot/firmware/cmdline.txt").rename(root / "boot/cmdline.txt")  # before bookworm: /boot
    (root / "boot/firmware/config.txt").unlink()
    (root / "boot/cmdline.txt").write_text("console=tty1 consoleblank=600 root=/dev/mmcblk0p2 rootwait\n")
    result = run_install(INSTALL, root, stubs, "--source", str(source))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (root / "boot/cmdline.txt").read_text() == "console=tty1 root=/dev/mmcblk0p2 rootwait consoleblank=0\n"
    assert (root / "boot/config.txt").read_text() == "[all]\nenable_uart=1\ngpio=17=op,dh\n"


def test_earlier_uart_and_relay_pin_settings_are_replaced(root: Path, stubs: Stubs, source: Path) -> None:
    (root / "boot/firmware/config.txt").write_text("enable_uart=0\ngpio=17=ip,pd\n[pi4]\narm_boost=1\n")
    result = run_install(INSTALL, root, stubs, "--source", str(source))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        root / "boot/firmware/config.txt"
    ).read_text() == "[pi4]\narm_boost=1\n[all]\nenable_uart=1\ngpio=17=op,dh\n"
    assert (root / "boot/firmware/config.txt.kiosk-orig").read_text().startswith("enable_uart=0\n")


def test_a_failing_command_stops_the_install_with_its_name(root: Path, stubs: Stubs) -> None:
    result = run_install(INSTALL, root, stubs, STUB_FAIL="apt-get")  # fails before the source matters
    assert result.returncode != 0
    assert "install: error: could not: apt-get update" in result.stderr
    assert not (root / "etc/kiosk").exists()  # it stopped there


def test_bad_arguments_are_refused(root: Path, stubs: Stubs) -> None:
    result = run_install(INSTALL, root, stubs, "--frobnicate")
    assert result.returncode != 0 and "unknown argument: --frobnicate" in result.stderr
    missing = run_install(INSTALL, root, stubs, "--source", str(root / "nowhere"))
    assert missing.returncode != 0 and "--source" in missing.stderr and "no such directory" in missing.stderr


def test_template_is_a_valid_configuration_using_the_udev_names() -> None:
    config = load_config(REPO / "hardware/rpi/kiosk.toml.template")
    rules = (REPO / "hardware/udev/99-kiosk.rules").read_text()
    assert config.payment.port == "/dev/kiosk-payment" and 'SYMLINK+="kiosk-payment"' in rules
    assert config.scanner.port == "/dev/kiosk-scanner" and 'SYMLINK+="kiosk-scanner"' in rules
    assert config.nfc.port == "/dev/serial0" and 'SYMLINK=="serial0"' in rules
    assert config.lock.pin_factory == "lgpio" and (config.lock.relay_pin, config.lock.door_pin) == (17, 27)
    assert config.cabinet.key_file.startswith("/var/lib/kiosk/")  # inside the unit's ReadWritePaths
