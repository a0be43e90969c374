"""What a technician setting up a cabinet is told: `kiosk config check` refuses the template's
placeholders, `kiosk status` and `kiosk doctor` say what is missing and exit non-zero, `kiosk pin hash`
refuses the PINs a thief tries first. Run as `kiosk` runs: a subprocess, or firmware/cli.py's main."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from firmware import cli
from firmware.technician.pin_strength import weak_pin_reason
from sync_client.cabinet_config import hash_secret, verify_secret
from tests.technician.conftest import Cabinet

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "hardware/rpi/kiosk.toml.template"


def kiosk(*argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "firmware.cli", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )


def installed_template(tmp_path: Path) -> Path:
    """The template as install.sh leaves it, with the PIN set and a key file in place (kiosk provision's)."""
    key = tmp_path / "cabinet.key"
    key.write_text("ab" * 32 + "\n")
    text = TEMPLATE.read_text().replace('pin_hash = ""', f'pin_hash = "{hash_secret("480264", n=2**10)}"')
    path = tmp_path / "kiosk.toml"
    path.write_text(text.replace("/var/lib/kiosk/cabinet.key", str(key)))
    return path


def test_config_check_refuses_every_placeholder_of_the_template_naming_its_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = installed_template(tmp_path)
    assert cli.main(["config", "check", str(path)]) == 1
    err = capsys.readouterr().err
    marked = ["cabinet.id", "cabinet.support_phone", "sync.cloud_url", "products[0].sku", "products[0].name"]
    for key in marked:
        assert f"{path}: {key}: 'CHANGE-ME' is the template's placeholder" in err or (
            f"{path}: {key}: 'https://CHANGE-ME' is the template's placeholder" in err
        ), key
    assert err.count("the template's placeholder") == len(marked)  # and nothing else is called one

    assert cli.main(["config", "check", "--sim", str(path)]) == 0  # simulation needs no real values
    real = (
        path.read_text()
        .replace('id = "CHANGE-ME"', 'id = "mall-7"')
        .replace('support_phone = "CHANGE-ME"', 'support_phone = "+49 30 1234 5678"')
        .replace("https://CHANGE-ME", "https://cloud.retailer.test")
        .replace('sku = "CHANGE-ME"', 'sku = "EBIKE-1"')
        .replace('name = "CHANGE-ME"', 'name = "City e-bike"')
    )
    path.write_text(real)
    capsys.readouterr()
    assert cli.main(["config", "check", str(path)]) == 0, capsys.readouterr().err


def test_the_placeholder_code_is_said_in_chinese_on_the_console() -> None:
    from cloud_stub.console.i18n import problem_text
    from sync_client.cabinet_config import Problem

    problem = Problem.of("cabinet.id", "placeholder", got="'CHANGE-ME'")
    assert problem_text(problem, "zh") == "cabinet.id: 'CHANGE-ME' 是模板的占位值：请填入此柜机自己的值"


def test_status_and_doctor_on_a_machine_with_nothing_installed_say_not_found_and_fail(tmp_path: Path) -> None:
    config, data = tmp_path / "etc/kiosk/kiosk.toml", tmp_path / "var/lib/kiosk"
    status = kiosk("status", "--config", str(config), "--data-dir", str(data))
    assert status.returncode == 1, status.stdout
    assert f"{config}: file not found" in status.stdout
    assert f"{data}: not found (no data dir" in status.stdout
    assert "not readable" not in status.stdout
    problems = next(line for line in status.stdout.splitlines() if line.startswith("problems"))
    assert "config" in problems and "database" in problems

    doctor = kiosk("doctor", "--config", str(config), "--data-dir", str(data), "--user", "kiosk-not-installed")
    assert doctor.returncode == 1
    assert f"FAIL  configuration  {config}: file not found" in doctor.stdout
    assert "no user 'kiosk-not-installed'" in doctor.stdout and f"{data} does not exist" in doctor.stdout
    assert "-> run hardware/rpi/install.sh" in doctor.stdout
    assert "warn  key file       unknown without a configuration" in doctor.stdout


def test_status_of_a_configured_cabinet_names_the_placeholder_and_exits_1(cabinet: Cabinet) -> None:
    cabinet.config.write_text(cabinet.config.read_text().replace('id = "mall-7"', 'id = "CHANGE-ME"'))
    status = kiosk("status", "--config", str(cabinet.config), "--data-dir", str(cabinet.data_dir))
    assert status.returncode == 1
    assert "cabinet.id: 'CHANGE-ME' is the template's placeholder" in status.stdout


def test_status_exits_0_when_nothing_is_missing(cabinet: Cabinet, tmp_path: Path) -> None:
    """A cabinet on a lock board whose ports are all there: status finds nothing to report."""
    board_master, board = os.openpty()
    scanner_master, scanner = os.openpty()
    text = cabinet.config.read_text().replace(
        '[lock]\npin_factory = "lgpio"',
        f'[lock]\nbackend = "lockboard"\nboard_port = "{os.ttyname(board)}"',
    )
    text = text.replace(f'port = "{tmp_path / "kiosk-scanner"}"', f'port = "{os.ttyname(scanner)}"')
    cabinet.config.write_text(text)
    cabinet.outbox().close()  # the store the cabinet makes at its first start
    board_port = os.ttyname(board)
    try:
        status = kiosk("status", "--config", str(cabinet.config), "--data-dir", str(cabinet.data_dir))
    finally:
        for fd in (board_master, board, scanner_master, scanner):
            os.close(fd)
    assert status.returncode == 0, status.stdout
    assert f"lock board on {board_port}" in status.stdout
    assert "problems    none" in status.stdout


@pytest.mark.parametrize(
    ("pin", "reason"),
    [
        ("0000", "one digit repeated"),
        ("777777", "one digit repeated"),
        ("1234", "a run of consecutive digits"),
        ("98765", "a run of consecutive digits"),
        ("7890", "a run of consecutive digits"),
        ("1212", "the block 12 repeated"),
        ("123123", "the block 123 repeated"),
        ("1987", "a year"),
        ("2580", "one of the most common PINs"),
        ("0852", "one of the most common PINs"),
        ("5201314", "one of the most common PINs"),
    ],
)
def test_weak_pins_are_named_for_what_makes_them_weak(pin: str, reason: str) -> None:
    assert weak_pin_reason(pin) == reason


@pytest.mark.parametrize("pin", ["480264", "7351", "90417", "3094", "620517"])
def test_ordinary_pins_pass(pin: str) -> None:
    assert weak_pin_reason(pin) is None


def test_pin_hash_refuses_a_weak_pin_unless_forced_for_a_lab() -> None:
    refused = kiosk("pin", "hash", stdin="1111\n")
    assert refused.returncode == 2 and refused.stdout == ""
    assert "one digit repeated" in refused.stderr and "kiosk pin hash --force" in refused.stderr

    forced = kiosk("pin", "hash", "--force", stdin="1111\n")
    assert forced.returncode == 0 and verify_secret("1111", forced.stdout.strip())

    ok = kiosk("pin", "hash", stdin="480264\n")
    assert ok.returncode == 0 and verify_secret("480264", ok.stdout.strip())


def test_pin_hash_through_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("2468\n"))
    assert cli.main(["pin", "hash"]) == 2
    assert "one of the most common PINs" in capsys.readouterr().err
