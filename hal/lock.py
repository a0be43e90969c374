"""Lock relay and door reed sensor, on gpiozero's pluggable pin factories.

Fail-secure: no power means locked. The relay pulse is bounded here (a timer
thread switches it off even if the event loop hangs), switched off at start-up,
at close and at interpreter exit. Whatever the caller or the configuration asks,
no pulse outlasts ``HARD_MAX_UNLOCK_S`` and no value that is not a finite positive
number of seconds reaches the relay. The door input is debounced in code because
gpiozero's mock pins ignore ``bounce_time``.
"""

from __future__ import annotations

import abc
import asyncio
import atexit
import logging
import math
import threading
import time
from collections.abc import Callable

from gpiozero import DigitalInputDevice, OutputDevice
from gpiozero.pins import Factory

from hal.device import PinDevice

log = logging.getLogger(__name__)

# The longest a lock driver ever holds a latch open (solenoids are rated for intermittent duty).
# Configuration can only lower it (lock.max_unlock_s); a test may lower it further.
HARD_MAX_UNLOCK_S = 10.0


def check_seconds(value: float, what: str) -> float:
    """``value`` when it is a finite number of seconds above 0; ValueError naming it otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be a finite number of seconds > 0, got {value!r}")
    return float(value)


def pulse_bound(max_unlock_s: float, hard_max_s: float) -> float:
    """A driver's own bound: the configured maximum, never above HARD_MAX_UNLOCK_S."""
    return min(check_seconds(max_unlock_s, "max_unlock_s"), check_seconds(hard_max_s, "hard_max_s"), HARD_MAX_UNLOCK_S)


def make_pin_factory(name: str) -> Factory:
    """The gpiozero pin factory named in config; hardware libraries are imported only here."""
    if name == "mock":
        from gpiozero.pins.mock import MockFactory

        return MockFactory()
    if name == "rpigpio":
        from gpiozero.pins.rpigpio import RPiGPIOFactory

        return RPiGPIOFactory()
    if name == "lgpio":
        from gpiozero.pins.lgpio import LGPIOFactory

        return LGPIOFactory()
    raise ValueError(f"unknown pin factory {name!r} (expected mock, rpigpio or lgpio)")


class Lock(PinDevice, abc.ABC):
    name: str = "lock"

    @property
    def state(self) -> str:
        return "energized" if self.energized else "locked"

    @property
    @abc.abstractmethod
    def energized(self) -> bool:
        """True while the relay holds the lock open."""

    @abc.abstractmethod
    def unlock(self, seconds: float) -> float:
        """Energize the relay for ``seconds``, bounded by the lock's maximum; returns the pulse used.
        ValueError when ``seconds`` is not a finite number above 0."""

    @abc.abstractmethod
    def lock(self) -> None:
        """De-energize now."""

    def close(self) -> None:
        self.lock()


class DoorSensor(PinDevice, abc.ABC):
    name: str = "door"

    @property
    def state(self) -> str:
        return "open" if self.is_open else "closed"

    @property
    @abc.abstractmethod
    def is_open(self) -> bool:
        """The debounced door state."""

    @abc.abstractmethod
    def subscribe(self, callback: Callable[[bool], None]) -> None:
        """Call ``callback(is_open)`` on the event loop for every debounced change."""


