"""Pieces the incremental readers share, so each idea is written once.

`StringReader` finds where a string literal ends, however the text is cut: the JSON scanner,
XML parameter values, pythonic literals and Harmony arguments all need to know that a marker
or a bracket inside a string is text. `StreamedText` keeps text both streamed and whole;
`ObjectArguments` is a body parser that writes the arguments JSON itself, member by member.
"""

from __future__ import annotations

import json
import re

from strictcall.formats.syntax import BodyParser

_STOPS = {'"': re.compile(r'["\\]'), "'": re.compile(r"['\\]")}


class StringReader:
    """Where a string literal (JSON's, or Python's in either quote) ends, incrementally.

    Only quotes and backslashes are searched for, so each character is looked at once.
    """

    def __init__(self) -> None:
        self.stop: re.Pattern[str] | None = None  # set while inside a string
        self.escape = False  # the last character read was a backslash

    @property
    def inside(self) -> bool:
        return self.stop is not None

    def open(self, quote: str = '"') -> None:
        """The opening `quote` was read."""
        self.stop = _STOPS[quote]
        self.escape = False

    def feed(self, text: str, pos: int) -> int:
        """Read on from text[pos:]: the position after the closing quote (then `inside` is
        False), or the end of `text`."""
        assert self.stop is not None
        n = len(text)
        while pos < n:
            if self.escape:
                self.escape = False
                pos += 1
                continue
            m = self.stop.search(text, pos)
            if m is None:
                return n
            pos = m.end()
            if m.group() == "\\":
                self.escape = True
            else:
                self.stop = None
                return pos
        return pos


class StreamedText:
    """Text that grows piece by piece and is wanted two ways: streamed (`take`: what came
    since the last take, for argument deltas) and whole (`text`, checked once at the end)."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.fresh: list[str] = []  # not yet handed out by take()

    def add(self, piece: str) -> None:
        if piece:
            self.pieces.append(piece)
            self.fresh.append(piece)

    def take(self) -> str:
        out = "".join(self.fresh)
        self.fresh.clear()
        return out

    def text(self) -> str:
        return "".join(self.pieces)

    def starts_with(self, prefix: str) -> bool:
        """Whether the text begins with `prefix` (one character: no join needed)."""
        return bool(self.pieces) and self.pieces[0].startswith(prefix)

    @property
    def empty(self) -> bool:
        return not self.pieces


class ObjectArguments(BodyParser):
    """A body parser whose arguments are not written as JSON (pythonic keyword arguments, XML
    parameters): it writes the JSON object itself, each member as soon as it is read."""

    def __init__(self) -> None:
        self.arguments = StreamedText()

    def _member(self, key: str, value: str = "") -> None:
        """A member's key, and its value (or the start of one streamed with `arguments.add`)."""
        sep = "{" if self.arguments.empty else ", "
        self.arguments.add(sep + json.dumps(key, ensure_ascii=False) + ": " + value)

    def _end_object(self) -> None:
        self.arguments.add("}" if not self.arguments.empty else "{}")

    def take_arguments(self) -> str:
        return self.arguments.take()

    def arguments_json(self) -> str:
        return self.arguments.text()
