"""Widgets a finger moves: the catalog carousel and the product's 360° view.

Both keep their position in the screen's memory (a Glide), so a rebuild of
the screen does not snap them back. While they move they ask to be redrawn
every frame (next_redraw returns now) and redraw only their own rect; at
rest they cost nothing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pygame

from kiosk_ui.context import ScreenMemory
from kiosk_ui.intents import Turn
from kiosk_ui.kit import Kit
from kiosk_ui.motion import Glide
from kiosk_ui.spin import frame_index
from kiosk_ui.text import wrap
from kiosk_ui.theme import Colour
from kiosk_ui.view import ProductView
from kiosk_ui.widgets import PlacedText, ProductTile, Taps, Widget, place

AUTO_AFTER_S = 2.5  # the 360° view starts turning by itself this long after the last touch
AUTO_DEG_S = 30.0  # one turn in 12 s: calm enough to read the specs beside it
DRAG_TURNS_PER_WIDTH = 0.75


class Carousel(Widget):
    """Product cards in a row, ``visible`` at a time; dragged with inertia, resting on whole cards."""

    kind = "carousel"
    interactive = True
    draggable = True

    def __init__(
        self,
        kit: Kit,
        rect: pygame.Rect | tuple[int, int, int, int],
        products: tuple[ProductView, ...],
        glide: Glide,
        visible: int,
    ) -> None:
        super().__init__("carousel", rect)
        theme, palette = kit.theme, kit.theme.palette
        self.palette, self.glide = palette, glide
        self.label = f"{len(products)}"
        gap = theme.gap
        self.dots_h = theme.px(28)
        self.viewport = pygame.Rect(self.rect.x, self.rect.y, self.rect.w, self.rect.h - self.dots_h)
        self.visible = max(1, min(visible, len(products)))
        card_w = (self.viewport.w - gap * (self.visible - 1)) // self.visible
        self.pitch = card_w + gap
        self.tiles = [
            ProductTile(kit, (self.viewport.x + i * self.pitch, self.viewport.y, card_w, self.viewport.h), product)
            for i, product in enumerate(products)
        ]
        self.pages = len(products) - self.visible + 1
        glide.set_bounds(-(self.pages - 1) * self.pitch, 0.0, self.pitch)
        self._offset = 0
        self._follow()

    def _follow(self) -> None:
        """Move the cards to where the glide stands."""
        offset = round(self.glide.position)
        if offset != self._offset:
            for tile in self.tiles:
                tile.translate(offset - self._offset, 0)
            self._offset = offset

    @property
    def page(self) -> int:
        return min(self.pages - 1, max(0, round(-self.glide.position / self.pitch)))

    def scroll_by(self, cards: int) -> None:
        """Animate by whole cards (the arrow buttons)."""
        self.glide.nudge(-cards * self.pitch, time.monotonic())

    def children(self) -> list[Widget]:
        """The cards wholly in view: only those can be tapped (a half-hidden card is being swiped)."""
        self._follow()
        return [tile for tile in self.tiles if self.viewport.contains(tile.rect)]

    def info_extra(self) -> dict[str, Any]:
        return {"page": self.page, "pages": self.pages, "moving": self.glide.moving}

    def press(self, pos: tuple[int, int], now: float) -> bool:
        was_coasting = self.glide.moving
        self.glide.grab(pos[0], now)
        return was_coasting

    def drag(self, pos: tuple[int, int], now: float) -> None:
        self.glide.drag(pos[0], now)

    def release(self, pos: tuple[int, int], now: float) -> None:
        self.glide.release(pos[0], now)

    def next_redraw(self, now: float) -> float | None:
        return now if self.glide.moving and not self.glide.dragging else None

    def draw(self, surface: pygame.Surface, pressed_id: str | None = None) -> None:
        self.glide.step(time.monotonic())
        self._follow()
        clip = surface.get_clip()
        surface.set_clip(self.viewport.clip(clip) if clip else self.viewport)
        for tile in self.tiles:
            if tile.rect.colliderect(self.viewport):
                tile.draw(surface, pressed_id)
        surface.set_clip(clip)
        if self.pages > 1:
            self._draw_dots(surface)

    def _draw_dots(self, surface: pygame.Surface) -> None:
        r = max(3, self.dots_h // 7)
        step = r * 4
        x = self.rect.centerx - (self.pages - 1) * step // 2
        y = self.viewport.bottom + self.dots_h // 2
        current = self.page
        for i in range(self.pages):
            if i == current:
                pygame.draw.rect(
                    surface, self.palette.accent, (x + i * step - 2 * r, y - r, 4 * r, 2 * r), border_radius=r
                )
            else:
                pygame.draw.circle(surface, self.palette.line, (x + i * step, y), r)


class Spinner(Widget):
    """The 360° view: drag to turn (with inertia); it turns by itself when left alone."""

    kind = "spinner"
    interactive = True
    draggable = True

    def __init__(
        self,
        kit: Kit,
        rect: pygame.Rect | tuple[int, int, int, int],
        memory: ScreenMemory,
        frames_for: Callable[[tuple[int, int]], list[pygame.Surface] | None],
        placeholder_for: Callable[[tuple[int, int]], pygame.Surface],
    ) -> None:
        """frames_for(size) answers the frame sequence once it is made (None until then);
        placeholder_for(size) is shown before the first sequence is ready."""
        super().__init__("spinner", rect)
        theme, palette = kit.theme, kit.theme.palette
        self.memory = memory
        self.background, self.radius = palette.surface, theme.radius
        pad = theme.px(12)
        hint_h = kit.line_h(30)
        self.frame_rect = pygame.Rect(
            self.rect.x + pad, self.rect.y + pad, self.rect.w - 2 * pad, self.rect.h - 2 * pad - hint_h
        )
        hint_box = pygame.Rect(self.rect.x + pad, self.frame_rect.bottom, self.rect.w - 2 * pad, hint_h)
        self.label = kit.t("product.spin_hint")
        self.texts = [
            place(kit.text(self.label, "label", palette.text_muted, hint_box.w, hint_box.h, 1, "center"), hint_box)
        ]
        self.degrees_per_px = 360 * DRAG_TURNS_PER_WIDTH / max(1, self.frame_rect.w)
        size = self.frame_rect.size
        self._frames: Callable[[], list[pygame.Surface] | None] = lambda: frames_for(size)
        self.placeholder = placeholder_for(size) if not self.frames() else None

    @property
    def glide(self) -> Glide:
        return self.memory.spin

    def frames(self) -> list[pygame.Surface] | None:
        frames = self._frames()
        if frames:
            self.memory.spin_frames = frames
        return frames or self.memory.spin_frames

    def info_extra(self) -> dict[str, Any]:
        frames = self.frames()
        count = len(frames) if frames else 0
        return {
            "angle": round(self.glide.position % 360, 1),
            "frames": count,
            "frame": frame_index(self.glide.position, count) if count else None,
        }

    def press(self, pos: tuple[int, int], now: float) -> bool:
        coasting = self.glide.moving
        self.memory.spin_touched, self.memory.spin_auto_at = now, None
        self.glide.grab(pos[0] * self.degrees_per_px, now)
        return coasting

    def drag(self, pos: tuple[int, int], now: float) -> None:
        self.memory.spin_touched = now
        self.glide.drag(pos[0] * self.degrees_per_px, now)

    def release(self, pos: tuple[int, int], now: float) -> None:
        self.memory.spin_touched = now
        self.glide.release(pos[0] * self.degrees_per_px, now)

    def dragged(self) -> Taps:
        return Turn()  # the shopper turned the product: the funnel counts it

    def _advance(self, now: float) -> None:
        memory = self.memory
        if self.glide.step(now):
            memory.spin_touched = now  # coasting counts as handled: auto-rotation waits for the rest
            return
        if now - memory.spin_touched < AUTO_AFTER_S:
            return
        if memory.spin_auto_at is not None:
            self.glide.position += AUTO_DEG_S * min(0.5, now - memory.spin_auto_at)
        memory.spin_auto_at = now

    def next_redraw(self, now: float) -> float | None:
        frames = self.frames()
        if not frames:
            return now + 0.05  # the frames are being made: look again soon
        if self.glide.moving:
            return None if self.glide.dragging else now
        memory = self.memory
        if memory.spin_auto_at is None:
            return max(now, memory.spin_touched + AUTO_AFTER_S)
        # The next time the turning angle crosses into the next frame.
        step = 360 / len(frames)
        angle = self.glide.position % 360
        boundary = (math.floor(angle / step - 0.5) + 1.5) * step
        return memory.spin_auto_at + (boundary - angle) / AUTO_DEG_S + 1e-3

    def redraw_rect(self) -> pygame.Rect:
        return self.frame_rect

    def loading(self) -> bool:
        return not self._frames()

    def draw(self, surface: pygame.Surface, pressed_id: str | None = None) -> None:
        self._advance(time.monotonic())
        pygame.draw.rect(surface, self.background, self.rect, border_radius=self.radius)
        frames = self.frames()
        if frames:
            frame = frames[frame_index(self.glide.position, len(frames))]
            surface.blit(frame, frame.get_rect(center=self.frame_rect.center))
        elif self.placeholder is not None:
            surface.blit(self.placeholder, self.placeholder.get_rect(center=self.frame_rect.center))
        super().draw(surface)


class ScrollText(Widget):
    """Text taller than its box (a long product description in any language): it wraps at its readable size
    and is dragged up and down, with inertia; a bar at the right edge shows there is more, and where."""

    kind = "scroll"
    interactive = True
    draggable = True

    def __init__(
        self,
        kit: Kit,
        widget_id: str,
        rect: pygame.Rect,
        parts: list[PlacedText],
        label: str,
        glide: Glide,
        *,
        lines: bool = False,
    ) -> None:
        """parts: the texts placed as if the box were as tall as they need (from rect's top); lines: each part
        is one line of text (see flow), so the box at rest ends above any line it would cut."""
        super().__init__(widget_id, rect)
        self.parts, self.label, self.glide = parts, label, glide
        self.bar_colour, self.bar_w = kit.theme.palette.line, max(3, kit.theme.px(4))
        if kit.theme.accessible:  # at rest the box ends above a part it would show less than a line of
            for part in sorted(parts, key=lambda p: -p.rect.top):
                line = part.rect.h if lines else kit.line_h(0)
                if self.rect.top < part.rect.top < self.rect.bottom < part.rect.top + line:
                    self.rect.h = part.rect.top - self.rect.top
        self.content_h = max((p.rect.bottom for p in parts), default=self.rect.y) - self.rect.y
        self.room = max(0, self.content_h - self.rect.h)  # how far it scrolls
        glide.set_bounds(-self.room, 0.0, None)

    @property
    def offset(self) -> int:
        return round(self.glide.position)

    def current_texts(self) -> list[PlacedText]:
        """The parts in view, each cut to the box."""
        shown = []
        for part in self.parts:
            moved = part.rect.move(0, self.offset)
            if moved.colliderect(self.rect):
                shown.append(PlacedText(part.surface, moved.clip(self.rect)))
        return shown

    def info_extra(self) -> dict[str, Any]:
        return {"scroll": -self.offset, "room": self.room}

    def press(self, pos: tuple[int, int], now: float) -> bool:
        coasting = self.glide.moving
        self.glide.grab(pos[1], now)
        return coasting

    def drag(self, pos: tuple[int, int], now: float) -> None:
        self.glide.drag(pos[1], now)

    def release(self, pos: tuple[int, int], now: float) -> None:
        self.glide.release(pos[1], now)

    def next_redraw(self, now: float) -> float | None:
        return now if self.glide.moving and not self.glide.dragging else None

    def draw(self, surface: pygame.Surface, pressed_id: str | None = None) -> None:
        self.glide.step(time.monotonic())
        clip = surface.get_clip()
        surface.set_clip(self.rect.clip(clip) if clip else self.rect)
        for part in self.parts:
            moved = part.rect.move(0, self.offset)
            if moved.colliderect(self.rect):
                surface.blit(part.surface, moved)
        surface.set_clip(clip)
        if self.room:
            bar_h = max(self.bar_w * 4, self.rect.h * self.rect.h // self.content_h)
            y = self.rect.y + (self.rect.h - bar_h) * -self.offset // self.room
            pygame.draw.rect(
                surface, self.bar_colour, (self.rect.right - self.bar_w, y, self.bar_w, bar_h), border_radius=self.bar_w
            )


@dataclass(frozen=True)
class Paragraph:
    """A text of a scrolled column: wrapped at its role's size, one part a line."""

    text: str
    role: str
    colour: Colour
    align: str = "left"
    space: int = 0  # design px above it


def lines(kit: Kit, paragraph: Paragraph, box: pygame.Rect) -> list[PlacedText]:
    """The paragraph wrapped into box's width at its role's size, a part a line, from box's top down."""
    font = kit.text_renderer.font(paragraph.role)
    parts: list[PlacedText] = []
    y = box.y
    for line in wrap(paragraph.text, font, box.w):
        surface = kit.text(line, paragraph.role, paragraph.colour, box.w, 4 * font.get_linesize())
        rect = surface.get_rect(top=y)
        rect.x = {"left": box.x, "center": box.centerx - rect.w // 2, "right": box.right - rect.w}[paragraph.align]
        parts.append(PlacedText(surface, rect))
        y += font.get_linesize()
    return parts


def flow(kit: Kit, box: pygame.Rect, paragraphs: list[Paragraph]) -> list[PlacedText]:
    """The paragraphs wrapped into box's width, top down from its top, as tall as they need (a ScrollText
    shows what box's height holds). One part per line, so the column at rest ends between two lines."""
    parts: list[PlacedText] = []
    y = box.y
    bar = kit.theme.px(12)  # room for the scroll bar
    for paragraph in paragraphs:
        y += kit.theme.px(paragraph.space)
        font = kit.text_renderer.font(paragraph.role)
        shown = lines(kit, paragraph, pygame.Rect(box.x, y, box.w - bar, 0))
        parts += shown
        y += font.get_linesize() * len(shown)
    return parts


def scrolled_column(
    kit: Kit, widget_id: str, box: pygame.Rect, paragraphs: list[Paragraph], glide: Glide
) -> ScrollText:
    """Paragraphs in box, dragged up and down when they need more room than box has."""
    label = "\n".join(p.text for p in paragraphs)
    return ScrollText(kit, widget_id, pygame.Rect(box), flow(kit, box, paragraphs), label, glide, lines=True)