class GpioLock(Lock):
    def __init__(
        self,
        pin: int,
        *,
        active_high: bool,
        max_unlock_s: float,
        pin_factory: Factory,
        hard_max_s: float = HARD_MAX_UNLOCK_S,
    ) -> None:
        self.max_unlock_s = pulse_bound(max_unlock_s, hard_max_s)
        self.pin = pin
        self._relay = OutputDevice(pin, active_high=active_high, initial_value=False, pin_factory=pin_factory)
        self._guard = threading.Lock()
        self._wake = threading.Condition(self._guard)
        self._deadline: float | None = None  # time.monotonic() at which the pulse ends (None: off)
        self._closing = False
        self.energized_at: float | None = None
        self._relay.off()
        # One thread for the lock's life ends each pulse. A timer thread started per pulse made the caller (the
        # event loop, right after the relay) wait until the new thread ran: up to milliseconds on a busy CPU.
        self._watch_thread = threading.Thread(target=self._watch, name=f"lock-pulse-GPIO{pin}", daemon=True)
        self._watch_thread.start()
        atexit.register(self.close)

    @property
    def energized(self) -> bool:
        return bool(self._relay.value)

    @property
    def where(self) -> str:
        return f"GPIO{self.pin}"

    @property
    def state(self) -> str:
        return "released" if self._relay.closed else super().state

    def unlock(self, seconds: float) -> float:
        pulse = min(check_seconds(seconds, "unlock pulse"), self.max_unlock_s)
        with self._guard:
            now = time.monotonic()
            if self.energized_at is None:
                self.energized_at = now
            else:  # already on: a new pulse never stretches the latch past the bound
                pulse = max(0.0, min(pulse, self.energized_at + self.max_unlock_s - now))
            self._deadline = now + pulse
            self._relay.on()
            self._wake.notify()
        log.info("relay energized", extra={"pulse_s": pulse})
        return pulse

    def lock(self) -> None:
        with self._guard:
            was_on = self._off()
        if was_on:
            log.info("relay de-energized")

    def _off(self) -> bool:
        """Relay off (the guard held); whether it was on."""
        was_on = self.energized
        self._deadline = None
        self._relay.off()
        self.energized_at = None
        self._wake.notify()
        return was_on

    def _watch(self) -> None:
        """Until the lock is closed: the relay off when its pulse's time is up."""
        while True:
            with self._guard:
                while not self._closing and (self._deadline is None or time.monotonic() < self._deadline):
                    self._wake.wait(None if self._deadline is None else self._deadline - time.monotonic())
                if self._closing:
                    return
                was_on = self._off()
            if was_on:
                log.info("relay de-energized")

    def close(self) -> None:
        if self._relay.closed:
            return
        self.lock()
        with self._guard:
            self._closing = True
            self._wake.notify()
        self._relay.close()


class GpioDoorSensor(DoorSensor):
    """Reed switch to ground with the pin's pull-up: closed door pulls the pin low."""

    def __init__(self, pin: int, *, debounce_s: float, pin_factory: Factory, name: str = "door") -> None:
        self.name = name
        self.pin = pin
        self.debounce_s = debounce_s
        self._input = DigitalInputDevice(pin, pull_up=True, pin_factory=pin_factory)
        self._stable_open = not self._input.is_active
        self._raw_changed_at = time.monotonic()
        self._subscribers: list[Callable[[bool], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: asyncio.TimerHandle | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Begin reporting changes on ``loop`` (pin callbacks may come from another thread)."""
        self._loop = loop
        self._stable_open = not self._input.is_active
        self._input.when_activated = self._on_edge
        self._input.when_deactivated = self._on_edge

    @property
    def is_open(self) -> bool:
        return self._stable_open

    @property
    def where(self) -> str:
        return f"GPIO{self.pin}"

    @property
    def state(self) -> str:
        return "released" if self._input.closed else super().state

    def subscribe(self, callback: Callable[[bool], None]) -> None:
        self._subscribers.append(callback)

    def _on_edge(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._restart_debounce)

    def _restart_debounce(self) -> None:
        self._raw_changed_at = time.monotonic()
        if self._pending is not None:
            self._pending.cancel()
        assert self._loop is not None
        self._pending = self._loop.call_later(self.debounce_s, self._settle)

    def _settle(self) -> None:
        self._pending = None
        raw_open = not self._input.is_active
        if raw_open == self._stable_open:
            return
        self._stable_open = raw_open
        log.info("door %s", "opened" if raw_open else "closed")
        for callback in list(self._subscribers):
            callback(raw_open)

    def close(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
        self._input.close()
