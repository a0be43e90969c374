"""Calibrate: four targets near the corners, touched one after the other.

The whole screen listens (a badly calibrated panel lands beside the target): each touch is recorded
where it landed, and after the fourth the UI emits SubmitCalibration with the four points in
target order (top-left, top-right, bottom-right, bottom-left; centres at CALIBRATION_INSET of the
width and height from the corners) and starts over. The firmware works out the correction. No header:
a button in a corner would catch the corner's touch; cancel sits in the middle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pygame

from kiosk_ui.context import BuildContext
from kiosk_ui.intents import Cancel, SubmitCalibration
from kiosk_ui.kit import Kit
from kiosk_ui.view import CALIBRATION_INSET, CalibrateScreen
from kiosk_ui.widgets import Button, Label, Taps, Widget

CORNERS = ((0, 0), (1, 0), (1, 1), (0, 1))  # in target order


def target_centres(size: tuple[int, int]) -> list[tuple[int, int]]:
    """Where the targets' centres are on a screen of size, in target order."""
    width, height = size
    return [
        (
            round(width * (CALIBRATION_INSET if cx == 0 else 1 - CALIBRATION_INSET)),
            round(height * (CALIBRATION_INSET if cy == 0 else 1 - CALIBRATION_INSET)),
        )
        for cx, cy in CORNERS
    ]


class Target(Widget):
    """A cross in a ring: the one to touch now in the accent colour, touched ones filled, later ones dim."""

    kind = "target"

    def __init__(self, kit: Kit, index: int, centre: tuple[int, int], state: str) -> None:
        r = kit.theme.px(30)
        super().__init__(f"target:{index}", pygame.Rect(centre[0] - r, centre[1] - r, 2 * r, 2 * r))
        palette = kit.theme.palette
        self.state, self.centre, self.r = state, centre, r
        self.colour = {"now": palette.accent, "done": palette.text_muted, "later": palette.line}[state]
        self.line = max(2, kit.theme.px(3))

    def info_extra(self) -> dict[str, Any]:
        return {"state": self.state, "centre": self.centre}

    def draw(self, surface: pygame.Surface, pressed_id: str | None = None) -> None:
        x, y = self.centre
        if self.state == "done":
            pygame.draw.circle(surface, self.colour, self.centre, self.r // 3)
        pygame.draw.circle(surface, self.colour, self.centre, self.r, self.line)
        pygame.draw.line(surface, self.colour, (x - self.r, y), (x + self.r, y), self.line)
        pygame.draw.line(surface, self.colour, (x, y - self.r), (x, y + self.r), self.line)


class CalibrationArea(Widget):
    """The whole screen: records where each touch landed."""

    kind = "area"
    interactive = True

    def __init__(self, rect: pygame.Rect, taps: list[tuple[int, int]], rebuild: Callable[[], None]) -> None:
        super().__init__("calibration", rect)
        self.taps, self.rebuild = taps, rebuild

    def tap_at(self, pos: tuple[int, int]) -> Taps:
        self.taps.append((int(pos[0]), int(pos[1])))
        self.rebuild()
        if len(self.taps) < len(CORNERS):
            return None
        top_left, top_right, bottom_right, bottom_left = self.taps
        self.taps.clear()  # ready to go round again
        return SubmitCalibration((top_left, top_right, bottom_right, bottom_left))


def build(view: CalibrateScreen, kit: Kit, context: BuildContext) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    taps = context.memory.taps
    done = len(taps)
    screen = pygame.Rect(0, 0, theme.width, theme.height)
    widgets: list[Widget] = [CalibrationArea(screen, taps, context.rebuild)]
    for i, centre in enumerate(target_centres(screen.size)):
        widgets.append(Target(kit, i, centre, "done" if i < done else "now" if i == done else "later"))
    text_w = theme.width * 56 // 100
    y = screen.centery - theme.px(110)
    widgets.append(
        Label(
            kit,
            "title",
            (screen.centerx - text_w // 2, y, text_w, theme.px(60)),
            kit.t("calibrate.title"),
            "title",
            align="center",
            max_lines=2,
        )
    )
    widgets.append(
        Label(
            kit,
            "progress",
            (screen.centerx - text_w // 2, y + theme.px(64), text_w, theme.px(34)),
            kit.t("calibrate.progress", n=done + 1, total=len(CORNERS)),
            "body",
            palette.text_muted,
            align="center",
        )
    )
    cancel_w = theme.touch(220)
    widgets.append(
        Button(
            kit,
            "cancel",
            (screen.centerx - cancel_w // 2, y + theme.px(120), cancel_w, theme.touch(72)),
            kit.t("nav.cancel"),
            Cancel(),
            style="secondary",
        )
    )
    return widgets
