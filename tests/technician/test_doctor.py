"""`kiosk doctor`: each check finds what a technician would, and says what to do."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections import namedtuple
from pathlib import Path

import pytest

from firmware.technician import doctor as doctor_module
from firmware.technician.doctor import (
    DoctorContext,
    Finding,
    check_clock,
    check_data_dir,
    check_devices,
    check_disk,
    check_key_file,
    check_serial_ports,
    check_updates,
    check_user,
    doctor,
    format_findings,
    run_checks,
)
from firmware.technician.term import ProgressBar, use_colour
from tests.technician.conftest import Cabinet


def context(cabinet: Cabinet, user: str | None = None) -> DoctorContext:
    ctx = DoctorContext(
        cabinet.config, cabinet.data_dir, user=user or cabinet.user, groups=(cabinet.group,), dev=cabinet.dev
    )
    check_user(ctx)
    doctor_module.check_config(ctx)
    return ctx


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


def levels(findings: list[Finding]) -> dict[str, str]:
    return {f.check: f.level for f in findings}


def test_a_well_set_up_cabinet_has_no_failure(cabinet: Cabinet, monkeypatch: pytest.MonkeyPatch) -> None:
    (cabinet.data_dir.parent / "kiosk-scanner").symlink_to(cabinet.payment_port.resolve())  # plugged in
    monkeypatch.setattr(doctor_module, "_ntp_synchronised", lambda: True)
    ctx = DoctorContext(cabinet.config, cabinet.data_dir, user=cabinet.user, groups=(cabinet.group,), dev=cabinet.dev)
    out = io.StringIO()
    status = doctor(ctx, out)
    found = levels(run_checks(ctx))
    for check in (
        "service user",
        "configuration",
        "data dir",
        "key file",
        "serial payment",
        "serial scanner",
        "display",
        "touch input",
        "GPIO",
        "clock",
    ):
        assert found[check] == "ok", (check, out.getvalue())
    assert found["service"] in ("ok", "warn")  # no systemd in a test container: a warning, not a failure
    assert status == 0, out.getvalue()
    assert "\033[" not in out.getvalue()


def test_missing_groups_and_users(cabinet: Cabinet) -> None:
    ctx = DoctorContext(cabinet.config, cabinet.data_dir, user=cabinet.user, groups=(cabinet.group, "gpio-test-x"))
    finding = only(check_user(ctx))
    assert finding.level == "FAIL" and finding.detail == f"{cabinet.user} is not in gpio-test-x"
    assert finding.fix.startswith(f"sudo usermod -aG gpio-test-x {cabinet.user}")
    finding = only(check_user(DoctorContext(cabinet.config, cabinet.data_dir, user="no-such-kiosk-user")))
    assert finding.level == "FAIL" and "install.sh" in finding.fix


def test_data_dir_permissions(cabinet: Cabinet, tmp_path: Path) -> None:
    cabinet.data_dir.chmod(0o755)
    finding = only(check_data_dir(context(cabinet)))
    assert finding.level == "FAIL" and finding.fix == f"sudo chmod 700 {cabinet.data_dir}"
    finding = only(check_data_dir(context(cabinet, user="nobody")))
    assert finding.level == "FAIL" and finding.fix == f"sudo chown -R nobody: {cabinet.data_dir}"
    ctx = context(cabinet)
    ctx.data_dir = tmp_path / "nowhere"
    finding = only(check_data_dir(ctx))
    assert finding.level == "FAIL" and finding.fix.startswith("sudo install -d -o")


def test_key_file_must_be_0600_and_owned_by_the_service_user(cabinet: Cabinet) -> None:
    assert only(check_key_file(context(cabinet))).level == "ok"
    cabinet.key_file.chmod(0o644)
    finding = only(check_key_file(context(cabinet)))
    assert (finding.level, finding.fix) == ("FAIL", f"sudo chmod 600 {cabinet.key_file}")
    cabinet.key_file.chmod(0o600)
    finding = only(check_key_file(context(cabinet, user="nobody")))
    assert (finding.level, finding.fix) == ("FAIL", f"sudo chown nobody: {cabinet.key_file}")
    cabinet.key_file.write_text("not hex at all\n")
    finding = only(check_key_file(context(cabinet)))
    assert finding.level == "FAIL" and "must be hex" in finding.detail
    cabinet.key_file.unlink()
    finding = only(check_key_file(context(cabinet)))
    assert finding.level == "FAIL" and finding.detail == f"{cabinet.key_file} does not exist"


def test_serial_ports_present_and_openable_by_the_service_user(cabinet: Cabinet) -> None:
    findings = {f.check: f for f in check_serial_ports(context(cabinet))}
    assert findings["serial payment"].level == "ok"
    assert findings["serial payment"].detail == f"{cabinet.payment_port} -> {cabinet.payment_port.resolve()}"
    scanner = findings["serial scanner"]  # configured, but nothing plugged in
    assert scanner.level == "FAIL" and scanner.detail.endswith("kiosk-scanner is not there")
    assert "udevadm info" in scanner.fix
    # a pseudo-terminal is the runner's own, mode 0620: nobody else may open it
    findings = {f.check: f for f in check_serial_ports(context(cabinet, user="nobody"))}
    payment = findings["serial payment"]
    assert payment.level == "FAIL" and "nobody cannot open it" in payment.detail and "dialout" in payment.fix
    (cabinet.data_dir.parent / "kiosk-scanner").write_text("")  # a file where a device should be
    findings = {f.check: f for f in check_serial_ports(context(cabinet))}
    assert findings["serial scanner"].detail.endswith("kiosk-scanner is not a serial device")


def test_display_touch_and_gpio_nodes(cabinet: Cabinet) -> None:
    assert levels(check_devices(context(cabinet))) == {"display": "ok", "touch input": "ok", "GPIO": "ok"}
    for node in ("dri/card1", "input/event0", "gpiochip0"):
        (cabinet.dev / node).unlink()
    found = {f.check: f for f in check_devices(context(cabinet))}
    assert found["display"].level == "FAIL" and "vc4-kms-v3d" in found["display"].fix
    assert found["touch input"].level == "warn"
    assert found["GPIO"].level == "FAIL"


def test_disk_space_thresholds(cabinet: Cabinet, monkeypatch: pytest.MonkeyPatch) -> None:
    usage = namedtuple("usage", "total used free")
    for free, level in ((8 << 30, "ok"), (600 << 20, "warn"), (50 << 20, "FAIL")):
        monkeypatch.setattr(doctor_module.shutil, "disk_usage", lambda path, free=free: usage(1, 1, free))
        assert only(check_disk(context(cabinet))).level == level, free


def test_clock_sanity(cabinet: Cabinet) -> None:
    ctx = context(cabinet)
    past = time.mktime((2000, 1, 1, 0, 0, 0, 0, 0, 0))  # a Pi with no RTC, before NTP
    finding = only(check_clock(ctx, now=past, synchronised=lambda: True))
    assert finding.level == "FAIL" and "timedatectl set-time" in finding.fix
    assert only(check_clock(ctx, synchronised=lambda: False)).level == "warn"
    assert only(check_clock(ctx, synchronised=lambda: None)).level == "warn"
    assert only(check_clock(ctx, synchronised=lambda: True)).level == "ok"


def test_output_says_what_to_do_and_exit_status(cabinet: Cabinet) -> None:
    cabinet.key_file.chmod(0o640)
    ctx = DoctorContext(cabinet.config, cabinet.data_dir, user=cabinet.user, groups=(cabinet.group,), dev=cabinet.dev)
    out = io.StringIO()
    assert doctor(ctx, out) == 1
    text = out.getvalue()
    line = next(line for line in text.splitlines() if line.startswith("FAIL  key file"))
    assert "the key must be 0600" in line
    assert f"-> sudo chmod 600 {cabinet.key_file}" in text
    assert text.splitlines()[-1].startswith("2 FAIL")  # the key file and the unplugged scanner
    coloured = format_findings([Finding("clock", "FAIL", "2000-01-01", "set it")], colour=True)
    assert coloured.startswith("\033[31;1mFAIL\033[0m")


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_and_progress_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_colour(Tty()) and not use_colour(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_colour(Tty())
    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        bar = ProgressBar(4, stream, width=8)
        for label in ("user", "config", "disk", "clock"):
            bar.step(label)
        bar.close()
    assert pipe.getvalue() == ""
    assert "[--------] 0/4 user" in tty.getvalue() and "[######--] 3/4 clock" in tty.getvalue()
    with pytest.raises(ValueError, match="at least one step"):
        ProgressBar(0, tty)


def test_run_without_the_rights_to_look(tmp_path: Path) -> None:
    """A technician who forgets sudo gets told so, not a traceback: kiosk's data dir is 0700."""
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "cabinet.key").write_text("00" * 32)
    (data / "cabinet.db").write_bytes(b"")
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[cabinet]\nkey_file = "{data / "cabinet.key"}"\n')
    script = (
        "import sys; from pathlib import Path\n"
        "from firmware.technician.status import collect_status, format_status\n"
        "from firmware.technician.doctor import DoctorContext, run_checks, format_findings\n"
        "c, d = Path(sys.argv[1]), Path(sys.argv[2])\n"
        "print(format_status(collect_status(c, d)))\n"
        "print(format_findings(run_checks(DoctorContext(c, d)), colour=False))\n"
    )
    command = [sys.executable, "-c", script, str(config), str(data)]
    if os.geteuid() == 0:
        # root reads anything: give the dir to nobody and drop root's right to ignore file modes
        os.chown(data, 65534, 65534)
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
    else:
        data.chmod(0o000)  # our own dir, closed to us, does the same
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, check=False, timeout=60, cwd=Path(__file__).resolve().parents[2]
        )
    finally:
        data.chmod(0o700)
    assert result.returncode == 0, result.stderr
    assert f"{data / 'cabinet.db'}: not readable by this user (run with sudo)" in result.stdout
    assert "warn  key file" in result.stdout and "run kiosk doctor with sudo" in result.stdout


