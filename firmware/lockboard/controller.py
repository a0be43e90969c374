"""The lock board's logic: relays, inputs, the serial protocol and the safety rules.

It takes its pins, UART, watchdog and clock as objects, so main.py wires the
real hardware and the emulator (hal/sim/lockboard_emulator.py) runs this very
class on CPython with a ``machine`` shim. Safety does not depend on the Pi:
relays start off, no pulse outlasts ``max_on_ms`` whatever was asked, all
relays drop when no valid frame arrived for ``heartbeat_timeout_ms``, and the
watchdog is fed only at the end of a full pass of the main loop.

Inputs are dry contacts to ground on pulled-up pins: a high pin is an open
contact (door open, tamper switch open, mains-present contact open).
"""

from .protocol import (
    CMD_ACK,
    CMD_HEARTBEAT,
    CMD_LOCK,
    CMD_NAK,
    CMD_STATUS,
    CMD_UNLOCK,
    INPUT_DOOR0,
    INPUT_POWER,
    INPUT_TAMPER,
    MAX_DOORS,
    MAX_RELAYS,
    NAK_BAD_INDEX,
    NAK_BAD_LENGTH,
    NAK_BAD_VALUE,
    NAK_UNKNOWN_COMMAND,
    RELAY_CAUSE_COMMAND,
    RELAY_CAUSE_EXPIRED,
    RELAY_CAUSE_HEARTBEAT,
    REPORT_BOOT,
    REPORT_INPUT,
    REPORT_RELAY,
    RESET_POWER_ON,
    FrameReader,
    encode_frame,
    u16,
    u32,
)

# MicroPython parses annotations and ignores them; the quoted names exist only
# for mypy (checked against the Pico stubs in tests/lockboard/test_firmware_types.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    from _mpy_shed.time_mp import _TicksMs as Ticks
    from machine import UART, WDT, Pin

    class Clock(Protocol):
        """``time`` on the board; a shim clock on CPython."""

        def ticks_ms(self) -> Ticks: ...
        # Positional-only by the old dunder spelling: MicroPython cannot parse "/".
        def ticks_diff(self, __later: Ticks, __earlier: Ticks) -> int: ...  # noqa: PYI063


VERSION = (1, 0, 0)
MAX_ON_MS = 8000
HEARTBEAT_TIMEOUT_MS = 3000
DEBOUNCE_MS = 30
RESEND_MS = 300
REPORT_ATTEMPTS = 5  # first send + 4 resends, then the report is given up
MAX_PENDING_REPORTS = 16  # oldest unacknowledged report dropped beyond this
DUPLICATE_WINDOW_MS = 1000  # a repeat of the last frame within this is a retransmission


class Input:
    """One debounced contact."""

    def __init__(self, number: int, pin: "Pin", now: "Ticks") -> None:
        self.number = number
        self.pin = pin
        self.open = bool(pin.value())
        self._raw = self.open
        self._raw_since = now

    def sample(self, now: "Ticks", clock: "Clock", debounce_ms: int) -> bool:
        """True when the debounced state changed on this sample."""
        raw = bool(self.pin.value())
        if raw != self._raw:
            self._raw, self._raw_since = raw, now
        if raw != self.open and clock.ticks_diff(now, self._raw_since) >= debounce_ms:
            self.open = raw
            return True
        return False


class Relay:
    def __init__(self, pin: "Pin", active_high: bool) -> None:
        self.pin = pin
        self._on_level = 1 if active_high else 0
        self.energized = False
        self.since = None  # type: Ticks | None
        self.pulse_ms = 0
        self.off()

    def on(self, now: "Ticks", pulse_ms: int) -> None:
        self.pin.value(self._on_level)
        self.energized, self.since, self.pulse_ms = True, now, pulse_ms

    def off(self) -> None:
        self.pin.value(1 - self._on_level)
        self.energized, self.since, self.pulse_ms = False, None, 0


class PendingReport:
    """A report sent to the Pi and not yet acknowledged."""

    def __init__(self, seq: int, frame: bytes, sent: "Ticks") -> None:
        self.seq, self.frame, self.sent, self.attempts = seq, frame, sent, 1


