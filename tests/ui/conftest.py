"""UI tests run pygame on SDL's dummy video driver: no window, same code paths."""

from __future__ import annotations

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"

import asyncio  # noqa: E402
import time  # noqa: E402
from collections.abc import AsyncIterator, Iterator  # noqa: E402
from dataclasses import replace  # noqa: E402
from typing import Any, TypeVar  # noqa: E402

import pytest  # noqa: E402

from kiosk_ui.app import KioskUi  # noqa: E402
from kiosk_ui.intents import Intent  # noqa: E402
from kiosk_ui.samples import sample_views  # noqa: E402
from kiosk_ui.view import View  # noqa: E402

V = TypeVar("V", bound=View)


def with_chrome(view: V, **changes: Any) -> V:
    """view with its chrome changed (language, online, cabinet_id, staff_hold_s)."""
    return replace(view, chrome=replace(view.chrome, **changes))


def assert_refused(ui: KioskUi, faults: list[str | None], view: object, field: str) -> None:
    """view cannot be shown: the safe error screen replaces it (in the language shown) and the fault
    names the field; the next good view is shown again and the fault cleared."""
    good = sample_views("zh")["catalog"]
    ui.set_state(good)
    ui.set_state(view)  # type: ignore[arg-type]
    assert ui.screen_id == "error", f"{field}: {view!r} was shown"
    assert faults and faults[-1] is not None and field in faults[-1], faults
    assert {w.id for w in ui.widgets()} >= {"title", "subtitle", "lang"}
    ui.set_state(good)
    assert ui.screen_id == "catalog" and faults[-1] is None


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
def screen_faults() -> list[str | None]:
    """What the UI reported it could not render (None: a view rendered again)."""
    return []


@pytest.fixture
def static_ui(screen_faults: list[str | None]) -> Iterator[KioskUi]:
    """A started UI without a frame loop (layout and screenshot checks)."""
    ui = KioskUi((1024, 600), on_intent=lambda intent: None, on_fault=screen_faults.append)
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
