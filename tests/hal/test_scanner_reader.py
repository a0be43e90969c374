"""SerialScanner against the GM65 scanner emulator over a PTY."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest

from hal.code_reader import CodeRead
from hal.errors import DeviceFault
from hal.scanner import SerialScanner, gm65
from hal.sim.pty_link import PtyLink
from hal.sim.scanner_emulator import ScannerEmulator

WAIT = 5.0  # generous: a shared 2-core machine


@pytest.fixture
async def emulator():
    async with ScannerEmulator() as emu:
        yield emu


@pytest.fixture
async def scanner(emulator):
    scanner = SerialScanner(emulator.port)
    await scanner.open()
    yield scanner
    await scanner.close()


async def read(scanner: SerialScanner) -> CodeRead:
    return await asyncio.wait_for(scanner.read(), WAIT)


@pytest.mark.parametrize("terminator", ["\r", "\n", "\r\n"], ids=["CR", "LF", "CRLF"])
async def test_codes_with_each_terminator(emulator, scanner, terminator):
    await emulator.scan("PICKUP-4711", terminator)
    await emulator.scan("https://shop.example/p/e-bike-7", terminator)
    assert await read(scanner) == CodeRead("PICKUP-4711", source="scanner")
    assert (await read(scanner)).text == "https://shop.example/p/e-bike-7"
    with pytest.raises(asyncio.TimeoutError):  # a CRLF leaves no empty code behind
        await asyncio.wait_for(scanner.read(), 0.3)


async def test_line_split_over_several_writes(emulator, scanner):
    await emulator.scan("REPAIR-FRAME-WX1234567", "\r\n", chunks=5)
    assert (await read(scanner)).text == "REPAIR-FRAME-WX1234567"


async def test_garbage_is_skipped_with_a_warning(emulator, scanner, caplog):
    with caplog.at_level(logging.WARNING, logger="hal.scanner.reader"):
        await emulator.send_garbage(b"\xff\xfe\x00\x1b\r")
        await emulator.send_garbage(b"Y" * 3000 + b"\r", chunks=3)
        await emulator.scan("AFTER-GARBAGE")
        assert (await read(scanner)).text == "AFTER-GARBAGE"
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "not UTF-8" in messages and re.search("(exceeds|longer than) 2048", messages)


async def test_a_damaged_pickup_qr_is_skipped_without_its_code_in_the_log(emulator, scanner, caplog):
    with caplog.at_level(logging.WARNING, logger="hal.scanner.reader"):
        await emulator.send_garbage(b"PICKUP:31415926\x1b\r")  # a control character: not a code
        await emulator.scan("AFTER-DAMAGE")
        assert (await read(scanner)).text == "AFTER-DAMAGE"
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "control character U+001B" in messages
    assert "31415926" not in messages and b"31415926".hex(" ") not in messages


async def test_trigger_mode(emulator):
    scanner = SerialScanner(emulator.port, trigger_mode=True)
    await scanner.open()
    try:
        assert emulator.mode == gm65.MODE_COMMAND
        emulator.show("ORDER-99")
        await scanner.trigger()
        assert (await read(scanner)).text == "ORDER-99"
        assert emulator.commands[-1].encode() == bytes.fromhex("7E000801000201ABCD")
        emulator.show(None)
        await scanner.trigger()  # nothing in view: the reply only
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(scanner.read(), 0.3)
    finally:
        await scanner.close()


async def test_registers_write_read_and_save_survive_replug(emulator, scanner):
    await scanner.write_register(0x0000, b"\x55")
    assert await scanner.read_register(0x0000) == b"\x55"
    await scanner.save_settings()
    await scanner.write_register(0x0000, b"\x66")  # not saved: lost on power cycle
    await emulator.unplug()
    await emulator.replug()
    await scanner.open()
    assert await scanner.read_register(0x0000) == b"\x55"


async def test_unplug_raises_device_fault_and_open_works_after_replug(emulator, scanner):
    pending = asyncio.create_task(scanner.read())
    await asyncio.sleep(0.05)
    await emulator.unplug()
    with pytest.raises(DeviceFault) as info:
        await asyncio.wait_for(pending, WAIT)
    assert info.value.device == "scanner"
    with pytest.raises(DeviceFault):
        await scanner.read()
    with pytest.raises(DeviceFault, match="cannot open"):
        await scanner.open()
    await emulator.replug()
    await scanner.open()
    await emulator.scan("BACK")
    assert (await read(scanner)).text == "BACK"


async def test_trigger_mode_open_fails_when_module_is_silent():
    silent = PtyLink()
    silent.start()
    scanner = SerialScanner(silent.port, trigger_mode=True, reply_timeout=0.2)
    try:
        with pytest.raises(DeviceFault, match="cannot set command-trigger mode"):
            await scanner.open()
    finally:
        await scanner.close()
        silent.close()
