"""`kiosk selftest`: a table of every device, non-zero exit when one fails."""

import subprocess
import sys


def selftest(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "firmware.cli", "selftest", *args], capture_output=True, text=True, cwd=cwd, timeout=60
    )


def test_selftest_against_the_emulators_passes_every_device(tmp_path):
    result = selftest("--sim", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:-1]}
    assert set(rows) == {"lock", "door", "payment:terminal", "nfc", "camera", "scanner"}
    assert all("  ok  " in row for row in rows.values())
    assert "terminal id 29001234" in rows["payment:terminal"]
    assert "PN532 v1.6" in rows["nfc"]
    assert result.stdout.splitlines()[-1] == "6 of 6 devices ok"


def test_selftest_names_a_missing_device_and_fails(tmp_path):
    config = tmp_path / "bench.toml"
    config.write_text(
        '[payment]\nbackend = "zvt"\nport = "/dev/ttyNOPE0"\n'
        '[nfc]\nbackend = "none"\n[scanner]\nbackend = "none"\n[camera]\nbackend = "none"\n'
    )
    result = selftest("--config", str(config), cwd=tmp_path)
    assert result.returncode == 1
    payment = next(line for line in result.stdout.splitlines() if line.startswith("payment:terminal"))
    assert "FAIL" in payment and "/dev/ttyNOPE0" in payment
    assert "failed: payment:terminal" in result.stdout.splitlines()[-1]


def test_selftest_checks_the_fingerprint_module_when_configured(tmp_path):
    config = tmp_path / "sim.toml"
    config.write_text('[fingerprint]\nbackend = "sim"\n[camera]\nbackend = "none"\n')
    result = selftest("--sim", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("fingerprint"))
    assert "  ok  " in row and "handshake ok, 0 templates" in row


def test_selftest_names_a_missing_fingerprint_module(tmp_path):
    config = tmp_path / "bench.toml"
    config.write_text(
        '[payment]\nbackend = "zvt"\nport = "/dev/ttyNOPE0"\n[fingerprint]\nbackend = "zfm"\nport = "/dev/ttyNOPE1"\n'
        '[nfc]\nbackend = "none"\n[scanner]\nbackend = "none"\n[camera]\nbackend = "none"\n'
    )
    result = selftest("--config", str(config), cwd=tmp_path)
    assert result.returncode == 1
    row = next(line for line in result.stdout.splitlines() if line.startswith("fingerprint"))
    assert "FAIL" in row and "cannot open /dev/ttyNOPE1" in row
