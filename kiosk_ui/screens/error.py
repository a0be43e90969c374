"""Error: the safe page the UI shows when it cannot render the view it was given.

The journey behind it goes on (the firmware is told, as a fault); the next view that renders replaces it.
"""

from __future__ import annotations

from kiosk_ui.context import BuildContext
from kiosk_ui.kit import Kit
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.view import ErrorScreen
from kiosk_ui.widgets import Label, Widget


def build(view: ErrorScreen, kit: Kit, context: BuildContext) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    top, content = chrome(view.chrome, kit, home=True, help_button=True)
    title_h, subtitle_h = theme.px(70), theme.px(100)
    y = content.y + (content.h - title_h - subtitle_h) // 2
    return [
        Label(kit, "title", (content.x, y, content.w, title_h), kit.t("error.title"), "display", align="center"),
        Label(
            kit,
            "subtitle",
            (content.x, y + title_h, content.w, subtitle_h),
            kit.t("error.subtitle"),
            "body",
            palette.text_muted,
            align="center",
            max_lines=3,
        ),
        *top,
    ]