def test_the_store_check_says_why_payment_is_not_offered(cabinet: Cabinet) -> None:
    from firmware.technician.doctor import check_store

    outbox = cabinet.outbox()
    outbox.close()
    db = cabinet.data_dir / "cabinet.db"
    assert only(check_store(context(cabinet))).level == "ok"

    # A reserve above what the disk has free: a FAIL naming the path, the free space and the key.
    with open(cabinet.config, "a") as fh:
        fh.write("\n[storage]\nreserve_mb = 1000000\n")  # 1 TB: the most the key allows
    finding = only(check_store(context(cabinet)))
    assert finding.level == "FAIL" and str(db) in finding.detail and "storage.reserve_mb" in finding.detail
    assert "MB free" in finding.detail


def test_the_store_check_names_a_vanished_or_damaged_store(cabinet: Cabinet) -> None:
    from firmware.storage import StorageGuard
    from firmware.technician.doctor import check_store
    from sync_client.store_marker import marker_path

    db = cabinet.data_dir / "cabinet.db"
    outbox = cabinet.outbox()
    outbox.append("heartbeat", {})
    StorageGuard(outbox, 0, marker_path(db)).verify_identity(existed=True)  # the marker, as at a start
    outbox.close()
    db.unlink()
    finding = only(check_store(context(cabinet)))
    assert finding.level == "FAIL" and "not selling" in finding.detail and "is missing" in finding.detail
    assert "kiosk store accept-new" in finding.fix

    db.write_bytes(b"garbage" * 1000)
    finding = only(check_store(context(cabinet)))
    assert finding.level == "FAIL" and str(db) in finding.detail


