"""Help: an overlay over the shopper's screen, left with back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kiosk_ui.intents import Back, Intent, OpenHelp
from kiosk_ui.view import Chrome, HelpScreen, View


@dataclass
class HelpPresenter:
    may_open: Callable[[], bool]  # over the screens that offer help
    support_phone: str
    support_url: str
    on_change: Callable[[], None]
    shown: bool = False
    name: str = "help"

    def active(self) -> bool:
        return self.shown

    def handles(self, intent: Intent) -> bool:
        return isinstance(intent, Back)

    def opens(self, intent: Intent) -> bool:
        return isinstance(intent, OpenHelp) and self.may_open()

    def handle(self, intent: Intent) -> None:
        self.shown = isinstance(intent, OpenHelp)
        self.on_change()

    def view(self, chrome: Chrome) -> View:
        return HelpScreen(chrome=chrome, support_phone=self.support_phone, support_url=self.support_url)
