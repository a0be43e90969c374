"""Drag with inertia: a finger moves a value, letting go leaves it coasting to a stop.

One ``Glide`` holds a position (pixels along a carousel, degrees of a turntable)
that follows the finger while dragged and afterwards decays its release
velocity exponentially, optionally coming to rest on a multiple of ``snap``.
Times are time.monotonic() seconds passed in, so tests and benches control them.
"""

from __future__ import annotations

import math
from collections import deque

FRICTION = 4.0  # 1/s: the release velocity falls to 1/e in 0.25 s
REST_SPEED = 12.0  # units/s below which a free glide stops
SNAP_RATE = 14.0  # 1/s: how briskly a snapping glide settles on its target
VELOCITY_WINDOW = 0.1  # s of recent finger samples that make the release velocity


class Glide:
    def __init__(
        self, position: float = 0.0, *, low: float | None = None, high: float | None = None, snap: float | None = None
    ) -> None:
        self.position = position
        self.low, self.high, self.snap = low, high, snap
        self.velocity = 0.0
        self.dragging = False
        self._samples: deque[tuple[float, float]] = deque()  # (time, finger coordinate)
        self._grab = 0.0  # position minus finger coordinate while dragged
        self._target: float | None = None
        self._updated = 0.0

    def set_bounds(self, low: float | None, high: float | None, snap: float | None) -> None:
        self.low, self.high, self.snap = low, high, snap
        self.position = self._clamp(self.position)

    @property
    def moving(self) -> bool:
        return self.dragging or self.velocity != 0.0 or self._target is not None

    def grab(self, finger: float, now: float) -> None:
        self.dragging, self.velocity, self._target = True, 0.0, None
        self._grab = self.position - finger
        self._samples.clear()
        self._samples.append((now, finger))

    def drag(self, finger: float, now: float) -> None:
        if not self.dragging:
            return
        self.position = self._rubber(self._grab + finger)
        self._samples.append((now, finger))
        while len(self._samples) > 2 and now - self._samples[0][0] > VELOCITY_WINDOW:
            self._samples.popleft()

    def release(self, finger: float, now: float) -> None:
        if not self.dragging:
            return
        self.drag(finger, now)
        self.dragging = False
        (t0, f0), (t1, f1) = self._samples[0], self._samples[-1]
        self.velocity = (f1 - f0) / (t1 - t0) if t1 - t0 > 1e-3 else 0.0
        self._updated = now
        if self.snap:
            # Aim where the coast would end, on the nearest snap point, so a flick moves by whole items.
            coast = self.position + self.velocity / FRICTION
            self._target = self._clamp(round(coast / self.snap) * self.snap)
            self.velocity = 0.0
        elif self.low is not None or self.high is not None:
            self.position = self._clamp(self.position)

    def nudge(self, amount: float, now: float) -> None:
        """Move by amount (e.g. one item for an arrow button), animated."""
        base = self._target if self._target is not None else self.position
        self._target = self._clamp(base + amount)
        self.velocity, self._updated = 0.0, now

    def step(self, now: float) -> bool:
        """Advance the coast to now; True while the position still changes."""
        if self.dragging:
            return True
        dt = max(0.0, min(0.1, now - self._updated))  # a stalled loop must not teleport the glide
        self._updated = now
        if self._target is not None:
            self.position += (self._target - self.position) * (1 - math.exp(-SNAP_RATE * dt))
            if abs(self._target - self.position) < 0.5:
                self.position, self._target = self._target, None
            return True
        if self.velocity:
            self.position += self.velocity * dt
            self.velocity *= math.exp(-FRICTION * dt)
            clamped = self._clamp(self.position)
            if clamped != self.position or abs(self.velocity) < REST_SPEED:
                self.position, self.velocity = clamped, 0.0
            return True
        return False

    def _clamp(self, value: float) -> float:
        if self.low is not None:
            value = max(self.low, value)
        if self.high is not None:
            value = min(self.high, value)
        return value

    def _rubber(self, value: float) -> float:
        """Past an end the finger still moves the strip, a third as far (an edge you can feel)."""
        clamped = self._clamp(value)
        return clamped + (value - clamped) / 3