def test_the_store_check_fails_when_the_service_user_cannot_write_it(cabinet: Cabinet) -> None:
    from firmware.technician.doctor import ServiceUser, check_store

    cabinet.outbox().close()
    ctx = context(cabinet)
    ctx.user, ctx.account = "kiosk", ServiceUser("kiosk", 54321, {54321}, {"kiosk"})  # not the store's owner
    (cabinet.data_dir / "cabinet.db").chmod(0o644)
    finding = only(check_store(ctx))
    assert finding.level == "FAIL" and "kiosk cannot write it" in finding.detail
    assert "chown" in finding.fix


def updates_on(cabinet: Cabinet, monkeypatch: pytest.MonkeyPatch, answer: str | None) -> DoctorContext:
    """The cabinet with signed updates configured; ``answer``: what a systemd's systemctl says of
    kiosk-updater.path (a stand-in systemctl on PATH), None: no systemd on this machine."""
    with cabinet.config.open("a") as toml:
        toml.write('\n[updates]\nroot = "/etc/kiosk/update-root.json"\n')
    if answer is not None:
        bin_dir = cabinet.config.parent / "bin"
        bin_dir.mkdir()
        (bin_dir / "systemctl").write_text(f'#!/bin/sh\n[ "$2" = kiosk-updater.path ] && echo {answer}\n')
        (bin_dir / "systemctl").chmod(0o755)
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(doctor_module, "_systemd_running", lambda: answer is not None)
    return context(cabinet)


def test_updates_need_the_installers_path_unit_enabled(cabinet: Cabinet, monkeypatch: pytest.MonkeyPatch) -> None:
    finding = only(check_updates(updates_on(cabinet, monkeypatch, "disabled")))
    assert (finding.check, finding.level) == ("updater unit", "FAIL")
    assert "kiosk-updater.path is disabled" in finding.detail
    assert "systemctl enable --now kiosk-updater.path" in finding.fix


def test_updates_with_the_path_unit_enabled_are_ok(cabinet: Cabinet, monkeypatch: pytest.MonkeyPatch) -> None:
    finding = only(check_updates(updates_on(cabinet, monkeypatch, "enabled")))
    assert (finding.check, finding.level) == ("updates", "ok")


def test_a_request_the_installer_left_waiting_too_long_fails(cabinet: Cabinet, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = updates_on(cabinet, monkeypatch, "enabled")
    request = cabinet.data_dir / "update" / "request.json"
    request.parent.mkdir()
    request.write_text('{"action": "install", "version": "1.1.0"}')
    written = request.stat().st_mtime
    assert levels(check_updates(ctx, now=written + 60)) == {"updates": "ok"}  # the installer may still take it
    finding = only(check_updates(ctx, now=written + 20 * 60))
    assert (finding.check, finding.level) == ("update request", "FAIL")
    assert "has waited 20 min for the installer" in finding.detail and "kiosk-updater" in finding.fix


def test_without_systemd_the_unit_is_not_judged(cabinet: Cabinet, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = updates_on(cabinet, monkeypatch, None)
    finding = only(check_updates(ctx))
    assert (finding.check, finding.level) == ("updater unit", "warn")
    assert "no systemd running here" in finding.detail
    out = io.StringIO()
    monkeypatch.setattr(doctor_module, "_ntp_synchronised", lambda: True)
    doctor(ctx, out)
    assert "no systemd running here: cannot tell whether kiosk-updater.path is enabled" in out.getvalue()
