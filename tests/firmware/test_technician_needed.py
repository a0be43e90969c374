"""A cabinet that is not provisioned or not configured does not crash-loop: `kiosk run` stays up on the
technician-needed screen, tells systemd it is ready (its status says what is missing) and feeds the
watchdog, and exits by itself once provisioning changes its files, for systemd to start it again.

Started as systemd starts it: `kiosk run` (headless, no --sim: simulation needs no key and no
configuration), a real sd_notify socket, WATCHDOG_USEC set."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from string import Formatter

import pytest

from firmware.config import CONFIG_PROBLEM_TEXTS
from firmware.setup_needs import check_setup, hardware_id
from kiosk_ui.i18n import PROBLEMS, setup_detail
from sync_client.cabinet_config import hash_secret

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "hardware/rpi/kiosk.toml.template"


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(30)  # a bound on each wait for the cabinet's next message
    yield sock
    sock.close()


def start(tmp_path: Path, config: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "NOTIFY_SOCKET": str(tmp_path / "notify"),
        "WATCHDOG_USEC": "200000",  # a ping every 0.1 s
        "SDL_AUDIODRIVER": "dummy",
    }
    env.pop("WATCHDOG_PID", None)
    argv = [sys.executable, "-m", "firmware.cli", "run", "--headless", "--config", str(config)]
    return subprocess.Popen([*argv, "--data-dir", str(tmp_path / "data")], env=env, stderr=subprocess.PIPE, text=True)


def messages_until(sock: socket.socket, field: str) -> list[str]:
    """Every message up to and including the first one carrying ``field``."""
    seen = []
    while True:
        message = sock.recv(4096).decode()
        seen.append(message)
        if field in message.split("\n"):
            return seen


def installed_template(tmp_path: Path, pin_hash: str = "") -> tuple[Path, Path]:
    """The template as install.sh leaves it (key file in tmp_path), and that key file's path."""
    key = tmp_path / "data" / "cabinet.key"
    config = tmp_path / "kiosk.toml"
    text = TEMPLATE.read_text().replace("/var/lib/kiosk/cabinet.key", str(key))
    config.write_text(text.replace('pin_hash = ""', f'pin_hash = "{pin_hash}"'))
    return config, key


def test_an_unprovisioned_cabinet_stays_up_saying_what_is_missing_until_provisioned(
    tmp_path: Path, notify: socket.socket
) -> None:
    config, key = installed_template(tmp_path)
    cabinet = start(tmp_path, config)
    try:
        ready = messages_until(notify, "READY=1")[-1]
        status = next(line for line in ready.split("\n") if line.startswith("STATUS="))
        assert status.startswith("STATUS=technician needed: no cabinet key (")
        assert f"{key} does not exist" in status
        assert "not enrolled with the cloud (" in status and "sync.cloud_url is https://CHANGE-ME" in status
        assert f"configuration ({config}: cabinet.id: 'CHANGE-ME' is the template's placeholder" in status
        assert "more: kiosk config check)" in status  # its other problems (the PIN hash...): config check
        # alive, and its loop with it: the watchdog is fed, so systemd neither restarts it nor kills it
        for _ in range(3):
            messages_until(notify, "WATCHDOG=1")
        assert cabinet.poll() is None

        key.parent.mkdir(parents=True, exist_ok=True)
        key.write_text("ab" * 32 + "\n")  # as kiosk provision writes it: the cabinet starts again to read it
        assert cabinet.wait(timeout=30) == 0
    finally:
        if cabinet.poll() is None:
            cabinet.kill()
        stderr = cabinet.communicate()[1]
    assert "technician needed" in stderr and "screen=technician" in stderr
    assert "hardware_id=" in stderr


def test_a_cabinet_without_configuration_stays_up_until_stopped(tmp_path: Path, notify: socket.socket) -> None:
    cabinet = start(tmp_path, tmp_path / "kiosk.toml")
    try:
        ready = messages_until(notify, "READY=1")[-1]
        assert f"STATUS=technician needed: configuration ({tmp_path / 'kiosk.toml'}: file not found)" in ready
        messages_until(notify, "WATCHDOG=1")
        assert cabinet.poll() is None
        cabinet.send_signal(signal.SIGTERM)
        assert cabinet.wait(timeout=30) == 0
        assert "STOPPING=1" in messages_until(notify, "STOPPING=1")[-1]
    finally:
        if cabinet.poll() is None:
            cabinet.kill()
        cabinet.communicate()


