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
from kiosk_ui.intents import PressKey, SelectProduct, SetCount, SetField, SubmitPickupCode, SubmitPin
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
    # Each arrives when nothing is open to take it (a late tap): no journey sees it, a log line says so.
    for intent in (SubmitPin(PIN), SubmitPickupCode(CODE), SetField("phone", PHONE)):
        cabinet.handle_intent(intent)
    await asyncio.gather(*cabinet._tasks)
    ignored = [line for line in lines if 'msg="intent ignored"' in line]
    assert [line.split(" intent=")[1].split()[0] for line in ignored] == ["pin_submit", "pickup_submit", "field"]
    assert "arg=<redacted>" in ignored[0] and "arg=<redacted>" in ignored[1]
    assert 'arg="phone=<redacted>"' in ignored[2]
    for secret in (PIN, CODE, PHONE):
        assert not [line for line in lines if secret in line]


def test_an_intent_formatted_into_a_message_hides_its_secret() -> None:
    assert str(SubmitPin(PIN)) == "SubmitPin(<redacted>)"
    assert repr(SubmitPickupCode(CODE)) == "SubmitPickupCode(<redacted>)"
    assert str(PressKey("7")) == "PressKey(digit)" and str(PressKey("back")) == "PressKey(back)"
    assert str(SetField("phone", PHONE)) == "SetField(phone=<redacted>)"
    assert str(SelectProduct("SCOOT-S1")) == "SelectProduct(SCOOT-S1)"
    assert str(SetCount("SCOOT-S1", 4)) == "SetCount(SCOOT-S1,4)"  # nothing secret: shown as it is
    assert f"{SubmitPin(PIN)!r} {SetField('name', 'LI WEI')}" == "SubmitPin(<redacted>) SetField(name=<redacted>)"
    assert SubmitPin(PIN).pin == PIN and SetField("phone", PHONE).value == PHONE  # the firmware still gets them
