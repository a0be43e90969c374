"""Enrol: a technician enrols a staff finger on the fingerprint module from the service menu.

The module leads: place the finger, lift it, place it again; then the slot it was stored at (the retailer
names its owner in the configuration) or why it failed. Cancel while it runs, back to the menu at the end.
"""

from __future__ import annotations

from kiosk_ui.context import BuildContext
from kiosk_ui.intents import Back, Cancel
from kiosk_ui.kit import Kit
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.view import EnrolScreen
from kiosk_ui.widgets import Button, Label, Widget

STEPS = ("place", "lift", "place_again")  # the progress line counts these


def build(view: EnrolScreen, kit: Kit, context: BuildContext) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    top, content = chrome(view.chrome, kit, title=kit.t("enrol.header"))
    width = content.w * 80 // 100
    x = content.centerx - width // 2
    y = content.y + theme.px(40)
    ended = view.step in ("done", "failed")
    colour = {"done": palette.accent, "failed": palette.danger}.get(view.step)
    widgets: list[Widget] = [
        Label(
            kit,
            "step",
            (x, y, width, theme.px(110)),
            kit.t(f"enrol.{view.step}", slot=view.slot if view.slot is not None else "-"),
            "title",
            colour,
            align="center",
            max_lines=2,
        )
    ]
    if ended:
        detail = kit.t("enrol.done_detail", slot=view.slot) if view.step == "done" else view.error
    else:
        detail = kit.t("enrol.progress", n=STEPS.index(view.step) + 1, total=len(STEPS))
    widgets.append(
        Label(
            kit,
            "detail",
            (x, y + theme.px(120), width, theme.px(90)),
            detail,
            "body",
            palette.text_muted,
            align="center",
            max_lines=3,
        )
    )
    button_w = theme.touch(260)
    rect = (content.centerx - button_w // 2, y + theme.px(230), button_w, theme.touch(72))
    if ended:
        widgets.append(Button(kit, "back", rect, kit.t("enrol.back"), Back()))
    else:
        widgets.append(Button(kit, "cancel", rect, kit.t("nav.cancel"), Cancel(), style="secondary"))
    return [*widgets, *top]
