"""`kiosk logs export`: the tarball support gets, with no secret in it."""

from __future__ import annotations

import stat
import tarfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware.technician.logs_export import export_logs, redact_toml, redact_urls
from tests.technician.conftest import PIN_HASH, ZVT_PASSWORD, Cabinet


def journalctl_stub(bin_dir: Path, cabinet: Cabinet) -> Path:
    """A journalctl that prints what a careless log line could hold: the PIN hash and the key."""
    bin_dir.mkdir(exist_ok=True)
    stub = bin_dir / "journalctl"
    stub.write_text(
        "#!/bin/sh\n"
        f'echo "args: $*"\n'
        "echo '2026-01-05T10:00:00.000000+0000 cabinet kiosk[812]: level=info msg=ready'\n"
        "echo '2026-01-05T10:00:01.000000+0000 cabinet kiosk[812]: "
        f"debug pin={PIN_HASH} key={cabinet.key}'\n"
        f"echo 'verify failed: digest {PIN_HASH.split('$')[-1]}'\n"
    )
    stub.chmod(0o755)
    return bin_dir


def read_all(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name.split("/", 1)[1]: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def test_export_holds_journal_status_doctor_and_a_redacted_config(
    cabinet: Cabinet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outbox = cabinet.outbox()
    outbox.append("alarm", {"kind": "door_forced", "detail": "door opened without an authorized unlock"})
    outbox.close()
    monkeypatch.setenv("PATH", f"{journalctl_stub(tmp_path / 'bin', cabinet)}:/usr/bin:/bin")
    dest = tmp_path / "support.tar.gz"
    result = export_logs(dest, cabinet.config, cabinet.data_dir, since="2 days ago")

    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    members = read_all(dest)
    assert set(members) == {"journal.txt", "status.txt", "doctor.txt", "kiosk.toml", "README.txt"}
    assert len(result.members) == 5
    journal = members["journal.txt"].decode()
    assert "args: --unit kiosk.service --since 2 days ago" in journal and "msg=ready" in journal
    assert "door_forced" in members["status.txt"].decode()
    assert "key file" in members["doctor.txt"].decode()
    config = members["kiosk.toml"].decode()
    assert 'pin_hash = "<redacted>"   # set 2026-01-05' in config
    assert 'password = "<redacted>"' in config
    assert f'key_file = "{cabinet.key_file}"' in config  # where the key is, never the key
    assert 'id = "mall-7"' in config
    # nothing secret anywhere in the archive, compressed or not, whichever member it tried to slip into
    raw = dest.read_bytes()
    everything = b"\n".join(members.values())
    assert "verify failed: digest <redacted>" in journal
    for secret in (PIN_HASH, PIN_HASH.split("$")[-1], cabinet.key, cabinet.key.upper(), ZVT_PASSWORD):
        assert secret.encode() not in everything and secret.encode() not in raw
    assert not any("key" in name and name != "kiosk.toml" for name in members)


def test_without_journalctl_the_archive_says_so(
    cabinet: Cabinet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    dest = tmp_path / "support.tar.gz"
    export_logs(dest, cabinet.config, cabinet.data_dir)
    members = read_all(dest)
    assert (
        members["journal-missing.txt"] == b"journalctl is not installed here, so the journal could not be exported.\n"
    )
    assert "journal.txt" not in members and "no database yet" in members["status.txt"].decode()


def test_an_existing_file_is_never_overwritten(cabinet: Cabinet, tmp_path: Path) -> None:
    dest = tmp_path / "support.tar.gz"
    dest.write_text("yesterday's export")
    with pytest.raises(FileExistsError, match="support.tar.gz already exists: choose another name"):
        export_logs(dest, cabinet.config, cabinet.data_dir)
    assert dest.read_text() == "yesterday's export"


def test_redaction_of_toml_forms() -> None:
    text = (
        '[retailer]\npin_hash = "scrypt$1$2$3$aa$bb"\n'
        '# pin_hash = "scrypt$old$old"\n'
        "[cloud]\napi_token = 'tok-123456'\nsettings = { hmac_key = \"00ff00ff00ff\", retries = 3 }\n"
        'signing_key = """\n00112233\n44556677\n"""\nnext = 1\n'
        'secret = """on-one-line"""\nkey_file = "/var/lib/kiosk/cabinet.key"\n'
    )
    assert redact_toml(text) == (
        '[retailer]\npin_hash = "<redacted>"\n'
        '# pin_hash = "<redacted>"\n'
        '[cloud]\napi_token = "<redacted>"\nsettings = { hmac_key = "<redacted>", retries = 3 }\n'
        'signing_key = "<redacted>"\nnext = 1\n'
        'secret = "<redacted>"\nkey_file = "/var/lib/kiosk/cabinet.key"\n'
    )


URL_LINES = (
    '2026-01-05T10:00:02.000000+0000 cabinet kiosk[812]: level=warning msg="upload failed, retrying" '
    'error="Cannot connect to host https://ops:Hunter2-pw@cloud.example.com/v1/events?token=tok-5521&batch=3"\n'
    "2026-01-05T10:00:03.000000+0000 cabinet kiosk[812]: ad https://cdn.example/a.mp4?X-Amz-Signature=ab12cd34"
    "&key=k-9911&sig=s-7788;password=pw-6655#top\n"
)


def test_export_redacts_passwords_and_credential_parameters_in_urls(
    cabinet: Cabinet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "journalctl").write_text(f"#!/bin/sh\ncat <<'EOF'\n{URL_LINES}EOF\n")
    (bin_dir / "journalctl").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    config = cabinet.config.read_text().replace(
        '"https://cloud.example.com"', '"https://cabinet:Sync-pw-42@cloud.example.com/base"'
    )
    cabinet.config.write_text(config)
    dest = tmp_path / "support.tar.gz"
    export_logs(dest, cabinet.config, cabinet.data_dir)

    members = read_all(dest)
    journal = members["journal.txt"].decode()
    assert "https://ops:***@cloud.example.com/v1/events?token=***&batch=3" in journal
    assert "https://cdn.example/a.mp4?X-Amz-Signature=***&key=***&sig=***;password=***#top" in journal
    assert 'cloud_url = "https://cabinet:***@cloud.example.com/base"' in members["kiosk.toml"].decode()
    everything = b"\n".join(members.values())
    for secret in (b"Hunter2-pw", b"tok-5521", b"ab12cd34", b"k-9911", b"s-7788", b"pw-6655", b"Sync-pw-42"):
        assert secret not in everything


def test_url_redaction_keeps_what_is_not_a_credential() -> None:
    kept = (
        "https://cloud.example.com:8443/v1/config?sku=SCOOT-S1&page=2 "
        "mailto:support@velo-mall.example http://[::1]:8765/state user@host.example"
    )
    assert redact_urls(kept) == kept
    assert (
        redact_urls("store https://velo.example/o?code=24681012&lang=en")
        == "store https://velo.example/o?code=***&lang=en"
    )  # a pickup link's code, too


_USER = st.text(st.characters(whitelist_categories=("Ll", "Lu", "Nd")), min_size=1, max_size=12)
_PASSWORD = st.text(
    st.characters(blacklist_characters=" \t\n\r/?#@", blacklist_categories=("Cs", "Z", "C")), min_size=1, max_size=24
)
_TOKEN = st.text(
    st.characters(whitelist_categories=("Ll", "Lu", "Nd"), whitelist_characters="-_.~%"), min_size=1, max_size=24
)
_PROSE = st.text(st.characters(blacklist_characters=":/?&;=@", blacklist_categories=("Cs",)), max_size=20)


@given(user=_USER, password=_PASSWORD, token=_TOKEN, before=_PROSE, after=_PROSE)
def test_a_url_password_and_token_never_survive(user: str, password: str, token: str, before: str, after: str) -> None:
    text = f"{before} https://{user}:{password}@cloud.example.com/v1?token={token}&n=1 {after}"
    assert redact_urls(text) == f"{before} https://{user}:***@cloud.example.com/v1?token=***&n=1 {after}"
