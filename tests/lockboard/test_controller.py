"""The board firmware's logic on CPython with the machine shim and a hand-driven clock."""

import pytest

from firmware.lockboard.controller import LockController
from hal.lockboard.codec import (
    BoardStatus,
    Command,
    Frame,
    FrameDecoder,
    NakReason,
    RelayCause,
    RelayReport,
    encode_frame,
    parse_report,
)
from hal.sim.machine_shim import TICKS_PERIOD, UART, WDT, Clock, Pin

ON, OFF = 0, 1  # active-low relay modules


class Bench:
    """A board on the bench: its pins, a hand-driven clock and a Pi-side view of the UART."""

    def __init__(self, start_ms: int = 0, **settings) -> None:
        self.clock = Clock(start_ms)
        # Outputs come up at the energized level: the firmware must switch them off.
        self.relays = [Pin(n, Pin.OUT, value=ON, clock=self.clock) for n in (2, 3)]
        self.door = Pin(6, Pin.IN, Pin.PULL_UP, clock=self.clock)
        self.door.drive(0)
        self.uart = UART(0)
        self.wdt = WDT(timeout=2000, clock=self.clock)
        self.board = LockController(
            self.relays, [self.door], self.uart, self.wdt, self.clock, relay_active_high=False, **settings
        )
        self.decoder = FrameDecoder()
        self.seq = 0

    def send(self, command: int, payload: bytes = b"", seq: int | None = None) -> None:
        if seq is None:
            seq, self.seq = self.seq, self.seq + 1
        self.uart.receive(encode_frame(seq, command, payload))

    def run(self, ms: int, step_ms: int = 5) -> None:
        for _ in range(ms // step_ms):
            self.clock.advance(step_ms)
            self.board.step()

    def frames(self) -> list[Frame]:
        self.decoder.feed(self.uart.transmitted())
        out = []
        while (frame := self.decoder.next_frame()) is not None:
            out.append(frame)
        return out

    def request(self, command: int, payload: bytes = b"") -> Frame:
        """Send, run one pass, return the answer (reports sent meanwhile are kept aside)."""
        seq = self.seq
        self.send(command, payload)
        self.board.step()
        frames = self.frames()
        self.reports = [f for f in frames if f.command >= 0x90]
        [answer] = [f for f in frames if f.command in (Command.ACK, Command.NAK) and f.seq == seq]
        return answer


@pytest.fixture
def bench():
    return Bench()


def test_relays_are_switched_off_at_boot_and_a_boot_report_goes_out(bench):
    assert [pin.value() for pin in bench.relays] == [OFF, OFF]
    assert all([level.value for level in pin.history] == [OFF] for pin in bench.relays)
    [boot] = bench.frames()
    assert boot.command == Command.REPORT_BOOT and boot.payload[:4] == bytes([0, 1, 0, 0])


def test_unlock_is_honoured_and_ends_on_time(bench):
    bench.frames()
    answer = bench.request(Command.UNLOCK, bytes([1]) + (1000).to_bytes(2, "big"))
    assert answer == Frame(0, Command.ACK, bytes([1]) + (1000).to_bytes(2, "big"))
    assert bench.relays[1].value() == ON and bench.relays[0].value() == OFF
    bench.run(990)
    assert bench.relays[1].value() == ON
    bench.run(10)
    assert bench.relays[1].value() == OFF
    reports = [parse_report(f) for f in bench.frames()]
    assert RelayReport(1, False, RelayCause.EXPIRED, 1000) in reports


def test_a_request_longer_than_the_board_maximum_is_cut(bench):
    answer = bench.request(Command.UNLOCK, bytes([0]) + (60000).to_bytes(2, "big"))
    assert answer.payload == bytes([0]) + (8000).to_bytes(2, "big")
    for _ in range(7):  # the Pi stays alive
        bench.run(1000)
        bench.send(Command.HEARTBEAT)
    bench.run(995)
    assert bench.relays[0].value() == ON
    bench.run(10)
    assert bench.relays[0].value() == OFF


def test_heartbeat_loss_switches_every_relay_off(bench):
    bench.request(Command.UNLOCK, bytes([0]) + (8000).to_bytes(2, "big"))
    bench.request(Command.UNLOCK, bytes([1]) + (8000).to_bytes(2, "big"))
    bench.frames()
    bench.run(2990)
    assert [pin.value() for pin in bench.relays] == [ON, ON]
    bench.run(10)
    assert [pin.value() for pin in bench.relays] == [OFF, OFF]
    reports = [parse_report(f) for f in bench.frames() if f.command == Command.REPORT_RELAY]
    assert {(r.relay, r.cause) for r in reports if not r.energized} == {
        (0, RelayCause.HEARTBEAT),
        (1, RelayCause.HEARTBEAT),
    }


def test_door_is_debounced_and_reported_with_the_board_time(bench):
    bench.frames()
    for _ in range(6):  # a bouncing reed switch, 10 ms flicker
        bench.door.drive(1)
        bench.run(10)
        bench.door.drive(0)
        bench.run(10)
    assert [f for f in bench.frames() if f.command == Command.REPORT_INPUT] == []
    bench.door.drive(1)
    bench.run(50)
    [report] = [parse_report(f) for f in bench.frames() if f.command == Command.REPORT_INPUT]
    assert report.input == "door0" and report.open
    assert 120 + 30 <= report.board_ms <= 120 + 40


def test_unacknowledged_reports_are_resent_a_few_times_then_given_up(bench):
    boot = bench.frames()
    bench.run(3000)
    resent = bench.frames()
    assert resent == boot * 4  # 5 sends in all
    assert bench.board.pending_reports == 0 and bench.board.reports_given_up == 1


def test_an_acknowledged_report_is_not_resent(bench):
    [boot] = bench.frames()
    bench.send(Command.ACK, seq=boot.seq)
    bench.run(2000)
    assert bench.frames() == []


def test_bad_crc_is_naked_with_the_received_seq(bench):
    bench.frames()
    frame = bytearray(encode_frame(77, Command.HEARTBEAT))
    frame[-2] ^= 0x40
    bench.uart.receive(bytes(frame))
    bench.board.step()
    assert bench.frames() == [Frame(77, Command.NAK, bytes([NakReason.BAD_CRC]))]


@pytest.mark.parametrize(
    "command,payload,reason",
    [
        (Command.UNLOCK, bytes([2, 0, 100]), NakReason.BAD_INDEX),  # the bench has relays 0 and 1
        (Command.UNLOCK, bytes([0, 0, 0]), NakReason.BAD_VALUE),
        (Command.UNLOCK, bytes([0, 100]), NakReason.BAD_LENGTH),
        (Command.LOCK, bytes([9]), NakReason.BAD_INDEX),
        (0x33, b"", NakReason.UNKNOWN_COMMAND),
    ],
)
def test_bad_commands_are_naked_with_a_reason(bench, command, payload, reason):
    assert bench.request(command, payload).payload == bytes([reason])
    assert [pin.value() for pin in bench.relays] == [OFF, OFF]


def test_a_retransmitted_unlock_is_answered_but_does_not_stretch_the_pulse(bench):
    bench.send(Command.UNLOCK, bytes([0]) + (500).to_bytes(2, "big"), seq=5)
    bench.board.step()
    bench.run(300)
    bench.send(Command.UNLOCK, bytes([0]) + (500).to_bytes(2, "big"), seq=5)  # its ACK was lost
    bench.board.step()
    acks = [f for f in bench.frames() if f.command == Command.ACK]
    assert len(acks) == 2 and acks[0] == acks[1]
    bench.run(200)
    assert bench.relays[0].value() == OFF


def test_lock_command_switches_off_at_once(bench):
    bench.request(Command.UNLOCK, bytes([0]) + (5000).to_bytes(2, "big"))
    assert bench.request(Command.LOCK, bytes([0])).command == Command.ACK
    assert bench.relays[0].value() == OFF
    assert RelayReport(0, False, RelayCause.COMMAND, 0) in [parse_report(f) for f in bench.reports]


def test_status_reports_relays_inputs_uptime_version_and_limits(bench):
    bench.run(1000)
    bench.send(Command.HEARTBEAT)
    bench.request(Command.UNLOCK, bytes([1]) + (2000).to_bytes(2, "big"))
    bench.door.drive(1)
    bench.run(100)
    status = BoardStatus.from_payload(bench.request(Command.STATUS).payload)
    assert status.relays == (False, True)
    assert status.inputs["door0"] is True and status.door_count == 1
    assert status.uptime_ms == 1100
    assert status.version == (1, 0, 0) and status.max_on_ms == 8000 and status.heartbeat_timeout_ms == 3000


def test_watchdog_is_fed_once_per_main_loop_pass(bench):
    bench.run(10_000)
    assert bench.wdt.feeds == 2000 and not bench.wdt.starved
    bench.clock.advance(2001)  # the loop stalls
    assert bench.wdt.starved


def test_timing_survives_the_tick_counter_wrapping():
    bench = Bench(start_ms=TICKS_PERIOD - 300)
    bench.request(Command.UNLOCK, bytes([0]) + (1000).to_bytes(2, "big"))
    bench.run(995)
    assert bench.relays[0].value() == ON
    assert bench.clock.ticks_ms() < 1000  # the counter has wrapped meanwhile
    bench.run(10)
    assert bench.relays[0].value() == OFF


def test_construction_rejects_impossible_boards():
    clock = Clock()
    with pytest.raises(ValueError, match="1 to 4 relays, not 5"):
        LockController([Pin(n, Pin.OUT, clock=clock) for n in range(5)], [], UART(0), WDT(clock=clock), clock)
