"""Configuration: typed, every error names file, key and what was expected."""

import subprocess
import sys
import typing
from pathlib import Path

import pytest

from firmware.config import Config, ConfigError, ProductSection, load_config, parse_config, production_problems
from sync_client.schema import Range, ranged


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
    path = write(
        tmp_path,
        """
[screen]
widht = 800
[lock]
max_unlock_s = "five"
[[products]]
sku = "X1"
name = "Thing"
""",
    )
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
    assert "lock.max_unlock_s: expected a finite number > 0 and <= 10, got 120.0" in str(err.value)


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
    return subprocess.run(
        [sys.executable, "-m", "firmware.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=60
    )


def test_config_check_command_reports_three_errors_and_fails(tmp_path):
    path = write(tmp_path, '[cabinet]\nid = 42\ncolour = "red"\n[[products]]\nname = "No sku"\nprice_cents = 100\n')
    result = run_kiosk("config", "check", str(path), "--sim", cwd=tmp_path)
    assert result.returncode != 0
    lines = [line.strip() for line in result.stderr.splitlines()]
    assert f"{path}: 3 problems:" in lines
    assert (
        f"{path}: cabinet.colour: unknown key "
        "(known: id, currency, key_file, support_phone, support_url, store_base_url)" in lines
    )
    assert f"{path}: cabinet.id: expected string, got integer 42" in lines
    assert f"{path}: products[0].sku: required key missing (expected string)" in lines


def test_config_check_passes_a_good_file(tmp_path):
    path = write(tmp_path, '[cabinet]\nid = "mall-7"\n[screen]\nwidth = 1920\nheight = 1080\n')
    result = run_kiosk("config", "check", str(path), "--sim", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


def test_run_refuses_a_production_config_without_pin_or_key(tmp_path):
    """It does not sell: it stays up on the technician-needed screen, saying why (tests/firmware/
    test_technician_needed.py follows it through systemd's eyes), until it is stopped."""
    path = write(tmp_path, '[cabinet]\nid = "mall-7"\n')
    argv = [sys.executable, "-m", "firmware.cli", "run", "--config", str(path), "--headless"]
    cabinet = subprocess.Popen([*argv, "--data-dir", str(tmp_path / "d")], stderr=subprocess.PIPE, text=True)
    try:
        said = cabinet.stderr.readline()  # type: ignore[union-attr]
        assert said.startswith("kiosk: technician needed: no cabinet key (")
        assert "there is no default PIN" in said
        while "screen=technician" not in said:  # logged once the screen is drawn: it is up and listening
            said = cabinet.stderr.readline()  # type: ignore[union-attr]
            assert said, "kiosk run ended"
        assert cabinet.poll() is None
    finally:
        cabinet.terminate()
        cabinet.communicate(timeout=30)
    assert cabinet.returncode == 0


# --- how the cabinet reaches its cloud: verified TLS, plain http only for a lab ---------------------
def production_config(tmp_path: Path, sync: str) -> Path:
    """A configuration a real cabinet would start with, but for its [sync] section."""
    from sync_client.cabinet_config import hash_secret

    key = tmp_path / "cabinet.key"
    key.write_text("ab" * 32 + "\n")
    key.chmod(0o600)  # as kiosk provision writes it
    return write(
        tmp_path,
        f"""
[cabinet]
id = "lab-1"
key_file = "{key}"
[retailer]
pin_hash = "{hash_secret("1234", n=2**10)}"
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
""",
    )


def test_production_refuses_a_plain_http_cloud_unless_a_lab_says_so(tmp_path):
    def problems(sync: str) -> list[str]:
        path = production_config(tmp_path, sync)
        return production_problems(load_config(path), str(path))

    plain = problems('cloud_url = "http://cloud.example.com"')
    assert len(plain) == 1 and "sync.cloud_url: http://cloud.example.com is plain http" in plain[0]
    assert "sync.allow_insecure_http = true" in plain[0]
    assert problems('cloud_url = "http://cloud.example.com"\nallow_insecure_http = true') == []
    assert problems('cloud_url = "https://cloud.example.com"') == []
    assert any(
        "sync.cloud_url: 'cloud.example.com' is not an https:// URL" in p
        for p in problems('cloud_url = "cloud.example.com"')
    )
    # Simulation is exempt: its cloud is the local stub on loopback.
    path = production_config(tmp_path, 'cloud_url = "http://127.0.0.1:8080"')
    result = run_kiosk("config", "check", str(path), "--sim", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    result = run_kiosk("config", "check", str(path), cwd=tmp_path)
    assert result.returncode == 1 and f"{path}: sync.cloud_url: http://127.0.0.1:8080 is plain http" in result.stderr


def test_run_refuses_a_plain_http_cloud_given_on_the_command_line(tmp_path):
    path = production_config(tmp_path, 'cloud_url = "https://cloud.example.com"')
    result = run_kiosk(
        "run",
        "--config",
        str(path),
        "--cloud",
        "http://10.0.0.5:8080",
        "--headless",
        "--data-dir",
        str(tmp_path / "d"),
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "--cloud: http://10.0.0.5:8080 is plain http" in result.stderr


def test_a_lab_cabinet_on_plain_http_is_warned_at_every_start(tmp_path):
    path = production_config(tmp_path, 'cloud_url = "http://10.0.0.5:8080"\nallow_insecure_http = true')
    # The data dir is a file, so the start stops right after the warning (no devices here).
    not_a_dir = tmp_path / "d"
    not_a_dir.write_text("")
    result = run_kiosk("run", "--config", str(path), "--headless", "--data-dir", str(not_a_dir), cwd=tmp_path)
    warning = next(line for line in result.stderr.splitlines() if "level=warning" in line)
    assert "sync.allow_insecure_http: the cloud http://10.0.0.5:8080 is reached over plain http" in warning
    assert result.returncode == 1 and f"kiosk: [Errno 17] File exists: '{not_a_dir}'" in result.stderr


def test_the_ca_file_must_be_a_readable_pem_file(tmp_path):
    from tests.sync.test_tls import self_signed

    missing = tmp_path / "missing.pem"
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    for ca_file, says in (
        (missing, "does not exist"),
        (tmp_path, "does not exist (or is not a file)"),
        (garbage, "holds no usable PEM certificate"),
    ):
        with pytest.raises(ConfigError) as err:
            parse_config({"sync": {"ca_file": str(ca_file)}}, "kiosk.toml")
        [problem] = err.value.problems
        assert problem.startswith(f"kiosk.toml: sync.ca_file: {ca_file} ") and says in problem
    cert, _ = self_signed(tmp_path)
    assert parse_config({"sync": {"ca_file": str(cert)}}).sync.ca_file == str(cert)


def numeric_keys() -> list[tuple[str, str, type, Range | None]]:
    """(section, key, int or float, its Range) for every number a TOML file can set."""
    found = []
    sections = {**typing.get_type_hints(Config), "products": ProductSection}
    for section, cls in sections.items():
        for key, hint in typing.get_type_hints(cls, include_extras=True).items():
            base, bounds = ranged(hint)
            if base in (int, float):
                found.append((section, key, base, bounds))
    return found


def toml_with(section: str, key: str, literal: str) -> str:
    if section == "products":
        row = {"sku": '"X1"', "name": '"Thing"', "price_cents": "100", key: literal}
        return "[[products]]\n" + "".join(f"{k} = {v}\n" for k, v in row.items())
    return f"[{section}]\n{key} = {literal}\n"


def test_every_numeric_key_declares_its_range():
    keys = numeric_keys()
    assert len(keys) > 30 and ("lock", "unlock_s", float) in [k[:3] for k in keys]
    assert [f"{s}.{k}" for s, k, _, bounds in keys if bounds is None] == []


@pytest.mark.parametrize(
    "section, key, kind",
    [(s, k, t) for s, k, t, _ in numeric_keys()],
    ids=[f"{s}.{k}" for s, k, _, _ in numeric_keys()],
)
@pytest.mark.parametrize("literal", ["nan", "inf", "-inf", "-1", "1e12"])
def test_every_number_is_finite_and_in_its_range_or_the_file_and_key_are_named(tmp_path, section, key, kind, literal):
    path = tmp_path / "bad.toml"
    path.write_text(toml_with(section, key, literal))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    dotted = f"products[0].{key}" if section == "products" else f"{section}.{key}"
    [problem] = err.value.problems
    shown = {"nan": "nan", "inf": "inf", "-inf": "-inf", "-1": "-1", "1e12": "1000000000000.0"}[literal]
    if kind is int and literal in ("nan", "inf", "-inf", "1e12"):
        assert problem == f"{path}: {dotted}: expected integer, got number {shown}"
    elif kind is int:
        assert problem.startswith(f"{path}: {dotted}: expected an integer >= ") and problem.endswith("got -1")
    else:
        assert problem.startswith(f"{path}: {dotted}: expected a finite number ")
        assert problem.endswith(f"got {shown if literal != '-1' else '-1.0'}")


@pytest.mark.parametrize(
    "dotted",
    [
        "lock.max_unlock_s",
        "lock.unlock_s",
        "lock.door_open_timeout_s",
        "lock.door_reminder_s",
        "lock.door_alarm_s",
        "lock.max_unlocks_per_sale",
        "screen.fps",
        "screen.idle_timeout_s",
        "screen.thanks_s",
        "payment.timeout_s",
        "payment.check_s",
        "sync.batch_size",
        "sync.backoff_initial_s",
        "sync.backoff_max_s",
        "sync.request_timeout_s",
        "sync.heartbeat_s",
        "sync.outbox_max_pending",
        "sync.outbox_alarm_pending",
        "sync.config_poll_s",
        "sync.commands_poll_s",
        "products.price_cents",
    ],
)
def test_zero_is_refused_where_it_makes_no_sense(tmp_path, dotted):
    section, key = dotted.split(".")
    path = tmp_path / "bad.toml"
    path.write_text(toml_with(section, key, "0"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    where = f"products[0].{key}" if section == "products" else dotted
    assert any(
        p.startswith(f"{path}: {where}: expected ") and p.endswith(("got 0", "got 0.0")) for p in err.value.problems
    ), err.value.problems


def test_zero_stays_allowed_where_it_means_something():
    config = parse_config(
        {"lock": {"resume_window_s": 0, "tamper_pin": 0, "door_debounce_s": 0}, "bench": {"control_port": 0}}
    )
    assert (config.lock.resume_window_s, config.lock.tamper_pin) == (0.0, 0)


def test_the_relay_bound_cannot_be_raised_past_the_lock_driver_maximum():
    from hal.lock import HARD_MAX_UNLOCK_S

    with pytest.raises(
        ConfigError,
        match=rf"lock.max_unlock_s: expected a finite number > 0 and <= "
        rf"{int(HARD_MAX_UNLOCK_S)}, got 11.0",
    ):
        parse_config({"lock": {"max_unlock_s": 11.0, "unlock_s": 1.0}}, "f.toml")


@pytest.mark.parametrize(
    "data, message",
    [
        ({"lock": {"max_unlock_s": 2.0, "unlock_s": 3.0}}, "f.toml: lock.unlock_s: 3.0 is above lock.max_unlock_s 2.0"),
        (
            {"lock": {"door_reminder_s": 200.0, "door_alarm_s": 100.0}},
            "f.toml: lock.door_reminder_s: 200.0 is above lock.door_alarm_s 100.0",
        ),
        (
            {"sync": {"backoff_initial_s": 90.0, "backoff_max_s": 60.0}},
            "f.toml: sync.backoff_initial_s: 90.0 is above sync.backoff_max_s 60.0",
        ),
        (
            {"sync": {"outbox_alarm_pending": 600_000, "outbox_max_pending": 500_000}},
            "f.toml: sync.outbox_alarm_pending: 600000 is above sync.outbox_max_pending 500000",
        ),
    ],
)
def test_keys_bounded_by_another_key_name_both(data, message):
    with pytest.raises(ConfigError) as err:
        parse_config(data, "f.toml")
    assert err.value.problems == [message]


def test_config_check_command_reports_nan_infinity_and_zero_by_file_and_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(
        "[lock]\nunlock_s = nan\nmax_unlock_s = inf\ndoor_open_timeout_s = -45\n"
        "[screen]\nfps = 0\n[sync]\nheartbeat_s = -inf\n"
    )
    result = run_kiosk("config", "check", str(path), "--sim", cwd=tmp_path)
    assert result.returncode != 0
    lines = [line.strip() for line in result.stderr.splitlines()]
    assert f"{path}: 5 problems:" in lines
    assert f"{path}: lock.unlock_s: expected a finite number > 0 and <= 10, got nan" in lines
    assert f"{path}: lock.max_unlock_s: expected a finite number > 0 and <= 10, got inf" in lines
    assert f"{path}: lock.door_open_timeout_s: expected a finite number > 0 and <= 600, got -45.0" in lines
    assert f"{path}: screen.fps: expected an integer >= 1 and <= 240, got 0" in lines
    assert f"{path}: sync.heartbeat_s: expected a finite number > 0 and <= 86400, got -inf" in lines


SALT, DIGEST = "ab" * 16, "cd" * 32


@pytest.mark.parametrize("key", ["pin_hash", "technician_pin_hash"])
@pytest.mark.parametrize(
    "hashed, problem",
    [
        (f"scrypt$1048576$8$1${SALT}${DIGEST}", "n must be a power of two from 2 to 32768, got 1048576"),
        (f"scrypt$12345$8$1${SALT}${DIGEST}", "n must be a power of two from 2 to 32768, got 12345"),
        (f"scrypt$16384$16$1${SALT}${DIGEST}", "r must be 1 to 8, got 16"),
        (f"scrypt$16384$8$4${SALT}${DIGEST}", "p must be 1 to 2, got 4"),
        (f"scrypt$16384$8$1$abcd${DIGEST}", "expected scrypt$n$r$p$salt_hex$hash_hex"),
    ],
)
def test_pin_hashes_in_the_toml_follow_the_same_rule_as_the_clouds(tmp_path, key, hashed, problem):
    path = tmp_path / "kiosk.toml"
    path.write_text(f'[retailer]\n{key} = "{hashed}"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    [found] = err.value.problems
    assert found.startswith(f"{path}: retailer.{key}: {problem}") and found.endswith("make one with: kiosk pin hash")


def test_config_check_command_refuses_a_costly_pin_hash(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text(f'[retailer]\npin_hash = "scrypt$1048576$8$1${SALT}${DIGEST}"\n')
    result = run_kiosk("config", "check", str(path), "--sim", cwd=tmp_path)
    assert result.returncode != 0
    assert (
        f"{path}: retailer.pin_hash: n must be a power of two from 2 to 32768, got 1048576; "
        "make one with: kiosk pin hash"
    ) in [line.strip() for line in result.stderr.splitlines()]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-5"])
@pytest.mark.parametrize("key", ["reserve_mb", "check_s"])
def test_storage_numbers_must_be_finite_and_above_zero(tmp_path, key, value):
    path = tmp_path / "kiosk.toml"
    path.write_text(f"[storage]\n{key} = {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert any(p.startswith(f"{path}: storage.{key}: expected a finite number > 0") for p in caught.value.problems)
    path.write_text(f"[storage]\n{key} = 25\n")
    assert getattr(load_config(path).storage, key) == 25.0


def test_a_fingerprint_module_needs_its_port_and_sane_settings():
    assert parse_config({}).fingerprint.backend == "none"  # optional: a cabinet without one reads no fingers
    module = parse_config({"fingerprint": {"backend": "zfm", "port": "/dev/kiosk-fingerprint", "capacity": 300}})
    assert (module.fingerprint.baudrate, module.fingerprint.capacity) == (57600, 300)
    with pytest.raises(ConfigError, match=r"f.toml: fingerprint.capacity: expected an integer >= 1 and <= 1000, got 0"):
        parse_config({"fingerprint": {"backend": "zfm", "port": "/dev/x", "capacity": 0}}, "f.toml")
    assert module.fingerprint.name_within_days == 7  # a retailer's days to name a new finger, then it is deleted
    with pytest.raises(ConfigError, match=r"f.toml: fingerprint.name_within_days: expected a finite number >= 1"):
        parse_config({"fingerprint": {"name_within_days": 0}}, "f.toml")
    with pytest.raises(ConfigError, match=r"f.toml: fingerprint.port: required when fingerprint.backend is 'zfm'"):
        parse_config({"fingerprint": {"backend": "zfm"}}, "f.toml")
    problems = production_problems(parse_config({"fingerprint": {"backend": "sim"}}), "kiosk.toml")
    assert any(p.startswith("kiosk.toml: fingerprint.backend: 'sim' is for simulation") for p in problems)
