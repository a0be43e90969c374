"""`kiosk provision`: make the cabinet's own key, register it with the cloud using the retailer's
one-time enrollment token, write the key (0600, owned by the service user) and the configuration,
then run the self-test. Every failure says what to do next."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import re
import secrets
import ssl
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from firmware.config import Config, ConfigError, load_config

STEPS = 4


def _step(number: int, text: str) -> None:
    print(f"[{number}/{STEPS}] {text}", flush=True)


def set_toml_keys(text: str, section: str, values: dict[str, str]) -> str:
    """Set ``key = "value"`` lines in ``[section]`` of a TOML text, keeping everything else as written."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == f"[{section}]"), None)
    if start is None:
        lines += ["", f"[{section}]"]
        start = len(lines) - 1
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
    for key, value in values.items():
        rendered = f"{key} = {json.dumps(value)}"
        pattern = re.compile(rf"^\s*#?\s*{re.escape(key)}\s*=")
        found = next((i for i in range(start + 1, end) if pattern.match(lines[i])), None)
        if found is None:
            lines.insert(end, rendered)
            end += 1
        else:
            lines[found] = rendered
    return "\n".join(lines) + "\n"


def _owner(user: str) -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None  # not root: the files are ours, which is the service user running this
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def _loaded(config_path: Path) -> Config:
    try:
        return load_config(config_path)
    except ConfigError as exc:
        raise ProvisionError("the configuration has errors:\n  " + "\n  ".join(exc.problems)) from None


def _cloud_ca_file(config_path: Path) -> str:
    """What the cloud's TLS certificate is verified against: sync.ca_file of the configuration being provisioned
    (the sync client's setting, checked as its loader checks it: a file that is missing or holds no certificate
    is named before the token is used), so a cloud on a private CA is enrolled with as it is synced with; "":
    the system's CAs."""
    return _loaded(config_path).sync.ca_file if config_path.exists() else ""


def _untrusted(cloud: str, exc: ssl.SSLCertVerificationError, ca_file: str, config_path: Path) -> ProvisionError:
    """The cloud's certificate was not signed by a CA trusted here: say which CAs were tried and what to set."""
    tried = f"sync.ca_file ({ca_file})" if ca_file else "the system's CAs"
    advice = (
        f"is {ca_file} the CA that signed the cloud's certificate?"
        if ca_file
        else f"a cloud on a private CA: set ca_file in [sync] of {config_path} to the CA's PEM file"
    )
    return ProvisionError(
        f"the cloud's TLS certificate at {cloud} is not trusted by {tried}: {exc.verify_message or exc}\n  -> {advice}"
    )


def _enroll(cloud: str, cabinet_id: str, token: str, key: bytes, config_path: Path) -> str:
    ca_file = _cloud_ca_file(config_path)
    tls = ssl.create_default_context(cafile=ca_file) if ca_file else None
    body = json.dumps({"cabinet_id": cabinet_id, "key": key.hex(), "token": token}).encode()
    request = urllib.request.Request(
        cloud.rstrip("/") + "/v1/enroll", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=20, context=tls) as response:
            answer = response.read()
    except urllib.error.HTTPError as exc:
        reason = _json_object(exc.read()).get("error", exc.reason)  # a proxy's error page is no JSON
        advice = {
            401: "ask the retailer for a new token (kiosk-cloud enroll-token --retailer NAME)",
            409: "this cabinet id is registered already: choose another or ask the retailer",
        }.get(exc.code, "check the cloud URL")
        raise ProvisionError(f"the cloud refused the enrollment ({exc.code}: {reason})\n  -> {advice}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(reason, ssl.SSLCertVerificationError):
            raise _untrusted(cloud, reason, ca_file, config_path) from None
        raise ProvisionError(
            f"cannot reach the cloud at {cloud}: {reason}\n  -> check the network and the URL (curl {cloud}/healthz)"
        ) from None
    return _retailer_of(answer, cloud)


def _retailer_of(answer: bytes, cloud: str) -> str:
    """The retailer an enrollment answer names; a ProvisionError when it is not such an answer."""
    retailer = _json_object(answer).get("retailer")
    if not isinstance(retailer, str) or not retailer:
        raise ProvisionError(
            f"the cloud's answer to the enrollment names no retailer: {answer[:200]!r}\n"
            f"  -> is {cloud} the retailer's cloud (curl {cloud}/healthz)?"
        )
    return retailer


def _json_object(raw: bytes) -> dict[str, Any]:
    """The JSON object in ``raw``, or an empty one when it holds none."""
    try:
        document = json.loads(raw)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


class ProvisionError(Exception):
    pass


def provision(
    cloud: str,
    cabinet_id: str,
    token: str,
    config_path: Path,
    data_dir: Path,
    user: str = "kiosk",
    selftest: bool = True,
) -> int:
    try:
        _step(1, f"registering cabinet {cabinet_id} with {cloud}")
        key = secrets.token_bytes(32)
        retailer = _enroll(cloud, cabinet_id, token, key, config_path)
        print(f"      registered for retailer {retailer}")

        _step(2, f"writing the cabinet's key to {data_dir / 'cabinet.key'} (mode 0600)")
        data_dir.mkdir(parents=True, exist_ok=True)
        key_path = data_dir / "cabinet.key"
        partial = key_path.with_name("cabinet.key.part")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key.hex() + "\n")
        owner = _owner(user)
        if owner:
            os.chown(partial, *owner)
            os.chown(data_dir, *owner)
        os.replace(partial, key_path)

        _step(3, f"writing the configuration {config_path}")
        text = config_path.read_text() if config_path.exists() else ""
        text = set_toml_keys(text, "cabinet", {"id": cabinet_id, "key_file": str(key_path)})
        text = set_toml_keys(text, "sync", {"cloud_url": cloud})
        config_path.parent.mkdir(parents=True, exist_ok=True)
        config_path.write_text(text)
        config = _loaded(config_path)
    except ProvisionError as exc:
        print(f"kiosk provision: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"kiosk provision: {exc}\n  -> run it with sudo", file=sys.stderr)
        return 1

    if not selftest:
        print("provisioned (self-test skipped)")
        return 0
    _step(4, "self-test of every configured device")
    from firmware.selftest import run_selftest

    code = asyncio.run(run_selftest(config, sim=False))
    print("provisioned" + ("" if code == 0 else "; fix the failed devices, then: kiosk selftest"))
    return code
