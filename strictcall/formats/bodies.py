"""Call bodies shared by several families.

`JsonObjectBody` is `{"name": ..., "arguments": {...}}` (Hermes, Mistral v1, Llama 3, Granite,
InternLM, ...). `NamedJsonBody` is a bare name followed by the arguments object, with optional
markers around the name (Mistral v2/v3, DeepSeek).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from strictcall.formats.reading import StreamedText, StringReader
from strictcall.formats.syntax import (
    NO_TOKENS,
    Body,
    BodyParser,
    CallSyntax,
    json_arguments_lark,
)
from strictcall.grammar.lark import literal, text_rule

_NAME_CHARS = re.compile(r"[A-Za-z0-9_.\-]+")


class JsonValueScanner:
    """Finds where one JSON value ends, incrementally, and records the text it spans.

    It tracks only nesting and strings; `json.loads` checks the finished text once.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.string = StringReader()
        self.scalar = False
        self.started = False
        self.done = False
        self.error: str | None = None
        self.spanned = StreamedText()

    def feed(self, text: str, pos: int) -> int:
        start = pos
        n = len(text)
        while pos < n and not self.done:
            if self.string.inside:
                pos = self.string.feed(text, pos)
                if not self.string.inside and self.depth == 0:
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
                self.string.open()
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
        self.spanned.add(text[start:pos])
        return pos

    def close(self) -> None:
        if self.scalar:
            self.done = True

    def text(self) -> str:
        return self.spanned.text()

    def take(self) -> str:
        return self.spanned.take()


