"""Configuration: typed, every error names file, key and what was expected."""
import subprocess
import sys
from pathlib import Path

import pytest

from firmware.config import ConfigError, load_config, parse_config, production_problems


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(text)
    return path


def test_defaults_are_a_working_simulation():
    config = load_config(None)
    assert (config.screen.width, config.screen.height) == (1024, 600)
    assert sum(p.stock > 0 for p in config.products) >= 2
    assert config.lock.unlock_s <= config.lock.max_unlock_s


def test_unknown_key_wrong_type_and_missing_key_are_each_named(tmp_path):
    path = write(tmp_path, """
[screen]
widht = 800
[lock]
max_unlock_s = "five"
[[products]]
sku = "X1"
name = "Thing"
""")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    problems = err.value.problems
    assert len(problems) == 3
    assert any("screen.widht: unknown key" in p for p in problems)
    assert any("lock.max_unlock_s: expected number, got string 'five'" in p for p in problems)
    assert any("products[0].price_cents: required key missing (expected integer)" in p for p in problems)
    assert all(p.startswith(str(path)) for p in problems)


def test_literal_values_and_bounds(tmp_path):
    with pytest.raises(ConfigError) as err:
        parse_config({"lock": {"pin_factory": "wiringpi", "max_unlock_s": 3.0, "unlock_s": 2.0}}, "f.toml")
    assert "lock.pin_factory: expected one of 'mock', 'rpigpio', 'lgpio', got string 'wiringpi'" in str(err.value)
    with pytest.raises(ConfigError) as err:
        parse_config({"lock": {"max_unlock_s": 120.0}}, "f.toml")
    assert "lock.max_unlock_s: must be above 0 and at most 30" in str(err.value)


def test_integers_are_accepted_for_numbers_but_booleans_are_not_integers():
    assert parse_config({"lock": {"max_unlock_s": 4, "unlock_s": 3}}).lock.max_unlock_s == 4.0
    with pytest.raises(ConfigError, match="screen.width: expected integer, got boolean True"):
        parse_config({"screen": {"width": True}})


def test_bad_toml_names_the_file(tmp_path):
    path = write(tmp_path, "[screen\nwidth = 3")
    with pytest.raises(ConfigError, match=f"{path}: not valid TOML"):
        load_config(path)


def test_production_needs_a_pin_hash_and_a_key_there_is_no_default_pin():
    problems = production_problems(load_config(None), "kiosk.toml")
    assert any("retailer.pin_hash" in p and "no default PIN" in p for p in problems)
    assert any("cabinet.key_file" in p for p in problems)


