"""`kiosk logs export PATH`: one tarball to send to support.

It holds the service's journal, `kiosk status`, `kiosk doctor` and the
configuration with every secret replaced by "<redacted>". Key files are never
read into it; as a second line of defence, every secret value found in the
configuration or the key file is scrubbed from every member, journal included,
and so are passwords in URLs and credentials in their query parameters.
"""

from __future__ import annotations

import io
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from firmware.config import ConfigError, load_config
from firmware.logs import is_secret_name
from firmware.technician.doctor import DoctorContext, format_findings, run_checks
from firmware.technician.status import UNIT, collect_status, format_status
from firmware.technician.term import ProgressBar
from sync_client.progress import Progress, ProgressSink

REDACTED = "<redacted>"
MIN_SECRET_LEN = 6  # shorter values are too common to scrub from free text
JOURNAL_TIMEOUT_S = 120

# A TOML ``name = value`` pair, at the start of a line or inside an inline table. The value is
# a whole string (triple-quoted too), an array on one line, a bare word, or the opening quotes
# of a multi-line string.
_TRIPLE = ('"' * 3, "'" * 3)
_PAIR = re.compile(
    r"(?P<name>[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')(?P<eq>\s*=\s*)(?P<value>"
    r"\"{3}.*?\"{3}|'{3}.*?'{3}|\"{3}|'{3}"  # triple-quoted on one line, or the start of one
    r"|\"(?:[^\"\\]|\\.)*\"|'[^']*'"  # basic and literal strings
    r"|\[[^\]]*\]|[^,}\s#]+)"
)  # an array on one line, a bare word


def is_secret_key(name: str) -> bool:
    """pin_hash, passwords, tokens, secrets and key material (``key``, ``hmac_key``, ...);
    ``key_file`` is a path and stays."""
    name = name.strip("\"'").lower()
    return name in {"key", "secret", "token", "password", "pin", "pin_hash"} or name.endswith(
        ("_hash", "_key", "_secret", "_token", "password")
    )


def redact_toml(text: str) -> str:
    """The TOML text with every secret value replaced, comments and layout kept."""
    out: list[str] = []
    closing: str | None = None  # inside a redacted multi-line string: its closing quotes
    for line in text.splitlines():
        if closing is not None:
            if closing in line:
                closing = None
            continue

        def replace(match: re.Match[str]) -> str:
            nonlocal closing
            if not is_secret_key(match["name"]):
                return match[0]
            if match["value"] in _TRIPLE:
                closing = match["value"]
            return f'{match["name"]}{match["eq"]}"{REDACTED}"'

        out.append(_PAIR.sub(replace, line))  # comments too: an old PIN hash may be commented out
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def _secret_values(data: Any) -> list[str]:
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if is_secret_key(key) and isinstance(value, (str, int)) and not isinstance(value, bool):
                found.append(str(value))
            else:
                found.extend(_secret_values(value))
    elif isinstance(data, list):
        for item in data:
            found.extend(_secret_values(item))
    return found


