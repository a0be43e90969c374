"""``Lock`` and ``DoorSensor`` on a lock controller board.

The interfaces are synchronous; the frames go out from tasks on the running
event loop and the states come back from the board's reports and status, so
``energized`` is what the board says its relay does, not what was asked.
If a command is lost, the board's own bounds still hold: no pulse outlasts
its maximum and its relays drop when the Pi's heartbeat stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from hal.errors import DeviceFault
from hal.lock import HARD_MAX_UNLOCK_S, DoorSensor, Lock, check_seconds, pulse_bound
from hal.lockboard.codec import InputReport, Report, input_name
from hal.lockboard.link import LockBoardLink

log = logging.getLogger(__name__)


class LockBoardLock(Lock):
    def __init__(
        self,
        link: LockBoardLink,
        index: int = 0,
        *,
        max_unlock_s: float,
        name: str = "lock",
        hard_max_s: float = HARD_MAX_UNLOCK_S,
    ) -> None:
        if not 0 <= index < 4:
            raise ValueError(f"the lock board has locks 0..3, not {index}")
        self.link = link
        self.index = index
        self.max_unlock_s = pulse_bound(max_unlock_s, hard_max_s)
        self.name = name
        self._commands: set[asyncio.Task[Any]] = set()

    @property
    def energized(self) -> bool:
        return self.link.relay_energized(self.index)

    @property
    def where(self) -> str:
        return f"{self.link.where} relay {self.index}"

    def unlock(self, seconds: float) -> float:
        """Ask the board for a pulse bounded by our maximum and the board's; returns that bound."""
        pulse = min(check_seconds(seconds, "unlock pulse"), self.max_unlock_s)
        if self.link.board is not None:
            pulse = min(pulse, self.link.board.max_on_ms / 1000)
        ms = round(pulse * 1000)
        if ms < 1:
            self.lock()
            return 0.0
        self._send(self.link.unlock(self.index, ms), f"unlock for {ms} ms")
        return ms / 1000

    def lock(self) -> None:
        self._send(self.link.lock(self.index), "lock")

    def _send(self, command: Coroutine[Any, Any, Any], what: str) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            command.close()
            raise DeviceFault(
                self.link.device, f"{self.name} {what}: lock board commands are sent from the event loop's thread"
            ) from None
        task = loop.create_task(command)
        self._commands.add(task)
        task.add_done_callback(lambda done: self._finished(done, what))

    def _finished(self, task: asyncio.Task[Any], what: str) -> None:
        self._commands.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s %d: %s failed: %s", self.name, self.index, what, task.exception())

    def close(self) -> None:
        """Lock if the loop still runs; otherwise the board drops the relay when heartbeats stop."""
        try:
            self.lock()
        except DeviceFault:
            pass


class LockBoardDoorSensor(DoorSensor):
    def __init__(self, link: LockBoardLink, index: int = 0, *, name: str = "door") -> None:
        self.link = link
        self.input = input_name(index)
        if not self.input.startswith("door"):
            raise ValueError(f"the lock board has door inputs 0..3, not {index}")
        self.name = name
        self._subscribers: list[Callable[[bool], None]] = []
        self._started = False

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Begin reporting the board's door changes (they arrive on ``loop``, the link's)."""
        if not self._started:
            self.link.subscribe(self._on_report)
            self._started = True

    @property
    def is_open(self) -> bool:
        return self.link.input_open(self.input)

    @property
    def where(self) -> str:
        return f"{self.link.where} {self.input}"

    def subscribe(self, callback: Callable[[bool], None]) -> None:
        self._subscribers.append(callback)

    def _on_report(self, report: Report) -> None:
        if isinstance(report, InputReport) and report.input == self.input:
            log.info("%s %s at board time %d ms", self.name, "opened" if report.open else "closed", report.board_ms)
            for callback in list(self._subscribers):
                callback(report.open)
