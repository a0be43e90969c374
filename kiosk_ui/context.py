"""What screen builders get besides their view: the app's services and the screen's memory.

A screen is rebuilt whenever the firmware sends a new view (the online
indicator changed, the language switched...). What the shopper did on the
screen since it came up (where the carousel stands, how the product is turned,
the digits typed, the chosen colour, which ad plays) lives in ``ScreenMemory``,
which the app replaces only when the screen id changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pygame

from kiosk_ui.ads import AttractShow
from kiosk_ui.assets import AssetLoader
from kiosk_ui.entry import KeyboardState
from kiosk_ui.intents import Intent
from kiosk_ui.motion import Glide
from kiosk_ui.narration_video import VideoPlayback
from kiosk_ui.view import FieldErrors


@dataclass
class ScreenMemory:
    screen: str
    carousel: Glide = field(default_factory=Glide)
    spin: Glide = field(default_factory=Glide)
    details: Glide = field(default_factory=Glide)  # product: how far its description is scrolled (repair: the details)
    scroll: Glide = field(default_factory=Glide)  # a content column taller than its area: how far it is scrolled
    spin_touched: float = float("-inf")  # last time a finger turned the product
    spin_auto_at: float | None = None  # when auto-rotation last advanced the angle
    spin_frames: list[pygame.Surface] | None = None  # the frames last shown: shown while a new colour loads
    colour: str | None = None  # the variant (its SKU) chosen on this visit of the product screen
    code: str = ""  # pickup code or PIN typed so far (cleared when submitted)
    fields: dict[str, str] = field(default_factory=dict)  # repair: text typed per field, and the category
    sent: dict[str, str] = field(default_factory=dict)  # repair: the firmware's values last applied
    focus: str | None = None  # repair: the field the keyboard types into
    keyboard: KeyboardState = field(default_factory=KeyboardState)  # repair: the text keyboard's layer, shift
    errors_seen: FieldErrors = ()  # repair: the field_errors last focused
    page: int = 0  # restock: the page of product rows
    armed_until: float = 0.0  # service: restart asks again until then
    taps: list[tuple[int, int]] = field(default_factory=list)  # calibrate: where the targets were touched
    attract: AttractShow | None = None
    video: VideoPlayback | None = None  # a narration's video playing (its decoder thread)

    def close(self) -> None:
        if self.attract is not None:
            self.attract.close()
        if self.video is not None:
            self.video.close()


@dataclass
class BuildContext:
    loader: AssetLoader
    memory: ScreenMemory
    emit: Callable[[Intent], None]
    rebuild: Callable[[], None]  # the screen's own state changed: build it again
