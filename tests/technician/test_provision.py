"""`kiosk provision` end to end against a running `kiosk-cloud serve`: the cabinet registers the key
it made itself with a one-time token, and then syncs with it; a reused or wrong token is refused."""

import http.server
import socket
import stat
import subprocess
import sys
import threading

import pytest

from firmware.control_client import add_retailer, start_cloud
from firmware.technician.provision import provision, set_toml_keys


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


class _NotTheCloud(http.server.BaseHTTPRequestHandler):
    """A server at the cloud's URL that is not the cloud: a captive portal, a proxy's error page."""

    answers: dict[str, tuple[int, bytes]] = {}

    def do_POST(self) -> None:
        status, body = self.answers[self.path]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def not_the_cloud():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotTheCloud)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _provision(url, tmp_path):
    return provision(url, "mall-7", "token", tmp_path / "kiosk.toml", tmp_path / "var", selftest=False)


@pytest.mark.parametrize(
    "answer",
    [(200, b"<html>Welcome to the mall wifi</html>"), (200, b'{"ok": true}'), (200, b'["velo-mall"]')],
)
def test_an_answer_that_names_no_retailer_is_refused_plainly_and_nothing_is_written(
    not_the_cloud, tmp_path, capsys, answer
):
    server, url = not_the_cloud
    _NotTheCloud.answers = {"/v1/enroll": answer}
    assert _provision(url, tmp_path) == 1
    err = capsys.readouterr().err
    assert "the cloud's answer to the enrollment names no retailer" in err
    assert f"is {url} the retailer's cloud" in err
    assert not (tmp_path / "kiosk.toml").exists() and not (tmp_path / "var" / "cabinet.key").exists()


def test_a_refusal_whose_body_is_not_json_still_says_the_status(not_the_cloud, tmp_path, capsys):
    server, url = not_the_cloud
    _NotTheCloud.answers = {"/v1/enroll": (502, b"<html>Bad Gateway</html>")}
    assert _provision(url, tmp_path) == 1
    assert "the cloud refused the enrollment (502: Bad Gateway)" in capsys.readouterr().err


def test_an_unreachable_cloud_is_named_in_the_advice(tmp_path, capsys):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    assert _provision(url, tmp_path) == 1
    err = capsys.readouterr().err
    assert f"cannot reach the cloud at {url}" in err and f"(curl {url}/healthz)" in err
