"""Terminal output for the technician commands: colour and a progress bar,
both only on a terminal, so piped output and exported files stay plain text."""

from __future__ import annotations

import os
from typing import TextIO

from sync_client.progress import Progress

_COLOURS = {"ok": "32", "warn": "33", "FAIL": "31;1", "dim": "2", "bold": "1"}


def use_colour(stream: TextIO) -> bool:
    """Colour on a terminal unless NO_COLOR is set to anything non-empty (no-color.org)."""
    return bool(stream.isatty()) and not os.environ.get("NO_COLOR")


def paint(text: str, style: str, colour: bool) -> str:
    """``text`` in the colour of ``style`` (ok, warn, FAIL, dim, bold) when ``colour`` is on."""
    if not colour or style not in _COLOURS:
        return text
    return f"\033[{_COLOURS[style]}m{text}\033[0m"


class ProgressBar:
    """``[#####-----] 3/6 journal``, redrawn in place on a terminal; silent elsewhere."""

    def __init__(self, total: int, stream: TextIO, width: int = 24) -> None:
        if total <= 0:
            raise ValueError(f"a progress bar needs at least one step, got {total}")
        self.total = total
        self.stream = stream
        self.width = width
        self.done = 0
        self.enabled = bool(stream.isatty())

    def step(self, label: str) -> None:
        """Show that the step named ``label`` is starting."""
        self.show(Progress(label, self.done, self.total))
        self.done = min(self.done + 1, self.total)

    def show(self, progress: Progress) -> None:
        """Draw ``progress`` (a ProgressSink): steps or bytes, as an operation reports them."""
        if not self.enabled:
            return
        filled = int(self.width * progress.fraction)
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r\033[K[{bar}] {progress.text}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()