class _JsonObjectParser(BodyParser):
    """`{"name": "f", "arguments": {...}}` with keys in any order."""

    def __init__(self, body: JsonObjectBody):
        self.name_key = body.name_key
        self.args_keys = (body.args_key, *body.aliases)
        self.args_required = body.args_required
        self.string_args = body.string_args
        self.decoded: str | None = None  # arguments the model wrote as a JSON string
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
        elif self.args is None:
            if self.args_required:
                self.error = "no arguments"
            else:
                self.done = True
        elif self._quoted():
            value = _loads(self.args.text())
            if isinstance(value, str) and isinstance(_loads(value), dict):
                self.decoded = value
                self.done = True
            else:
                self.error = "arguments are not a JSON object"
        elif not isinstance(_loads(self.args.text()), dict):
            self.error = "arguments are not a JSON object"
        else:
            self.done = True

    def _quoted(self) -> bool:
        """Arguments written as a JSON string (some models encode the object twice)."""
        # the first piece starts at the value's first character: no need to join the rest
        return self.string_args and self.args is not None and self.args.spanned.starts_with('"')

    def close(self) -> None:
        if self.scanner is not None and self.scanner.scalar:
            self.scanner.close()
            self._end_scanner()
        super().close()

    def take_arguments(self) -> str:
        if self.args is not None and not self._quoted():
            return self.args.take()
        if self.done and not self.gave_empty:  # no arguments key: an empty object, once
            self.gave_empty = True
            return self.arguments_json()
        return ""

    def arguments_json(self) -> str:
        if self.decoded is not None:
            return self.decoded
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
    Llama family write "parameters" or "arguments" interchangeably). `args_required`: an
    object without arguments is not a call (where calls have no marker, a bare `{"name": ..}`
    is more likely an answer). `string_args`: also read arguments written as a JSON string
    holding the object (Mistral models sometimes encode them twice).
    """

    name_key: str = "name"
    args_key: str = "arguments"
    aliases: tuple[str, ...] = field(default=())
    args_required: bool = False
    string_args: bool = False
    lead = "{"

    def lark(self, name: str, args_rule: str, special_tokens: Mapping[str, int]) -> str:
        head = "{" + json.dumps(self.name_key) + ": " + json.dumps(name)
        head += ", " + json.dumps(self.args_key) + ": "
        return f"{literal(head)} {args_rule} {literal('}')}"

    def parser(self) -> BodyParser:
        return _JsonObjectParser(self)

    def render(self, name: str, arguments: str) -> str:
        name_key, args_key = json.dumps(self.name_key), json.dumps(self.args_key)
        return f"{{{name_key}: {json.dumps(name)}, {args_key}: {arguments}}}"


@dataclass(frozen=True)
class Arguments:
    """How a `NamedJsonBody` writes its arguments object: JSON here; a family with a literal
    syntax of its own (Gemma 4's) subclasses it. Grammar, reader and rendering together."""

    def reader(self) -> JsonValueScanner:
        """A reader of one arguments object, giving JSON text (`feed`, `take`, `text`,
        `started`, `done`, `error`, as JsonValueScanner has them)."""
        return JsonValueScanner()

    def lark(
        self, rule: str, schema: dict, special_tokens: Mapping[str, int]
    ) -> list[tuple[str, str]]:
        return json_arguments_lark(rule, schema)

    def render(self, arguments: str) -> str:
        """The arguments (compact JSON text) as written."""
        return arguments

    def markers(self) -> tuple[str, ...]:
        return ()


JSON_ARGUMENTS = Arguments()


class _NamedJsonParser(BodyParser):
    """`PREFIX name SUFFIX {json}`: a bare name, then the arguments object."""

    def __init__(self, body: NamedJsonBody):
        self.prefix = body.name_prefix.strip()
        self.suffixes = {s.strip() for s in (body.name_suffix, *body.alt_name_suffixes)}
        self.suffix = ""  # the one being matched
        self.after = body.args_suffix.strip()
        self.args_optional = body.args_optional
        self.call_index = body.call_index
        self.written_name = ""  # the name, while its index is read
        self.digits: list[str] = []
        self.gave_empty = False
        self.name = None
        self.done = False
        self.error = None
        self.stage = "prefix" if self.prefix else "name"
        self.written_id: list[str] | None = None  # the id written before the prefix
        if body.id_pattern:
            self.stage, self.written_id = "id", []
        self.matched = 0
        self.name_chars: list[str] = []
        self.args = body.arguments.reader()

    def feed(self, text: str, pos: int) -> int:
        n = len(text)
        while pos < n and not self.done and self.error is None:
            if self.stage == "id":
                pos = self._id(text, pos)
                continue
            if self.stage == "args":
                before, pos = pos, self.args.feed(text, pos)
                if self.args.error:
                    self.error = self.args.error
                elif self.args.done:
                    self._end_args()
                elif pos == before:
                    break  # the reader waits for more (a delimiter may be cut off)
                continue
            ch = text[pos]
            if self.stage in ("prefix", "suffix", "after"):
                if self.matched == 0 and ch.isspace():
                    pos += 1
                    continue
                if self.stage == "suffix" and self.matched == 0:
                    if not self._pick_suffix(ch):
                        break
                    if self.stage == "args":
                        continue
                marker = {"prefix": self.prefix, "suffix": self.suffix, "after": self.after}
                target = marker[self.stage]
                if target[self.matched] != ch:
                    self.error = f"expected {target!r}"
                    break
                self.matched += 1
                pos += 1
                if self.matched == len(target):
                    self.matched = 0
                    self._advance()
                continue
            # stage == "name" (or "index")
            m = _NAME_CHARS.match(text, pos) if self.stage == "name" else None
            if m:
                self.name_chars.append(m.group())
                pos = m.end()
                if pos == n:
                    break
                continue
            if not self.name_chars and ch.isspace():
                pos += 1
                continue
            if self.stage == "index":
                if not self._index(ch):
                    break
                pos += self.matched_index
                continue
            if not self.name_chars:
                self.error = "expected a tool name"
                break
            if self.call_index:  # the name is announced with the id, after its index
                self.written_name, self.stage = "".join(self.name_chars), "index"
                continue
            self.name = "".join(self.name_chars)
            self.stage = "suffix" if self.suffixes != {""} else "args"
        return pos

    def _id(self, text: str, pos: int) -> int:
        """The id the model wrote before the prefix (any id characters: the grammar has kept
        it to its shape; an id written otherwise is still the model's)."""
        assert self.written_id is not None
        m = _NAME_CHARS.match(text, pos)
        if m:
            self.written_id.append(m.group())
            return m.end()
        self.call_id = "".join(self.written_id) or None
        self.stage = "prefix" if self.prefix else "name"
        return pos

    def _index(self, ch: str) -> bool:
        """`call_index` then digits after the name (Kimi's `functions.NAME:0`): one character;
        sets `matched_index` to what it consumed. False: the body is malformed."""
        self.matched_index = 1
        if self.matched < len(self.call_index):
            if ch != self.call_index[self.matched]:
                self.error = f"expected {self.call_index!r} and an index after the name"
                return False
            self.matched += 1
            return True
        if ch.isdigit() and len(self.digits) < 8:
            self.digits.append(ch)
            return True
        if not self.digits:
            self.error = "expected the call's index"
            return False
        self.matched, self.matched_index = 0, 0
        self.name = self.written_name
        index = self.call_index + "".join(self.digits)
        self.call_id = f"{self.prefix}{self.name}{index}"
        self.stage = "suffix" if self.suffixes != {""} else "args"
        return True

    def _pick_suffix(self, ch: str) -> bool:
        """Which of the accepted name suffixes follows (the empty one when `{` does)."""
        if ch == "{" and "" in self.suffixes:
            self.stage = "args"
            return True
        found = [s for s in self.suffixes if s and s[0] == ch]
        if len(found) != 1:
            self.error = "expected " + " or ".join(repr(s or "{") for s in sorted(self.suffixes))
            return False
        self.suffix = found[0]
        return True

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

    def close(self) -> None:
        # a bare name at the end: a call without arguments (a number is not a name)
        name = "".join(self.name_chars)
        bare = self.stage in ("name", "suffix") and self.matched == 0
        if self.args_optional and bare and (name[:1].isalpha() or name[:1] == "_"):
            self.name = name
            self.done = True
        super().close()

    def take_arguments(self) -> str:
        if not self.args.started and self.done:
            if self.gave_empty:
                return ""
            self.gave_empty = True
            return "{}"
        return self.args.take()

    def arguments_json(self) -> str:
        return self.args.text() if self.args.started else "{}"


@dataclass(frozen=True)
class NamedJsonBody(Body):
    """`name_prefix NAME name_suffix {arguments} args_suffix`.

    The grammar writes `name_suffix`; the parser also accepts `alt_name_suffixes` in its place
    ("" for none: Mistral writes `name[ARGS]{..}` or `name{..}` by generation).
    `args_optional`: a bare name ending the output is a call without arguments.
    """

    name_prefix: str = ""
    name_suffix: str = ""
    args_suffix: str = ""
    alt_name_suffixes: tuple[str, ...] = ()
    args_optional: bool = False
    # Written between the name and the suffix, then the call's index (Kimi's `:`): the call's
    # id is then what the model wrote, `name_prefix NAME call_index INDEX`.
    call_index: str = ""
    arguments: Arguments = JSON_ARGUMENTS  # how the arguments object is written
    # The call's id, written by the model before `name_prefix` (Solar Open's `a1b2c3d4e5`):
    # the grammar writes it as the regex `id_pattern` and `render` as `id_example`; the client
    # gets the id the model wrote.
    id_pattern: str = ""
    id_example: str = ""

    @property
    def lead(self) -> str:  # type: ignore[override]
        return "" if self.id_pattern else self.name_prefix.strip()

    def starts(self, ch: str) -> bool:
        if self.lead:
            return ch == self.lead[0]
        return _NAME_CHARS.match(ch) is not None

    def markers(self) -> tuple[str, ...]:
        texts = (self.name_prefix, self.name_suffix, self.args_suffix, *self.alt_name_suffixes)
        return (*texts, *self.arguments.markers())

    def arguments_lark(
        self, rule: str, schema: dict, special_tokens: Mapping[str, int] = NO_TOKENS
    ) -> list[tuple[str, str]]:
        return self.arguments.lark(rule, schema, special_tokens)

    def lark(self, name: str, args_rule: str, special_tokens: Mapping[str, int]) -> str:
        if self.call_index:
            head = text_rule(self.name_prefix + name + self.call_index, special_tokens)
            head += f" /[0-9]{{1,4}}/ {text_rule(self.name_suffix, special_tokens)}"
        else:
            head = text_rule(self.name_prefix + name + self.name_suffix, special_tokens)
        if self.id_pattern:
            head = f"/{self.id_pattern}/ {head}"
        tail = f" {text_rule(self.args_suffix, special_tokens)}" if self.args_suffix else ""
        return f"{head} {args_rule}{tail}"

    def parser(self) -> BodyParser:
        return _NamedJsonParser(self)

    def render(self, name: str, arguments: str) -> str:
        index = f"{self.call_index}0" if self.call_index else ""
        head = self.id_example + self.name_prefix + name + index + self.name_suffix
        return head + self.arguments.render(arguments) + self.args_suffix


def json_list(
    opening: str, closing: str = "", body: Body | None = None, separator: str = ", "
) -> CallSyntax:
    """Calls as one JSON list after a marker: `MARKER[{..}, {..}]CLOSING` (Granite, Nemotron,
    Apriel, Command R7B, `functools[`). The marker is the trigger: whitespace may follow it."""
    return CallSyntax(
        section_start=opening + "[",
        trigger_marker=opening,
        separator=separator,
        section_end="]" + closing,
        body=body or JsonObjectBody(),
    )
