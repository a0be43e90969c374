"""UI tests run pygame on SDL's dummy video driver: no window, same code paths."""

from __future__ import annotations

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"

import asyncio  # noqa: E402
import time  # noqa: E402
from collections.abc import AsyncIterator, Iterator  # noqa: E402

import pytest  # noqa: E402

from kiosk_ui.app import KioskUi  # noqa: E402
from kiosk_ui.view import Intent  # noqa: E402


class RunningUi:
    """A KioskUi whose frame loop runs on the test's event loop, recording intents."""

    def __init__(self, ui: KioskUi, intents: list[Intent], stop: asyncio.Event, task: asyncio.Task) -> None:
        self.ui, self.intents, self.stop, self.task = ui, intents, stop, task

    async def wait_frames(self, count: int = 1, timeout: float = 5.0) -> None:
        """Wait until the loop has drawn count more frames."""
        target = self.ui.frame_count + count
        deadline = time.monotonic() + timeout
        while self.ui.frame_count < target:
            assert time.monotonic() < deadline, f"no frame drawn within {timeout} s"
            await asyncio.sleep(0.005)

    def widget(self, widget_id: str):
        return next(w for w in self.ui.widgets() if w.id == widget_id)


@pytest.fixture
def static_ui() -> Iterator[KioskUi]:
    """A started UI without a frame loop (layout and screenshot checks)."""
    ui = KioskUi((1024, 600), on_intent=lambda intent: None)
    ui.start()
    yield ui
    ui.close()


@pytest.fixture
async def running_ui() -> AsyncIterator[RunningUi]:
    intents: list[Intent] = []
    ui = KioskUi((1024, 600), on_intent=intents.append, bench_panel=True, fps=60)
    ui.start()
    stop = asyncio.Event()
    task = asyncio.create_task(ui.run(stop))
    yield RunningUi(ui, intents, stop, task)
    stop.set()
    await asyncio.wait_for(task, 5)
    ui.close()
