"""`kiosk provision` end to end against a running `kiosk-cloud serve`: the cabinet registers the key
it made itself with a one-time token, and then syncs with it; a reused or wrong token is refused."""

import asyncio
import datetime
import http.server
import ipaddress
import socket
import ssl
import stat
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cloud_stub.app import create_app
from cloud_stub.store import SqliteCloudStore
from firmware.control_client import add_retailer, start_cloud
from firmware.technician.provision import provision, set_toml_keys
from sync_client.keyfile import load_key


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


def private_ca(directory: Path, name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, Path]:
    """A retailer's own CA (no system trusts it): its certificate, its key and its PEM file."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = directory / f"{name}.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key, pem


def cloud_certificate(directory: Path, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:
    """The cloud's certificate for 127.0.0.1, signed by ``ca``, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cloud.pem", directory / "cloud.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


@pytest.fixture
async def private_ca_cloud(tmp_path: Path) -> AsyncIterator[tuple[str, SqliteCloudStore, str, Path]]:
    """The real cloud app over TLS on 127.0.0.1, its certificate from the retailer's private CA; yields its
    https URL, its store, an enrollment token and the CA's PEM file."""
    ca, ca_key, ca_pem = private_ca(tmp_path, "retailer-ca")
    cert, key = cloud_certificate(tmp_path, ca, ca_key)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    store = SqliteCloudStore(tmp_path / "cloud.db")
    store.add_retailer("velo-mall")
    runner = web.AppRunner(create_app(store))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls).start()
    try:
        yield f"https://127.0.0.1:{runner.addresses[0][1]}", store, store.add_enroll_token("velo-mall", 600), ca_pem
    finally:
        await runner.cleanup()
        store.close()


def with_ca_file(tmp_path: Path, ca_file: Path | str) -> Path:
    config = tmp_path / "etc" / "kiosk.toml"
    config.parent.mkdir(exist_ok=True)
    config.write_text(f'{BENCH}[sync]\nca_file = "{ca_file}"\n')
    return config


async def provision_in_thread(url: str, token: str, tmp_path: Path, config: Path) -> int:
    """`kiosk provision` (blocking urllib) on a thread, the cloud answering on the test's event loop."""
    return await asyncio.to_thread(provision, url, "mall-7", token, config, tmp_path / "var", selftest=False)


async def test_a_cloud_on_a_private_ca_is_enrolled_with_through_sync_ca_file(
    private_ca_cloud: tuple[str, SqliteCloudStore, str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, store, token, ca_pem = private_ca_cloud
    config = tmp_path / "etc" / "kiosk.toml"
    config.parent.mkdir()
    config.write_text(BENCH)  # no ca_file: the system's CAs do not know the retailer's CA
    assert await provision_in_thread(url, token, tmp_path, config) == 1
    err = capsys.readouterr().err
    assert f"the cloud's TLS certificate at {url} is not trusted by the system's CAs" in err
    assert f"set ca_file in [sync] of {config} to the CA's PEM file" in err
    assert not (tmp_path / "var" / "cabinet.key").exists(), "nothing written, the token not used"

    config = with_ca_file(tmp_path, ca_pem)
    assert await provision_in_thread(url, token, tmp_path, config) == 0, capsys.readouterr().err
    assert "registered for retailer velo-mall" in capsys.readouterr().out
    key = load_key(tmp_path / "var" / "cabinet.key")
    assert store.cabinet_key("mall-7") == key  # the key the cabinet made is the one the cloud verifies
    text = config.read_text()
    assert f'ca_file = "{ca_pem}"' in text and f'cloud_url = "{url}"' in text  # it syncs as it enrolled


async def test_a_ca_file_that_is_unusable_or_not_the_clouds_ca_is_named(
    private_ca_cloud: tuple[str, SqliteCloudStore, str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _, token, _ = private_ca_cloud
    missing = tmp_path / "no-such-ca.pem"
    config = with_ca_file(tmp_path, missing)
    assert await provision_in_thread(url, token, tmp_path, config) == 1
    assert f"{config}: sync.ca_file: {missing} does not exist (or is not a file)" in capsys.readouterr().err

    _, _, other_ca = private_ca(tmp_path, "someone-elses-ca")
    config = with_ca_file(tmp_path, other_ca)
    assert await provision_in_thread(url, token, tmp_path, config) == 1
    err = capsys.readouterr().err
    assert f"is not trusted by sync.ca_file ({other_ca})" in err
    assert f"is {other_ca} the CA that signed the cloud's certificate?" in err
    assert not (tmp_path / "var" / "cabinet.key").exists()
