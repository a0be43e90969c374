"""Pn532Reader against the PN532 emulator over a PTY."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hal.card_reader import CardRead
from hal.errors import DeviceFault, ProtocolError
from hal.pn532 import Pn532Reader, commands
from hal.sim.pn532_emulator import Pn532Emulator
from hal.sim.pty_link import PtyLink
from tests.polling import until

UID4 = bytes.fromhex("B0864D25")
UID7 = bytes.fromhex("04A1B2C3D4E5F6")
UID10 = bytes.fromhex("0102030405060708090A")
WAIT = 5.0  # generous: a shared 2-core machine


@pytest.fixture
async def emulator():
    async with Pn532Emulator() as emu:
        yield emu


@pytest.fixture
async def reader(emulator):
    reader = Pn532Reader(emulator.port, poll_interval=0.02, ack_timeout=0.3)
    await reader.open()
    yield reader
    await reader.close()


async def read(reader: Pn532Reader) -> CardRead:
    return await asyncio.wait_for(reader.read(), WAIT)


async def assert_no_read(reader: Pn532Reader, seconds: float = 0.4) -> None:
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(reader.read(), seconds)


async def test_open_wakes_configures_and_checks_firmware(emulator, reader):
    assert emulator.awake and emulator.sam_configured
    assert str(reader.firmware) == "PN532 v1.6"
    assert emulator.passive_retries == 1  # so that polling returns when no card is there
    assert [c[0] for c in emulator.commands] == [
        commands.SAM_CONFIGURATION,
        commands.GET_FIRMWARE_VERSION,
        commands.RF_CONFIGURATION,
    ]


@pytest.mark.parametrize("uid", [UID4, UID7, UID10], ids=["4-byte", "7-byte", "10-byte"])
async def test_reads_uid(emulator, reader, uid):
    emulator.present(uid)
    card = await read(reader)
    assert card == CardRead(uid) and card.uid_hex == uid.hex().upper()


async def test_card_held_is_reported_once_then_again_after_removal(emulator, reader):
    emulator.present(UID4)
    assert (await read(reader)).uid == UID4
    await assert_no_read(reader)
    emulator.remove()
    await asyncio.sleep(0.3)  # taken off and put back while nobody reads
    emulator.present(UID4)
    assert (await read(reader)).uid == UID4
    await assert_no_read(reader)


async def test_card_presented_long_before_read_is_stale(caplog):
    async with Pn532Emulator() as emulator:
        reader = Pn532Reader(emulator.port, poll_interval=0.02, stale_after=0.2)
        await reader.open()
        try:
            emulator.present(UID4)
            assert (await read(reader)).uid == UID4
            emulator.remove()
            await asyncio.sleep(0.2)
            emulator.present(UID7)  # tapped while nobody was waiting
            await asyncio.sleep(0.6)
            with caplog.at_level(logging.INFO, logger="hal.pn532.reader"):
                await assert_no_read(reader)
            messages = " ".join(r.getMessage() for r in caplog.records)
            assert "dropped a card" in messages and UID7.hex() not in messages.lower()  # a staff card's UID
        finally:
            await reader.close()


async def test_another_card_is_reported_without_removal_gap(emulator, reader):
    emulator.present(UID4)
    assert (await read(reader)).uid == UID4
    emulator.present(UID7)
    assert (await read(reader)).uid == UID7


async def test_nack_makes_driver_resend(emulator, reader):
    before = len(emulator.commands)
    emulator.nack_next()
    emulator.present(UID7)
    assert (await read(reader)).uid == UID7
    first, second = list(emulator.commands)[before : before + 2]
    assert first == second == commands.in_list_passive_target()


async def test_corrupt_response_is_nacked_and_repeated(emulator, reader):
    emulator.corrupt_next_response()
    emulator.present(UID4)
    assert (await read(reader)).uid == UID4


async def test_error_frame_raises_protocol_error(emulator, reader):
    emulator.error_next()
    with pytest.raises(ProtocolError, match="error frame"):
        await reader.poll()


async def test_read_survives_an_occasional_error_frame(emulator, reader):
    emulator.error_next()
    emulator.present(UID4)
    assert (await read(reader)).uid == UID4


async def test_persistent_error_frames_become_device_fault(emulator, reader):
    emulator.error_next(10)
    with pytest.raises(DeviceFault, match="protocol errors in a row") as info:
        await read(reader)
    assert info.value.device == "nfc"


async def test_garbage_on_the_line_is_skipped(emulator, reader):
    await emulator.send_garbage(b"\xde\xad\x00\xff\x13\x00\x00\xff\x05")
    emulator.present(UID4)
    assert (await read(reader)).uid == UID4


async def test_unplug_raises_device_fault_and_open_works_after_replug(emulator, reader):
    emulator.present(UID4)
    assert (await read(reader)).uid == UID4
    await emulator.unplug()
    with pytest.raises(DeviceFault) as info:
        await read(reader)
    assert info.value.device == "nfc"
    with pytest.raises(DeviceFault, match="cannot open"):
        await reader.open()
    await emulator.replug()
    await reader.open()
    assert emulator.awake  # the replugged chip needed waking again
    emulator.present(UID7)
    assert (await read(reader)).uid == UID7


async def test_open_fails_with_device_fault_when_nothing_answers():
    silent = PtyLink()  # a port with no chip behind it
    silent.start()
    reader = Pn532Reader(silent.port, ack_timeout=0.1)
    try:
        with pytest.raises(DeviceFault, match="did not acknowledge") as info:
            await reader.open()
        assert info.value.device == "nfc"
    finally:
        await reader.close()
        silent.close()


async def test_open_rejects_a_chip_that_is_not_a_pn532():
    async with Pn532Emulator(firmware=commands.FirmwareVersion(0x33, 1, 0, 7)) as other:
        with pytest.raises(DeviceFault, match="not a PN532"):
            await Pn532Reader(other.port).open()


async def test_emulator_waits_for_a_card_with_infinite_retries(emulator):
    # Power-on MxRtyPassiveActivation is FF: InListPassiveTarget blocks until a card comes.
    reader = Pn532Reader(emulator.port, passive_retries=0xFF)
    await reader.open()
    try:
        poll = asyncio.create_task(reader.poll())
        await asyncio.sleep(0.3)
        assert not poll.done()
        emulator.present(UID4)
        assert (await asyncio.wait_for(poll, WAIT)).uid == UID4
    finally:
        await reader.close()


async def test_the_emulator_keeps_only_the_latest_thousand_commands_of_a_reader_polling_all_day(emulator):
    """The simulation's reader polls for a card every few hundred milliseconds for as long as the cabinet runs:
    the emulator's record of what it received must not grow with it."""
    poller = Pn532Reader(emulator.port, poll_interval=0.001, ack_timeout=0.3)
    await poller.open()
    waiting = asyncio.create_task(poller.read())  # polls until a card comes (none will)
    try:
        # the first command (SAMConfiguration) no longer kept: more than a thousand came
        await until(lambda: emulator.commands[0][0] != commands.SAM_CONFIGURATION, 60.0, "a thousand polls")
    finally:
        waiting.cancel()
        await poller.close()
    assert len(emulator.commands) == 1000
    assert emulator.commands[-1][0] == commands.IN_LIST_PASSIVE_TARGET
