"""What a person can read on a screen: the layout checks every screen test can apply (any language, size or
mode): no text below the readable minimum, no text leaving its widget, no widget leaving the screen."""

from __future__ import annotations

import pygame

from kiosk_ui.app import KioskUi
from kiosk_ui.view import View, WidgetInfo


def show_readable(ui: KioskUi, view: View) -> list[WidgetInfo]:
    """Shows view and asserts it is readable; returns its widgets."""
    ui.text_renderer.drawn.clear()
    ui.set_state(view)
    infos = ui.widgets()
    assert_readable(ui, infos)
    return infos


def assert_readable(ui: KioskUi, infos: list[WidgetInfo]) -> None:
    smallest = ui.theme.min_text_px
    small = [(text[:40], px) for text, px in ui.text_renderer.drawn if px < smallest]
    assert not small, f"texts below the readable {smallest} px: {small}"
    screen = pygame.Rect(0, 0, *ui.size)
    for info in infos:
        assert screen.contains(pygame.Rect(info.rect)), f"{info.id} {info.rect} leaves the screen"
        for text_rect in info.extra["text_rects"]:
            assert text_rect[2] > 0 and text_rect[3] > 0
            assert pygame.Rect(info.rect).contains(pygame.Rect(text_rect)), (
                f"{info.id}: text {text_rect} overflows {info.rect}"
            )
