"""A retailer's merchant credentials: public settings in clear, secrets sealed at rest.

The secrets (WeChat Pay's merchant private key and APIv3 key, and the like) are sealed with AES-256-GCM under
the server's key, read from the environment (``KIOSK_CLOUD_SECRET_KEY``) or a file named in the configuration,
never from the database. The retailer and provider are the associated data, so a sealed blob copied to another
retailer's row does not open. Nothing here answers a secret back: ``masked`` shows its length and last characters.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SECRET_KEY_ENV = "KIOSK_CLOUD_SECRET_KEY"
KEY_BYTES = 32
NONCE_BYTES = 12


class CredentialsError(ValueError):
    """Credentials that cannot be stored or opened; the message names the field or the key."""


def _aad(retailer: str, provider: str) -> bytes:
    return f"payment-credentials\n{retailer}\n{provider}".encode()


@dataclass(frozen=True)
class Sealer:
    """AES-256-GCM with the server's key."""

    key: bytes

    def __post_init__(self) -> None:
        if len(self.key) != KEY_BYTES:
            raise CredentialsError(f"{SECRET_KEY_ENV}: expected {KEY_BYTES} bytes, got {len(self.key)}")

    @classmethod
    def from_text(cls, text: str, where: str = SECRET_KEY_ENV) -> Sealer:
        """A key written as 64 hex digits or as URL-safe base64 of 32 bytes."""
        text = text.strip()
        try:
            key = bytes.fromhex(text) if len(text) == 2 * KEY_BYTES else base64.urlsafe_b64decode(text)
        except (ValueError, binascii.Error):
            raise CredentialsError(f"{where}: expected 32 bytes as 64 hex digits or base64") from None
        if len(key) != KEY_BYTES:
            raise CredentialsError(f"{where}: expected 32 bytes as 64 hex digits or base64, got {len(key)} bytes")
        return cls(key)

    @classmethod
    def from_environment(cls, key_file: Path | None = None) -> Sealer | None:
        """The server's key from ``key_file`` or the environment; None when neither gives one (then no retailer
        can configure a provider, and every payment goes to the simulator)."""
        if key_file is not None:
            try:
                return cls.from_text(key_file.read_text(), str(key_file))
            except OSError as exc:
                raise CredentialsError(f"{key_file}: cannot read the secret key ({exc.strerror})") from None
        text = os.environ.get(SECRET_KEY_ENV)
        return cls.from_text(text) if text else None

    def seal(self, retailer: str, provider: str, secrets_: Mapping[str, str]) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        plain = json.dumps(dict(secrets_), sort_keys=True).encode()
        return nonce + AESGCM(self.key).encrypt(nonce, plain, _aad(retailer, provider))

    def open(self, retailer: str, provider: str, sealed: bytes) -> dict[str, str]:
        try:
            plain = AESGCM(self.key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _aad(retailer, provider))
        except (InvalidTag, ValueError):
            raise CredentialsError(
                f"the {provider} credentials of {retailer!r} do not open with this server's key (changed key?)"
            ) from None
        opened: dict[str, str] = json.loads(plain)
        return opened


def masked(value: str) -> str:
    """What the API and console show of a secret: that it is set, its length, and its last 4 characters when it is
    long enough that they give nothing away."""
    tail = value.strip()[-4:] if len(value) >= 24 else ""
    return f"set ({len(value)} characters{', ending ' + tail if tail else ''})"


@dataclass(frozen=True)
class Field:
    name: str
    secret: bool
    required: bool = True
    multiline: bool = False  # a PEM key: the console's form gives it a text area


def split_fields(fields: tuple[Field, ...], given: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The public settings and the secrets of a provider's form or API body; CredentialsError names the first
    missing, unknown or non-text field."""
    known = {f.name for f in fields}
    unknown = sorted(set(given) - known)
    if unknown:
        raise CredentialsError(f"{unknown[0]}: unknown field (expected {', '.join(sorted(known))})")
    public: dict[str, str] = {}
    hidden: dict[str, str] = {}
    for f in fields:
        value = given.get(f.name)
        if value is None or value == "":
            if f.required:
                raise CredentialsError(f"{f.name}: required")
            continue
        if not isinstance(value, str):
            raise CredentialsError(f"{f.name}: expected a string")
        (hidden if f.secret else public)[f.name] = value
    return public, hidden