class LockController:
    def __init__(
        self,
        relays: "list[Pin]",
        doors: "list[Pin]",
        uart: "UART",
        wdt: "WDT",
        clock: "Clock",
        tamper: "Pin | None" = None,
        power: "Pin | None" = None,
        relay_active_high: bool = True,
        max_on_ms: int = MAX_ON_MS,
        heartbeat_timeout_ms: int = HEARTBEAT_TIMEOUT_MS,
        debounce_ms: int = DEBOUNCE_MS,
        reset_cause: int = RESET_POWER_ON,
    ) -> None:
        # Relays first: nothing else may run while a coil could be on.
        self.relays = [Relay(pin, relay_active_high) for pin in relays]
        if not 1 <= len(relays) <= MAX_RELAYS:
            raise ValueError(f"1 to {MAX_RELAYS} relays, not {len(relays)}")
        if len(doors) > MAX_DOORS:
            raise ValueError(f"at most {MAX_DOORS} doors, not {len(doors)}")
        if not 0 < max_on_ms <= 0xFFFF:
            raise ValueError("max_on_ms must be 1..65535")
        self.uart, self.wdt, self.clock = uart, wdt, clock
        self.max_on_ms = max_on_ms
        self.heartbeat_timeout_ms = heartbeat_timeout_ms
        self.debounce_ms = debounce_ms
        now = clock.ticks_ms()
        self._last = now
        self.uptime_ms = 0
        self._last_valid_rx = now
        self.inputs = [Input(INPUT_DOOR0 + i, pin, now) for i, pin in enumerate(doors)]
        for number, pin in ((INPUT_TAMPER, tamper), (INPUT_POWER, power)):
            if pin is not None:
                self.inputs.append(Input(number, pin, now))
        self.door_count = len(doors)
        self._reader = FrameReader()
        self._report_seq = 0
        self._pending = []  # type: list[PendingReport]
        self._last_rx = None  # type: tuple[int, int, bytes] | None
        self._last_rx_at = now
        self._last_answer = b""
        self.frames_in = 0
        self.naks_sent = 0
        self.reports_given_up = 0
        self._report(REPORT_BOOT, bytes([reset_cause]) + bytes(VERSION) + u16(max_on_ms))

    # -- main loop ------------------------------------------------------------

    def step(self) -> None:
        """One pass of the main loop; the only place the watchdog is fed."""
        now = self.clock.ticks_ms()
        self.uptime_ms += self.clock.ticks_diff(now, self._last)
        self._last = now
        self._receive(now)
        self._sample_inputs(now)
        self._expire_relays(now)
        self._check_heartbeat(now)
        self._resend_reports(now)
        self.wdt.feed()

    # -- safety ---------------------------------------------------------------

    def _expire_relays(self, now: "Ticks") -> None:
        for index, relay in enumerate(self.relays):
            if relay.since is not None and self.clock.ticks_diff(now, relay.since) >= relay.pulse_ms:
                self._switch_off(index, RELAY_CAUSE_EXPIRED)

    def _check_heartbeat(self, now: "Ticks") -> None:
        if self.clock.ticks_diff(now, self._last_valid_rx) < self.heartbeat_timeout_ms:
            return
        for index, relay in enumerate(self.relays):
            if relay.energized:
                self._switch_off(index, RELAY_CAUSE_HEARTBEAT)

    def _switch_off(self, index: int, cause: int) -> None:
        relay = self.relays[index]
        was_on = relay.energized
        relay.off()
        if was_on:
            self._report(REPORT_RELAY, bytes([index, 0, cause]))

    def _sample_inputs(self, now: "Ticks") -> None:
        for item in self.inputs:
            if item.sample(now, self.clock, self.debounce_ms):
                self._report(REPORT_INPUT, bytes([item.number, int(item.open)]))

    # -- frames from the Pi ---------------------------------------------------

    def _receive(self, now: "Ticks") -> None:
        waiting = self.uart.any()
        if waiting:
            data = self.uart.read(waiting)
            if data:
                self._reader.feed(data)
        while True:
            frame = self._reader.next()
            if frame is None:
                return
            seq, command, payload = frame
            if command is None:  # CRC failed: payload holds the NAK reason
                self._send(seq, CMD_NAK, payload)
                self.naks_sent += 1
                continue
            self.frames_in += 1
            self._last_valid_rx = now
            if command == CMD_ACK:
                self._pending = [p for p in self._pending if p.seq != seq]
            elif command != CMD_NAK:  # a NAK of a report: the resend timer repeats it
                self._answer(now, seq, command, payload)

    def _answer(self, now: "Ticks", seq: int, command: int, payload: bytes) -> None:
        key = (seq, command, payload)
        if key == self._last_rx and self.clock.ticks_diff(now, self._last_rx_at) < DUPLICATE_WINDOW_MS:
            # A retransmission whose ACK was lost: answer again, do not act twice
            # (a repeated UNLOCK would stretch the pulse).
            self.uart.write(self._last_answer)
            return
        result = self._execute(now, command, payload)
        reply = (
            encode_frame(seq, CMD_ACK, result)
            if isinstance(result, bytes)
            else encode_frame(seq, CMD_NAK, bytes([result]))
        )
        if not isinstance(result, bytes):
            self.naks_sent += 1
        self._last_rx, self._last_rx_at, self._last_answer = key, now, reply
        self.uart.write(reply)

    def _execute(self, now: "Ticks", command: int, payload: bytes) -> "bytes | int":
        """The ACK payload, or a NAK reason."""
        if command == CMD_HEARTBEAT:
            return b"" if not payload else NAK_BAD_LENGTH
        if command == CMD_STATUS:
            return self.status() if not payload else NAK_BAD_LENGTH
        if command == CMD_UNLOCK:
            if len(payload) != 3:
                return NAK_BAD_LENGTH
            index, asked = payload[0], (payload[1] << 8) | payload[2]
            if index >= len(self.relays):
                return NAK_BAD_INDEX
            if asked == 0:
                return NAK_BAD_VALUE
            granted = min(asked, self.max_on_ms)
            was_on = self.relays[index].energized
            self.relays[index].on(now, granted)
            if not was_on:
                self._report(REPORT_RELAY, bytes([index, 1, RELAY_CAUSE_COMMAND]))
            return bytes([index]) + u16(granted)
        if command == CMD_LOCK:
            if len(payload) != 1:
                return NAK_BAD_LENGTH
            if payload[0] >= len(self.relays):
                return NAK_BAD_INDEX
            self._switch_off(payload[0], RELAY_CAUSE_COMMAND)
            return payload
        return NAK_UNKNOWN_COMMAND

    def status(self) -> bytes:
        """relay count, relay bits, door count, input bits, uptime ms u32,
        version 3 x u8, max on ms u16, heartbeat timeout ms u16."""
        relay_bits = 0
        for index, relay in enumerate(self.relays):
            relay_bits |= int(relay.energized) << index
        input_bits = 0
        for item in self.inputs:
            input_bits |= int(item.open) << item.number
        return (
            bytes([len(self.relays), relay_bits, self.door_count, input_bits])
            + u32(self.uptime_ms)
            + bytes(VERSION)
            + u16(self.max_on_ms)
            + u16(self.heartbeat_timeout_ms)
        )

    # -- reports to the Pi ----------------------------------------------------

    def _report(self, command: int, payload: bytes) -> None:
        """Send now (with the board time appended) and keep until the Pi ACKs it."""
        seq = self._report_seq
        self._report_seq = (seq + 1) & 0xFF
        frame = encode_frame(seq, command, payload + u32(self.uptime_ms))
        if len(self._pending) >= MAX_PENDING_REPORTS:
            self._pending.pop(0)
        self._pending.append(PendingReport(seq, frame, self.clock.ticks_ms()))
        self.uart.write(frame)

    def _resend_reports(self, now: "Ticks") -> None:
        keep = []
        for report in self._pending:
            if self.clock.ticks_diff(now, report.sent) >= RESEND_MS:
                if report.attempts >= REPORT_ATTEMPTS:
                    self.reports_given_up += 1
                    continue
                report.sent, report.attempts = now, report.attempts + 1
                self.uart.write(report.frame)
            keep.append(report)
        self._pending = keep

    def _send(self, seq: int, command: int, payload: bytes) -> None:
        self.uart.write(encode_frame(seq, command, payload))

    @property
    def pending_reports(self) -> int:
        return len(self._pending)
