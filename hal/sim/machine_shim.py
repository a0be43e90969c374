"""Just enough of MicroPython's ``machine`` and ``time`` to run board firmware on CPython.

Each object takes the shim's clock, so tests control time and every recorded
event carries the board's tick. Ticks wrap like MicroPython's (period 2**30),
so firmware that subtracts ticks instead of using ticks_diff fails here too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

TICKS_PERIOD = 1 << 30
PWRON_RESET = 1  # machine.reset_cause() values on the rp2 port
WDT_RESET = 3


class Clock:
    """A millisecond tick counter that moves only when told (``advance``)."""

    def __init__(self, start_ms: int = 0) -> None:
        self._offset = start_ms

    def _now(self) -> int:
        return self._offset

    def ticks_ms(self) -> int:
        return self._now() % TICKS_PERIOD

    @staticmethod
    def ticks_diff(later: int, earlier: int) -> int:
        """Signed difference modulo the tick period, as MicroPython's."""
        return ((later - earlier + TICKS_PERIOD // 2) % TICKS_PERIOD) - TICKS_PERIOD // 2

    @staticmethod
    def ticks_add(ticks: int, delta: int) -> int:
        return (ticks + delta) % TICKS_PERIOD

    def advance(self, ms: int) -> None:
        self._offset += ms

    def sleep_ms(self, ms: int) -> None:
        self.advance(ms)


class RealTimeClock(Clock):
    """Ticks that follow the host's monotonic clock (from ``start_ms``), for emulators."""

    def __init__(self, start_ms: int = 0) -> None:
        super().__init__(start_ms)
        self._origin = time.monotonic()

    def _now(self) -> int:
        return self._offset + int((time.monotonic() - self._origin) * 1000)

    def sleep_ms(self, ms: int) -> None:
        time.sleep(ms / 1000)


@dataclass(frozen=True)
class Level:
    ticks: int
    value: int


class Pin:
    IN = 0
    OUT = 1
    PULL_UP = 1
    PULL_DOWN = 2

    def __init__(
        self, id: int, mode: int = IN, pull: int | None = None, value: int | None = None, *, clock: Clock
    ) -> None:
        self.id = id
        self.mode = mode
        self.pull = pull
        self._clock = clock
        # An unconnected input reads its pull; an output starts low unless told.
        self._level = int(value) if value is not None else int(pull == Pin.PULL_UP)
        self.history: list[Level] = []  # every level the firmware wrote to an output

    def value(self, x: int | bool | None = None) -> int | None:
        if x is None:
            return self._level
        self._level = int(bool(x))
        if self.mode == Pin.OUT:
            self.history.append(Level(self._clock.ticks_ms(), self._level))
        return None

    def on(self) -> None:
        self.value(1)

    def off(self) -> None:
        self.value(0)

    def drive(self, level: int | bool) -> None:
        """The outside world sets an input's level (a contact opening or closing)."""
        if self.mode != Pin.IN:
            raise ValueError(f"pin {self.id} is an output; only inputs are driven from outside")
        self._level = int(bool(level))


class UART:
    """The board's UART: bytes the wire delivered wait in a bounded RX buffer
    (overflow is lost, as on the chip); bytes the firmware writes wait in TX."""

    def __init__(self, id: int, baudrate: int = 115200, *, rxbuf: int = 256) -> None:
        self.id = id
        self.baudrate = baudrate
        self._rxbuf = rxbuf
        self._rx = bytearray()
        self._tx = bytearray()
        self.overruns = 0

    def any(self) -> int:
        return len(self._rx)

    def read(self, nbytes: int | None = None) -> bytes | None:
        if not self._rx:
            return None
        count = len(self._rx) if nbytes is None else nbytes
        data = bytes(self._rx[:count])
        del self._rx[:count]
        return data

    def write(self, buf: bytes) -> int:
        self._tx += buf
        return len(buf)

    # -- the wire side ------------------------------------------------------

    def receive(self, data: bytes) -> None:
        room = self._rxbuf - len(self._rx)
        self._rx += data[:room]
        self.overruns += max(0, len(data) - room)

    def transmitted(self) -> bytes:
        """Take everything the firmware has written since the last call."""
        data = bytes(self._tx)
        self._tx.clear()
        return data


class WDT:
    """A watchdog that records its feeds; ``starved`` is when the chip would reset."""

    def __init__(self, id: int = 0, timeout: int = 5000, *, clock: Clock) -> None:
        self.timeout = timeout
        self._clock = clock
        self.feeds = 0
        self.last_feed = clock.ticks_ms()  # started counts as fed, as on the chip

    def feed(self) -> None:
        self.last_feed = self._clock.ticks_ms()
        self.feeds += 1

    @property
    def starved(self) -> bool:
        return self._clock.ticks_diff(self._clock.ticks_ms(), self.last_feed) > self.timeout
