"""Every background task of the cabinet starts here, so none can die unnoticed.

A task that ends with an exception it did not handle is logged with its traceback and reported as a
``TaskFailure`` (the cabinet makes it a named fault and an alarm). A long-lived task (a reader, the
uploader, the heartbeat, the control API...) that fails leaves the cabinet without a part it needs: the
supervisor then stops feeding the systemd watchdog, so systemd restarts the whole cabinet. A short job
(a snapshot, a PIN check) that fails is reported the same way, but the loop that spawned it still works,
so it is not a reason to restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from firmware.technician import sd_notify
from hal.tasks import cancel_and_wait

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskFailure:
    task: str  # the task's name, e.g. "uploader"
    error: str  # "ValueError: what it said"
    long_lived: bool


class Supervisor:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._long_lived: set[asyncio.Task[Any]] = set()
        self.failures: list[TaskFailure] = []
        self.on_failure: Callable[[TaskFailure], None] = lambda failure: None

    @property
    def healthy(self) -> bool:
        """False once a long-lived task has failed: the cabinet needs a restart."""
        return not any(f.long_lived for f in self.failures)

    def run(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """A task meant to run until stopped; its failure starves the watchdog."""
        task = self.spawn(name, coro)
        self._long_lived.add(task)
        return task

    def spawn(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """A job that ends by itself; its failure is reported, the cabinet runs on."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._ended)
        return task

    def _ended(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        long_lived = task in self._long_lived
        self._long_lived.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        failure = TaskFailure(task.get_name(), f"{type(exc).__name__}: {exc}", long_lived)
        log.error("task failed", extra={"task": failure.task, "long_lived": long_lived}, exc_info=exc)
        self.failures.append(failure)
        if long_lived:
            sd_notify.status(f"task {failure.task} failed ({failure.error}): waiting for the watchdog to restart")
        try:
            self.on_failure(failure)
        except Exception:  # reporting must not hide the failure itself, already logged above
            log.exception("reporting a task failure failed", extra={"task": failure.task})

    async def cancel(self, tasks: list[asyncio.Task[Any]] | None = None) -> None:
        """Cancel ``tasks`` (all of them by default) and wait until each has ended."""
        for task in list(self._tasks) if tasks is None else tasks:
            await cancel_and_wait(task)

    async def keep_watchdog_fed(self, stop: asyncio.Event) -> None:
        """Feed the systemd watchdog from the event loop until ``stop``, and only while every long-lived
        task lives: a hung loop or a failed task both let systemd restart the cabinet."""
        await sd_notify.keep_watchdog_fed(stop, healthy=lambda: self.healthy)
