"""KioskUi: the touchscreen window, its frame loop, and touch injection.

The firmware hands it one screen's view at a time (set_state) and hears intents (on_intent). A view
that cannot be rendered never freezes the screen: the error screen is shown and on_fault is told.
Touches arrive as pygame mouse events (SDL turns a touchscreen's touches into
them); tap(), press() and swipe() post the same events, so injected and real
touches take one path. A finger that moves beyond a small slop drags (the
carousel, the 360° view) and is no longer a tap; a finger that stays down
hold_s on a widget that has one (the brand) holds it instead of tapping.

Frames are drawn only when something changed: a new state or a touch redraws
the screen; a widget that changes by itself (a countdown, a playing video, a
coasting carousel) redraws only its own rect, when its next_redraw is due.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pygame

from kiosk_ui import bench_panel
from kiosk_ui.assets import AssetLoader
from kiosk_ui.bench_panel import BenchPanel
from kiosk_ui.context import BuildContext, ScreenMemory
from kiosk_ui.i18n import LANGUAGES
from kiosk_ui.intents import Activity, Intent
from kiosk_ui.kit import Kit
from kiosk_ui.reach import DEFAULT_MOUNTING, Mounting
from kiosk_ui.screens import build_screen, validate_view
from kiosk_ui.text import TextRenderer
from kiosk_ui.theme import Fonts, Theme
from kiosk_ui.view import Chrome, ErrorScreen, View, WidgetInfo
from kiosk_ui.widgets import Taps, Widget, hit

log = logging.getLogger(__name__)

SCREEN, BENCH = "screen", "bench"  # the two areas of the window
TAP_SLOP_PX = 12  # design px a finger may wander and still tap


def _event_time(event: pygame.event.Event) -> float:
    """When the event happened: injected events carry it (``t``), real ones are handled at once."""
    return getattr(event, "t", None) or time.monotonic()


class _Touch:
    """A finger that is down: where it went down, what it pressed, what it drags."""

    def __init__(
        self, area: str, pos: tuple[int, int], pressed: Widget | None, target: Widget | None, down_at: float
    ) -> None:
        self.area, self.start, self.target, self.down_at = area, pos, target, down_at
        self.pressed = pressed.id if pressed else None
        self.hold_s = pressed.hold_s if pressed else None  # set: this touch may become a hold
        self.dragging = False

    def held_long_enough(self, now: float) -> bool:
        return self.pressed is not None and self.hold_s is not None and now - self.down_at >= self.hold_s


class KioskUi:
    def __init__(
        self,
        size: tuple[int, int] = (1024, 600),
        *,
        on_intent: Callable[[Intent], None],
        on_fault: Callable[[str | None], None] = lambda detail: None,
        bench_panel: bool = False,
        fullscreen: bool = False,
        fps: int = 30,
        mounting: Mounting = DEFAULT_MOUNTING,
    ) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps!r}")
        self.theme = Theme(size)
        # Accessibility mode (Chrome.accessible): the same screen, its accessible theme (reach from the mounting).
        self.accessible_theme = Theme(size, accessible=True, mounting=mounting)
        self.size = (self.theme.width, self.theme.height)
        self._on_intent = on_intent
        self._on_fault = on_fault  # what could not be rendered (None: a view renders again)
        self._failed: View | None = None  # the view shown as the error screen, if any
        self._bench_enabled = bench_panel
        self._fullscreen = fullscreen
        self.fps = fps
        self._view: View | None = None
        self._widgets: list[Widget] = []
        self._kits: dict[tuple[str, bool], Kit] = {}  # by (language, accessibility mode)
        self._screen: pygame.Surface | None = None
        self._bench_surface: pygame.Surface | None = None
        self._bench: BenchPanel | None = None  # (the parameter bench_panel hides the module here)
        self._bench_lines: list[str] = []
        self._touch: _Touch | None = None
        self._dirty = True
        self._drag_moved = False  # the dragged widget needs a redraw
        self._rebuild = False  # the screen's memory changed: build it again
        self._later: list[Intent] = []
        self._wakes: dict[Widget, float] = {}  # widget -> when it next changes by itself
        self._memory = ScreenMemory("")
        self._loader: AssetLoader | None = None
        self._tap_waiters: list[asyncio.Future[None]] = []
        self._tap_waiters_pending = False  # the step answers an injected touch: draw a frame
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
            pygame.mouse.set_visible(False)  # a touchscreen has no pointer
        # SDL also reports touches as mouse events; the FINGER* copies would count every touch twice.
        pygame.event.set_blocked([pygame.FINGERDOWN, pygame.FINGERUP, pygame.FINGERMOTION])
        pygame.event.clear()
        self._screen = window.subsurface((0, 0, width, height))
        self._loader = AssetLoader()
        fonts = Fonts()
        for theme in (self.theme, self.accessible_theme):
            renderer = TextRenderer(theme, fonts)
            self._kits |= {(lang, theme.accessible): Kit(theme, renderer, lang) for lang in LANGUAGES}
        if self._bench_enabled:
            self._bench_surface = window.subsurface((width, 0, bench_w, height))
            self._bench = BenchPanel(self._kits["en", False], height)
            self._bench.set_status(self._bench_lines)
        if self._view is not None:
            self._build()
        self._dirty = True

    def close(self) -> None:
        """Stop the media threads, close the window and shut pygame's display down."""
        self._memory.close()
        if self._loader is not None:
            self._loader.close()
            self._loader = None
        self._screen = self._bench_surface = None
        pygame.display.quit()

    # -- state in ----------------------------------------------------------------------------------

    def set_state(self, view: View, *, fresh: bool = False) -> None:
        """Show view from the next frame on. A view no screen can show is not shown: the error screen
        (in the view's language when that is one) takes its place and on_fault names what was wrong.

        What the person did on a screen (text typed, pages turned) lasts while the screen id stays;
        fresh=True starts a new visit of the same screen (another person, another journey)."""
        if (view == self._view or view == self._failed) and not fresh:
            return
        same_screen = self._view is not None and view.screen == self._view.screen and not fresh
        if not same_screen:
            self._memory.close()
            self._memory = ScreenMemory(view.screen)
            if self._loader is not None:
                self._loader.let_go_of_big()  # the 360° frames of a product page left (MBs each)
        pressed = self._touch.pressed if self._touch is not None else None
        pressed_rect = next((w.rect for w in self._flat() if w.id == pressed), None) if pressed else None
        self._view = view
        if self._screen is not None:
            self._build()
        else:
            self._validate_early(view)
        if (
            pressed is not None
            and self._touch is not None
            and not (same_screen and any(w.id == pressed and w.rect == pressed_rect for w in self._flat()))
        ):
            # The widget under the finger is gone or moved: the lift must not act on what is there now.
            # (A refresh of the same screen — the online dot, a stock count — keeps a press or a hold.)
            self._touch.pressed = None
        self._dirty = True

    def _validate_early(self, view: View) -> None:
        """Before start(): a view that will not render is reported now and replaced by the error screen."""
        try:
            validate_view(view)
        except ValueError as exc:
            self._failed, self._view = view, self._error_screen(view)
            self._report(view, exc)

    def _build(self) -> None:
        assert self._view is not None and self._loader is not None
        view = self._view
        try:
            self._widgets = self._build_view(view)
        except Exception as exc:  # a bug in a view or a screen: show the safe page, never a stale one
            safe = self._error_screen(view)
            self._failed, self._view = view, safe
            if self._memory.screen != safe.screen:
                self._memory.close()
                self._memory = ScreenMemory(safe.screen)
            self._widgets = self._build_view(safe)
            self._report(view, exc)
        else:
            if self._failed is not None and view.screen != ErrorScreen.screen:
                self._failed = None
                self._on_fault(None)
        self._rebuild = False
        if self._touch is not None and self._touch.target is not None:
            # The dragged widget was rebuilt: its replacement (same id, same memory) takes the finger.
            self._touch.target = next((w for w in self._widgets if w.id == self._touch.target.id), None)

    def _build_view(self, view: View) -> list[Widget]:
        assert self._loader is not None
        validate_view(view)  # first: the kit is chosen by the view's language
        context = BuildContext(self._loader, self._memory, self._emit_later, self._request_rebuild)
        return build_screen(view, self._kits[view.chrome.language, view.chrome.accessible is True], context)

    @property
    def shown_theme(self) -> Theme:
        """The theme of the screen shown: the accessible one while the view asks for accessibility mode."""
        accessible = self._view is not None and self._view.chrome.accessible is True
        return self.accessible_theme if accessible else self.theme

    @staticmethod
    def _error_screen(view: View) -> ErrorScreen:
        """The safe page, keeping what of the chrome is sound (its language, the cabinet id)."""
        chrome = view.chrome if isinstance(view.chrome, Chrome) else Chrome()
        language = chrome.language if chrome.language in LANGUAGES else "en"
        accessible = chrome.accessible is True
        return ErrorScreen(chrome=Chrome(language=language, cabinet_id=str(chrome.cabinet_id), accessible=accessible))

    def _report(self, view: View, exc: Exception) -> None:
        detail = f"{view.screen} screen: {exc}"
        log.error("the screen cannot show the view", extra={"detail": detail}, exc_info=exc)
        self._on_fault(detail)

    def _request_rebuild(self) -> None:
        self._rebuild = True

    def _emit_later(self, intent: Intent) -> None:
        """Intents that arise while drawing (ad_shown) reach the firmware once the frame is done."""
        self._later.append(intent)

    def set_bench_status(self, lines: list[str]) -> None:
        """The bench panel's status lines (lock energized, door open, outbox pending...)."""
        if list(lines) == self._bench_lines:
            return  # unchanged: no redraw
        self._bench_lines = list(lines)
        if self._bench is not None:
            self._bench.set_status(self._bench_lines)
            self._dirty = True

    # -- what is shown -------------------------------------------------------------------------------

    @property
    def screen_id(self) -> str:
        return self._view.screen if self._view else ""

    @property
    def text_renderer(self) -> TextRenderer:
        """What draws every text (one for both languages), once started."""
        return self._kits[("en", False)].text_renderer

    @property
    def accessible_text_renderer(self) -> TextRenderer:
        """What draws every text of accessibility mode (its own type sizes), once started."""
        return self._kits[("en", True)].text_renderer

    def widgets(self) -> list[WidgetInfo]:
        """The touchscreen's widgets in drawing order (bench widgets are not included).

        extra["kind"] is "button" (a restart button: extra["armed"]), "tile", "area", "label", "picture", "panel",
        "countdown", "qr" (extra["text"]: what it encodes), "chip" (a variant: colour or option), "field" (a text field:
        extra value, focused), "dots" (the PIN: extra["filled"]), "target" (calibration: extra state, centre),
        "carousel" (extra: page, pages, moving; its cards wholly in view follow it as "tile"s), "spinner"
        (extra: angle, frames, frame), "stage"
        (attract; extra: showing "ad"/"showcase", ad id) or "video" (a narration's video; extra: path, error);
        extra["text_rects"] the rects of the rendered
        texts, in touchscreen pixels.
        """
        return [widget.info() for widget in self._flat()]

    def _flat(self) -> list[Widget]:
        """The widgets and their parts, in drawing (and hit-test) order."""
        return [part for widget in self._widgets for part in (widget, *widget.children())]

    def settle(self, timeout: float = 5.0) -> None:
        """Without a running loop: draw until images, 360° frames and the first video frame are in
        (screenshots, tests). Raises TimeoutError naming what is still loading."""
        if self._screen is None:
            raise RuntimeError("settle() needs start() first")
        deadline = time.monotonic() + timeout
        while True:
            self._draw_frame()
            waiting = [w.id for w in self._flat() if w.loading()]
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"still loading after {timeout} s: {', '.join(waiting)}")
            time.sleep(0.01)

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
        if self._rebuild:
            self._build()
        if self._dirty or self.frame_count == 0 or self._due(time.monotonic()):
            self._draw_frame()
        surface = pygame.display.get_surface() if window else self._screen
        if surface is None:
            raise RuntimeError("screenshot(window=True) needs the window open")
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
        await self.tap_window(x, y)  # the touchscreen is the window's top-left corner

    async def tap_widget(self, widget_id: str) -> None:
        """Tap the centre of a touchscreen widget."""
        await self.tap(*self._centre(widget_id))

    async def press(self, x: int, y: int, hold_s: float) -> None:
        """Put a finger down at (x, y), keep it there hold_s seconds, lift it, and return once the loop
        has handled the lift and drawn a frame. A press of the brand's staff_hold_s emits OpenStaff()."""
        width, height = self.size
        if not (0 <= x < width and 0 <= y < height):
            raise ValueError(f"press at ({x}, {y}) is outside the {width}x{height} touchscreen")
        if not (isinstance(hold_s, (int, float)) and 0 <= hold_s <= 60):
            raise ValueError(f"press needs 0 <= hold_s <= 60 seconds, got {hold_s!r}")
        if not self._running:
            raise RuntimeError("press() needs run() to be running")
        down_at = time.monotonic()
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(x, y), button=1, touch=False, t=down_at))
        while (left := hold_s - (time.monotonic() - down_at)) > 0:  # asyncio may wake a hair early
            await asyncio.sleep(left)
        pygame.event.post(
            pygame.event.Event(pygame.MOUSEBUTTONUP, pos=(x, y), button=1, touch=False, t=time.monotonic())
        )
        await self._next_frame()

    async def press_widget(self, widget_id: str, hold_s: float) -> None:
        """press() the centre of a touchscreen widget."""
        await self.press(*self._centre(widget_id), hold_s)

    def _centre(self, widget_id: str) -> tuple[int, int]:
        for widget in self._flat():
            if widget.id == widget_id:
                return widget.rect.center
        raise KeyError(f"no widget {widget_id!r} on the {self.screen_id!r} screen")

    async def tap_window(self, x: int, y: int) -> None:
        """Touch the window at (x, y) (the bench panel lies right of the touchscreen)."""
        if not self._running:
            raise RuntimeError("tap() needs run() to be running")
        for kind in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP):
            pygame.event.post(pygame.event.Event(kind, pos=(x, y), button=1, touch=False, t=time.monotonic()))
        await self._next_frame()

    async def swipe(self, x1: int, y1: int, x2: int, y2: int, duration_s: float = 0.25, steps: int = 12) -> None:
        """Drag a finger on the touchscreen from (x1, y1) to (x2, y2) over duration_s in steps motions,
        then lift it; return once the loop has handled the lift and drawn a frame."""
        width, height = self.size
        for x, y in ((x1, y1), (x2, y2)):
            if not (0 <= x < width and 0 <= y < height):
                raise ValueError(f"swipe point ({x}, {y}) is outside the {width}x{height} touchscreen")
        if steps < 1 or not duration_s >= 0:
            raise ValueError(f"swipe needs steps >= 1 and duration_s >= 0, got {steps} and {duration_s}")
        if not self._running:
            raise RuntimeError("swipe() needs run() to be running")
        post = pygame.event.post
        post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(x1, y1), button=1, touch=False, t=time.monotonic()))
        last = (x1, y1)
        for i in range(1, steps + 1):
            await asyncio.sleep(duration_s / steps)
            pos = (round(x1 + (x2 - x1) * i / steps), round(y1 + (y2 - y1) * i / steps))
            post(
                pygame.event.Event(
                    pygame.MOUSEMOTION,
                    pos=pos,
                    rel=(pos[0] - last[0], pos[1] - last[1]),
                    buttons=(1, 0, 0),
                    touch=False,
                    t=time.monotonic(),
                )
            )
            last = pos
        post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=(x2, y2), button=1, touch=False, t=time.monotonic()))
        await self._next_frame()

    async def _next_frame(self) -> None:
        """Wait until the loop has handled the events posted so far and drawn a frame."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
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
        except Exception:  # a broken handler must not take the screen down
            log.exception("on_intent failed for %s", intent)

    def _emit_all(self, taps: Taps) -> None:
        for intent in taps if isinstance(taps, tuple) else (taps,):
            if intent is not None:
                self._emit(intent)

    def _handle(self, event: pygame.event.Event) -> None:
        kind = event.type
        if kind in (pygame.WINDOWEXPOSED, pygame.VIDEOEXPOSE):
            self._dirty = True
        elif kind == pygame.MOUSEMOTION:
            if self._touch is not None and event.buttons[0]:
                self._move(self._touch, event)
        elif kind in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP) and event.button == 1:
            if kind == pygame.MOUSEBUTTONDOWN:
                self._down(event)
            elif self._touch is not None:
                self._up(self._touch, event)

    def _down(self, event: pygame.event.Event) -> None:
        area, pos = self._locate(event.pos)
        widgets = self._flat() if area == SCREEN else self._widgets_in(area)
        widget = hit(widgets, pos)
        target = None
        if area == SCREEN:
            self._emit(Activity())
            target = next((w for w in reversed(self._widgets) if w.draggable and w.rect.collidepoint(pos)), None)
        touch = self._touch = _Touch(area, pos, widget, target, _event_time(event))
        if target is not None and target.press(pos, _event_time(event)):
            touch.pressed = None  # the touch caught a coasting carousel: that is not a tap
        self._dirty = True  # pressed look

    def _move(self, touch: _Touch, event: pygame.event.Event) -> None:
        pos = self._locate(event.pos)[1]
        if not touch.dragging:
            slop = max(8, self.theme.px(TAP_SLOP_PX))
            if abs(pos[0] - touch.start[0]) <= slop and abs(pos[1] - touch.start[1]) <= slop:
                return
            touch.dragging = True
            if touch.pressed is not None:
                touch.pressed = None  # a drag is not a tap: drop the pressed look
                self._dirty = True
        if touch.target is not None:
            touch.target.drag(pos, _event_time(event))
            self._drag_moved = True

    def _up(self, touch: _Touch, event: pygame.event.Event) -> None:
        self._touch = None
        area, pos = self._locate(event.pos)
        self._dirty = True  # released look
        if touch.target is not None:
            touch.target.release(pos, _event_time(event))
            if touch.dragging:
                self._emit_all(touch.target.dragged())
        if touch.dragging or touch.pressed is None or area != touch.area:
            return
        # A tap counts only when the finger goes up on the widget it went down on.
        widgets = self._flat() if area == SCREEN else self._widgets_in(area)
        widget = hit(widgets, pos)
        if widget is not None and widget.id == touch.pressed:
            # The hold may have been reached between two frames: the lift decides then.
            self._emit_all(widget.hold() if touch.held_long_enough(_event_time(event)) else widget.tap_at(pos))

    def _check_hold(self, now: float) -> None:
        """A finger still down on a hold widget for its hold_s: the hold happens now, not at the lift."""
        touch = self._touch
        if touch is None or touch.dragging or not touch.held_long_enough(now):
            return
        widget = next((w for w in self._flat() if w.id == touch.pressed), None)
        touch.pressed = None  # the lift that follows is no tap
        self._dirty = True
        if widget is not None:
            self._emit_all(widget.hold())

    # -- frames ----------------------------------------------------------------------------------------

    def _due(self, now: float) -> list[Widget]:
        """The widgets whose look has changed by itself since they were drawn."""
        return [widget for widget, at in self._wakes.items() if at <= now]

    def _schedule(self, widgets: list[Widget]) -> None:
        """Note when each just drawn widget next changes by itself."""
        now = time.monotonic()
        for widget in widgets:
            at = widget.next_redraw(now)
            if at is None:
                self._wakes.pop(widget, None)
            else:
                self._wakes[widget] = at

    def step(self) -> bool:
        """Handle the queued events and draw what changed; True when a frame was drawn.
        run() calls it once per frame period; benches call it directly."""
        events = pygame.event.get()
        if any(event.type == pygame.QUIT for event in events):
            raise _Quit
        for event in events:
            self._handle(event)
        self._check_hold(time.monotonic())
        if self._rebuild:
            self._build()
            self._dirty = True
        if self._dirty or self._tap_waiters_pending:
            self._draw_frame()
            return True
        due = self._due(time.monotonic())
        if self._drag_moved and self._touch is not None and self._touch.target is not None:
            due.append(self._touch.target)
        self._drag_moved = False
        if due:
            self._draw_parts(due)
            return True
        return False

    def _draw_widgets(self, surface: pygame.Surface) -> None:
        pressed = self._touch.pressed if self._touch is not None and self._touch.area == SCREEN else None
        for widget in self._widgets:
            widget.draw(surface, pressed)

    def _draw_parts(self, changed: list[Widget]) -> None:
        """Redraw only the rects of widgets that changed by themselves, with whatever overlaps them."""
        assert self._screen is not None
        rects = []
        pressed = self._touch.pressed if self._touch is not None and self._touch.area == SCREEN else None
        for widget in changed:
            rect = widget.redraw_rect().clip(self._screen.get_rect())
            self._screen.set_clip(rect)
            self._screen.fill(self.shown_theme.palette.background, rect)
            for other in self._widgets:
                if other.rect.colliderect(rect):
                    other.draw(self._screen, pressed)
            rects.append(rect)
        self._screen.set_clip(None)
        pygame.display.update(rects)
        self._schedule(changed)
        self._frame_done()

    def _draw_frame(self) -> None:
        assert self._screen is not None
        self._screen.fill(self.shown_theme.palette.background)
        self._draw_widgets(self._screen)
        if self._bench is not None and self._bench_surface is not None:
            pressed = self._touch.pressed if self._touch is not None and self._touch.area == BENCH else None
            self._bench.draw(self._bench_surface, pressed)
        pygame.display.flip()
        self._dirty = False
        self._drag_moved = False
        self._wakes = {}
        self._schedule(self._widgets)
        self._frame_done()

    def _frame_done(self) -> None:
        self.frame_count += 1
        self.last_frame_time = time.monotonic()
        later, self._later = self._later, []
        for intent in later:
            self._emit(intent)

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
                # Touches posted before this step's event fetch are handled in it.
                waiters, self._tap_waiters = self._tap_waiters, []
                self._tap_waiters_pending = bool(waiters)
                try:
                    self.step()
                except _Quit:
                    return
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)
                await asyncio.sleep(max(0.0, period - (time.monotonic() - began)))
        finally:
            self._running = False
            self._tap_waiters_pending = False
            for waiter in waiters + self._tap_waiters:
                if not waiter.done():
                    waiter.set_exception(RuntimeError("the UI loop stopped before the touch was handled"))
            self._tap_waiters = []


class _Quit(Exception):
    """The window was closed."""
