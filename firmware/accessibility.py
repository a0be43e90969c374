"""Accessibility mode for one shopper's session: on from the tap on its button until the session ends.

The session ends when the screen goes back to the attract loop (a journey finished or was left; closing
the help overlay is not an ending) or when the idle timeout fires. Turning the mode on records an
optional ``accessibility.used`` event (the screen it was turned on from; nothing about the person).
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware.optional_events import append_optional
from sync_client.outbox import Outbox

SESSION_START = "attract"  # the screen where every shopper's session starts and ends
OVERLAYS = frozenset({"help"})  # closing one goes back to the screen under it: the session goes on


@dataclass
class AccessibilitySession:
    outbox: Outbox
    on: bool = False
    _shown: str = SESSION_START  # the screen id last shown

    def toggle(self) -> None:
        """The accessibility button, tapped on the screen shown."""
        self.on = not self.on
        if self.on:
            append_optional(self.outbox, "accessibility.used", {"screen": self._shown})

    def end(self) -> None:
        """The shopper's session is over (the idle timeout): the next one starts in the normal mode."""
        self.on = False

    def showing(self, screen: str) -> bool:
        """The screen about to be shown; whether the mode is on for it (back to attract ends the session)."""
        if screen == SESSION_START and self._shown != SESSION_START and self._shown not in OVERLAYS:
            self.on = False
        self._shown = screen
        return self.on
