"""The bench panel: the shopper's hands in simulation, drawn beside the touchscreen.

Its buttons stand for what a person does to the devices (present a card, open
the door...) and emit Bench(action); the caller routes those to the
emulators. Developer-facing, so English only. Its status lines are whatever
the caller last passed to set_status.
"""

from __future__ import annotations

import pygame

from kiosk_ui.intents import Bench, BenchAction
from kiosk_ui.kit import Kit
from kiosk_ui.widgets import Button, Label, Widget

WIDTH = 300
ACTIONS: tuple[tuple[str, BenchAction], ...] = (
    ("Card: approve", "pos/approve"),
    ("Card: decline", "pos/decline"),
    ("Door: open", "door/open"),
    ("Door: close", "door/close"),
    ("Tap NFC card", "nfc/present"),
    ("Show QR code", "qr/show"),
)


class BenchPanel:
    """Widgets in the panel's own coordinates: (0, 0) is its top-left corner."""

    def __init__(self, kit: Kit, height: int) -> None:
        self.kit = kit
        self.size = (WIDTH, height)
        theme = kit.theme
        pad = theme.px(12)
        gap = theme.px(8)
        self.title = Label(
            kit, "bench:title", (pad, pad, WIDTH - 2 * pad, theme.px(28)), "Bench", "heading", theme.palette.text_muted
        )
        button_h = theme.touch(64)
        y = self.title.rect.bottom + gap
        self.buttons: list[Widget] = []
        for label, action in ACTIONS:
            self.buttons.append(
                Button(
                    kit,
                    f"bench:{action}",
                    (pad, y, WIDTH - 2 * pad, button_h),
                    label,
                    Bench(action),
                    style="secondary",
                    role="body",
                )
            )
            y += button_h + gap
        self.status_area = pygame.Rect(pad, y + gap, WIDTH - 2 * pad, height - y - gap - pad)
        self.status: list[Widget] = []

    @property
    def widgets(self) -> list[Widget]:
        return [self.title, *self.buttons, *self.status]

    def set_status(self, lines: list[str]) -> None:
        """Show lines in the status area, one line each, as many as fit."""
        theme = self.kit.theme
        line_h = theme.px(22)
        area = self.status_area
        self.status = [
            Label(
                self.kit,
                f"bench:status:{i}",
                (area.x, area.y + i * line_h, area.w, line_h),
                line,
                "caption",
                theme.palette.text,
            )
            for i, line in enumerate(lines[: max(0, area.h // line_h)])
        ]

    def draw(self, surface: pygame.Surface, pressed_id: str | None) -> None:
        palette = self.kit.theme.palette
        surface.fill(palette.surface)
        pygame.draw.line(surface, palette.line, (0, 0), (0, surface.get_height()), 2)
        for widget in self.widgets:
            widget.draw(surface, pressed_id)
