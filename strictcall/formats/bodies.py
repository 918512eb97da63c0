"""Call bodies shared by several families.

`JsonObjectBody` is `{"name": ..., "arguments": {...}}` (Hermes, Mistral v1, Llama 3, Granite,
InternLM, ...). `NamedJsonBody` is a bare name followed by the arguments object, with optional
markers around the name (Mistral v2/v3, DeepSeek).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from strictcall.formats.syntax import Body, BodyParser
from strictcall.grammar.lark import literal, text_rule

_STRING_STOP = re.compile(r'["\\]')
_NAME_CHARS = re.compile(r"[A-Za-z0-9_.\-]+")


class JsonValueScanner:
    """Finds where one JSON value ends, incrementally, and records the text it spans.

    It tracks only nesting and strings; `json.loads` checks the finished text once.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.in_string = False
        self.escape = False
        self.scalar = False
        self.started = False
        self.done = False
        self.error: str | None = None
        self.chunks: list[str] = []
        self.fresh: list[str] = []  # text not yet handed out by take()

    def feed(self, text: str, pos: int) -> int:
        start = pos
        n = len(text)
        while pos < n and not self.done:
            if self.in_string:
                if self.escape:
                    self.escape = False
                    pos += 1
                    continue
                m = _STRING_STOP.search(text, pos)
                if m is None:
                    pos = n
                    break
                pos = m.end()
                if m.group() == "\\":
                    self.escape = True
                else:
                    self.in_string = False
                    if self.depth == 0:
                        self.done = True
                continue
            ch = text[pos]
            if not self.started:
                if ch.isspace():
                    pos += 1
                    start = pos
                    continue
                self.started = True
            if self.scalar:
                if ch in ",}]" or ch.isspace():
                    self.done = True
                    break
                pos += 1
                continue
            if ch == '"':
                self.in_string = True
            elif ch in "{[":
                self.depth += 1
            elif ch in "}]":
                self.depth -= 1
                if self.depth < 0:
                    self.error = f"unexpected {ch!r}"
                    break
                if self.depth == 0:
                    self.done = True
            elif self.depth == 0 and not ch.isspace():
                self.scalar = True
            pos += 1
        piece = text[start:pos]
        if piece:
            self.chunks.append(piece)
            self.fresh.append(piece)
        return pos

    def close(self) -> None:
        if self.scalar:
            self.done = True

    def text(self) -> str:
        return "".join(self.chunks)

    def take(self) -> str:
        out = "".join(self.fresh)
        self.fresh.clear()
        return out


class _JsonObjectParser(BodyParser):
    """`{"name": "f", "arguments": {...}}` with keys in any order."""

    def __init__(self, name_key: str, args_keys: tuple[str, ...]):
        self.name_key = name_key
        self.args_keys = args_keys
        self.name = None
        self.done = False
        self.error = None
        self.expect = "open"  # open | key | colon | value | comma
        self.scanner: JsonValueScanner | None = None  # the key or value being read
        self.reading_key = False
        self.key: object = None
        self.args: JsonValueScanner | None = None
        self.gave_empty = False
        self.text: list[str] = []

    def feed(self, text: str, pos: int) -> int:
        n = len(text)
        while pos < n and not self.done and self.error is None:
            if self.scanner is not None:
                new = self.scanner.feed(text, pos)
                self.text.append(text[pos:new])
                pos = new
                if self.scanner.error:
                    self.error = self.scanner.error
                elif self.scanner.done:
                    self._end_scanner()
                continue
            ch = text[pos]
            if ch.isspace():
                if self.expect != "open":
                    self.text.append(ch)
                pos += 1
                continue
            if self.expect == "key" and ch == '"':
                self._start_scanner(key=True)
                continue
            if self.expect == "value":
                self._start_scanner(key=False)
                continue
            self.text.append(ch)
            pos += 1
            if self.expect == "open" and ch == "{":
                self.expect = "key"
            elif self.expect in ("key", "comma") and ch == "}":
                self._finish()
            elif self.expect == "colon" and ch == ":":
                self.expect = "value"
            elif self.expect == "comma" and ch == ",":
                self.expect = "key"
            else:
                self.error = f"unexpected {ch!r} in a tool call"
        return pos

    def _start_scanner(self, key: bool) -> None:
        self.scanner = JsonValueScanner()
        self.reading_key = key
        if not key and self.key in self.args_keys:
            self.args = self.scanner

    def _end_scanner(self) -> None:
        scanner = self.scanner
        assert scanner is not None
        self.scanner = None
        if self.reading_key:
            self.key = _loads(scanner.text())
            self.expect = "colon"
            return
        self.expect = "comma"
        if self.key == self.name_key:
            value = _loads(scanner.text())
            if isinstance(value, str):
                self.name = value
            else:
                self.error = "tool name is not a string"

    def _finish(self) -> None:
        try:
            json.loads("".join(self.text))
        except ValueError as exc:
            self.error = f"invalid JSON: {exc}"
            return
        if self.name is None:
            self.error = "no tool name"
        elif self.args is not None and not isinstance(_loads(self.args.text()), dict):
            self.error = "arguments are not a JSON object"
        else:
            self.done = True

    def close(self) -> None:
        if self.scanner is not None and self.scanner.scalar:
            self.scanner.close()
            self._end_scanner()
        super().close()

    def take_arguments(self) -> str:
        if self.args is not None:
            return self.args.take()
        if self.done and not self.gave_empty:  # no arguments key: an empty object, once
            self.gave_empty = True
            return "{}"
        return ""

    def arguments_json(self) -> str:
        return self.args.text() if self.args is not None else "{}"


