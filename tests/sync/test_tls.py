"""The cloud over TLS: its certificate is verified, against the system's CAs or the CA file in config."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from cloud_stub.app import create_app
from cloud_stub.store import SqliteCloudStore
from sync_client.cloud_client import CloudClient, CloudUnavailable
from tests.sync.conftest import CAB


def self_signed(directory: Path, ip: str = "127.0.0.1") -> tuple[Path, Path]:
    """A certificate for ``ip`` signed by itself (so it is its own CA), and its key: what a lab cloud would have."""
    assert shutil.which("openssl"), "the openssl command is needed to make a test certificate"
    cert, key = directory / "cloud.pem", directory / "cloud.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN={ip}",
            "-addext",
            f"subjectAltName=IP:{ip}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


@pytest.fixture
async def tls_cloud(tmp_path: Path) -> AsyncIterator[tuple[str, bytes, Path]]:
    """The real cloud app behind TLS on loopback; yields its https URL, the cabinet's key and the CA file."""
    cert, key_file = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key_file)
    store = SqliteCloudStore(tmp_path / "cloud.db")
    store.add_retailer("shop-a")
    key = store.add_cabinet(CAB, "shop-a")
    runner = web.AppRunner(create_app(store))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
    yield f"https://127.0.0.1:{runner.addresses[0][1]}", key, cert
    await runner.cleanup()
    store.close()


async def test_a_cloud_whose_certificate_no_trusted_ca_signed_is_refused(tls_cloud) -> None:
    url, key, _ = tls_cloud
    client = CloudClient(url, CAB, key, request_timeout_s=5)
    try:
        with pytest.raises(CloudUnavailable, match="certificate verify failed"):
            await client.request("GET", "v1/commands")
    finally:
        await client.close()


async def test_the_ca_file_from_the_config_lets_the_cabinet_trust_its_cloud(tls_cloud) -> None:
    url, key, ca_file = tls_cloud
    client = CloudClient(url, CAB, key, request_timeout_s=5, ca_file=str(ca_file))
    try:
        reply = await client.request("GET", "v1/commands")
        assert reply.status == 200 and reply.body == {"commands": []}
    finally:
        await client.close()


async def test_a_ca_file_that_did_not_sign_the_cloud_does_not_help(tls_cloud, tmp_path: Path) -> None:
    url, key, _ = tls_cloud
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    other_ca, _ = self_signed(other_dir)
    client = CloudClient(url, CAB, key, request_timeout_s=5, ca_file=str(other_ca))
    try:
        with pytest.raises(CloudUnavailable, match="certificate verify failed"):
            await client.request("GET", "v1/commands")
    finally:
        await client.close()
