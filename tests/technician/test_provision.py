"""`kiosk provision` end to end against a running `kiosk-cloud serve`: the cabinet registers the key
it made itself with a one-time token, and then syncs with it; a reused or wrong token is refused."""

import stat
import subprocess
import sys

from firmware.control_client import add_retailer, start_cloud
from firmware.technician.provision import set_toml_keys


def kiosk(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "firmware.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def enroll_token(workdir, retailer):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cloud_stub.cli",
            "enroll-token",
            "--retailer",
            retailer,
            "--db",
            str(workdir / "cloud.db"),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()


BENCH = """# a bench with its devices emulated elsewhere: the self-test covers the lock on mock pins
[lock]
pin_factory = "mock"
[payment]
backend = "sim"
[nfc]
backend = "none"
[scanner]
backend = "none"
[camera]
backend = "none"
"""


def test_provision_registers_writes_key_and_config_and_the_key_signs(tmp_path):
    proc, url = start_cloud(tmp_path)
    try:
        add_retailer(tmp_path, "velo-mall")
        token = enroll_token(tmp_path, "velo-mall")
        config = tmp_path / "etc" / "kiosk.toml"
        config.parent.mkdir()
        config.write_text(BENCH)
        data = tmp_path / "var"
        result = kiosk(
            "provision",
            "--cloud",
            url,
            "--cabinet-id",
            "mall-7",
            "--enroll-token",
            token,
            "--config",
            str(config),
            "--data-dir",
            str(data),
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "registered for retailer velo-mall" in result.stdout
        assert "[4/4] self-test" in result.stdout and "lock" in result.stdout
        key_file = data / "cabinet.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        text = config.read_text()
        assert 'id = "mall-7"' in text and f'cloud_url = "{url}"' in text and 'backend = "sim"' in text

        # the key the cabinet made is the one the cloud now verifies
        import asyncio

        from sync_client.cloud_client import CloudClient
        from sync_client.keyfile import load_key

        async def signed_health():
            client = CloudClient(url, "mall-7", load_key(key_file))
            try:
                return await client.request("POST", "v1/events", {"cabinet_id": "mall-7", "events": []})
            finally:
                await client.close()

        assert asyncio.run(signed_health()).body == {"acked": [], "rejected": []}

        again = kiosk(
            "provision",
            "--cloud",
            url,
            "--cabinet-id",
            "mall-8",
            "--enroll-token",
            token,
            "--config",
            str(config),
            "--data-dir",
            str(tmp_path / "other"),
            cwd=tmp_path,
        )
        assert again.returncode == 1 and "401" in again.stderr and "new token" in again.stderr
        wrong = kiosk(
            "provision",
            "--cloud",
            url,
            "--cabinet-id",
            "mall-9",
            "--enroll-token",
            "nonsense",
            "--config",
            str(config),
            "--data-dir",
            str(tmp_path / "other"),
            cwd=tmp_path,
        )
        assert wrong.returncode == 1 and "401" in wrong.stderr
        assert not (tmp_path / "other" / "cabinet.key").exists(), "nothing written for a refused token"
    finally:
        proc.stop()


def test_set_toml_keys_keeps_the_rest_of_the_file():
    text = '# the cabinet\n[cabinet]\n# id = "change-me"\ncurrency = "EUR"\n\n[lock]\nrelay_pin = 17\n'
    out = set_toml_keys(text, "cabinet", {"id": "mall-7", "key_file": "/var/lib/kiosk/cabinet.key"})
    out = set_toml_keys(out, "sync", {"cloud_url": "https://cloud.example"})
    import tomllib

    data = tomllib.loads(out)
    assert data["cabinet"] == {"id": "mall-7", "currency": "EUR", "key_file": "/var/lib/kiosk/cabinet.key"}
    assert data["lock"] == {"relay_pin": 17} and data["sync"] == {"cloud_url": "https://cloud.example"}
    assert out.startswith("# the cabinet\n")
