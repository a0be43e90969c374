"""Journeys as presenters: each says which intents it handles now, handles them, and gives its screen's view.

The cabinet keeps them in one priority order (``Router``). An intent goes to the first *active* presenter
that handles it; one that none takes may open a journey that is not active yet (``opens``), and nothing
else ever reaches a journey that is not active. The screen is the view of the first active presenter.
Adding a journey: its presenter's file, its screen, and one line in the cabinet's list.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kiosk_ui.intents import Intent
from kiosk_ui.view import Chrome, ProductView, View

log = logging.getLogger(__name__)
# Runs a coroutine as one of the cabinet's tasks, named (its failure is the fault "task:<name>").
Spawn = Callable[[Coroutine[Any, Any, None], str], None]
Check = Callable[[Awaitable[object]], Coroutine[Any, Any, None]]  # a PIN or code check; a stale one only logged


class Presenter(Protocol):
    name: str  # for logs and tests: "sale", "pickup", ...

    def active(self) -> bool:
        """The journey is under way: it gives the screen (when first) and is offered intents."""
        ...

    def handles(self, intent: Intent) -> bool:
        """While active: whether the intent means something to the journey now."""
        ...

    def opens(self, intent: Intent) -> bool:
        """While not active: whether the intent starts the journey now."""
        ...

    def handle(self, intent: Intent) -> None:
        """Act on an intent that handles() or opens() accepted; a stale one raises the journey's refusal."""
        ...

    def view(self, chrome: Chrome) -> View: ...


class Passive:
    """For presenters that no intent opens (entered by a card, a PIN handed over, a cloud command)."""

    def opens(self, intent: Intent) -> bool:
        return False


@dataclass
class Router:
    presenters: Sequence[Presenter]  # highest priority first

    def __post_init__(self) -> None:
        names = [p.name for p in self.presenters]
        if len(set(names)) != len(names):
            raise ValueError(f"presenters named twice: {names}")

    def route(self, intent: Intent) -> Presenter | None:
        """The presenter that takes intent, after it acted on it; None when none takes it (a stale tap)."""
        taker = next((p for p in self.presenters if p.active() and p.handles(intent)), None)
        if taker is None:
            taker = next((p for p in self.presenters if not p.active() and p.opens(intent)), None)
        if taker is not None:
            taker.handle(intent)
        return taker

    def current(self) -> Presenter:
        """The first active presenter: its screen is shown."""
        for presenter in self.presenters:
            if presenter.active():
                return presenter
        raise LookupError("no presenter is active: the list needs one that always is (browse)")

    def view(self, chrome: Chrome) -> View:
        return self.current().view(chrome)

    def view_under(self, top: Presenter, chrome: Chrome) -> View:
        """The screen the first active presenter other than top would show (what lies under an overlay)."""
        for presenter in self.presenters:
            if presenter is not top and presenter.active():
                return presenter.view(chrome)
        raise LookupError("no presenter is active under the overlay")


@dataclass
class Shop:
    """What several screens show, as the cabinet knows it now."""

    product: Callable[[str], ProductView | None]  # a product of the catalog as the screens show it
    products: Callable[[], tuple[ProductView, ...]]
    spawn: Spawn