def _loads(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class JsonObjectBody(Body):
    """A JSON object holding the name and the arguments.

    `args_key` is the key the grammar writes; the parser also accepts `aliases` (models of the
    Llama family write "parameters" or "arguments" interchangeably).
    """

    name_key: str = "name"
    args_key: str = "arguments"
    aliases: tuple[str, ...] = field(default=())

    def lark(self, name: str, args_rule: str, special_tokens: dict[str, int]) -> str:
        head = "{" + json.dumps(self.name_key) + ": " + json.dumps(name)
        head += ", " + json.dumps(self.args_key) + ": "
        return f"{literal(head)} {args_rule} {literal('}')}"

    def parser(self) -> BodyParser:
        return _JsonObjectParser(self.name_key, (self.args_key, *self.aliases))

    def render(self, name: str, arguments: str) -> str:
        name_key, args_key = json.dumps(self.name_key), json.dumps(self.args_key)
        return f"{{{name_key}: {json.dumps(name)}, {args_key}: {arguments}}}"


class _NamedJsonParser(BodyParser):
    """`PREFIX name SUFFIX {json}`: a bare name, then the arguments object."""

    def __init__(self, body: NamedJsonBody):
        self.prefix = body.name_prefix.strip()
        self.suffix = body.name_suffix.strip()
        self.after = body.args_suffix.strip()
        self.name = None
        self.done = False
        self.error = None
        self.stage = "prefix" if self.prefix else "name"
        self.matched = 0
        self.name_chars: list[str] = []
        self.args = JsonValueScanner()

    def feed(self, text: str, pos: int) -> int:
        n = len(text)
        while pos < n and not self.done and self.error is None:
            if self.stage == "args":
                pos = self.args.feed(text, pos)
                if self.args.error:
                    self.error = self.args.error
                elif self.args.done:
                    self._end_args()
                continue
            ch = text[pos]
            if self.stage in ("prefix", "suffix", "after"):
                marker = {"prefix": self.prefix, "suffix": self.suffix, "after": self.after}
                target = marker[self.stage]
                if self.matched == 0 and ch.isspace():
                    pos += 1
                    continue
                if target[self.matched] != ch:
                    self.error = f"expected {target!r}"
                    break
                self.matched += 1
                pos += 1
                if self.matched == len(target):
                    self.matched = 0
                    self._advance()
                continue
            # stage == "name"
            m = _NAME_CHARS.match(text, pos)
            if m:
                self.name_chars.append(m.group())
                pos = m.end()
                if pos == n:
                    break
                continue
            if not self.name_chars and ch.isspace():
                pos += 1
                continue
            if not self.name_chars:
                self.error = "expected a tool name"
                break
            self.name = "".join(self.name_chars)
            self.stage = "suffix" if self.suffix else "args"
        return pos

    def _advance(self) -> None:
        if self.stage == "prefix":
            self.stage = "name"
        elif self.stage == "suffix":
            self.stage = "args"
        else:
            self.done = True

    def _end_args(self) -> None:
        value = _loads(self.args.text())
        if not isinstance(value, dict):
            self.error = "arguments are not a JSON object"
        elif self.after:
            self.stage = "after"
        else:
            self.done = True

    def take_arguments(self) -> str:
        return self.args.take()

    def arguments_json(self) -> str:
        return self.args.text()


@dataclass(frozen=True)
class NamedJsonBody(Body):
    """`name_prefix NAME name_suffix {arguments} args_suffix`."""

    name_prefix: str = ""
    name_suffix: str = ""
    args_suffix: str = ""

    def lark(self, name: str, args_rule: str, special_tokens: dict[str, int]) -> str:
        head = text_rule(self.name_prefix + name + self.name_suffix, special_tokens)
        tail = f" {text_rule(self.args_suffix, special_tokens)}" if self.args_suffix else ""
        return f"{head} {args_rule}{tail}"

    def parser(self) -> BodyParser:
        return _NamedJsonParser(self)

    @property
    def markers(self) -> tuple[str, ...]:
        return (self.name_prefix, self.name_suffix, self.args_suffix)

    def render(self, name: str, arguments: str) -> str:
        return self.name_prefix + name + self.name_suffix + arguments + self.args_suffix
