"""The cabinet's signing key on disk: hex in a file that only the service user can read."""

from __future__ import annotations

import os
import stat
from pathlib import Path

MIN_KEY_BYTES = 16


class KeyFileError(ValueError):
    """The key file is missing, unsafe or malformed; the message says which and how to fix it."""


def load_key(path: Path | str) -> bytes:
    """Read the key, refusing a file that another user could read or replace."""
    path = Path(path)
    try:
        info = path.stat()
        text = path.read_text()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read the cabinet key ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        raise KeyFileError(f"{path}: not a regular file")
    if info.st_mode & 0o077:
        raise KeyFileError(
            f"{path}: readable or writable by others (mode {stat.S_IMODE(info.st_mode):04o}); run: chmod 600 {path}"
        )
    if info.st_uid != os.geteuid():
        raise KeyFileError(
            f"{path}: owned by uid {info.st_uid}, not by the service user (uid {os.geteuid()}); "
            f"run: chown $(id -un) {path}"
        )
    return parse_key(text, path)


def parse_key(text: str, path: Path | str) -> bytes:
    """The key in a key file's text (hex), with errors that name the file."""
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise KeyFileError(f"{path}: the cabinet key must be hex (as printed by `kiosk-cloud cabinet add`)") from None
    if len(key) < MIN_KEY_BYTES:
        raise KeyFileError(f"{path}: the cabinet key is too short ({len(key)} bytes, want at least {MIN_KEY_BYTES})")
    return key
