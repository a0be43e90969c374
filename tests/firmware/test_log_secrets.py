"""No PIN, pickup code, repair form value or card UID in a log line: the cabinet logs what was done, and
the structured formatter redacts a field named like a secret whoever logs it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from gpiozero.pins.mock import MockFactory

from firmware.cabinet import Cabinet
from firmware.config import Config
from firmware.devices import Devices, build_lock_and_door
from firmware.logs import LogfmtFormatter
from kiosk_ui.view import Intent
from sync_client.outbox import Outbox

PIN, CODE, PHONE = "5038172946", "31415926", "0612345678"


class Lines(logging.Handler):
    """What the journal would hold: each record as the cabinet's formatter writes it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(LogfmtFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def lines() -> Iterator[list[str]]:
    handler, root = Lines(), logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler.lines
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def cabinet(tmp_path) -> Iterator[Cabinet]:
    config = Config()
    lock, door, _ = build_lock_and_door(config, MockFactory())
    outbox = Outbox(tmp_path / "cabinet.db", "cab-1")
    yield Cabinet(config, Devices(lock=lock, door=door), outbox, tmp_path)
    lock.close()
    outbox.close()


def test_the_formatter_redacts_fields_named_like_secrets_and_masks_card_uids(lines: list[str]) -> None:
    logging.getLogger("anywhere").info(
        "careless",
        extra={
            "pin": PIN,
            "pickup_code": CODE,
            "api_token": "tok-998877",
            "hmac_key": "00ff00ff00ff",
            "zvtPassword": "000000",
            "pin_hash": "scrypt$16384$8$1$aa$bb",
            "key_file": "/var/lib/kiosk/cabinet.key",
            "uid": "04FEEDBEEF0102",
            "who": "card:04a1b2c3d4e5f6",
            "sku": "SCOOT-S1",
        },
    )
    line = lines[-1]
    for name in ("pin", "pickup_code", "api_token", "hmac_key", "zvtPassword", "pin_hash"):
        assert f"{name}=<redacted>" in line
    for secret in (PIN, CODE, "tok-998877", "00ff00ff00ff", "000000", "scrypt", "04FEEDBEEF0102", "04a1b2c3d4e5f6"):
        assert secret not in line
    assert "key_file=/var/lib/kiosk/cabinet.key" in line  # a path, not a secret
    assert "uid=**02" in line and "who=card:**F6" in line  # a card by its last two hex digits
    assert "sku=SCOOT-S1" in line


async def test_a_stale_pin_code_or_form_intent_is_logged_without_its_value(cabinet: Cabinet, lines: list[str]) -> None:
    # Each arrives when nothing is open to take it (a late tap): ignored, and logged as such. A PIN or a
    # code is refused by its journey in the task that would have checked it off the loop.
    for intent in (Intent("pin_submit", PIN), Intent("pickup_submit", CODE), Intent("field", f"phone={PHONE}")):
        cabinet.handle_intent(intent)
    await asyncio.gather(*cabinet._tasks)
    ignored = [line for line in lines if 'msg="intent ignored"' in line]
    assert [line.split(" intent=")[1].split()[0] for line in ignored] == ["field"]
    assert 'arg="phone=<redacted>"' in ignored[0]
    assert len([line for line in lines if 'msg="code ignored"' in line]) == 2
    for secret in (PIN, CODE, PHONE):
        assert not [line for line in lines if secret in line]


def test_an_intent_formatted_into_a_message_hides_its_secret() -> None:
    assert str(Intent("pin_submit", PIN)) == "Intent('pin_submit', '<redacted>')"
    assert repr(Intent("pickup_submit", CODE)) == "Intent('pickup_submit', '<redacted>')"
    assert str(Intent("key", "7")) == "Intent('key', 'digit')" and str(Intent("key", "back")) == "Intent('key', 'back')"
    assert str(Intent("field", f"phone={PHONE}")) == "Intent('field', 'phone=<redacted>')"
    assert str(Intent("select_product", "SCOOT-S1")) == "Intent('select_product', 'SCOOT-S1')"
    assert Intent("pin_submit", PIN).arg == PIN  # the firmware still gets the PIN itself
