"""A cabinet on disk for the technician commands: a production configuration,
its key file, a data dir with a real outbox database, device nodes."""

from __future__ import annotations

import grp
import os
import pwd
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sync_client.outbox import Outbox

PIN_HASH = "scrypt$16384$8$1$" + "a1" * 16 + "$" + "b2" * 32
ZVT_PASSWORD = "472913"


@dataclass
class Cabinet:
    config: Path
    data_dir: Path
    key_file: Path
    key: str
    payment_port: Path  # a symlink to a real pseudo-terminal, as udev makes /dev/kiosk-payment
    dev: Path  # a /dev with a display, a touchscreen and a GPIO chip
    user: str  # the user running the tests, standing in for kiosk
    group: str

    def outbox(self) -> Outbox:
        return Outbox(self.data_dir / "cabinet.db", "mall-7")


@pytest.fixture
def cabinet(tmp_path: Path) -> Iterator[Cabinet]:
    data_dir = tmp_path / "var-lib-kiosk"
    data_dir.mkdir(mode=0o700)
    key = secrets.token_hex(32)
    key_file = data_dir / "cabinet.key"
    key_file.write_text(key + "\n")
    key_file.chmod(0o600)
    controller, terminal = os.openpty()
    payment = tmp_path / "kiosk-payment"
    payment.symlink_to(os.ttyname(terminal))
    dev = tmp_path / "dev"
    for node in ("dri/card1", "input/event0", "gpiochip0"):
        (dev / node).parent.mkdir(parents=True, exist_ok=True)
        (dev / node).write_text("")
    config = tmp_path / "kiosk.toml"
    config.write_text(f"""\
[cabinet]
id = "mall-7"
key_file = "{key_file}"

[retailer]
pin_hash = "{PIN_HASH}"   # set 2026-01-05

[lock]
pin_factory = "lgpio"

[payment]
backend = "zvt"
port = "{payment}"
password = "{ZVT_PASSWORD}"

[nfc]
backend = "none"

[scanner]
backend = "serial"
port = "{tmp_path / "kiosk-scanner"}"

[camera]
backend = "none"

[sync]
cloud_url = "https://cloud.example.com"
""")
    me = pwd.getpwuid(os.getuid())
    yield Cabinet(config, data_dir, key_file, key, payment, dev, me.pw_name, grp.getgrgid(me.pw_gid).gr_name)
    os.close(controller)
    os.close(terminal)
