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


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-5"])
@pytest.mark.parametrize("key", ["reserve_mb", "check_s"])
def test_storage_numbers_must_be_finite_and_above_zero(tmp_path, key, value):
    path = tmp_path / "kiosk.toml"
    path.write_text(f"[storage]\n{key} = {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert any(p.startswith(f"{path}: storage.{key}: must be a finite number above 0") for p in caught.value.problems)
    path.write_text(f"[storage]\n{key} = 25\n")
    assert getattr(load_config(path).storage, key) == 25.0
