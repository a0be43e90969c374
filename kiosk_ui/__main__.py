"""`python -m kiosk_ui --shots DIR`: the screenshot gallery, every screen in both languages.

Writes DIR/<screen>-<language>.png for each entry of samples.GALLERY (--all: every sample
state, named <state>-<language>-<width>x<height>.png). Without --shots, opens a window that
shows the sample screens; taps print their intents and "start", "select_product", "buy" and
friends walk through the samples.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk_ui.i18n import LANGUAGES
from kiosk_ui.intents import Intent
from kiosk_ui.samples import GALLERY, GALLERY_ACCESSIBLE, SHOT_TAPS, accessible_views, sample_views
from kiosk_ui.view import View

if TYPE_CHECKING:
    from kiosk_ui.app import KioskUi


def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 1024x600, got {text!r}") from None
    return width, height


def touch(ui: KioskUi, widget_id: str) -> None:
    """A finger down and up on the widget, handled at once (no frame loop runs here)."""
    import pygame

    centre = pygame.Rect(next(w.rect for w in ui.widgets() if w.id == widget_id)).center
    for kind in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP):
        pygame.event.post(pygame.event.Event(kind, pos=centre, button=1, touch=False, t=time.monotonic()))
    ui.step()


def shots(out: Path, size: tuple[int, int], every_state: bool = False) -> list[Path]:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    from kiosk_ui.app import KioskUi

    out.mkdir(parents=True, exist_ok=True)
    ui = KioskUi(size, on_intent=lambda intent: None)
    ui.start()
    written = []
    try:
        for language in LANGUAGES:
            views = sample_views(language)
            accessible = accessible_views(language)
            chosen = (
                {f"{name}-{language}-{size[0]}x{size[1]}": view for name, view in views.items()}
                | {f"accessible-{name}-{language}-{size[0]}x{size[1]}": view for name, view in accessible.items()}
                if every_state
                else {f"{stem}-{language}": views[name] for stem, name in GALLERY.items()}
                | {f"{stem}-{language}": accessible[name] for stem, name in GALLERY_ACCESSIBLE.items()}
            )
            for stem, view in chosen.items():
                ui.set_state(view, fresh=True)  # each picture as a person first sees it
                ui.settle()  # images, 360° frames and the first video frame are in
                for widget_id in SHOT_TAPS.get(stem.rsplit("-", 1)[0], ()):
                    touch(ui, widget_id)
                path = out / f"{stem}.png"
                ui.screenshot(path)
                written.append(path)
    finally:
        ui.close()
    return written


async def demo(size: tuple[int, int], bench: bool) -> None:
    from kiosk_ui.app import KioskUi

    views: dict[str, dict[str, View]] = {lang: sample_views(lang) for lang in LANGUAGES}
    state = {"lang": "en", "name": "attract"}
    moves = {
        "start": "catalog",
        "select_product": "product",
        "buy": "checkout",
        "pay": "checkout_present_card",
        "cancel": "product_declined",
        "back": "catalog",
        "unlock_again": "door_unlocked",
        "done": "attract",
        "bench": "door_opened",
        "pickup": "pickup",
        "help": "help",
        "pickup_submit": "pickup_wrong_code",
        "staff": "pin_pad",
        "pin_submit": "restock_opened",
        "repair": "repair_vehicle",
        "agree": "repair_ticket",
        "calibrate": "calibrate",
        "calibration": "service",
        "exit": "attract",
    }
    steps = {"repair_vehicle": "repair_contact", "repair_contact": "repair_fault", "repair_fault": "repair_consent"}
    stop = asyncio.Event()

    def on_intent(intent: Intent) -> None:
        print(intent)
        if intent.name == "lang":
            state["lang"] = "zh" if state["lang"] == "en" else "en"
        elif intent.name == "next":
            state["name"] = steps.get(state["name"], state["name"])
        elif intent.name in moves:
            state["name"] = moves[intent.name]
        ui.set_state(views[state["lang"]][state["name"]])

    ui = KioskUi(size, on_intent=on_intent, bench_panel=bench)
    ui.start()
    ui.set_state(views["en"]["attract_video"])
    ui.set_bench_status(["lock: de-energized", "door: closed", "outbox: 0 pending"])
    try:
        await ui.run(stop)
    finally:
        ui.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiosk_ui", description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=Path, help="write the screenshot gallery here and exit")
    parser.add_argument("--all", action="store_true", help="with --shots: every sample state, not the gallery")
    parser.add_argument("--size", type=parse_size, default=(1024, 600), help="touchscreen size, e.g. 1920x1080")
    parser.add_argument("--bench", action="store_true", help="show the bench panel in the demo window")
    args = parser.parse_args(argv)
    if args.shots:
        for path in shots(args.shots, args.size, args.all):
            print(path)
        return 0
    asyncio.run(demo(args.size, args.bench))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
