"""The signing key file: only the service user may read it."""

import pytest

from sync_client.keyfile import KeyFileError, load_key


def write(path, text, mode):
    path.write_text(text)
    path.chmod(mode)
    return path


def test_a_private_hex_key_loads(tmp_path):
    assert load_key(write(tmp_path / "k", "00" * 31 + "ff\n", 0o600)) == bytes(31) + b"\xff"
    assert load_key(write(tmp_path / "r", "ab" * 32, 0o400)) == b"\xab" * 32


@pytest.mark.parametrize(
    "mode, text, message",
    [
        (0o640, "ab" * 32, "readable or writable by others (mode 0640); run: chmod 600"),
        (0o602, "ab" * 32, "readable or writable by others (mode 0602)"),
        (0o600, "not hex", "must be hex"),
        (0o600, "abcd", "too short (2 bytes, want at least 16)"),
    ],
)
def test_an_unsafe_or_malformed_key_file_is_refused_with_the_fix(tmp_path, mode, text, message):
    with pytest.raises(KeyFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_key(write(tmp_path / "k", text, mode))


def test_a_missing_key_file_is_named(tmp_path):
    with pytest.raises(KeyFileError, match="cannot read the cabinet key"):
        load_key(tmp_path / "absent")
