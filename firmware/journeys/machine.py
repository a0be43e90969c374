"""The one way every journey changes state: look the trigger up in the journey's table, refuse
what the table does not allow, log it, drop the old state's timer, and redraw. A journey's state
timer is set only through ``later`` (on the journey's clock), so a timer is never overwritten while
it runs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, TypeVar

log = logging.getLogger("firmware.journeys")
State = TypeVar("State", bound=Enum)


def transition(
    journey: Any, table: Mapping[State, Mapping[str, State]], trigger: str, refused: type[Exception], name: str
) -> State:
    """``journey`` has ``state``, ``_timer`` (a clock's TimerHandle or None) and ``on_change()``."""
    target = table[journey.state].get(trigger)
    if target is None:
        raise refused(f"{trigger!r} is not allowed in {name} state {journey.state.value}")
    log.info(f"{name} transition", extra={"from": journey.state.value, "trigger": trigger, "to": target.value})
    journey.state = target
    if journey._timer is not None:
        journey._timer.cancel()
        journey._timer = None
    journey.on_change()
    return target


def later(journey: Any, delay: float, callback: Callable[[], object]) -> None:
    """The journey's state timer: ``callback`` in ``delay`` seconds on ``journey.clock``, replacing (and
    cancelling) the one set before; the next transition cancels it."""
    if journey._timer is not None:
        journey._timer.cancel()
    journey._timer = journey.clock.call_later(delay, callback)
