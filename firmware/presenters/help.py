"""Help: an overlay over the shopper's screen, opened from any of them and left with back.

It knows where the shopper came from (the screen under it, ``context``): its tip is for that screen, back
returns there, and when what is under it moves on by itself (a payment approved: the door; declined: the
product; the door opened) the overlay steps aside so the shopper sees what happened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kiosk_ui.intents import Back, Intent, OpenHelp
from kiosk_ui.view import Chrome, HelpScreen, View


@dataclass
class HelpPresenter:
    may_open: Callable[[], bool]  # over the shopper's screens (not the staff's)
    support_phone: str
    support_url: str
    on_change: Callable[[], None]
    # What the journeys under help show now: (screen id, its moment: the door's state on a door screen).
    under: Callable[[], tuple[str, str]] = lambda: ("", "")
    shown: bool = False
    opened_over: tuple[str, str] = ("", "")  # what help was opened over
    name: str = "help"

    def active(self) -> bool:
        if self.shown and self.under() != self.opened_over:
            self.shown = False  # what was under it moved on: show that
        return self.shown

    def handles(self, intent: Intent) -> bool:
        return isinstance(intent, Back)

    def opens(self, intent: Intent) -> bool:
        return isinstance(intent, OpenHelp) and self.may_open()

    def handle(self, intent: Intent) -> None:
        if isinstance(intent, OpenHelp):
            self.opened_over = self.under()
        self.shown = isinstance(intent, OpenHelp)
        self.on_change()

    def close(self) -> None:
        self.shown = False

    def view(self, chrome: Chrome) -> View:
        return HelpScreen(
            chrome=chrome, support_phone=self.support_phone, support_url=self.support_url, context=self.opened_over[0]
        )
