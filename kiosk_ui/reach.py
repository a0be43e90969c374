"""The reach zone: the rows of the touchscreen a person in a wheelchair can reach, from how it is mounted.

No pygame here: the configuration checks a mounting with it before any screen exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# The reach range of a person in a wheelchair, forward or side, unobstructed (ADA 2010 308.2.1, 308.3.1;
# EN 301 549 V3.2.1 8.3.2.1, 8.3.2.2, 8.3.3.1, 8.3.3.2), in mm above the floor.
REACH_LOW_MM, REACH_HIGH_MM = 380.0, 1220.0
# Accessibility mode needs this much of the screen's height within reach to lay its controls out there;
# the configuration refuses a mounting that gives less.
MIN_REACH_FRACTION = 0.75


@dataclass(frozen=True)
class Mounting:
    """Where the touchscreen is in the cabinet: its bottom edge above the floor and its visible height.

    The defaults: the 10.1" 1024x600 panel of hardware/README.md (active area about 223 x 125 mm) with
    its bottom edge 1100 mm above the floor (an assumption: the cabinet's drawings give no height)."""

    bottom_mm: float = 1100.0
    height_mm: float = 125.0

    def reach_rows(self, height_px: int) -> tuple[int, int]:
        """The screen rows (top, bottom; bottom exclusive) between REACH_LOW_MM and REACH_HIGH_MM."""
        px_per_mm = height_px / self.height_mm
        top_mm = self.bottom_mm + self.height_mm
        top = max(0, min(height_px, math.ceil((top_mm - REACH_HIGH_MM) * px_per_mm)))
        bottom = max(0, min(height_px, math.floor(height_px - (REACH_LOW_MM - self.bottom_mm) * px_per_mm)))
        return top, max(top, bottom)

    def problem(self) -> str | None:
        """Why accessibility mode could not place its controls within reach on this mounting, or None."""
        top, bottom = self.reach_rows(1000)
        if (bottom - top) / 1000 >= MIN_REACH_FRACTION:
            return None
        return (
            f"only {(bottom - top) / 10:.0f}% of the screen's height lies {REACH_LOW_MM:.0f}-{REACH_HIGH_MM:.0f} mm "
            f"above the floor (wheelchair reach); accessibility mode needs {MIN_REACH_FRACTION:.0%}: mount the screen "
            "lower (or higher, if its bottom edge is below the low reach)"
        )


DEFAULT_MOUNTING = Mounting()
