"""XML-parameter calls: `NAME>\\n<parameter=K>\\nV\\n</parameter>\\n...</function>`.

(The `<function=` before the name is the call's opening, see formats/qwen3_coder.py.) Other
families spell the same shape with other tags (`XmlTags`: GLM's `<arg_key>K</arg_key>
<arg_value>V</arg_value>`, MiniMax's `<parameter name="K">V</parameter>`, Seed-OSS's).
Values are raw text for strings and JSON otherwise; the tool's schema says which. Reading:
where the tags put a newline around values (Qwen3-Coder), one newline after the opening and
one before the closing belong to the layout; a value ends at its closing tag, or where the
next parameter or the function's end begins (models forget closing tags). A value that may
be typed and starts with `[`/`{` is JSON: a closing tag inside one of its strings does not end
it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from strictcall.formats.base import compact_json
from strictcall.formats.matching import PartsMatcher
from strictcall.formats.pyliteral import literal_json
from strictcall.formats.reading import ObjectArguments, StringReader
from strictcall.formats.syntax import NO_TOKENS, Body, BodyParser
from strictcall.grammar.lark import text_rule
from strictcall.grammar.python_literal import value_kind
from strictcall.grammar.xml_parameters import QWEN_TAGS, XmlParameterRules, XmlTags, value_kinds

_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_PARAM_NAME = re.compile(r'[^<>\n"]+')
_RAW_STOP = re.compile(r"<")
_JSON_STOP = re.compile(r'[<"\\]')
_JSON_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
_JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_LAYOUT = " \t\r\n"  # whitespace JSON ignores


def decode_value(text: str, kinds: frozenset[str] | None = None) -> str | None:
    """JSON text of a value written as another type than string; None: it is a string.

    Accepts JSON, Python literals for lists and dicts, and true/false/null in any case
    (and None): what models write. `kinds`: the only types the parameter admits besides
    string (None: any); text that reads as another type is a string (`8080` for a
    parameter of `anyOf: [string, null]`). The grammar keeps raw strings from looking like
    an admitted type.
    """
    value = _decode(text)
    if value is None or kinds is None or _kind(value) in kinds:
        return value
    if _kind(value) == "integer" and "number" in kinds:
        return value
    return None


def _kind(value: str) -> str:
    if value in ("true", "false"):
        return "boolean"
    if value == "null":
        return "null"
    if value[:1] in "[{":
        return "array" if value[0] == "[" else "object"
    return "integer" if _JSON_INTEGER.fullmatch(value) else "number"


def _decode(text: str) -> str | None:
    body = text.strip(_LAYOUT)
    lower = body.lower()
    if lower in ("true", "false", "null"):
        return lower
    if lower == "none":
        return "null"
    if _JSON_NUMBER.fullmatch(body):
        return body
    if body[:1] in ("[", "{"):
        try:
            json.loads(body)
        except ValueError:
            try:
                return literal_json(body)
            except ValueError:
                return None
        return body
    return None


def admitted(schema, root: dict) -> tuple[bool, frozenset[str] | None]:
    """(a raw string is admitted, the other JSON kinds the parameter admits); a parameter the
    tool does not declare is a string; a schema we cannot read admits anything (None)."""
    if schema is None:
        return True, frozenset()
    try:
        return value_kinds(schema, root)
    except Exception:  # take what the text looks like
        return True, None


class _XmlParamsParser(ObjectArguments):
    def __init__(self, schemas: Mapping[str, dict] | None, tags: XmlTags):
        super().__init__()
        self.schemas = schemas
        self.tags = tags
        self.markers = tags.markers
        self.longest = max(len(m) for m in self.markers)
        self.name_end = tags.name_end.strip()
        self.newlines = tags.layout == "\n"  # one newline around each value is layout
        self.matcher: PartsMatcher | None = None  # the key's closing tags
        self.name = None
        self.done = False
        self.error = None
        self.stage = "name"  # name | index | repeat | between | param | key_close | value
        self.written_name = ""  # the name, while the call's index is read
        self.chunks: list[str] = []
        self.tool: dict = {}
        self.key = ""
        self.typed = False
        self.strings = True  # the parameter admits a raw string
        self.kinds: frozenset[str] | None = frozenset()  # other kinds it admits (None: any)
        self.track = False  # a typed value that started as JSON: strings hide markers
        self.string = StringReader()
        self.started = False  # the value's first character was seen
        self.first = True  # no piece of the value was read yet
        self.held = ""  # a raw value's last newline, which may be layout

    # ---- feeding ------------------------------------------------------------------------
    def feed(self, text: str, pos: int) -> int:
        n = len(text)
        while pos < n and not self.done and self.error is None:
            before, stage = pos, self.stage
            if stage == "value":
                pos = self._feed_value(text, pos)
            elif stage in ("name", "param"):
                pos = self._feed_name(text, pos)
            elif stage == "key_close":
                pos = self._feed_key_close(text, pos)
            elif stage == "index":
                pos = self._feed_index(text, pos)
            elif stage == "repeat":
                pos = self._feed_repeat(text, pos)
            else:
                pos = self._feed_between(text, pos)
            if pos == before and self.stage == stage and not self.done and self.error is None:
                break  # a marker may be cut off: wait for more text
        return pos

    def _feed_name(self, text: str, pos: int) -> int:
        pattern = _NAME if self.stage == "name" else _PARAM_NAME
        m = pattern.match(text, pos)
        if m:
            self.chunks.append(m.group())
            return m.end()
        if not self.chunks:
            self.error = "expected a name"
            return pos
        word = "".join(self.chunks)
        if self.stage == "param":
            self.key, self.chunks = word, []
            closings = [c.split() for c in (self.tags.key_close, *self.tags.typed_closes)]
            self.matcher = PartsMatcher(closings)
            self.stage = "key_close"
            return pos
        if self.tags.call_index:  # then the call's number: read, not needed (see kimi_k3.py)
            self.chunks, self.written_name, self.stage = [], word, "index"
            return pos
        if self.tags.name_repeat:  # then the same name again
            self.chunks, self.written_name, self.stage = [], word, "repeat"
            return pos
        return self._name_done(word, text, pos)

    def _feed_repeat(self, text: str, pos: int) -> int:
        """`name_repeat` then the name once more (muse-glimmer's header, then its invoke)."""
        expected = self.tags.again(self.written_name)
        seen = "".join(self.chunks)
        while pos < len(text) and len(seen) < len(expected):
            if text[pos] != expected[len(seen)]:
                self.error = "expected the name again after the header"
                return pos
            seen += text[pos]
            pos += 1
        self.chunks = [seen]
        if len(seen) < len(expected):
            return pos
        return self._name_done(self.written_name, text, pos)

    def _feed_index(self, text: str, pos: int) -> int:
        """`call_index` then digits after the name (Kimi K3's `" index="1`)."""
        lead = self.tags.call_index
        seen = "".join(self.chunks)
        while pos < len(text) and len(seen) < len(lead):
            if text[pos] != lead[len(seen)]:
                self.error = f"expected {lead!r} and the call's index after the name"
                return pos
            seen += text[pos]
            pos += 1
        while pos < len(text) and text[pos].isdigit() and len(seen) < len(lead) + 8:
            seen += text[pos]
            pos += 1
        self.chunks = [seen]
        if pos == len(text):
            return pos
        if len(seen) == len(lead):
            self.error = "expected the call's index"
            return pos
        return self._name_done(self.written_name, text, pos)

    def _name_done(self, word: str, text: str, pos: int) -> int:
        end = self.name_end
        if end and not text.startswith(end, pos):
            if len(text) - pos < len(end) and end.startswith(text[pos:]):
                return pos  # cut off: wait for more text
            self.error = f"expected {end!r} after the name"
            return pos
        self.chunks = []
        self.name = word
        self.tool = self._schema(word)
        self.stage = "between"
        return pos + len(end)

    def _feed_key_close(self, text: str, pos: int) -> int:
        assert self.matcher is not None
        pos, result = self.matcher.feed(text, pos)
        if result is not None and result < 0:
            self.error = f"expected {self.tags.key_close!r} after a parameter's name"
        elif result is not None:
            self._start_value(self.key, said=result if self.tags.typed_key_close else None)
        return pos

    def _feed_between(self, text: str, pos: int) -> int:
        n = len(text)
        while pos < n and text[pos].isspace():
            pos += 1
        if pos == n:
            return pos
        for marker in (self.tags.key_open, self.tags.function_close):
            if text.startswith(marker, pos):
                if marker == self.tags.key_open:
                    self.stage = "param"
                else:
                    self._end_object()
                    self.done = True
                return pos + len(marker)
            if n - pos < len(marker) and marker.startswith(text[pos:]):
                return pos  # cut off: wait for more text
        self.error = f"expected {self.tags.key_open!r} or {self.tags.function_close!r}"
        return pos

    def _feed_value(self, text: str, pos: int) -> int:
        n, start = len(text), pos
        while pos < n:
            if not self.started:  # what the value starts with says how to read it
                while pos < n and text[pos] in _LAYOUT:  # as decode_value strips
                    pos += 1
                if pos == n:
                    break
                self.started = True
                self.track = self.typed and text[pos] in "[{" and self._container(text[pos])
            if self.string.inside:
                pos = self.string.feed(text, pos)
                continue
            stop = (_JSON_STOP if self.track else _RAW_STOP).search(text, pos)
            if stop is None:
                pos = n
                break
            i = stop.start()
            if stop.group() == '"':
                self.string.open()
                pos = i + 1
                continue
            if stop.group() == "\\":
                pos = i + 1
                continue
            end = next((m for m in self.markers if text.startswith(m, i)), None)
            if end is not None:
                self._value_text(text[start:i])
                self._end_value()
                return i + len(end) if end == self.tags.value_close else i
            if n - i < self.longest and any(m.startswith(text[i:]) for m in self.markers):
                pos = i  # maybe a marker cut off at the end of the text
                break
            pos = i + 1
        self._value_text(text[start:pos])
        return pos

    # ---- values -------------------------------------------------------------------------
    def _schema(self, name: str) -> dict:
        if self.schemas is None:
            return {}
        schema = self.schemas.get(name)
        return schema if isinstance(schema, dict) else {}

    def _start_value(self, key: str, said: int | None = None) -> None:
        """`said`: the opening said the value is a raw string (0) or JSON (1)."""
        properties = self.tool.get("properties")
        schema = properties.get(key) if isinstance(properties, dict) else None
        if schema is None and isinstance(self.tool.get("additionalProperties"), dict):
            schema = self.tool["additionalProperties"]
        self.key = key
        self.strings, self.kinds = admitted(schema, self.tool)
        if said is not None:
            self.strings, self.kinds = (True, frozenset()) if said == 0 else (False, None)
        self.typed = self.kinds is None or bool(self.kinds)
        self.track = self.started = False
        self.string = StringReader()
        self.first = True
        self.held = ""
        self.chunks = []
        self.stage = "value"
        if not self.typed:  # a string: streamed as it comes
            self._member(key, '"')

    def _container(self, ch: str) -> bool:
        """A typed value opening with `ch` is JSON (a list or an object it admits)."""
        return self.kinds is None or ("array" if ch == "[" else "object") in self.kinds

    def _value_text(self, text: str) -> None:
        if not text:
            return
        if self.typed:
            self.chunks.append(text)
            return
        if self.first:  # one leading newline is layout
            self.first = False
            text = text[1:] if self.newlines and text.startswith("\n") else text
        text = self.held + text
        self.held = "\n" if self.newlines and text.endswith("\n") else ""
        if self.held:
            text = text[:-1]
        if text:
            self.arguments.add(json.dumps(text, ensure_ascii=False)[1:-1])

    def _end_value(self) -> None:
        self.stage = "between"
        if not self.typed:
            self.arguments.add('"')  # a held newline was the layout one
            return
        raw = "".join(self.chunks)
        if self.newlines:
            raw = raw[1:] if raw.startswith("\n") else raw
            raw = raw[:-1] if raw.endswith("\n") else raw
        value = decode_value(raw, self.kinds if self.strings else None)
        self._member(self.key, value if value is not None else json.dumps(raw))
        self.chunks = []


@dataclass(frozen=True)
class XmlParamsBody(Body):
    """A name, then one parameter block per argument, then the function's end (`tags`)."""

    schemas: Mapping[str, dict] | None = field(default=None, compare=False, hash=False)
    tags: XmlTags = QWEN_TAGS

    def lark(self, name: str, args_rule: str, special_tokens: Mapping[str, int]) -> str:
        t = self.tags
        head = text_rule(name + t.again(name) + t.name_end, special_tokens)
        if t.call_index:  # any number: the parser does not need it
            index = text_rule(name + t.call_index, special_tokens)
            head = f"{index} /[1-9][0-9]{{0,3}}/ {text_rule(t.name_end, special_tokens)}"
        return f"{head} {args_rule} {text_rule(t.function_close, special_tokens)}"

    def arguments_lark(
        self, rule: str, schema: dict, special_tokens: Mapping[str, int] = NO_TOKENS
    ) -> list[tuple[str, str]]:
        return XmlParameterRules(schema, self.tags, special_tokens).parameters(rule)

    def for_tools(self, schemas: Mapping[str, dict] | None) -> Body:
        return replace(self, schemas=schemas)

    def parser(self) -> BodyParser:
        return _XmlParamsParser(self.schemas, self.tags)

    def render(self, name: str, arguments: str) -> str:
        t = self.tags
        out = [name, f"{t.call_index}1" if t.call_index else "", t.again(name), t.name_end]
        for key, value in json.loads(arguments).items():
            text = value if isinstance(value, str) else compact_json(value)
            opening = t.opening
            if t.typed_key_close and not isinstance(value, str):
                opening = t.typed_close(value_kind(value)) + t.layout
            out.append(f"{t.key_open}{key}{opening}{text}{t.close}{t.separator}")
        out.append(t.function_close)
        return "".join(out)

    def markers(self) -> tuple[str, ...]:
        return (
            *self.tags.markers,
            *self.tags.name_end.split(),  # Hunyuan's `<tool_sep:opensource>` is a token
            *self.tags.key_close.split(),
            *(part for c in self.tags.typed_closes for part in c.split()),
            *self.tags.call_index.split(),
            *self.tags.name_repeat.split(),
        )
