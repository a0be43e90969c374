"""Structured logs: one logfmt line per record, fields from ``extra=``.

systemd captures stderr into the journal on the Pi, so a plain stream handler
is all the runtime needs; ``journalctl -u kiosk`` shows the fields as written.

No PIN, code, password, token or key reaches a line: callers log what was done, never the secret, and
as a second line of defence a field named like a secret is written as "<redacted>" and a staff card's
UID as its last two hex digits ("**02"), enough to tell a technician's cards apart, too few to clone one.
"""

from __future__ import annotations

import logging
import re
import sys

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
REDACTED = "<redacted>"
# Words of a field name (snake_case, kebab-case or camelCase) that mark its value as a secret.
SECRET_WORDS = frozenset(
    {
        "pin",
        "pins",
        "code",
        "codes",
        "password",
        "passwd",
        "passphrase",
        "secret",
        "secrets",
        "token",
        "tokens",
        "key",
        "keys",
        "hash",
        "hashes",
    }
)
CARD_WORDS = frozenset({"uid", "card", "who"})  # who: "pin" or "card:<uid>", the journeys' audit field
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_UID = re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f]{8,20}(?![0-9A-Za-z])")  # 4, 7 or 10 bytes in hex


def name_words(name: str) -> set[str]:
    return {word.lower() for word in _WORD.findall(name)}


def is_secret_name(name: str) -> bool:
    """pin, pickup_code, api_token, hmac_key, ZvtPassword ...; ``key_file`` is a path, ``keyboard`` a word."""
    words = name_words(name)
    return bool(words & SECRET_WORDS) and "file" not in words and "path" not in words


def mask_card_uids(text: str) -> str:
    """Every card UID in ``text`` shown by its last two hex digits: ``card:04FEEDBEEF0102`` -> ``card:**02``."""
    return _UID.sub(lambda match: "**" + match[0][-2:].upper(), text)


def safe_field(name: str, value: object) -> object:
    if is_secret_name(name):
        return REDACTED
    if name_words(name) & CARD_WORDS and isinstance(value, str):
        return mask_card_uids(value)
    return value


def _quote(value: object) -> str:
    text = str(value)
    if text == "" or any(c in text for c in ' ="\n'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, object] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields.update({k: safe_field(k, v) for k, v in vars(record).items() if k not in _STANDARD})
        line = " ".join(f"{k}={_quote(v)}" for k, v in fields.items())
        if record.exc_info:
            line += " exc=" + _quote(self.formatException(record.exc_info))
        return line


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
