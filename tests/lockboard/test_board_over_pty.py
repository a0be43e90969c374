"""The Pi's driver against the emulated board, byte for byte over a PTY: the
same LockBoardLink/LockBoardLock/LockBoardDoorSensor would drive a real Pico."""

import asyncio

import pytest

from firmware.lockboard.controller import LockController
from hal.lockboard import (
    BootReport,
    Command,
    CommandRejected,
    Frame,
    FrameDecoder,
    InputReport,
    LockBoardDoorSensor,
    LockBoardLink,
    LockBoardLock,
    NakReason,
    ResetCause,
    encode_frame,
)
from hal.serial_link import SerialLink
from hal.sim.lockboard_emulator import LockBoardEmulator


async def eventually(predicate, timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def pulses(emulator: LockBoardEmulator, relay: int = 0) -> list[tuple[float, float]]:
    """(on, off) times of each completed pulse."""
    out, on = [], None
    for sample in emulator.relay_history(relay):
        if sample.energized and on is None:
            on = sample.t
        elif not sample.energized and on is not None:
            out.append((on, sample.t))
            on = None
    return out


@pytest.fixture
async def board():
    emulator = LockBoardEmulator(LockController, max_on_ms=800, heartbeat_timeout_ms=600, watchdog_ms=500)
    await emulator.start()
    link = LockBoardLink(SerialLink("lockboard", emulator.port, 115200), heartbeat_interval=0.15)
    await link.open()
    reports = []
    link.subscribe(reports.append)
    yield emulator, link, reports
    await link.close()
    await emulator.stop()


async def test_relays_are_off_at_boot(board):
    emulator, link, _ = board
    lock = LockBoardLock(link, 0, max_unlock_s=5)
    assert not emulator.relay_energized(0) and not lock.energized
    assert emulator.relay_history(0)[0].energized is False  # the firmware's first write
    assert link.board is not None and link.board.relays == (False,)


async def test_unlock_is_honoured_and_ends_on_time(board):
    emulator, link, _ = board
    lock = LockBoardLock(link, 0, max_unlock_s=5)
    assert lock.unlock(0.4) == pytest.approx(0.4)
    await eventually(lambda: lock.energized)
    assert emulator.relay_energized(0)
    await eventually(lambda: not lock.energized)
    [(on, off)] = pulses(emulator)
    assert 0.38 <= off - on <= 0.6


async def test_a_request_longer_than_the_board_maximum_is_cut_by_the_board(board):
    emulator, link, _ = board
    assert await link.unlock(0, 5000) == 800  # the board grants only its maximum
    await eventually(lambda: len(pulses(emulator)) == 1)
    [(on, off)] = pulses(emulator)
    assert 0.75 <= off - on <= 1.1
    lock = LockBoardLock(link, 0, max_unlock_s=5)
    assert lock.unlock(5) == pytest.approx(0.8)  # the backend knows the bound from status


async def test_heartbeat_loss_switches_the_relays_off(board):
    emulator = LockBoardEmulator(LockController, max_on_ms=5000, heartbeat_timeout_ms=600)
    async with emulator:
        link = LockBoardLink(SerialLink("lockboard", emulator.port, 115200), heartbeat_interval=0.15)
        await link.open()
        await link.unlock(0, 5000)
        await asyncio.sleep(1.0)
        assert emulator.relay_energized(0)  # heartbeats keep it on
        await link.close()  # the Pi goes silent
        silent_at = emulator.elapsed()
        await eventually(lambda: not emulator.relay_energized(0), timeout=3.0)
        [(on, off)] = pulses(emulator)
        assert 0.3 <= off - silent_at <= 1.5 and off - on < 4.0


async def test_door_change_is_reported_unsolicited_with_the_board_time(board):
    emulator, link, reports = board
    door = LockBoardDoorSensor(link, 0)
    door.start(asyncio.get_running_loop())
    changes = []
    door.subscribe(changes.append)
    assert not door.is_open
    before_ms = emulator.elapsed() * 1000
    emulator.set_input("door0", open=True)
    await eventually(lambda: changes == [True])
    assert door.is_open
    [report] = [r for r in reports if isinstance(r, InputReport)]
    assert report.input == "door0" and before_ms <= report.board_ms <= emulator.elapsed() * 1000
    emulator.set_input("door0", open=False)
    await eventually(lambda: changes == [True, False])
    assert emulator.controller.pending_reports == 0  # the link acknowledged them


async def test_tamper_and_power_contacts_are_reported(board):
    emulator, link, reports = board
    emulator.set_input("tamper", open=True)
    emulator.set_input("power", open=True)
    await eventually(lambda: {r.input for r in reports if isinstance(r, InputReport)} == {"tamper", "power"})
    assert link.input_open("tamper") and link.input_open("power")
    with pytest.raises(ValueError, match="no door2 input"):
        emulator.set_input("door2", open=True)


async def test_a_damaged_frame_is_naked_for_bad_crc(board):
    emulator, link, _ = board
    await link.close()  # talk to the board by hand
    raw = SerialLink("raw", emulator.port, 115200)
    await raw.open()
    try:
        frame = bytearray(encode_frame(0x42, Command.UNLOCK, bytes([0, 0x03, 0xE8])))
        frame[5] ^= 0x10  # a bit flipped on the wire
        await raw.write(bytes(frame))
        decoder, answers = FrameDecoder(), []
        while not answers:
            chunk = await raw.read_some(2.0)
            assert chunk, "no answer from the board"
            decoder.feed(chunk)
            while (got := decoder.next_frame()) is not None:
                if got.command in (Command.ACK, Command.NAK) and got.seq == 0x42:
                    answers.append(got)
        assert answers == [Frame(0x42, Command.NAK, bytes([NakReason.BAD_CRC]))]
        assert not emulator.relay_energized(0)
    finally:
        raw.close()


async def test_a_command_the_board_cannot_do_is_rejected_with_its_reason(board):
    _, link, _ = board
    with pytest.raises(CommandRejected, match="rejected UNLOCK: BAD_INDEX"):
        await link.unlock(3, 1000)


async def test_watchdog_is_fed_by_the_main_loop_and_resets_a_hung_board(board):
    emulator, link, reports = board
    fed = emulator.watchdog.feeds
    await asyncio.sleep(0.3)
    assert emulator.watchdog.feeds > fed and not emulator.watchdog.starved
    await link.unlock(0, 800)
    await eventually(lambda: emulator.relay_energized(0))
    emulator.freeze()  # the firmware hangs with the relay on
    await eventually(lambda: emulator.boots == [ResetCause.POWER_ON, ResetCause.WATCHDOG], timeout=2.0)
    assert not emulator.relay_energized(0)
    await eventually(lambda: any(isinstance(r, BootReport) and r.reset_cause is ResetCause.WATCHDOG for r in reports))
    assert not link.relay_energized(0)


async def test_a_power_cycle_drops_the_relay_and_the_board_boots_with_it_off(board):
    emulator, link, _ = board
    await link.unlock(0, 800)
    await eventually(lambda: emulator.relay_energized(0))
    await emulator.unplug()  # cable and power gone
    assert not emulator.relay_energized(0)
    await emulator.replug()
    assert emulator.boots == [ResetCause.POWER_ON, ResetCause.POWER_ON]
    assert not emulator.relay_energized(0)


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), 0.0, -2.0])
async def test_the_backend_refuses_a_pulse_that_is_not_a_finite_positive_number(board, seconds):
    emulator, link, _ = board
    lock = LockBoardLock(link, 0, max_unlock_s=5)
    with pytest.raises(ValueError, match=f"unlock pulse must be a finite number of seconds > 0, got {seconds!r}"):
        lock.unlock(seconds)
    assert not any(sample.energized for sample in emulator.relay_history(0))


async def test_the_backend_keeps_its_own_hard_maximum_below_a_lenient_board():
    from hal.lock import HARD_MAX_UNLOCK_S

    emulator = LockBoardEmulator(LockController, max_on_ms=60_000, heartbeat_timeout_ms=600)
    async with emulator:
        link = LockBoardLink(SerialLink("lockboard", emulator.port, 115200), heartbeat_interval=0.15)
        await link.open()
        assert LockBoardLock(link, 0, max_unlock_s=1e9).max_unlock_s == HARD_MAX_UNLOCK_S
        lock = LockBoardLock(link, 0, max_unlock_s=5, hard_max_s=0.3)
        assert lock.unlock(1e300) == pytest.approx(0.3)
        await eventually(lambda: len(pulses(emulator)) == 1)
        [(on, off)] = pulses(emulator)
        assert 0.25 <= off - on <= 0.6
        await link.close()
