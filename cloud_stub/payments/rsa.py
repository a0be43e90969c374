"""SHA256 with RSA (PKCS#1 v1.5, base64), the signature both WeChat Pay (v3) and Alipay (RSA2) use, and the
PEM keys a retailer enters for it (a bad one is refused naming the credentials field it came in)."""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from cloud_stub.payments.credentials import CredentialsError


def sign(private_key: RSAPrivateKey, message: str) -> str:
    return base64.b64encode(private_key.sign(message.encode(), PKCS1v15(), SHA256())).decode()


def verify(public_key: RSAPublicKey, message: str, signature: str) -> bool:
    try:
        public_key.verify(base64.b64decode(signature, validate=True), message.encode(), PKCS1v15(), SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def load_private_key(pem: str, field: str, why_rsa: str = "") -> RSAPrivateKey:
    """The PEM private key of credentials field ``field``; ``why_rsa`` is told when the key is not RSA."""
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise CredentialsError(f"{field}: not a PEM private key without a password") from None
    if not isinstance(key, RSAPrivateKey):
        raise CredentialsError(f"{field}: expected an RSA key{why_rsa}")
    return key


def load_public_key(pem: str, field: str) -> RSAPublicKey:
    try:
        key = load_pem_public_key(pem.encode())
    except ValueError:
        raise CredentialsError(f"{field}: not a PEM public key") from None
    if not isinstance(key, RSAPublicKey):
        raise CredentialsError(f"{field}: expected an RSA key")
    return key
