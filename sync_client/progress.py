"""How far a long operation has come, told to whoever shows it.

One record for every long operation: the lock board's flashing and a log export (steps), an update's
download (bytes). The operation calls a ProgressSink with a Progress at each step or chunk; the CLI draws it
as a bar (firmware/technician/term.py), a screen shows ``text`` and ``fraction``. Here in sync_client, the
lowest layer, so that the downloads made here and the operations in firmware use the same record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Unit = Literal["steps", "bytes"]


@dataclass(frozen=True)
class Progress:
    step: str  # what is being done now: "copying controller.py", "journal", "download"
    done: int  # units finished before this step
    total: int  # units in all; at least 1
    unit: Unit = "steps"

    def __post_init__(self) -> None:
        if self.total < 1 or not 0 <= self.done <= self.total:
            raise ValueError(f"progress {self.done}/{self.total} of {self.step!r}: expected 0 <= done <= total >= 1")

    @property
    def fraction(self) -> float:
        return self.done / self.total

    @property
    def text(self) -> str:
        """``3/6 journal``, ``1.5/4.0 MB download``."""
        if self.unit == "bytes":
            return f"{self.done / 1e6:.1f}/{self.total / 1e6:.1f} MB {self.step}"
        return f"{self.done}/{self.total} {self.step}"


ProgressSink = Callable[[Progress], None]