def test_what_the_template_lacks_and_what_a_provisioned_cabinet_does_not(tmp_path: Path) -> None:
    config, key = installed_template(tmp_path)
    check = check_setup(config)
    assert [n.need for n in check.needs] == ["key", "enrolment", "config"]
    assert check.needs[2].detail.startswith(f"{config}: cabinet.id: 'CHANGE-ME' is the template's placeholder")
    assert check.needs[2].detail.endswith("more: kiosk config check)")  # the rest: config check lists them

    config, key = installed_template(tmp_path, hash_secret("480264", n=2**10))
    key.parent.mkdir(parents=True, exist_ok=True)
    key.write_text("ab" * 32 + "\n")
    key.chmod(0o600)
    text = config.read_text().replace("https://CHANGE-ME", "https://cloud.retailer.test")
    config.write_text(text.replace('"CHANGE-ME"', '"set-by-the-technician"'))
    assert check_setup(config).needs == ()
    key.chmod(0o644)  # a key others can read is refused by the runtime: said the same way here
    assert [n.need for n in check_setup(config).needs] == ["key"]


def test_the_hardware_id_is_the_boards_serial_else_the_machine_id(tmp_path: Path) -> None:
    serial, cpuinfo, machine = tmp_path / "serial-number", tmp_path / "cpuinfo", tmp_path / "machine-id"
    serial.write_bytes(b"10000000a3c9e127\0")
    assert hardware_id((serial,), cpuinfo, machine) == "RPI-10000000a3c9e127"
    cpuinfo.write_text("processor\t: 0\nHardware\t: BCM2835\nSerial\t\t: 00000000f00dcafe\nModel\t: Pi 4\n")
    assert hardware_id((tmp_path / "none",), cpuinfo, machine) == "RPI-00000000f00dcafe"
    cpuinfo.write_text("processor\t: 0\n")
    machine.write_text("3d1219c7c4c5404aaa1f6d2a48adfda4\n")
    assert hardware_id((tmp_path / "none",), cpuinfo, machine) == "MID-3d1219c7c4c5404aaa1f6d2a48adfda4"
    assert hardware_id((tmp_path / "none",), tmp_path / "none", tmp_path / "none") == "unknown"


def test_the_screen_says_what_the_template_lacks_in_chinese_and_the_logs_keep_the_english(tmp_path: Path) -> None:
    config, key = installed_template(tmp_path)
    check = check_setup(config)
    details = {n.need: n.detail for n in check.needs}
    assert details == {  # the journal and systemctl status: the English as ever
        "key": f"{key} does not exist (kiosk provision writes it)",
        "enrolment": f"{config}: sync.cloud_url is https://CHANGE-ME (kiosk provision sets it)",
        "config": f"{config}: cabinet.id: 'CHANGE-ME' is the template's placeholder: put this cabinet's own value "
        "here (and 4 more: kiosk config check)",
    }
    assert {n.need: setup_detail(n.view(), "en") for n in check.needs} == details
    assert {n.need: setup_detail(n.view(), "zh") for n in check.needs} == {  # the file and the key as they are
        "key": f"{key} 不存在（kiosk provision 会写入）",
        "enrolment": f"{config}：sync.cloud_url 为 https://CHANGE-ME（kiosk provision 会设置）",
        "config": f"{config}：cabinet.id：'CHANGE-ME' 是模板的占位值：请填入此柜机自己的值"
        "（另有 4 项：kiosk config check）",
    }

    text = config.read_text().replace("\n[sync]\n", f'\n[sync]\nca_file = "{tmp_path}/cloud-ca.pem"\n')
    config.write_text(text)  # a file the checker cannot load: its problem alone
    [need] = check_setup(config).needs
    assert need.detail == f"{config}: sync.ca_file: {tmp_path}/cloud-ca.pem does not exist (or is not a file)"
    assert setup_detail(need.view(), "zh") == f"{config}：sync.ca_file：{tmp_path}/cloud-ca.pem 不存在（或不是文件）"


def test_every_problem_the_checker_can_name_has_chinese_words_with_the_same_placeholders() -> None:
    fields = {code: {f for _, f, _, _ in Formatter().parse(text) if f} for code, text in CONFIG_PROBLEM_TEXTS.items()}
    zh = PROBLEMS["zh"]
    assert set(zh) == set(CONFIG_PROBLEM_TEXTS)
    assert {code: {f for _, f, _, _ in Formatter().parse(zh[code]) if f} for code in zh} == fields