def find_secrets(config_path: Path) -> list[str]:
    """Every secret value in the configuration, and the key in the key file it names, longest first."""
    try:
        data = tomllib.loads(config_path.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return []
    secrets = _secret_values(data)
    # the salt and digest of a "scrypt$n$r$p$salt$hash" on their own, should a log line show one
    secrets += [part for value in secrets for part in value.split("$") if len(part) >= 16]
    key_file = data.get("cabinet", {}).get("key_file") if isinstance(data.get("cabinet"), dict) else None
    if isinstance(key_file, str) and key_file:
        try:
            key_text = Path(key_file).read_text().strip()
        except (OSError, UnicodeDecodeError):
            key_text = ""
        if key_text:
            secrets += [key_text, key_text.lower(), key_text.upper()]
    return sorted({s for s in secrets if len(s) >= MIN_SECRET_LEN}, key=len, reverse=True)


# A URL's password (scheme://user:password@host) and its query parameters that carry a credential.
URL_MASK = "***"
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@]*):(?P<password>[^\s/?#]*)@")
_QUERY_PARAM = re.compile(r"(?P<head>[?&;](?P<name>[A-Za-z0-9_.-]+)=)(?P<value>[^&;#\s\"'<>]*)")
URL_CREDENTIAL_PARAMS = frozenset(
    {
        "sig",
        "signature",
        "auth",
        "pwd",
        "pass",
        "credential",
        "credentials",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
    }
)


def redact_urls(text: str) -> str:
    """``https://user:pass@host/x?token=T&sku=S`` -> ``https://user:***@host/x?token=***&sku=S``, wherever
    a URL stands in the text (a log line, a configuration value)."""
    text = _USERINFO.sub(lambda m: f"{m['head']}:{URL_MASK}@", text)

    def param(match: re.Match[str]) -> str:
        name = match["name"].lower()
        secret = name in URL_CREDENTIAL_PARAMS or is_secret_name(name) or is_secret_key(name)
        return match["head"] + URL_MASK if secret and match["value"] else match[0]

    return _QUERY_PARAM.sub(param, text)


def scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return redact_urls(text)


def journal(unit: str, since: str) -> tuple[str, str]:
    """(member name, text): the unit's journal, or a note saying why there is none."""
    if not shutil.which("journalctl"):
        return "journal-missing.txt", "journalctl is not installed here, so the journal could not be exported.\n"
    try:
        result = subprocess.run(
            ["journalctl", "--unit", unit, "--since", since, "--no-pager", "--output", "short-iso-precise"],
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
            timeout=JOURNAL_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return "journal-missing.txt", f"journalctl did not finish within {JOURNAL_TIMEOUT_S} s.\n"
    if result.returncode != 0:
        return "journal-missing.txt", f"journalctl exited with {result.returncode}:\n{result.stderr}"
    return "journal.txt", result.stdout


@dataclass
class ExportResult:
    path: Path
    members: list[str] = field(default_factory=list)


EXPORT_STEPS = ("journal", "status", "doctor", "configuration", "archive")


def export_logs(
    dest: Path,
    config_path: Path,
    data_dir: Path,
    *,
    since: str = "7 days ago",
    unit: str = UNIT,
    progress: ProgressSink | None = None,
) -> ExportResult:
    """Write the tarball (gzip, mode 0600) to ``dest``; refuses to overwrite a file. ``progress`` is told each
    step as it starts, and the end."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    top = f"kiosk-logs-{platform.node() or 'cabinet'}-{stamp}"
    secrets = find_secrets(config_path)
    members: dict[str, str] = {}
    done = 0

    def step(label: str) -> None:
        nonlocal done
        if progress is not None:
            progress(Progress(label, done, len(EXPORT_STEPS)))
        done += 1

    step("journal")
    name, text = journal(unit, since)
    members[name] = text
    step("status")
    members["status.txt"] = format_status(collect_status(config_path, data_dir))
    step("doctor")
    members["doctor.txt"] = format_findings(run_checks(DoctorContext(config_path, data_dir)), colour=False)
    step("configuration")
    try:
        load_config(config_path)
        problem = ""
    except ConfigError as exc:
        problem = "# kiosk config check found problems:\n" + "".join(f"#   {p}\n" for p in exc.problems)
    try:
        members[config_path.name] = problem + redact_toml(config_path.read_text())
    except OSError as exc:
        members["configuration-missing.txt"] = f"{config_path}: {exc.strerror}\n"
    members["README.txt"] = (
        f"kiosk logs export of {platform.node()} at {stamp}\n"
        f"configuration: {config_path} (secrets replaced by {REDACTED}; key files are never included)\n"
        f"data dir: {data_dir}\njournal: unit {unit} since {since}\n"
        f"members: {', '.join(sorted(members))}\n"
    )

    step("archive")
    try:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise FileExistsError(f"{dest} already exists: choose another name or delete it") from None
    with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w:gz") as tar:
        for name, text in members.items():
            data = scrub(text, secrets).encode()
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
            tar.addfile(info, io.BytesIO(data))
    if progress is not None:
        progress(Progress("done", done, len(EXPORT_STEPS)))
    return ExportResult(dest, [f"{top}/{name}" for name in members])


def main_export(dest: Path, config_path: Path, data_dir: Path, since: str) -> int:
    try:
        bar = ProgressBar(len(EXPORT_STEPS), sys.stderr)
        try:
            result = export_logs(dest, config_path, data_dir, since=since, progress=bar.show)
        finally:
            bar.close()
    except OSError as exc:
        print(f"kiosk: logs export: {exc}", file=sys.stderr)
        return 1
    print(f"{result.path}: {len(result.members)} files")
    for member in result.members:
        print(f"  {member}")
    return 0
