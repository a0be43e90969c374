"""Secure cookies behind a reverse proxy that terminates TLS: the Forwarded headers count only from a
proxy the operator trusts (`kiosk-cloud serve --trusted-proxy`), against a real server."""

from __future__ import annotations

import http.client
import subprocess
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import make_mocked_request
from hypothesis import given
from hypothesis import strategies as st

from cloud_stub.console.proxy import forwarded_hop, is_trusted, parse_networks
from firmware.control_client import _bin, start_cloud
from tests.console.conftest import Console


@pytest.fixture
def behind_proxy(tmp_path: Path) -> Iterator[Console]:
    """A cloud told that 127.0.0.1 (where the tests connect from) is its TLS-terminating proxy."""
    proc, url = start_cloud(tmp_path, args=("--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "127.0.0.1"))
    yield Console(tmp_path, url, str(tmp_path / "cloud.db"))
    proc.stop()


def cookies(url: str, **headers: str) -> dict[str, SimpleCookie]:
    """The cookies the answer to a GET of ``url`` sets (not following a redirect), by name, with attributes."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    try:
        connection.request("GET", parts.path, headers=headers)
        answer = connection.getresponse()
        found = {}
        for line in answer.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie(line)
            found.update({name: cookie for name in cookie})
        return found
    finally:
        connection.close()


def is_secure(cookie: SimpleCookie, name: str) -> bool:
    return bool(cookie[name]["secure"])


def test_https_at_a_trusted_proxy_gives_secure_cookies(behind_proxy: Console) -> None:
    sign_in = behind_proxy.url + "/console/sign-in"
    assert is_secure(cookies(sign_in, **{"X-Forwarded-Proto": "https"})["console_session"], "console_session")
    assert is_secure(cookies(sign_in, Forwarded="for=203.0.113.7;proto=https")["console_session"], "console_session")
    language = cookies(behind_proxy.url + "/console/language/zh", **{"X-Forwarded-Proto": "https"})
    assert is_secure(language["console_lang"], "console_lang")
    # The proxy speaking plain http (or not saying) keeps the cookie usable over http.
    assert not is_secure(cookies(sign_in, **{"X-Forwarded-Proto": "http"})["console_session"], "console_session")
    assert not is_secure(cookies(sign_in)["console_session"], "console_session")


def test_forwarded_headers_from_an_untrusted_peer_are_ignored(console: Console) -> None:
    """Without --trusted-proxy a client claiming https gets no Secure cookie: it would not come back over http."""
    sign_in = console.url + "/console/sign-in"
    assert not is_secure(cookies(sign_in, **{"X-Forwarded-Proto": "https"})["console_session"], "console_session")
    assert not is_secure(cookies(sign_in, Forwarded="proto=https")["console_session"], "console_session")


def test_a_bad_trusted_proxy_is_refused_by_name(tmp_path: Path) -> None:
    result = subprocess.run(
        [*_bin("kiosk-cloud"), "serve", "--port", "0", "--db", str(tmp_path / "c.db"), "--trusted-proxy", "proxy.lan"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "--trusted-proxy: 'proxy.lan' is not an IP address or network" in result.stderr


def test_only_the_hop_the_proxy_added_counts() -> None:
    trusted = parse_networks(["127.0.0.1", "10.0.0.0/8"])
    assert is_trusted("10.1.2.3", trusted) and is_trusted("127.0.0.1", trusted)
    assert not is_trusted("192.0.2.1", trusted) and not is_trusted(None, trusted) and not is_trusted("x", trusted)
    # A client's own X-Forwarded-* values come first; the proxy appends the truth.
    request = make_mocked_request(
        "GET", "/", headers={"X-Forwarded-Proto": "http, https", "X-Forwarded-For": "198.51.100.1, 203.0.113.9"}
    )
    hop = forwarded_hop(request)
    assert (hop.proto, hop.client) == ("https", "203.0.113.9")
    request = make_mocked_request(
        "GET", "/", headers={"Forwarded": 'for=1.2.3.4, for="[2001:db8::1]:4711";proto=HTTPS'}
    )
    hop = forwarded_hop(request)
    assert (hop.proto, hop.client) == ("https", "2001:db8::1")


@given(st.text(max_size=80), st.text(max_size=80), st.text(max_size=80))
def test_any_forwarded_headers_parse_without_error(forwarded: str, proto: str, client: str) -> None:
    headers = {
        "Forwarded": forwarded.encode("latin-1", "replace").decode("latin-1"),
        "X-Forwarded-Proto": proto.encode("latin-1", "replace").decode("latin-1"),
        "X-Forwarded-For": client.encode("latin-1", "replace").decode("latin-1"),
    }
    hop = forwarded_hop(make_mocked_request("GET", "/", headers=headers))
    assert hop.proto is None or hop.proto == hop.proto.lower()
