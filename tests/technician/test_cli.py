"""The technician's commands as `kiosk` will run them: parsed, dispatched, exit status."""

from __future__ import annotations

import argparse
import tarfile
from pathlib import Path

import pytest

from firmware.technician import cli
from tests.technician.conftest import Cabinet


def kiosk(*argv: str) -> int | None:
    """What firmware/cli.py does: its own parser, our commands added, ours dispatched first."""
    parser = argparse.ArgumentParser(prog="kiosk")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run")
    cli.add_commands(sub)
    return cli.dispatch(parser.parse_args(list(argv)))


def test_status_doctor_and_logs_export(cabinet: Cabinet, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    outbox = cabinet.outbox()
    outbox.append("heartbeat", {"faults": []})
    outbox.close()
    where = ["--config", str(cabinet.config), "--data-dir", str(cabinet.data_dir)]
    # the scanner is configured but not plugged in: status names it and exits 1
    assert kiosk("status", *where) == 1
    out = capsys.readouterr().out
    problems = next(line for line in out.splitlines() if line.startswith("problems"))
    assert "1 pending" in out and "scanner" in problems.replace(",", " ").split()

    # the scanner is configured but not plugged in: a FAIL, so exit status 1
    assert kiosk("doctor", *where, "--user", cabinet.user) == 1
    assert "FAIL  serial scanner" in capsys.readouterr().out

    dest = tmp_path / "out.tar.gz"
    assert kiosk("logs", "export", str(dest), *where) == 0
    assert str(dest) in capsys.readouterr().out
    with tarfile.open(dest) as tar:
        assert any(name.endswith("/status.txt") for name in tar.getnames())
    assert kiosk("logs", "export", str(dest), *where) == 1  # never overwrites
    assert "already exists" in capsys.readouterr().err


def test_other_commands_are_not_ours() -> None:
    assert kiosk("run") is None


def test_defaults_are_the_installed_paths() -> None:
    parser = argparse.ArgumentParser(prog="kiosk")
    cli.add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["doctor"])
    assert (str(args.config), str(args.data_dir), args.user) == ("/etc/kiosk/kiosk.toml", "/var/lib/kiosk", "kiosk")
    with pytest.raises(SystemExit):
        parser.parse_args(["logs"])  # export is required