def run_kiosk(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "firmware.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=60)


def test_config_check_command_reports_three_errors_and_fails(tmp_path):
    path = write(tmp_path, '[cabinet]\nid = 42\ncolour = "red"\n[[products]]\nname = "No sku"\nprice_cents = 100\n')
    result = run_kiosk("config", "check", str(path), "--sim", cwd=tmp_path)
    assert result.returncode != 0
    lines = [line.strip() for line in result.stderr.splitlines()]
    assert f"{path}: 3 problems:" in lines
    assert f"{path}: cabinet.colour: unknown key (known: id, currency, key_file, support_phone, support_url, store_base_url)" in lines
    assert f"{path}: cabinet.id: expected string, got integer 42" in lines
    assert f"{path}: products[0].sku: required key missing (expected string)" in lines


def test_config_check_passes_a_good_file(tmp_path):
    path = write(tmp_path, '[cabinet]\nid = "mall-7"\n[screen]\nwidth = 1920\nheight = 1080\n')
    result = run_kiosk("config", "check", str(path), "--sim", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


def test_run_refuses_a_production_config_without_pin_or_key(tmp_path):
    path = write(tmp_path, '[cabinet]\nid = "mall-7"\n')
    result = run_kiosk("run", "--config", str(path), "--headless", "--data-dir", str(tmp_path / "d"), cwd=tmp_path)
    assert result.returncode == 2
    assert "refusing to start a real cabinet" in result.stderr
    assert "there is no default PIN" in result.stderr


# --- how the cabinet reaches its cloud: verified TLS, plain http only for a lab ---------------------
def production_config(tmp_path: Path, sync: str) -> Path:
    """A configuration a real cabinet would start with, but for its [sync] section."""
    from sync_client.cabinet_config import hash_secret
    key = tmp_path / "cabinet.key"
    key.write_text("ab" * 32 + "\n")
    return write(tmp_path, f"""
[cabinet]
id = "lab-1"
key_file = "{key}"
[retailer]
pin_hash = "{hash_secret('1234', n=2**10)}"
[lock]
pin_factory = "lgpio"
[payment]
backend = "zvt"
port = "/dev/ttyUSB0"
[nfc]
backend = "none"
[scanner]
backend = "none"
[camera]
backend = "none"
[sync]
{sync}
""")


def test_production_refuses_a_plain_http_cloud_unless_a_lab_says_so(tmp_path):
    def problems(sync: str) -> list[str]:
        path = production_config(tmp_path, sync)
        return production_problems(load_config(path), str(path))
    plain = problems('cloud_url = "http://cloud.example.com"')
    assert len(plain) == 1 and "sync.cloud_url: http://cloud.example.com is plain http" in plain[0]
    assert "sync.allow_insecure_http = true" in plain[0]
    assert problems('cloud_url = "http://cloud.example.com"\nallow_insecure_http = true') == []
    assert problems('cloud_url = "https://cloud.example.com"') == []
    assert any("sync.cloud_url: 'cloud.example.com' is not an https:// URL" in p
               for p in problems('cloud_url = "cloud.example.com"'))
    # Simulation is exempt: its cloud is the local stub on loopback.
    path = production_config(tmp_path, 'cloud_url = "http://127.0.0.1:8080"')
    result = run_kiosk("config", "check", str(path), "--sim", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    result = run_kiosk("config", "check", str(path), cwd=tmp_path)
    assert result.returncode == 1 and f"{path}: sync.cloud_url: http://127.0.0.1:8080 is plain http" in result.stderr


def test_run_refuses_a_plain_http_cloud_given_on_the_command_line(tmp_path):
    path = production_config(tmp_path, 'cloud_url = "https://cloud.example.com"')
    result = run_kiosk("run", "--config", str(path), "--cloud", "http://10.0.0.5:8080", "--headless",
                       "--data-dir", str(tmp_path / "d"), cwd=tmp_path)
    assert result.returncode == 2
    assert "--cloud: http://10.0.0.5:8080 is plain http" in result.stderr


def test_a_lab_cabinet_on_plain_http_is_warned_at_every_start(tmp_path):
    path = production_config(tmp_path, 'cloud_url = "http://10.0.0.5:8080"\nallow_insecure_http = true')
    # The key file is left readable by others, so the start stops right after the warning (no devices here).
    result = run_kiosk("run", "--config", str(path), "--headless", "--data-dir", str(tmp_path / "d"), cwd=tmp_path)
    warning = next(line for line in result.stderr.splitlines() if "level=warning" in line)
    assert "sync.allow_insecure_http: the cloud http://10.0.0.5:8080 is reached over plain http" in warning
    assert result.returncode == 1 and "cabinet.key: readable or writable by others" in result.stderr


def test_the_ca_file_must_be_a_readable_pem_file(tmp_path):
    from tests.sync.test_tls import self_signed
    missing = tmp_path / "missing.pem"
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    for ca_file, says in ((missing, "does not exist"), (tmp_path, "does not exist (or is not a file)"),
                          (garbage, "holds no usable PEM certificate")):
        with pytest.raises(ConfigError) as err:
            parse_config({"sync": {"ca_file": str(ca_file)}}, "kiosk.toml")
        [problem] = err.value.problems
        assert problem.startswith(f"kiosk.toml: sync.ca_file: {ca_file} ") and says in problem
    cert, _ = self_signed(tmp_path)
    assert parse_config({"sync": {"ca_file": str(cert)}}).sync.ca_file == str(cert)
