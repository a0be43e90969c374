"""PIN and code hashing: scrypt, in one self-describing string.

    scrypt$N$r$p$salt_hex$hash_hex

A PIN never leaves this module in clear: it is not stored, logged or put in an event.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

DEFAULT_N, DEFAULT_R, DEFAULT_P = 2**14, 8, 1
MAX_N = 2**20                  # refuse hashes that would take a Pi minutes (or its memory) to check


class BadHash(ValueError):
    pass


def hash_secret(secret: str, *, n: int = DEFAULT_N, r: int = DEFAULT_R, p: int = DEFAULT_P) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def parse_hash(stored: str) -> tuple[int, int, int, bytes, bytes]:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise BadHash("expected scrypt$N$r$p$salt_hex$hash_hex")
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, digest = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
    except ValueError:
        raise BadHash("N, r and p must be integers and salt and hash hex") from None
    if n < 2 or n & (n - 1) or n > MAX_N or not 1 <= r <= 32 or not 1 <= p <= 16:
        raise BadHash(f"scrypt parameters out of range (N={n}, r={r}, p={p})")
    if len(salt) < 8 or len(digest) < 16:
        raise BadHash("salt or hash too short")
    return n, r, p, salt, digest


def verify_secret(secret: str, stored: str) -> bool:
    n, r, p, salt, digest = parse_hash(stored)
    candidate = hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, dklen=len(digest),
                               maxmem=128 * r * (n + p + 2) + 1024 * 1024)
    return hmac.compare_digest(candidate, digest)
