"""KioskUi: the touchscreen window, its frame loop, and tap injection.

The firmware hands it ViewStates (set_state) and hears Intents (on_intent).
Touches arrive as pygame mouse events (SDL turns a touchscreen's touches into
them); tap() posts the same events, so injected and real touches take one path.
"""
from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import BinaryIO, Callable

import pygame

from kiosk_ui import bench_panel
from kiosk_ui.i18n import LANGUAGES
from kiosk_ui.kit import Kit
from kiosk_ui.screens import build_screen, validate_view
from kiosk_ui.text import TextRenderer
from kiosk_ui.theme import Fonts, Theme
from kiosk_ui.view import Intent, ViewState, WidgetInfo
from kiosk_ui.widgets import Widget, hit

log = logging.getLogger(__name__)

SCREEN, BENCH = "screen", "bench"   # the two areas of the window


class KioskUi:
    def __init__(self, size: tuple[int, int] = (1024, 600), *, on_intent: Callable[[Intent], None],
                 bench_panel: bool = False, fullscreen: bool = False, fps: int = 30) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps!r}")
        self.theme = Theme(size)
        self.size = (self.theme.width, self.theme.height)
        self._on_intent = on_intent
        self._bench_enabled = bench_panel
        self._fullscreen = fullscreen
        self.fps = fps
        self._view: ViewState | None = None
        self._widgets: list[Widget] = []
        self._kits: dict[str, Kit] = {}
        self._screen: pygame.Surface | None = None
        self._bench_surface: pygame.Surface | None = None
        self._bench: bench_panel.BenchPanel | None = None
        self._bench_lines: list[str] = []
        self._pressed: tuple[str, str] | None = None     # (area, widget id) under the finger since DOWN
        self._dirty = True
        self._wake_at: float | None = None               # when a countdown next changes
        self._tap_waiters: list[asyncio.Future[None]] = []
        self._running = False
        self.frame_count = 0
        self.last_frame_time: float | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Initialise pygame (display and fonts only) and open the window."""
        pygame.display.init()
        pygame.font.init()
        width, height = self.size
        bench_w = bench_panel.WIDTH if self._bench_enabled else 0
        window = pygame.display.set_mode((width + bench_w, height), pygame.FULLSCREEN if self._fullscreen else 0)
        pygame.display.set_caption("Cabinet")
        if self._fullscreen:
            pygame.mouse.set_visible(False)     # a touchscreen has no pointer
        # Motion is never used; dropping it keeps a dragging finger from flooding the queue.
        pygame.event.set_blocked([pygame.MOUSEMOTION, pygame.FINGERMOTION])
        pygame.event.clear()
        self._screen = window.subsurface((0, 0, width, height))
        fonts = Fonts()
        renderer = TextRenderer(self.theme, fonts)
        self._kits = {lang: Kit(self.theme, renderer, lang) for lang in LANGUAGES}
        if self._bench_enabled:
            self._bench_surface = window.subsurface((width, 0, bench_w, height))
            self._bench = bench_panel.BenchPanel(self._kits["en"], height)
            self._bench.set_status(self._bench_lines)
        if self._view is not None:
            self._widgets = build_screen(self._view, self._kits[self._view.language])
        self._dirty = True

    def close(self) -> None:
        """Close the window and shut pygame's display down."""
        self._screen = self._bench_surface = None
        pygame.display.quit()

    # -- state in ----------------------------------------------------------------------------------

    def set_state(self, view: ViewState) -> None:
        """Show view from the next frame on. Raises ValueError for a view no screen can show."""
        if view == self._view:
            return
        validate_view(view)
        self._view = view
        if self._screen is not None:
            self._widgets = build_screen(view, self._kits[view.language])
        self._pressed = None        # the widget under the finger may be gone
        self._dirty = True

    def set_bench_status(self, lines: list[str]) -> None:
        """The bench panel's status lines (lock energized, door open, outbox pending...)."""
        if list(lines) == self._bench_lines:
            return                      # unchanged: no redraw
        self._bench_lines = list(lines)
        if self._bench is not None:
            self._bench.set_status(self._bench_lines)
            self._dirty = True

    # -- what is shown -------------------------------------------------------------------------------

    @property
    def screen_id(self) -> str:
        return self._view.screen if self._view else ""

    def widgets(self) -> list[WidgetInfo]:
        """The touchscreen's widgets in drawing order (bench widgets are not included).

        extra["kind"] is "button", "tile", "area", "label", "picture" or "countdown";
        extra["text_rects"] the rects of the rendered texts, in touchscreen pixels.
        """
        return [widget.info() for widget in self._widgets]

    def bench_widgets(self) -> list[WidgetInfo]:
        """The bench panel's widgets, rects in window pixels (empty without a bench panel)."""
        if self._bench is None:
            return []
        x0 = self.size[0]
        infos = []
        for widget in self._bench.widgets:
            info = widget.info()
            x, y, w, h = info.rect
            infos.append(WidgetInfo(info.id, (x + x0, y, w, h), info.label, info.enabled, info.extra))
        return infos

    def screenshot(self, path: str | Path | BinaryIO, *, window: bool = False) -> None:
        """Save the touchscreen (or the whole window, bench panel included) as a PNG, rendering the
        current state first. ``path`` may be a binary file object."""
        if self._screen is None:
            raise RuntimeError("screenshot() needs start() first")
        if self._dirty or self.frame_count == 0:
            self._draw_frame()
        surface = pygame.display.get_surface() if window else self._screen
        if isinstance(path, (str, Path)):
            pygame.image.save(surface, str(path))
        else:
            pygame.image.save(surface, path, "screenshot.png")

    # -- input ---------------------------------------------------------------------------------------

    async def tap(self, x: int, y: int) -> None:
        """Touch the touchscreen at (x, y) and return once the loop has handled it and drawn a frame."""
        width, height = self.size
        if not (0 <= x < width and 0 <= y < height):
            raise ValueError(f"tap at ({x}, {y}) is outside the {width}x{height} touchscreen")
        await self.tap_window(x, y)     # the touchscreen is the window's top-left corner

    async def tap_widget(self, widget_id: str) -> None:
        """Tap the centre of a touchscreen widget."""
        for widget in self._widgets:
            if widget.id == widget_id:
                await self.tap(*widget.rect.center)
                return
        raise KeyError(f"no widget {widget_id!r} on the {self.screen_id!r} screen")

    async def tap_window(self, x: int, y: int) -> None:
        """Touch the window at (x, y) (the bench panel lies right of the touchscreen)."""
        if not self._running:
            raise RuntimeError("tap() needs run() to be running")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for kind in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP):
            pygame.event.post(pygame.event.Event(kind, pos=(x, y), button=1, touch=False))
        self._tap_waiters.append(done)
        await done

    def _locate(self, pos: tuple[int, int]) -> tuple[str, tuple[int, int]]:
        width = self.size[0]
        return (SCREEN, pos) if pos[0] < width else (BENCH, (pos[0] - width, pos[1]))

    def _widgets_in(self, area: str) -> list[Widget]:
        if area == SCREEN:
            return self._widgets
        return self._bench.widgets if self._bench is not None else []

    def _emit(self, intent: Intent) -> None:
        try:
            self._on_intent(intent)
        except Exception:   # a broken handler must not take the screen down
            log.exception("on_intent failed for %s", intent)

    def _handle(self, event: pygame.event.Event) -> None:
        if event.type not in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP) or event.button != 1:
            if event.type in (pygame.WINDOWEXPOSED, pygame.VIDEOEXPOSE):
                self._dirty = True
            return
        area, pos = self._locate(event.pos)
        widget = hit(self._widgets_in(area), pos)
        self._dirty = True      # pressed look on DOWN, released look on UP
        if event.type == pygame.MOUSEBUTTONDOWN:
            if area == SCREEN:
                self._emit(Intent("activity"))
            self._pressed = (area, widget.id) if widget else None
            return
        pressed, self._pressed = self._pressed, None
        # A tap counts only when the finger goes up on the widget it went down on.
        if widget is not None and pressed == (area, widget.id) and widget.intent is not None:
            self._emit(widget.intent)

    # -- frames ----------------------------------------------------------------------------------------

    def _draw_frame(self) -> None:
        assert self._screen is not None
        self._screen.fill(self.theme.palette.background)
        pressed_area, pressed_id = self._pressed or (None, None)
        for widget in self._widgets:
            widget.draw(self._screen, pressed=pressed_area == SCREEN and widget.id == pressed_id)
        if self._bench is not None and self._bench_surface is not None:
            self._bench.draw(self._bench_surface, pressed_id if pressed_area == BENCH else None)
        pygame.display.flip()
        now = time.monotonic()
        wakes = [t for t in (w.next_redraw(now) for w in self._widgets) if t is not None]
        self._wake_at = min(wakes) if wakes else None
        self._dirty = False
        self.frame_count += 1
        self.last_frame_time = now

    async def run(self, stop: asyncio.Event) -> None:
        """The frame loop: until stop is set or the window is closed."""
        if self._screen is None:
            raise RuntimeError("run() needs start() first")
        if self._running:
            raise RuntimeError("run() is already running")
        period = 1.0 / self.fps
        self._running = True
        waiters: list[asyncio.Future[None]] = []
        try:
            while not stop.is_set():
                began = time.monotonic()
                # Taps posted before this get() are handled in this iteration.
                waiters, self._tap_waiters = self._tap_waiters, []
                events = pygame.event.get()
                if any(event.type == pygame.QUIT for event in events):
                    return
                for event in events:
                    self._handle(event)
                if self._dirty or waiters or (self._wake_at is not None and began >= self._wake_at):
                    self._draw_frame()
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)
                await asyncio.sleep(max(0.0, period - (time.monotonic() - began)))
        finally:
            self._running = False
            for waiter in waiters + self._tap_waiters:
                if not waiter.done():
                    waiter.set_exception(RuntimeError("the UI loop stopped before the tap was handled"))
            self._tap_waiters = []
