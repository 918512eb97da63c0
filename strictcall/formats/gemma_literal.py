"""Reading Gemma 4's literal arguments as JSON text, as they arrive.

`{city:<|"|>Paris<|"|>,days:2,tags:[<|"|>a<|"|>],opts:{deep:true}}` becomes
`{"city": "Paris", "days": 2, "tags": ["a"], "opts": {"deep": true}}` (writing them:
grammar/gemma_literal.py). The reader is a small stack machine that writes the JSON itself,
piece by piece: a string streams as its characters come (only a delimiter cut off at the end
of a delta is held back), a key or a scalar once it ends. Each character is looked at once.

It reads what the template and the grammar write and what the family is known to write
besides: whitespace between pieces, keys between delimiters (`{<|"|>3<|"|>:..}`), `None`
and `True`/`False` (what Jinja prints for Python values), a trailing comma, a number ending
in `.`. Anything else is an error: the call then comes back as content.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from strictcall.formats.bodies import Arguments
from strictcall.formats.matching import partial_suffix
from strictcall.formats.pyliteral import json_chars
from strictcall.formats.reading import StreamedText
from strictcall.grammar.gemma_literal import QUOTE, gemma_arguments_lark, gemma_literal

# A bare key or scalar: up to the next piece of structure, whitespace or delimiter.
_WORD = re.compile(r"[^\s,:{}\[\]<]+")
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_TRAILING_DOT = re.compile(r"-?(0|[1-9][0-9]*)\.")
_WORDS = {
    "true": "true",
    "false": "false",
    "null": "null",
    "True": "true",
    "False": "false",
    "None": "null",
}


def scalar_json(word: str) -> str | None:
    """A bare scalar as JSON text (None: it is not one)."""
    if word in _WORDS:
        return _WORDS[word]
    if _NUMBER.fullmatch(word):
        return word
    if _TRAILING_DOT.fullmatch(word):
        return word + "0"
    return None


class GemmaArgumentsReader:
    """One arguments object, `{...}`, turned into JSON text (`take` streams it, `text` is
    all of it). The interface of bodies.JsonValueScanner, which reads JSON arguments."""

    def __init__(self) -> None:
        self.out = StreamedText()
        self.stack: list[str] = []  # "{" or "[" for each open container
        self.counts: list[int] = []  # members written in each
        self.expect = "open"  # open | key | colon | value | comma
        self.string: str | None = None  # inside a delimited string: "key" or "value"
        self.word: list[str] | None = None  # a bare key or scalar being read
        self.key: list[str] = []  # a delimited key, written once it ends
        self.started = False
        self.done = False
        self.error: str | None = None

    def take(self) -> str:
        return self.out.take()

    def text(self) -> str:
        return self.out.text()

    def feed(self, text: str, pos: int) -> int:
        n = len(text)
        while pos < n and not self.done and self.error is None:
            if self.string is not None:
                pos = self._in_string(text, pos)
                if self.string is not None:
                    break  # the rest is a delimiter cut off: wait for more
                continue
            if self.word is not None:
                m = _WORD.match(text, pos)
                if m:
                    self.word.append(m.group())
                    pos = m.end()
                    continue
                self._end_word()
                continue
            ch = text[pos]
            if ch.isspace():
                pos += 1
            elif ch == "<":
                if text.startswith(QUOTE, pos):
                    self._open_string()
                    pos += len(QUOTE)
                elif QUOTE.startswith(text[pos : pos + len(QUOTE)]) and n - pos < len(QUOTE):
                    break  # may be a delimiter: wait
                else:
                    self.error = "unexpected '<' in a tool call"
            else:
                self._step(ch)
                pos += 1
        return pos

    # ---- pieces ---------------------------------------------------------------------------
    def _in_string(self, text: str, pos: int) -> int:
        end = text.find(QUOTE, pos)
        stop = end if end >= 0 else len(text) - partial_suffix(text[-len(QUOTE) :], [QUOTE])
        stop = max(stop, pos)
        piece = text[pos:stop]
        if self.string == "key":
            self.key.append(piece)
        else:
            self.out.add(json_chars(piece))
        if end < 0:
            return stop
        if self.string == "key":
            self._write_key("".join(self.key))
        else:
            self.out.add('"')
            self._after_value()
        self.string = None
        return end + len(QUOTE)

    def _open_string(self) -> None:
        if self.expect == "key":
            self.string, self.key = "key", []
        elif self.expect == "value":
            self._begin_value()
            self.string = "value"
            self.out.add('"')
        else:
            self.error = "a string where it cannot be"

    def _step(self, ch: str) -> None:
        """One character of structure, or the first of a word."""
        expect, top = self.expect, self.stack[-1] if self.stack else ""
        closer = "}" if top == "{" else "]"
        # where a container may close: after a member, or where the next would begin (it is
        # empty, or a trailing comma was written)
        closes = ("comma", "key" if top == "{" else "value")
        if expect == "open":
            if ch == "{":
                self.started = True
                self._push("{")
            else:
                self.error = "the arguments are not an object"
        elif top and ch == closer and expect in closes:
            self._pop()
        elif expect == "colon" and ch == ":":
            self.expect = "value"
        elif expect == "comma" and ch == ",":
            self.expect = "key" if top == "{" else "value"
        elif expect == "value" and ch in "{[":
            self._begin_value()
            self._push(ch)
        elif expect in ("key", "value") and _WORD.match(ch):
            self.word = [ch]
        else:
            self.error = f"unexpected {ch!r} in a tool call"

    def _end_word(self) -> None:
        word, self.word = "".join(self.word or ()), None
        if self.expect == "key":
            self._write_key(word)
            return
        value = scalar_json(word)
        if value is None:
            self.error = f"{word[:40]!r} is not a value"
            return
        self._begin_value()
        self.out.add(value)
        self._after_value()

    def _write_key(self, key: str) -> None:
        sep = ", " if self.counts[-1] else ""
        self.counts[-1] += 1
        self.out.add(sep + json.dumps(key, ensure_ascii=False) + ": ")
        self.expect = "colon"

    def _begin_value(self) -> None:
        """A value starts: in a list, after a separator when it is not the first."""
        if self.stack[-1] == "[":
            if self.counts[-1]:
                self.out.add(", ")
            self.counts[-1] += 1

    def _after_value(self) -> None:
        self.expect = "comma"

    def _push(self, opening: str) -> None:
        self.stack.append(opening)
        self.counts.append(0)
        self.out.add(opening)
        self.expect = "key" if opening == "{" else "value"

    def _pop(self) -> None:
        opening = self.stack.pop()
        self.counts.pop()
        self.out.add("}" if opening == "{" else "]")
        if self.stack:
            self._after_value()
        else:
            self.done = True


@dataclass(frozen=True)
class GemmaArguments(Arguments):
    """A `NamedJsonBody`'s arguments in Gemma 4's literal syntax."""

    def reader(self) -> GemmaArgumentsReader:  # type: ignore[override]
        return GemmaArgumentsReader()

    def lark(
        self, rule: str, schema: dict, special_tokens: Mapping[str, int]
    ) -> list[tuple[str, str]]:
        return gemma_arguments_lark(rule, schema, special_tokens)

    def render(self, arguments: str) -> str:
        return gemma_literal(json.loads(arguments))

    def markers(self) -> tuple[str, ...]:
        return (QUOTE,)


GEMMA_ARGUMENTS = GemmaArguments()
