"""A plain-text progress bar on stderr: redrawn in place on a terminal, a line per tenth
otherwise (CI logs, pipes), so a long run shows it is alive without a dependency."""

from __future__ import annotations

import sys
import time
from typing import TextIO

_WIDTH = 30


class Progress:
    def __init__(self, total: int, stream: TextIO | None = None, label: str = "bfcl"):
        self.total = max(total, 0)
        self.done = 0
        self.wrong = 0
        self.errors = 0
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.start = time.monotonic()
        self._last_tenth = -1

    def advance(self, correct: bool, error: bool) -> None:
        self.done += 1
        self.wrong += not correct
        self.errors += error
        tenth = self.done * 10 // self.total if self.total else 10
        if self.tty:
            self._draw("\r")
        elif tenth != self._last_tenth or self.done == self.total:
            self._last_tenth = tenth
            self._draw("")
            self.stream.write("\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self, prefix: str) -> None:
        filled = _WIDTH * self.done // self.total if self.total else _WIDTH
        bar = "#" * filled + "." * (_WIDTH - filled)
        elapsed = time.monotonic() - self.start
        self.stream.write(
            f"{prefix}{self.label} [{bar}] {self.done}/{self.total} "
            f"right {self.done - self.wrong}, errors {self.errors}, {elapsed:.0f}s"
        )
