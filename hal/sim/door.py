"""A simulated cabinet door wired to gpiozero mock pins.

The relay's mock output pin holds a solenoid latch: the door can be pulled
open only while the relay is energized (or forced, for alarm tests). The door
drives the reed switch's mock input pin exactly as the magnet would.
"""

from __future__ import annotations

from typing import Any

from gpiozero.pins.mock import MockFactory, MockPin


class RecentStatesPin(MockPin):  # type: ignore[misc]  # gpiozero is untyped
    """A mock pin that keeps its latest ``KEEP`` changes (gpiozero's keeps every one: a simulated cabinet grew
    by each sale's relay and door changes, all day long), and how long the ones let go of lasted, so offsets
    stay counted from the pin's creation. The first state, the pin's undriven level, is always kept."""

    KEEP = 1000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.dropped_s = 0.0  # the let-go changes' durations, in seconds
        super().__init__(*args, **kwargs)

    def _change_state(self, value: bool) -> bool:
        changed = bool(super()._change_state(value))
        while len(self.states) > self.KEEP + 1:
            self.dropped_s += self.states.pop(1).timestamp
        return changed

    def clear_states(self) -> None:
        self.dropped_s = 0.0
        super().clear_states()


class DoorLocked(Exception):
    """The shopper pulled the handle but the latch held."""


class MockDoor:
    def __init__(self, factory: MockFactory, *, relay_pin: int, relay_active_high: bool, door_pin: int) -> None:
        self.relay: MockPin = factory.pin(relay_pin)
        self.reed: MockPin = factory.pin(door_pin)
        self._active_level = relay_active_high
        self.reed.drive_low()  # closed: the reed switch pulls the input to ground

    @property
    def latch_released(self) -> bool:
        return bool(self.relay.state == self._active_level)  # gpiozero is untyped

    @property
    def is_open(self) -> bool:
        return bool(self.reed.state)

    def open(self) -> None:
        if not self.is_open and not self.latch_released:
            raise DoorLocked("the door is locked")
        self.reed.drive_high()

    def force_open(self) -> None:
        self.reed.drive_high()

    def close(self) -> None:
        self.reed.drive_low()

    def relay_history(self) -> list[dict[str, Any]]:
        """The relay pin's driven states with offsets (s) since the pin was created.

        The mock records the pin's undriven initial level first; that is not something the
        relay did, so it is left out.
        """
        history, t = [], getattr(self.relay, "dropped_s", 0.0)
        for state in self.relay.states[1:]:
            t += state.timestamp
            history.append({"t": round(t, 6), "energized": state.state == self._active_level})
        return history
