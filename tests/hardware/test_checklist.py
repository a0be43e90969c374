"""The technician's checklist (hardware/README.md, "From a blank SD card to selling") agrees with the code:
its steps in order, every `kiosk` and `kiosk-cloud` command in it parses, its pin table is the
configuration's defaults and the template's values, its paths are the installed ones, and the other
documents point to it."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest

from cloud_stub.cli import build_parser as cloud_parser
from firmware.cli import build_parser as kiosk_parser
from firmware.config import DEFAULT_CONFIG_PATH, DEFAULT_DATA_DIR, LockSection, load_config

REPO = Path(__file__).resolve().parents[2]
HARDWARE_README = REPO / "hardware/README.md"
TITLE = "From a blank SD card to selling"
# The Raspberry Pi's 40-pin header: physical pin -> BCM GPIO, for the pins the table uses.
HEADER = {8: 14, 10: 15, 11: 17, 13: 27, 15: 22}
# What the checklist writes in place of a value the technician supplies, and a value that stands for it.
PLACEHOLDERS = {"URL": "https://cloud.retailer.test", "CABINET_ID": "mall-7", "TOKEN": "t0k", "NAME": "acme"}
PLACEHOLDERS |= {"PATH": "/tmp/logs.tar.gz", "PORT": "/dev/ttyACM0"}


def checklist() -> str:
    text = HARDWARE_README.read_text()
    start = text.index(f"## {TITLE}")
    return text[start : text.index("\n## ", start + 1) if "\n## " in text[start + 1 :] else len(text)]


def commands() -> list[list[str]]:
    """Every `kiosk ...` and `kiosk-cloud ...` in the checklist, as argv without sudo and the venv's path."""
    found = []
    for code in re.findall(r"`([^`]+)`", checklist()):
        argv = shlex.split(code)
        while argv and argv[0] == "sudo":
            argv = argv[3:] if argv[1:2] == ["-u"] else argv[1:]
        if len(argv) > 1 and argv[0] in ("kiosk", "kiosk-cloud", "/opt/kiosk/current/bin/kiosk"):
            found.append([Path(argv[0]).name] + [PLACEHOLDERS.get(a, a) for a in argv[1:]])
    return found


def test_the_steps_are_the_technicians_in_order() -> None:
    steps = re.findall(r"^\d+\. \*\*(.+?)\*\*", checklist(), re.MULTILINE)
    assert steps == [
        "Flash Raspberry Pi OS.",
        "Get the software.",
        "Run install.sh.",
        "Wire",
        "Flash the lock board",
        "Provision the key with an enrolment token.",
        "Configure.",
        "Self-test.",
        "First sale.",
    ]


@pytest.mark.parametrize("argv", commands(), ids=" ".join)
def test_every_command_exists_with_its_options(argv: list[str]) -> None:
    parser = kiosk_parser() if argv[0] == "kiosk" else cloud_parser()
    try:
        parser.parse_args(argv[1:])
    except SystemExit as exc:  # argparse's answer to an unknown command or option
        pytest.fail(f"{' '.join(argv)}: not what {argv[0]} accepts (exit {exc.code})")


def test_the_commands_cover_the_whole_path() -> None:
    said = {" ".join(argv[:3]) for argv in commands()}
    for wanted in ("kiosk lockboard flash", "kiosk-cloud enroll-token --retailer", "kiosk provision --cloud"):
        assert any(s.startswith(wanted) for s in said), wanted
    for wanted in ("kiosk pin hash", "kiosk config check", "kiosk selftest --config", "kiosk doctor", "kiosk status"):
        assert any(s.startswith(wanted) for s in said), wanted


def pin_rows() -> list[tuple[int, str, dict[str, object]]]:
    """(physical pin, name, {lock key: value}) of the checklist's pin table."""
    rows = []
    for match in re.finditer(r"^\s*\| (\d+) \| ([^|]+) \|[^|]*\|([^|]*)\|$", checklist(), re.MULTILINE):
        settings = {
            key: tomllib.loads(f"v = {value}")["v"]
            for key, value in re.findall(r"`(\w+\.\w+) = ([^`]+)`", match.group(3))
        }
        rows.append((int(match.group(1)), match.group(2).strip(), settings))
    return rows


def test_the_pin_table_is_the_configurations_defaults_and_the_templates_values() -> None:
    rows = pin_rows()
    assert [pin for pin, _, _ in rows] == [1, 2, 8, 9, 10, 11, 13, 14, 15, 20]
    defaults, template = LockSection(), load_config(REPO / "hardware/rpi/kiosk.toml.template")
    lock_keys = set()
    for pin, name, settings in rows:
        gpio = re.match(r"GPIO(\d+)", name)
        if gpio:
            assert HEADER[pin] == int(gpio.group(1)), f"physical pin {pin} is GPIO{HEADER[pin]}, not {name}"
        for dotted, value in settings.items():
            section, key = dotted.split(".")
            assert getattr(getattr(template, section), key) == value, f"the template's {dotted}"
            if section == "lock":
                lock_keys.add(key)
                assert getattr(defaults, key) == value, f"the default of {dotted}"
            if key.endswith("_pin"):
                assert gpio and int(gpio.group(1)) == value, f"{dotted} = {value} on the row of {name}"
    assert {"relay_pin", "door_pin", "tamper_pin", "relay_active_high"} <= lock_keys


def test_the_paths_and_the_unit_are_the_installed_ones() -> None:
    text = checklist()
    unit = (REPO / "hardware/systemd/kiosk.service").read_text()
    install = (REPO / "hardware/rpi/install.sh").read_text()
    assert str(DEFAULT_CONFIG_PATH) in text and str(DEFAULT_DATA_DIR) in text
    assert (
        f"ExecStart=/opt/kiosk/current/bin/kiosk run --config {DEFAULT_CONFIG_PATH} --data-dir {DEFAULT_DATA_DIR}"
        in unit
    )
    assert "SLOTS=/opt/kiosk" in install and "CURRENT=$SLOTS/current" in install
    assert "SERVICE=kiosk.service" in install
    assert "sudo systemctl stop kiosk" in text and "sudo systemctl start kiosk" in text
    rules = (REPO / "hardware/udev/99-kiosk.rules").read_text()
    for name in set(re.findall(r"/dev/(kiosk-\w+)", text)):
        assert f'SYMLINK+="{name}"' in rules, name


def test_the_other_documents_point_to_it() -> None:
    anchor = "hardware/README.md#from-a-blank-sd-card-to-selling"
    assert anchor in (REPO / "README.md").read_text()
    for path in ("hardware/rpi/install.sh", "hardware/rpi/kiosk.toml.template"):
        assert f'hardware/README.md, "{TITLE}"' in (REPO / path).read_text(), path
    # install.sh's closing lines no longer carry steps of their own
    closing = (REPO / "hardware/rpi/install.sh").read_text().rsplit("cat <<EOF", 1)[1]
    assert "config check" not in closing and "selftest" not in closing
