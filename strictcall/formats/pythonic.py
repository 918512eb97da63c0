"""Pythonic calls: a Python list of calls that makes up the whole answer.

`[get_weather(city="SF"), book(n=2, flexible=True)]` (Llama 3.2, ToolACE), and Llama 4's
`<|python_start|>[...]<|python_end|>`. Arguments are keyword arguments with Python literal
values; clients receive them as JSON. The list only counts at the start of the output: a `[`
later in an answer is just text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from strictcall.formats.base import Format
from strictcall.formats.pyliteral import StringStream, literal_json
from strictcall.formats.reading import ObjectArguments, StringReader
from strictcall.formats.syntax import Body, BodyParser, CallSyntax
from strictcall.grammar.lark import literal
from strictcall.grammar.python_literal import PythonLiteralRules, python_literal

_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_OUTSIDE = re.compile(r"""[\[\](){}'",]""")


class _LiteralScanner:
    """Finds where one Python literal ends (a `,` or `)` outside brackets and strings)."""

    def __init__(self) -> None:
        self.depth = 0
        self.string = StringReader()
        self.chunks: list[str] = []
        self.done = False
        self.error: str | None = None

    def feed(self, text: str, pos: int) -> int:
        start, n = pos, len(text)
        while pos < n:
            if self.string.inside:
                pos = self.string.feed(text, pos)
                continue
            m = _OUTSIDE.search(text, pos)
            if m is None:
                pos = n
                break
            ch, i = m.group(), m.start()
            if ch in "'\"":
                self.string.open(ch)
            elif ch in "[({":
                self.depth += 1
            elif ch == "," and self.depth == 0:
                pos, self.done = i, True
                break
            elif ch in "])}":
                if self.depth == 0:
                    pos = i
                    if ch == ")":
                        self.done = True
                    else:
                        self.error = f"unexpected {ch!r}"
                    break
                self.depth -= 1
            pos = i + 1
        self.chunks.append(text[start:pos])
        return pos

    def text(self) -> str:
        return "".join(self.chunks)


class _PythonCallParser(ObjectArguments):
    """`name(key=literal, ...)`; arguments come out as JSON, one argument at a time."""

    def __init__(self) -> None:
        super().__init__()
        self.name = None
        self.done = False
        self.error = None
        self.stage = "name"  # name | open | key | equals | value | next
        self.chunks: list[str] = []  # name or key characters so far
        self.key = ""
        self.value: _LiteralScanner | None = None
        self.string: StringStream | None = None  # a string value streamed as it comes
        self.fresh = False  # the value's first character is still to come

    def feed(self, text: str, pos: int) -> int:
        n = len(text)
        while pos < n and not self.done and self.error is None:
            if self.stage == "value":
                before = pos
                pos = self._feed_value(text, pos)
                if pos == before and self.stage == "value" and self.error is None:
                    break  # an opening quote may start a triple-quoted string: wait
                continue
            reading = self.stage in ("name", "key")
            if reading:
                m = _NAME.match(text, pos)
                if m:
                    self.chunks.append(m.group())
                    pos = m.end()
                    continue
            ch = text[pos]
            pos += 1
            if not (ch.isspace() and not (reading and self.chunks)):
                self._step(ch)
        return pos

    def _step(self, ch: str) -> None:
        """One character after a name, a key or a value (whitespace only ends a word)."""
        stage, word = self.stage, "".join(self.chunks)
        if stage == "name" and word:
            self.name, self.chunks, self.stage = word, [], "open"
            if ch.isspace():
                return
            stage = "open"
        if stage == "open" and ch == "(":
            self.stage = "key"
        elif stage == "key" and not word and ch == ")":
            self._finish()  # no arguments, or a trailing comma
        elif ((stage == "key" and word) or stage == "equals") and ch == "=":
            self.key, self.chunks = self.key if stage == "equals" else word, []
            self.stage = "value"
            self.value = _LiteralScanner()
            self.fresh = True
        elif stage == "key" and word and ch.isspace():
            self.key, self.chunks, self.stage = word, [], "equals"
        elif stage == "next" and ch in ",)":
            if ch == ",":
                self.stage = "key"
            else:
                self._finish()
        else:
            self.error = f"unexpected {ch!r} in a pythonic call"

    def _feed_value(self, text: str, pos: int) -> int:
        if self.fresh:
            pos = self._open_value(text, pos)
            if self.fresh:
                return pos
        if self.string is not None:
            return self._feed_string(text, pos)
        scanner = self.value
        assert scanner is not None
        pos = scanner.feed(text, pos)
        if scanner.error:
            self.error = scanner.error
        elif scanner.done:
            try:
                value = literal_json(scanner.text())
            except ValueError as exc:
                self.error = str(exc)
                return pos
            self._member(self.key, value)
            self.value = None
            self.stage = "next"
        return pos

    def _open_value(self, text: str, pos: int) -> int:
        """A value that is a one-line string literal streams as it comes (triple-quoted and
        prefixed strings, like every other literal, are read whole)."""
        n = len(text)
        while pos < n and text[pos].isspace():
            pos += 1
        if pos == n:
            return pos
        quote = text[pos]
        if quote in "'\"":
            # a quote held alone, or two, may still open a triple-quoted string
            if n - pos < 2 or (text[pos + 1] == quote and n - pos < 3):
                return pos
            if text[pos + 1] != quote or text[pos + 2] != quote:
                self.string = StringStream(quote)
                self._member(self.key, '"')
                pos += 1
        self.fresh = False
        return pos

    def _feed_string(self, text: str, pos: int) -> int:
        string = self.string
        assert string is not None
        pos, out = string.feed(text, pos)
        self.arguments.add(out)
        if string.error:
            self.error = string.error
        elif string.done:
            self.arguments.add('"')
            self.string = self.value = None
            self.stage = "next"
        return pos

    def _finish(self) -> None:
        self._end_object()
        self.done = True


@dataclass(frozen=True)
class PythonCallBody(Body):
    """`name(key=value, ...)` with Python literal values."""

    def starts(self, ch: str) -> bool:
        """A call begins with its name: a list of strings (or other values) is an answer."""
        return _NAME.match(ch) is not None

    def lark(self, name: str, args_rule: str, special_tokens: dict[str, int]) -> str:
        return f"{literal(name + '(')} {args_rule} {literal(')')}"

    def arguments_lark(
        self, rule: str, schema: dict, special_tokens: Mapping[str, int] | None = None
    ) -> list[tuple[str, str]]:
        return PythonLiteralRules(rule, schema).keyword_arguments(rule)

    def parser(self) -> BodyParser:
        return _PythonCallParser()

    def render(self, name: str, arguments: str) -> str:
        args = json.loads(arguments)
        return name + "(" + ", ".join(f"{k}={python_literal(v)}" for k, v in args.items()) + ")"


def _list(opening: str, trailer: str = "", trigger_marker: str = "") -> CallSyntax:
    return CallSyntax(
        section_start=opening,
        separator=", ",
        section_end="]",
        trailer=trailer,
        trigger_marker=trigger_marker,
        body=PythonCallBody(),
        at_start=True,
    )


PYTHONIC = Format(
    name="pythonic",
    description="[f(a=1), g(b='x')] at the start of the answer (Llama 3.2, ToolACE)",
    syntax=_list("["),
)

# Llama 4 writes the list between <|python_start|> and <|python_end|>, and now and then a bare
# list, or no <|python_end|>: the grammar writes the markers, the parser reads all of these.
_PYTHON_END = "<|python_end|>"
LLAMA4_PYTHONIC = Format(
    name="llama4_pythonic",
    description="<|python_start|>[f(a=1)]<|python_end|> (Llama 4)",
    syntax=_list("<|python_start|>[", _PYTHON_END, trigger_marker="<|python_start|>"),
    variants=(_list("[", _PYTHON_END),),
)
